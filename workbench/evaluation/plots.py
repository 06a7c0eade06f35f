"""Figure builders for evaluations: pure functions from plain data to plotly figures.

Each takes the dicts that ``comparison.json`` holds, so the app, the notebooks and the HTML
report draw the same figure from the same file.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from workbench.evaluation.explain import hover

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
            customdata=[[ci[0], ci[1]] for ci in cis],
            hovertemplate="%{x}: %{y:.3f} (95% interval %{customdata[0]:.3f} to %{customdata[1]:.3f})<br><i>"
                          + hover(metric) + "</i><extra>%{fullData.name}</extra>",
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
                          "accuracy %{y:.3f}<br>%{customdata[0]} tokens<br><i>" + hover("calibration")
                          + "</i><extra>%{fullData.name}</extra>",
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
            text=[str(d["id"]) for d in rows],
            customdata=[[d["tokens"], (d.get("extract") or "")[:80]] for d in rows],
            hovertemplate="%{text}: %{customdata[1]}<br>base %{x:.3f}<br>adapted %{y:.3f}<br>%{customdata[0]} tokens<br><i>"
                          + hover("delta_nll") + "</i><extra>%{fullData.name}</extra>",
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
                        text=[p.get("label", "") for p in rows],
                        hovertemplate="%{text}: perplexity %{y:.3f}<br><i>"
                                      + hover("token_ppl" if name == "domain" else "forgetting") + "</i><extra></extra>")
    return _layout(fig, "learning curves: domain gain against general forgetting (step 0 = base)",
                   xaxis_title="training step", yaxis_title="token perplexity")


def _interval_bars(rows: list[dict], value: str, interval: str) -> dict | None:
    """Plotly error bars from each row's ``[low, high]`` interval around its value (None when no row has one)."""
    if not any(row.get(interval) for row in rows):
        return None
    high = [(row[interval][1] - row[value]) if row.get(interval) else 0 for row in rows]
    low = [(row[value] - row[interval][0]) if row.get(interval) else 0 for row in rows]
    return dict(type="data", symmetric=False, array=high, arrayminus=low)


def curve_vs_final(curve: list[dict], verdict: dict, x: str = "tokens") -> go.Figure:
    """A run's in-training held-out curve beside the final comparison, as perplexity change over the base.

    The curve is measured during training on a fixed sample of each held-out set; the final point is
    the comparison over the whole sets, with its 95% interval. Where the last point of a curve falls
    inside (or near) the interval, the curve a user watched told the truth about the run.

    Args:
        curve: the run's ``eval`` rows (``step``, ``tokens``, ``domain_change_pct``, ``general_change_pct``).
        verdict: the comparison's verdict (``domain``/``general`` with ``change_pct`` and ``ci95_pct``).
        x: ``"tokens"`` (training tokens seen) or ``"step"``.
    """
    fig = go.Figure()
    last_x = max((row.get(x) or 0 for row in curve), default=0)
    for name, colour in (("domain", "#1f77b4"), ("general", "#d62728")):
        rows = [row for row in curve if row.get(f"{name}_change_pct") is not None]
        if rows:
            sample = rows[-1].get(f"{name}_eval_tokens")
            docs = rows[-1].get(f"{name}_eval_documents")
            bars = _interval_bars(rows, f"{name}_change_pct", f"{name}_change_ci95_pct")
            label = f"{name}: in training" + (
                f" (sample of {f'{docs:,} documents, ' if docs else ''}{sample:,} tokens{', 95% CI' if bars else ''})"
                if sample else "")
            fig.add_scatter(x=[row.get(x) for row in rows], y=[row[f"{name}_change_pct"] for row in rows],
                            mode="lines+markers", name=label, line=dict(color=colour),
                            error_y=bars,
                            hovertemplate=f"{name}, {x} %{{x}}: %{{y:+.1f}}% vs base<extra></extra>")
        final = (verdict or {}).get(name) or {}
        change, ci = final.get("change_pct"), final.get("ci95_pct")
        if change is not None:
            error = None
            if ci and len(ci) == 2:
                error = dict(type="data", symmetric=False, array=[ci[1] - change], arrayminus=[change - ci[0]])
            fig.add_scatter(x=[last_x], y=[change], mode="markers", name=f"{name}: final comparison (whole set, 95% CI)",
                            marker=dict(color=colour, symbol="diamond", size=12, line=dict(color="black", width=1)),
                            error_y=error, hovertemplate=f"{name}, final comparison: %{{y:+.1f}}%<extra></extra>")
    fig.add_hline(y=0, line=dict(color="#999", dash="dot"))
    return _layout(fig, "the curve watched in training against the final comparison (below 0: better than base)",
                   xaxis_title="training tokens seen" if x == "tokens" else "training step",
                   yaxis_title="perplexity change over base (%)")


