"""Figure builders for a corpus profile: pure functions ``profile dict -> plotly Figure``.

The report, the notebooks and the app draw the same figures from ``profile.json``.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

_LAYOUT = dict(template="plotly_white", height=360, margin=dict(l=60, r=20, t=50, b=50))


def none_found(title: str) -> go.Figure:
    """An empty finding as words ("None found"), not bars of zero on made-up -100%..100% axes."""
    fig = go.Figure()
    fig.add_annotation(text="None found", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=16))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, **{**_LAYOUT, "height": 200})
    return fig


def length_histogram(profile: dict) -> go.Figure:
    """Documents by length in tokens (log-spaced bins)."""
    hist = profile.get("length_histogram") or {"edges": [], "counts": []}
    edges, counts = hist["edges"], hist["counts"]
    centers = [(edges[i] * edges[i + 1]) ** 0.5 for i in range(len(counts))]
    widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
    fig = go.Figure(go.Bar(x=centers, y=counts, width=widths, marker_color="#4c78a8",
                           hovertemplate="%{x:.0f} tokens: %{y} documents<extra></extra>"))
    fig.update_layout(title="Document length (tokens in the model's tokenizer)", xaxis_title="tokens per document",
                      yaxis_title="documents", xaxis_type="log", **_LAYOUT)
    return fig


def glossary_tokens(profile: dict, top: int = 30) -> go.Figure:
    """Glossary terms that fragment most: tokens per term, pieces in the hover text."""
    rows = sorted(profile.get("glossary") or [], key=lambda r: (-r["tokens"], r["term"]))[:top][::-1]
    fig = go.Figure(go.Bar(
        x=[r["tokens"] for r in rows], y=[r["term"] for r in rows], orientation="h", marker_color="#f58518",
        customdata=[" | ".join(r["pieces"]) for r in rows], hovertemplate="%{y}: %{x} tokens<br>%{customdata}<extra></extra>",
    ))
    layout = {**_LAYOUT, "height": max(300, 18 * len(rows) + 100)}
    fig.update_layout(title="Glossary terms split into the most tokens", xaxis_title="tokens", **layout)
    return fig


def duplicates(profile: dict) -> go.Figure:
    """Share of documents that are exact and near duplicates."""
    names = ["exact duplicates", f"near duplicates (Jaccard >= {profile.get('near_duplicate_threshold', 0.8)})"]
    values = [profile["exact_duplicate_rate"], profile["near_duplicate_rate"]]
    if not any(values):
        return none_found("Duplicates (share of documents removed by deduplication)")
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=["#e45756", "#ff9da6"], text=[f"{v:.1%}" for v in values]))
    fig.update_layout(title="Duplicates (share of documents removed by deduplication)", yaxis_tickformat=".0%", **_LAYOUT)
    return fig


def quality_failures(profile: dict) -> go.Figure:
    """Share of documents failing each quality rule (first failing rule per document)."""
    rules = {k: v for k, v in profile["quality"]["failing_by_rule"].items() if v}
    if not rules:
        return none_found("Quality rules failed")
    fig = go.Figure(go.Bar(x=list(rules), y=list(rules.values()), marker_color="#72b7b2",
                           text=[f"{v:.1%}" for v in rules.values()]))
    fig.update_layout(title=f"Quality rules failed ({profile['quality']['failing_share']:.1%} of documents)",
                      yaxis_tickformat=".0%", **_LAYOUT)
    return fig


def pii_counts(profile: dict) -> go.Figure:
    """Matches of each kind of personal data (PII) the project looks for (``CorpusConfig.pii_types``)."""
    pii = profile["pii"]
    kinds = ", ".join(k.replace("_", " ") for k in profile.get("pii_types", pii)) or "no kind chosen"
    if not any(pii.values()):
        return none_found(f"PII found (looked for: {kinds})")
    fig = go.Figure(go.Bar(x=[k.replace("_", " ") for k in pii], y=list(pii.values()), marker_color="#b279a2",
                           text=list(pii.values())))
    fig.update_layout(title=f"PII found: {profile['documents_with_pii']} documents contain some (looked for: {kinds})",
                      yaxis_title="matches", **_LAYOUT)
    return fig


def languages(profile: dict, top: int = 10) -> go.Figure:
    items = list(profile["languages"].items())[:top]
    fig = go.Figure(go.Bar(x=[k for k, _ in items], y=[v for _, v in items], marker_color="#54a24b"))
    fig.update_layout(title="Languages (share of documents, py3langid)", yaxis_tickformat=".0%", **_LAYOUT)
    return fig


def domain_terms(profile: dict, top: int = 25) -> go.Figure:
    """The words most over-represented against the general reference, in the profile's ranking order.

    Terms are ranked by the lower end of the 95% interval of their log-odds ratio (``log_odds_lower``); profiles
    written before that ranking carry only ``z``, which is drawn instead.
    """
    terms = (profile.get("domain", {}).get("top_terms") or [])[:top][::-1]
    key = "log_odds_lower" if terms and all("log_odds_lower" in t for t in terms) else "z"
    fig = go.Figure(go.Bar(
        x=[t[key] for t in terms], y=[t["term"] for t in terms], orientation="h", marker_color="#9d755d",
        customdata=[[t["count"], t["reference_count"], t.get("z")] for t in terms],
        hovertemplate="%{y}: %{x:.2f}<br>%{customdata[0]} in corpus, %{customdata[1]} in reference, "
                      "z=%{customdata[2]:.1f}<extra></extra>",
    ))
    jsd = profile.get("domain", {}).get("jensen_shannon")
    title = "Most over-represented domain terms" + (f" (Jensen-Shannon divergence {jsd:.3f})" if jsd is not None else "")
    axis = ("log-odds ratio against the reference, lower end of its 95% interval" if key == "log_odds_lower"
            else "log-odds z-score (informative Dirichlet prior)")
    fig.update_layout(title=title, xaxis_title=axis, **{**_LAYOUT, "height": max(300, 18 * len(terms) + 100)})
    return fig


def vocabulary_growth(profile: dict) -> go.Figure:
    """Heaps curve (distinct words against running words), its fit extrapolated, and the token marks."""
    points = profile["heaps"].get("points") or []
    k, beta = profile["heaps"].get("K"), profile["heaps"].get("beta")
    tpw = profile.get("tokens_per_word") or 1.0
    readiness = profile["readiness"]
    fig = go.Figure(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="markers+lines",
                               name="this corpus", line=dict(color="#4c78a8")))
    if k and beta and points:
        import numpy as np

        xs = np.geomspace(max(1, points[0][0]), readiness["saturation_tokens"] / tpw * 1.5, 60)
        fig.add_trace(go.Scatter(x=xs, y=k * xs**beta, mode="lines", name=f"Heaps fit V = {k:.1f} n^{beta:.2f}",
                                 line=dict(dash="dash", color="#aaaaaa")))
    # the two token marks as named traces, so the legend says what each red line is
    top = max([p[1] for p in points] + [k * (readiness["saturation_tokens"] / tpw * 1.5) ** beta if k and beta else 1])
    marks = ((readiness["floor_tokens"], "dot", "below this, adapting rarely moves perplexity"),
             (readiness["saturation_tokens"], "dash", "around this, new words become rare"))
    for mark, dash, meaning in marks:
        words = mark / tpw
        label = f"{_tokens_text(mark)} tokens ({_tokens_text(words)} words): {meaning}"
        fig.add_trace(go.Scatter(x=[words, words], y=[1, top * 1.2], mode="lines", name=label,
                                 line=dict(color="#e45756", dash=dash),
                                 hovertemplate=f"{label}<extra></extra>"))
    fig.update_layout(title=f"Vocabulary growth: verdict '{readiness['verdict']}'", xaxis_title="running words",
                      yaxis_title="distinct words", xaxis_type="log", yaxis_type="log", **_LAYOUT)
    return fig


def _tokens_text(n: float) -> str:
    """500000 -> '500k', 50000000 -> '50M'."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return f"{n:.0f}"


