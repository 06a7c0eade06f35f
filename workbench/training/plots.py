"""Figure builders for training: pure functions from ``metrics.jsonl`` rows (or a plan) to plotly figures.

The app, the notebooks and reports draw the same figures from the same files; the rows are the
ones ``Workspace.run(name).metrics()`` returns (``type`` ``train`` or ``eval``).
"""

from __future__ import annotations

from typing import Literal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.training.plan import overhead_words

_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=50))
XAxis = Literal["step", "tokens"]


def _x_title(x: XAxis) -> str:
    return "tokens seen" if x == "tokens" else "optimizer step"


def training_curves(rows: list[dict], x: XAxis = "step", log_y: bool = False) -> go.Figure:
    """Loss, learning rate and tokens/s of the training rows, stacked with a shared x axis.

    Args:
        rows: metrics rows (others than ``type == "train"`` are ignored).
        x: ``"step"`` or ``"tokens"``.
        log_y: loss on a log scale.
    """
    train = [r for r in rows if r.get("type") == "train"]
    xs = [r.get(x) for r in train]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("loss", "learning rate", "tokens/s"))
    for i, key in enumerate(("loss", "lr", "tokens_per_s"), 1):
        # markers too: the first step is one point, which a line alone does not draw
        fig.add_trace(go.Scatter(x=xs, y=[r.get(key) for r in train], mode="lines+markers", name=key), row=i, col=1)
    for at, name in stage_starts(train, x):
        fig.add_vline(x=at, line_dash="dot", line_color="#7f7f7f", row="all", col=1)
        fig.add_annotation(x=at, y=1.0, yref="paper", text=name, showarrow=False, xanchor="left", yanchor="bottom",
                           font=dict(size=10, color="#7f7f7f"))
    if log_y:
        fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text=_x_title(x), row=3, col=1)
    fig.update_layout(title="Training", height=640, showlegend=False, **_LAYOUT)
    return fig


def stage_starts(rows: list[dict], x: XAxis = "step") -> list[tuple[float, str]]:
    """Where a staged run's next stage begins on the x axis (halfway between the last row of one stage and
    the first of the next) and its name, from the training rows' ``stage``."""
    starts = []
    for before, row in zip(rows, rows[1:]):
        if row.get("stage") and before.get("stage") and row["stage"] != before["stage"]:
            if before.get(x) is not None and row.get(x) is not None:
                starts.append(((before[x] + row[x]) / 2, row["stage"]))
    return starts


def perplexity_curves(
    rows: list[dict],
    x: XAxis = "step",
    log_y: bool = False,
    forgetting_threshold_pct: float | None = 10.0,
) -> go.Figure:
    """Held-out domain and general perplexity over training, with the change over the base (step 0).

    Top: perplexities. Bottom: the change in percent over the base model, with the forgetting
    threshold on the general change as a dashed line.
    """
    evals = [r for r in rows if r.get("type") == "eval"]
    xs = [r.get(x) for r in evals]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("held-out perplexity", "change over the base (%)"))
    colours = {"domain": "#1f77b4", "general": "#ff7f0e"}
    for name, colour in colours.items():
        values = [r.get(f"{name}_ppl") for r in evals]
        if not any(v is not None for v in values):
            continue
        fig.add_trace(go.Scatter(x=xs, y=values, mode="lines+markers", name=f"{name} ppl",
                                 line=dict(color=colour)), row=1, col=1)
        base = next((v for v in values if v is not None), None)
        change = [100 * (v / base - 1) if v is not None and base else None for v in values]
        intervals = [r.get(f"{name}_change_ci95_pct") for r in evals]
        bars = None
        if any(intervals):  # each point's 95% interval, paired over its sample's documents
            bars = dict(type="data", symmetric=False,
                        array=[ci[1] - c if ci and c is not None else 0 for ci, c in zip(intervals, change)],
                        arrayminus=[c - ci[0] if ci and c is not None else 0 for ci, c in zip(intervals, change)])
        sample = [f"{r.get(f'{name}_eval_documents') or '?'} documents, {r.get(f'{name}_eval_tokens') or '?'} tokens"
                  for r in evals]
        fig.add_trace(go.Scatter(x=xs, y=change, mode="lines+markers", name=f"{name} change" + (" (95% CI)" if bars else ""),
                                 line=dict(color=colour, dash="dot"), error_y=bars, customdata=sample,
                                 hovertemplate=f"{name}: %{{y:+.1f}}% over the base on %{{customdata}}<extra></extra>"),
                      row=2, col=1)
    if forgetting_threshold_pct is not None:
        fig.add_hline(y=forgetting_threshold_pct, line_dash="dash", line_color="#d62728", row=2, col=1,
                      annotation_text=f"forgetting threshold (+{forgetting_threshold_pct:g}% general)")
    if log_y:
        fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text=_x_title(x), row=2, col=1)
    fig.update_layout(title="Domain and general perplexity", height=560, **_LAYOUT)
    return fig