def none_found(title: str, what: str = "None found") -> go.Figure:
    """An empty finding as words, not as an empty chart on made-up axes."""
    fig = go.Figure()
    fig.add_annotation(text=what, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=16))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=200)


def is_empty(fig: go.Figure) -> bool:
    """Whether a figure built here has no data to show (see :func:`none_found`)."""
    return not fig.data


def _wrap_tokens(tokens: list[dict], width: int) -> tuple[list[dict], int]:
    """Token boxes (x, y, length, text) laid out like wrapped text: lines of at most ``width`` characters."""
    boxes, x, y = [], 0, 0
    for t in tokens:
        pieces = t["text"].split("\n")
        for k, piece in enumerate(pieces):
            if k:  # a newline inside the token: next line
                x, y = 0, y + 1
            if not piece:
                continue
            shown = piece.replace("\t", " ")
            if x and x + len(shown.rstrip()) > width:  # wrap before a token that would overflow
                x, y = 0, y + 1
                shown = shown.lstrip() or shown
            boxes.append({**t, "x": x, "y": y, "length": max(len(shown), 1), "shown": shown})
            x += max(len(shown), 1)
    return boxes, y + 1


def token_view(documents: list[dict], width: int = 100, title: str = "per-token change") -> go.Figure:
    """One document at a time as wrapped text, each token coloured by its change (adapted minus base NLL).

    A diverging scale (blue: the adapted model finds the token more expected; red: less) with its legend,
    the numbers on hover, and a selector over the documents (e.g. the most improved and most worsened).

    Args:
        documents: ``[{"title": str, "tokens": [{text, base, adapted, delta}]}]`` (``tokendiff.document_tokens``).
        width: characters per line.
    """
    from workbench.evaluation.explain import hover

    documents = [d for d in documents if d.get("tokens")]
    if not documents:
        return none_found(title)
    deltas = [abs(t["delta"]) for d in documents for t in d["tokens"]]
    bound = float(sorted(deltas)[int(0.98 * (len(deltas) - 1))]) or 1.0  # shared scale: colours compare across documents
    fig = go.Figure()
    layouts = []
    for i, doc in enumerate(documents):
        boxes, lines = _wrap_tokens(doc["tokens"], width)
        fig.add_bar(
            orientation="h", y=[b["y"] for b in boxes], x=[b["length"] for b in boxes], base=[b["x"] for b in boxes],
            text=[b["shown"] for b in boxes], textposition="inside", insidetextanchor="start", textangle=0,
            constraintext="none", cliponaxis=False,
            textfont=dict(family="DejaVu Sans Mono, Menlo, Consolas, monospace", size=15, color="#111"),
            marker=dict(color=[b["delta"] for b in boxes], colorscale="RdBu_r", cmin=-bound, cmax=bound, cmid=0,
                        line=dict(width=1, color="white"),
                        colorbar=dict(title=dict(text="change<br>(nats)", side="top"), len=0.9,
                                      tickvals=[-bound, 0, bound],
                                      ticktext=[f"{-bound:.2g} more expected", "0 no change", f"+{bound:.2g} less expected"])),
            customdata=[[b["base"], b["adapted"], b["delta"]] for b in boxes],
            hovertemplate="<b>%{text}</b><br>base %{customdata[0]:.2f} nats, adapted %{customdata[1]:.2f}<br>"
                          "change %{customdata[2]:+.2f}<br><i>" + hover("token_delta") + "</i><extra></extra>",
            width=0.9, visible=i == 0, name=doc["title"], showlegend=False,
        )
        layouts.append({"title.text": doc["title"], "yaxis.range": [lines - 0.5, -0.5], "height": 170 + 26 * lines})
    fig.update_layout(barmode="overlay", uniformtext=dict(minsize=10, mode="show"), bargap=0)
    fig.update_xaxes(visible=False, range=[0, width])
    fig.update_yaxes(visible=False, range=layouts[0]["yaxis.range"])
    if len(documents) > 1:
        fig.update_layout(updatemenus=[dict(
            type="dropdown", x=0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=8),
            buttons=[dict(label=d["title"][:90], method="update",
                          args=[{"visible": [k == i for k in range(len(documents))]}, layouts[i]])
                     for i, d in enumerate(documents)],
        )])
    fig = _layout(fig, documents[0]["title"], height=layouts[0]["height"])
    fig.update_layout(title=dict(y=0.99, yanchor="top", font=dict(size=15)),
                      margin=dict(l=20, r=20, t=110 if len(documents) > 1 else 60, b=20))
    return fig
