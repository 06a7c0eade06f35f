"""Figure builders for evaluations: pure functions from plain data to plotly figures.

Each takes the dicts that ``comparison.json`` holds, so the app, the notebooks and the HTML
report draw the same figure from the same file.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

COLOURS = {"base": "#7f7f7f", "adapted": "#1f77b4"}


def _layout(fig: go.Figure, title: str, **kwargs) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", margin=dict(l=60, r=20, t=60, b=50), **kwargs)
    return fig


def perplexity_bars(results: dict, metric: str = "token_ppl") -> go.Figure:
    """Grouped bars (sets on x, one bar per model) with their 95% bootstrap intervals.

    Args:
        results: {"base": {"domain": {...}, "general": {...}}, "adapted": {...}} where each
            set holds ``metric`` and optionally ``metric + "_ci95"``.
    """
    fig = go.Figure()
    for model, sets in results.items():
        names = list(sets)
        values = [sets[s][metric] for s in names]
        cis = [sets[s].get(f"{metric}_ci95") or [math.nan, math.nan] for s in names]
        fig.add_bar(
            name=model, x=names, y=values, marker_color=COLOURS.get(model),
            text=[f"{v:.2f}" for v in values], textposition="outside",
            error_y=dict(
                type="data", symmetric=False,
                array=[max(ci[1] - v, 0) if not math.isnan(ci[1]) else 0 for v, ci in zip(values, cis)],
                arrayminus=[max(v - ci[0], 0) if not math.isnan(ci[0]) else 0 for v, ci in zip(values, cis)],
            ),
        )
    label = {"token_ppl": "token perplexity", "word_ppl": "word perplexity", "bits_per_byte": "bits per byte"}.get(metric, metric)
    return _layout(fig, f"{label} (lower is better; bars: 95% bootstrap interval over documents)",
                   barmode="group", yaxis_title=label, xaxis_title="evaluation set")


def reliability_diagram(curves: dict[str, list[dict]], title: str = "reliability diagram") -> go.Figure:
    """Accuracy against mean confidence per bin, one line per model, over the diagonal.

    Args:
        curves: {label: bins} with bins as ``calibration.reliability_bins`` returns them.
    """
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line=dict(color="black", dash="dot", width=1))
    for label, bins in curves.items():
        full = [b for b in bins if b["count"]]
        total = sum(b["count"] for b in full) or 1
        model = label.split()[0]
        fig.add_scatter(
            x=[b["confidence"] for b in full], y=[b["accuracy"] for b in full], mode="lines+markers", name=label,
            line=dict(color=COLOURS.get(model), dash="solid" if "domain" in label or model == label else "dash"),
            marker=dict(size=[6 + 24 * math.sqrt(b["count"] / total) for b in full]),
            customdata=[[b["count"], b["lower"], b["upper"]] for b in full],
            hovertemplate="bin %{customdata[1]:.2f}-%{customdata[2]:.2f}<br>confidence %{x:.3f}<br>"
                          "accuracy %{y:.3f}<br>%{customdata[0]} tokens<extra>%{fullData.name}</extra>",
        )
    return _layout(fig, title + " (marker area: share of tokens)", xaxis=dict(title="confidence (top-1 probability)", range=[0, 1]),
                   yaxis=dict(title="accuracy (top-1 is the next token)", range=[0, 1]))


def document_scatter(documents: list[dict]) -> go.Figure:
    """Per-document mean NLL per token, base (x) against adapted (y); below the diagonal = better.

    Args:
        documents: rows with ``set``, ``id``, ``base_nll``, ``adapted_nll``, ``tokens``.
    """
    fig = go.Figure()
    values = [d["base_nll"] for d in documents] + [d["adapted_nll"] for d in documents]
    lo, hi = (min(values), max(values)) if values else (0, 1)
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="no change", line=dict(color="black", dash="dot", width=1))
    for name in dict.fromkeys(d["set"] for d in documents):
        rows = [d for d in documents if d["set"] == name]
        fig.add_scatter(
            x=[d["base_nll"] for d in rows], y=[d["adapted_nll"] for d in rows], mode="markers", name=name,
            text=[str(d["id"]) for d in rows], customdata=[d["tokens"] for d in rows],
            hovertemplate="%{text}<br>base %{x:.3f}<br>adapted %{y:.3f}<br>%{customdata} tokens<extra>%{fullData.name}</extra>",
        )
    return _layout(fig, "per-document NLL per token (below the diagonal: the adapted model does better)",
                   xaxis_title="base NLL (nats/token)", yaxis_title="adapted NLL (nats/token)")


def learning_curves(points: list[dict]) -> go.Figure:
    """Domain and general perplexity over checkpoints (step 0 = the base model).

    Args:
        points: rows with ``step`` and ``domain_ppl``/``general_ppl`` (and optional ``*_ci95``).
    """
    fig = go.Figure()
    for name, colour in (("domain", "#1f77b4"), ("general", "#d62728")):
        rows = [p for p in points if p.get(f"{name}_ppl") is not None]
        if not rows:
            continue
        cis = [p.get(f"{name}_ppl_ci95") for p in rows]
        error = None
        if all(cis):
            error = dict(type="data", symmetric=False, array=[c[1] - p[f"{name}_ppl"] for c, p in zip(cis, rows)],
                         arrayminus=[p[f"{name}_ppl"] - c[0] for c, p in zip(cis, rows)])
        fig.add_scatter(x=[p["step"] for p in rows], y=[p[f"{name}_ppl"] for p in rows], mode="lines+markers",
                        name=f"{name} perplexity", line=dict(color=colour), error_y=error,
                        text=[p.get("label", "") for p in rows])
    return _layout(fig, "learning curves: domain gain against general forgetting (step 0 = base)",
                   xaxis_title="training step", yaxis_title="token perplexity")


def token_heatmap(tokens: list[dict], per_row: int = 16, title: str = "per-token surprisal change") -> go.Figure:
    """The document's tokens on a grid, coloured by adapted minus base NLL (blue = gain).

    Args:
        tokens: rows with ``text``, ``base``, ``adapted``, ``delta`` (``tokendiff.document_tokens``).
    """
    n_rows = max(1, math.ceil(len(tokens) / per_row))
    z = [[None] * per_row for _ in range(n_rows)]
    text = [[""] * per_row for _ in range(n_rows)]
    hover = [[""] * per_row for _ in range(n_rows)]
    for i, t in enumerate(tokens):
        r, c = divmod(i, per_row)
        z[r][c] = t["delta"]
        text[r][c] = t["text"].replace("\n", "⏎")
        hover[r][c] = f"{t['text']!r}<br>base {t['base']:.2f}<br>adapted {t['adapted']:.2f}<br>change {t['delta']:+.2f}"
    bound = max((abs(t["delta"]) for t in tokens), default=1.0) or 1.0
    fig = go.Figure(go.Heatmap(
        z=z, text=text, texttemplate="%{text}", customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorscale="RdBu_r", zmid=0, zmin=-bound, zmax=bound, colorbar=dict(title="Δ nats"),
    ))
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    return _layout(fig, title, height=max(300, 26 * n_rows + 120))
