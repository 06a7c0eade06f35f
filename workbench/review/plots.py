"""Figures of the review stage: pure builders ``data -> plotly Figure`` (the app, notebooks and reports share them)."""

from __future__ import annotations


def penalty_by_category(stats: dict):
    """Bars: MQM penalty per error category, with the error count on hover."""
    import plotly.graph_objects as go

    cats = list(stats["by_category"])
    fig = go.Figure(go.Bar(x=cats, y=[stats["by_category"][c]["penalty"] for c in cats],
                           customdata=[stats["by_category"][c]["errors"] for c in cats],
                           hovertemplate="%{x}: penalty %{y}, %{customdata} errors<extra></extra>"))
    fig.update_layout(title="MQM penalty by category (minor 1, major 5, critical 10)", xaxis_title="category",
                      yaxis_title="penalty", template="plotly_white")
    return fig


def error_rate_by_model(stats: dict, by: str = "by_model"):
    """Bars: share of judged outputs with an error, and MQM penalty per 100 words with its 95% interval,
    per model (or ``by_checkpoint``)."""
    import plotly.graph_objects as go

    groups = stats[by]
    names = list(groups)
    rate = [groups[n]["penalty_per_100_words"] for n in names]
    cis = [groups[n].get("penalty_per_100_words_ci95") for n in names]
    fig = go.Figure([
        go.Bar(name="error rate", x=names, y=[groups[n]["error_rate"] for n in names], yaxis="y"),
        go.Bar(name="penalty per 100 words", x=names, y=rate, yaxis="y2", offsetgroup=1,
               error_y=dict(type="data", symmetric=False,
                            array=[(ci[1] - r) if ci and r is not None else 0 for ci, r in zip(cis, rate)],
                            arrayminus=[(r - ci[0]) if ci and r is not None else 0 for ci, r in zip(cis, rate)]),
               customdata=[[groups[n]["penalty"], groups[n]["words"], groups[n]["outputs"]] for n in names],
               hovertemplate="%{x}: %{y:.2f} per 100 words (penalty %{customdata[0]} over %{customdata[1]} words, "
                             "%{customdata[2]} outputs)<extra></extra>"),
    ])
    fig.update_layout(title=f"Errors {by.replace('by_', 'by ')}", barmode="group", template="plotly_white",
                      yaxis=dict(title="error rate", tickformat=".0%"),
                      yaxis2=dict(title="MQM penalty per 100 words (95% interval)", overlaying="y", side="right"))
    return fig


def confusion_heatmap(confusion: dict, title: str = "Category confusion between annotators"):
    """Heatmap of a confusion table ``{labels, matrix}`` from ``agreement``."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(z=confusion["matrix"], x=confusion["labels"], y=confusion["labels"],
                               colorscale="Blues", text=confusion["matrix"], texttemplate="%{text}"))
    fig.update_layout(title=title, xaxis_title="other annotator", yaxis_title="one annotator", template="plotly_white")
    return fig


def kappa_bars(agreement: dict, dimension: str = "verdict"):
    """Bars: Cohen's kappa per annotator pair on one dimension."""
    import plotly.graph_objects as go

    rows = agreement["kappa"][dimension]
    fig = go.Figure(go.Bar(x=[f"{r['a']} / {r['b']}" for r in rows], y=[r["kappa"] for r in rows],
                           customdata=[r["items"] for r in rows],
                           hovertemplate="%{x}: kappa %{y:.2f} on %{customdata} items<extra></extra>"))
    fig.update_layout(title=f"Cohen's kappa per pair ({dimension})", yaxis=dict(range=[-1, 1]), template="plotly_white")
    return fig