def training_figures(rows: list[dict], x: XAxis = "step", log_y: bool = False,
                     forgetting_threshold_pct: float | None = 10.0) -> dict[str, go.Figure]:
    """Every training figure of a run's metrics, by name (empty when there are no rows yet)."""
    figures = {}
    if any(r.get("type") == "train" for r in rows):
        figures["training"] = training_curves(rows, x, log_y)
    if any(r.get("type") == "eval" for r in rows):
        figures["perplexity"] = perplexity_curves(rows, x, log_y, forgetting_threshold_pct)
    return figures


def stage_plan_figure(stages: list[dict], multipliers: list[float], learning_rate: float | None = None) -> go.Figure:
    """A staged curriculum before launch: the learning rate of every step (its multiple when the rate is not
    known) over the stages, each shaded and labelled with its replay share.

    Args:
        stages: the plan's stages (``run.json``'s ``curriculum.stages``, ``curriculum.stage_plan``).
        multipliers: the learning-rate multiple of each step (``curriculum.lr_multipliers``).
        learning_rate: the run's learning rate (the y axis shows rates), or None (multiples).
    """
    scale = learning_rate or 1.0
    steps = list(range(1, len(multipliers) + 1))
    fig = go.Figure(go.Scatter(x=steps, y=[m * scale for m in multipliers], mode="lines", name="learning rate",
                               line=dict(color="#1f77b4")))
    colours = ("#f2f2f2", "#dfe9f5")
    for k, stage in enumerate(stages):
        fig.add_vrect(x0=stage["from_step"] + 0.5, x1=stage["to_step"] + 0.5, fillcolor=colours[k % 2], opacity=0.8,
                      layer="below", line_width=0,
                      annotation_text=f"{stage['name']}<br>replay {stage['replay_ratio']:.0%}",
                      annotation_position="top left", annotation_font_size=10)
    fig.update_layout(title="Stages: learning rate and replay share by step", xaxis_title="optimizer step",
                      yaxis_title="learning rate" if learning_rate else "learning rate (x the run's)", height=320,
                      showlegend=False, **_LAYOUT)
    return fig


MEMORY_PARTS = (
    ("weights_gib", "base weights"),
    ("lora_gib", "LoRA parameters + gradients"),
    ("optimizer_gib", "optimizer state"),
    ("activations_gib", "activations (incl. logits)"),
    ("overhead_gib", "CUDA context + overhead"),
)


def memory_breakdown(plan) -> go.Figure:
    """The plan's peak memory as a stacked bar by part, against the device's memory.

    Args:
        plan: a :class:`workbench.training.plan.Plan` or its ``to_dict()`` (as saved in ``run.json``).
    """
    p = plan if isinstance(plan, dict) else plan.to_dict()
    fig = go.Figure()
    for key, label in MEMORY_PARTS:
        if key == "overhead_gib":
            label = f"{overhead_words(p.get('gpu'))} + overhead"
        fig.add_trace(go.Bar(x=[p.get(key) or 0.0], y=["estimate"], orientation="h", name=label,
                             hovertemplate=f"{label}: %{{x:.2f}} GiB<extra></extra>"))
    # fragmentation: what the peak holds beyond the named parts
    named = sum(p.get(key) or 0.0 for key, _ in MEMORY_PARTS)
    if p.get("peak_gib") and p["peak_gib"] > named + 1e-6:
        fig.add_trace(go.Bar(x=[p["peak_gib"] - named], y=["estimate"], orientation="h", name="fragmentation"))
    device = p.get("device_memory_gib")
    if device:
        fig.add_vline(x=device, line_dash="dash", line_color="#d62728",
                      annotation_text=f"{p.get('gpu')} {device:g} GiB")
    verdict = "fits" if p.get("fits") else "does not fit"
    fig.update_layout(barmode="stack", title=f"Planned peak memory: {p.get('peak_gib', 0):.1f} GiB ({verdict})",
                      xaxis_title="GiB", height=260, **_LAYOUT)
    return fig


def overlay_runs(rows_by_run: dict[str, list[dict]], metric: str = "loss", x: XAxis = "step",
                 log_y: bool = False) -> go.Figure:
    """One metric of several runs on one chart (training rows for loss/lr/tokens_per_s, evaluation
    rows for the perplexities), to compare runs that differ in their config.

    Args:
        rows_by_run: metrics rows of each run, by run name.
        metric: a key of the rows (``loss``, ``lr``, ``tokens_per_s``, ``domain_ppl``, ``general_ppl``).
        x: ``"step"`` or ``"tokens"``.
    """
    fig = go.Figure()
    for name, rows in rows_by_run.items():
        points = [r for r in rows if r.get(metric) is not None and r.get(x) is not None]
        fig.add_trace(go.Scatter(x=[r[x] for r in points], y=[r[metric] for r in points], mode="lines+markers",
                                 name=name))
    if log_y:
        fig.update_yaxes(type="log")
    fig.update_layout(title=f"{metric} by run", xaxis_title=_x_title(x), yaxis_title=metric, height=420, **_LAYOUT)
    return fig