FIGURE_TITLES = {
    "length": "Document length", "duplicates": "Duplicates", "quality": "Quality rules", "pii": "PII",
    "languages": "Languages", "vocabulary": "Vocabulary growth", "glossary": "Glossary terms",
    "domain": "Domain terms", "removal_funnel": "Removal funnel",
}
"""How a page or a notebook titles each figure of :func:`all_figures` and :func:`snapshot_figures`."""


def figure_title(name: str) -> str:
    """The title of the figure ``name`` (:data:`FIGURE_TITLES`; else its name in words)."""
    return FIGURE_TITLES.get(name) or name.replace("_", " ").capitalize()
def difficulty_distributions(profile: dict) -> go.Figure:
    """The documents' difficulty signals (compression ratio, MTLD, Flesch reading ease), one histogram each,
    with the median marked: what an easy-to-hard order would sort by."""
    difficulty = profile.get("difficulty") or {}
    histograms, labels = difficulty.get("histograms") or {}, difficulty.get("labels") or {}
    names = [name for name, h in histograms.items() if h.get("counts")]
    if not names:
        return none_found("Difficulty signals")
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[labels.get(n, n).split(" (")[0] for n in names])
    for col, name in enumerate(names, 1):
        edges, counts = histograms[name]["edges"], histograms[name]["counts"]
        centers = [(edges[i] + edges[i + 1]) / 2 for i in range(len(counts))]
        fig.add_trace(go.Bar(x=centers, y=counts, marker_color="#54a24b", name=name,
                             hovertemplate=f"{name} %{{x:.2f}}: %{{y}} documents<extra></extra>"), row=1, col=col)
        median = (difficulty.get("signals") or {}).get(name, {}).get("median")
        if median is not None:
            fig.add_vline(x=median, line_dash="dot", line_color="#e45756", row=1, col=col)
        fig.update_xaxes(title_text=name, row=1, col=col)
    fig.update_yaxes(title_text="documents", row=1, col=1)
    fig.update_layout(title="Difficulty signals per document (median dotted)", showlegend=False, bargap=0.05, **_LAYOUT)
    return fig


