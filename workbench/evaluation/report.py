"""A self-contained HTML report (plotly.js inlined once) and the atomic write of an output folder."""

from __future__ import annotations

import html
import os
from pathlib import Path

from workbench.io import atomic_directory, write_json, write_jsonl


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _table(rows: list[dict], columns: list[tuple[str, str]], digits: int = 3) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r.get(key), digits)}</td>" for key, _ in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ci(values) -> str:
    return f"[{values[0]:.3f}, {values[1]:.3f}]" if values and values[0] is not None else "–"


def _metrics_table(results: dict) -> str:
    """One row per (model, set): the headline numbers."""
    rows = []
    for label, sets in results.items():
        for name, m in sets.items():
            rows.append({
                "model": label, "set": name, "token_ppl": m["token_ppl"], "ci": _ci(m.get("token_ppl_ci95")),
                "word_ppl": m["word_ppl"], "bits_per_byte": m["bits_per_byte"], "ece": m["ece"],
                "ece_equal_mass": m["ece_equal_mass"], "mce": m["mce"], "brier": m["brier"],
                "brier_top_label": m["brier_top_label"], "tokens": m["tokens"],
            })
    return _table(rows, [
        ("model", "model"), ("set", "set"), ("token_ppl", "token ppl"), ("ci", "95% CI"), ("word_ppl", "word ppl"),
        ("bits_per_byte", "bits/byte"), ("ece", "ECE"), ("ece_equal_mass", "ECE (equal mass)"), ("mce", "MCE"),
        ("brier", "Brier (full vocab)"), ("brier_top_label", "Brier (top label)"), ("tokens", "tokens"),
    ])


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:0.5em 1em}
.gen td{text-align:left;white-space:pre-wrap;max-width:380px}
.legend{font-size:0.85em;color:#555}
"""


def build_report(result: dict, figures: dict, token_html: list[str] | None = None) -> str:
    """The report as one HTML string that opens offline (plotly.js embedded once)."""
    from plotly.offline import get_plotlyjs

    title = "Base vs adapted comparison" if result.get("kind") == "comparison" else "Evaluation"
    parts = [f"<h1>{title}</h1>"]
    if result.get("kind") == "comparison":
        parts.append(
            f"<p>base <code>{html.escape(str(result['base_model']))}</code>, adapted <code>{html.escape(str(result['adapter']))}</code>, "
            f"weights {result['quant']}, window {result['window']}, stride {result['stride']}.</p>"
        )
    else:
        parts.append(
            f"<p>model <code>{html.escape(str(result['model']))}</code>"
            + (f" + adapter <code>{html.escape(str(result['adapter']))}</code>" if result.get("adapter") else "")
            + f", data <code>{html.escape(result['data'])}</code>, weights {result['quant']}, window {result['window']}, "
            f"stride {result['stride']}.</p>"
        )
    for note in result.get("warnings") or []:
        parts.append(f'<p class="warn">{html.escape(note)}</p>')
    if result.get("kind") == "comparison":
        parts.append("<h2>Headline numbers</h2>")
        parts.append(_metrics_table({"base": result["base"], "adapted": result["adapted"]}))
        rows = [{"set": name, **d, "ci": _ci(d["ci95"])} for name, d in result["delta"].items()]
        parts.append("<h2>Paired change (adapted minus base)</h2>")
        parts.append(_table(rows, [
            ("set", "set"), ("nll_per_token", "Δ NLL nats/token"), ("ci", "95% CI"), ("ppl_change_pct", "perplexity change %"),
            ("bits_per_byte", "Δ bits/byte"), ("ece", "Δ ECE"), ("documents_improved", "docs improved"),
            ("documents_worse", "docs worse"), ("significant", "interval excludes 0"),
        ]))
    else:
        parts.append("<h2>Numbers</h2>")
        parts.append(_metrics_table({"model": {"data": result["metrics"]}}))
    for name, fig in figures.items():
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, default_height="480px"))
    for name, terms in (result.get("terms") or {}).items():
        columns = [("term", "term"), ("count", "count"), ("base_nll", "base nats"), ("adapted_nll", "adapted nats"),
                   ("delta", "Δ per occurrence"), ("total_delta", "Δ total")]
        parts.append(f"<h2>Terms: {name}</h2>")
        if terms["glossary"]:
            parts.append("<h3>glossary terms</h3>" + _table(terms["glossary"], columns))
        parts.append("<h3>largest gains</h3>" + _table(terms["gained"], columns))
        parts.append("<h3>largest losses</h3>" + _table(terms["lost"], columns))
    if token_html:
        parts.append("<h2>Per-token surprisal change</h2>" + "".join(token_html))
    probes = result.get("probes")
    if probes:
        s = probes["summary"]
        parts.append(
            f"<h2>Probes</h2><p>{s['probes']} probes: expected completion more probable after adaptation in "
            f"{s['prob_up']}, rank better in {s['rank_improved']}, worse in {s['rank_worse']}; top-1 "
            f"{s['base_top1']} → {s['adapted_top1']}; mean Δ log-probability {s['mean_logprob_change']:+.3f}.</p>"
        )
        parts.append(_table(probes["rows"], [
            ("prompt", "prompt"), ("expected", "expected"), ("base_prob", "base p"), ("adapted_prob", "adapted p"),
            ("base_rank", "base rank"), ("adapted_rank", "adapted rank"),
        ], digits=4))
    if result.get("generations"):
        parts.append('<h2>Generations (greedy)</h2><div class="gen">' + _table(
            result["generations"], [("prompt", "prompt"), ("base", "base"), ("adapted", "adapted")]) + "</div>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>{body}</body></html>"
    )


def write_outputs(
    out: Path, name: str, result: dict, config, documents: list[dict], figures: dict, extras: dict,
    overwrite: bool, inputs: dict[str, str | os.PathLike | None],
) -> Path:
    """Build the whole folder under a temporary name; the result JSON (``complete: true``) goes last."""
    from workbench.evaluation.compare import _clean
    from workbench.runcard import make_run_card

    result = _clean(result)
    card = make_run_card(result["kind"], config, seed=config.seed,
                         inputs={k: v for k, v in inputs.items() if v is not None})
    with atomic_directory(out, overwrite=overwrite) as tmp:
        write_jsonl(tmp / "documents.jsonl", _clean(documents))
        (tmp / "figures").mkdir()
        for key, fig in figures.items():
            (tmp / "figures" / f"{key}.json").write_text(fig.to_json(), encoding="utf-8")
        if extras.get("token_html"):
            (tmp / "tokens.html").write_text(
                "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>" + "".join(extras["token_html"]) + "</body></html>",
                encoding="utf-8",
            )
        if result.get("generations"):
            write_jsonl(tmp / "generations.jsonl", result["generations"])
        (tmp / "report.html").write_text(build_report(result, figures, extras.get("token_html")), encoding="utf-8")
        write_json(tmp / name, {**result, "card": card, "complete": True})
        from workbench.artifacts import headline, write_manifest

        write_manifest(tmp, result["kind"], card=card, headline=headline(result["kind"], result))
    return out


__all__ = ["build_report", "write_outputs"]