def all_figures(profile: dict) -> dict[str, go.Figure]:
    """Every figure of the report, by section name."""
    figures = {
        "length": length_histogram(profile),
        "duplicates": duplicates(profile),
        "quality": quality_failures(profile),
        "pii": pii_counts(profile),
        "languages": languages(profile),
        "vocabulary": vocabulary_growth(profile),
    }
    if profile.get("difficulty"):  # profiles written before the difficulty signals have none
        figures["difficulty"] = difficulty_distributions(profile)
    if profile.get("glossary"):
        figures["glossary"] = glossary_tokens(profile)
    if profile.get("domain", {}).get("top_terms"):
        figures["domain"] = domain_terms(profile)
    return figures


def removal_funnel(manifest: dict) -> go.Figure:
    """Curation's funnel: documents in, then what each step removed (in the order curation applies
    them), then what is kept for train and eval. Takes a snapshot's ``manifest.json``."""
    counts = manifest.get("counts") or {}
    removed = counts.get("removed") or {}
    stages, values = ["input documents"], [counts.get("input_documents", 0)]
    remaining = values[0]
    for reason, n in removed.items():
        remaining -= n or 0
        stages.append(f"after {reason.replace('_', ' ')} (-{n or 0:,})")
        values.append(remaining)
    stages += ["train", "eval"]
    values += [counts.get("train", 0), counts.get("eval", 0)]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial", marker_color="#4c78a8"))
    fig.update_layout(title="Curation: documents kept at each step", **_LAYOUT)
    return fig


def snapshot_figures(manifest: dict) -> dict[str, go.Figure]:
    """Every figure of a snapshot by name, from its ``manifest.json`` (or a curation result's manifest)."""
    return {"removal_funnel": removal_funnel(manifest)}
