"""A self-contained HTML report (plotly.js inlined once) and the atomic write of an output folder."""

from __future__ import annotations

import html
import os
from pathlib import Path

from workbench.evaluation.explain import explain
from workbench.io import atomic_directory, write_json, write_jsonl
from workbench.io import finite_json as _clean

NONE_FOUND = "<p><em>None found.</em></p>"


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _table(rows: list[dict], columns: list[tuple[str, str]], digits: int = 3, explained: dict | None = None) -> str:
    """A table; ``explained`` maps a column key to the metric whose sentence becomes the header's hover text."""
    if not rows:
        return NONE_FOUND
    explained = explained or {}

    def th(key: str, title: str) -> str:
        tip = explain(explained.get(key, key))
        return f'<th title="{html.escape(tip)}">{html.escape(title)}</th>' if tip else f"<th>{html.escape(title)}</th>"

    head = "".join(th(key, title) for key, title in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r.get(key), digits)}</td>" for key, _ in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ci(values, digits: int = 3, suffix: str = "") -> str:
    if not values:
        return "–"
    if values[0] is None or values[1] is None:  # null interval: a one-document set cannot be resampled
        return "none (one document: no bootstrap interval)"
    return f"[{values[0]:.{digits}f}{suffix}, {values[1]:.{digits}f}{suffix}]"


def _definitions(keys: list[tuple[str, str]]) -> str:
    """'What the numbers mean': one plain sentence per (column title, metric) shown above."""
    items = "".join(f"<dt>{html.escape(title)}</dt><dd>{html.escape(explain(k))}</dd>" for title, k in keys if explain(k))
    return f'<details class="explain" open><summary>What these numbers mean</summary><dl>{items}</dl></details>'


HEADLINE_KEYS = [("perplexity", "token_ppl"), ("95% interval", "token_ppl_ci95"), ("word perplexity", "word_ppl"),
                 ("bits/byte", "bits_per_byte"), ("calibration error (ECE)", "ece"), ("ECE (equal mass)", "ece_equal_mass"),
                 ("max calibration error", "mce"), ("Brier (full vocab)", "brier"), ("Brier (top label)", "brier_top_label"),
                 ("tokens", "tokens")]


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
        ("model", "model"), ("set", "set"), ("token_ppl", "perplexity"), ("ci", "95% interval"), ("word_ppl", "word perplexity"),
        ("bits_per_byte", "bits/byte"), ("ece", "calibration error (ECE)"), ("ece_equal_mass", "ECE (equal mass)"),
        ("mce", "max calibration error"), ("brier", "Brier (full vocab)"), ("brier_top_label", "Brier (top label)"),
        ("tokens", "tokens"),
    ], explained={"ci": "token_ppl_ci95"}) + _definitions(HEADLINE_KEYS)


STATUS_CLASS = {"better": "good", "no_loss": "good", "unchanged": "neutral", "unclear": "neutral", "small_cost": "neutral",
                "worse": "bad", "forgetting": "bad", "unknown": "neutral"}


def _verdict_block(verdict: dict) -> str:
    """The verdict at the top: domain, general, calibration (and other sets), next steps, documents to review."""
    rows = []
    for label, part in (("Domain", verdict.get("domain")), ("General text", verdict.get("general")),
                        ("Calibration", verdict.get("calibration")), ("Regression set", verdict.get("regression")),
                        ("Glossary cloze", verdict.get("cloze"))):
        if part:
            css = STATUS_CLASS.get(part["status"], "neutral")
            rows.append(f'<li class="{css}"><b>{label}:</b> {html.escape(part["sentence"])}</li>')
    for name, part in (verdict.get("other_sets") or {}).items():
        css = STATUS_CLASS.get(part["status"], "neutral")
        rows.append(f'<li class="{css}"><b>{html.escape(name)}:</b> {html.escape(part["sentence"])}</li>')
    steps = "".join(f"<li>{html.escape(s)}</li>" for s in verdict.get("next_steps") or [])
    review = ""
    if verdict.get("review_first"):
        review = "<h3>Documents to review first (predicted worse after adaptation)</h3>" + _table(
            verdict["review_first"],
            [("id", "document"), ("delta_nll", f"change (nats/{(verdict.get('domain') or {}).get('unit', 'token')})"),
             ("extract", "extract")],
            explained={"delta_nll": "delta_nll"})
    limits = f'<p class="limits">{html.escape(verdict["limits"])}</p>' if verdict.get("limits") else ""
    return (f'<div class="verdict"><h2>Verdict</h2><ul class="status">{"".join(rows)}</ul>{limits}'
            f"<h3>Next steps</h3><ol>{steps}</ol>{review}</div>")


TERM_COLUMNS = [("term", "term"), ("kind", "kind"), ("count", "count"), ("documents", "documents"),
                ("delta", "change per occurrence (nats)"), ("interval", "95% interval"), ("example", "example in context")]


def _term_rows(rows: list[dict], min_interval: int) -> list[dict]:
    return [{**r, "interval": _ci(r.get("ci95"), 3) if r.get("ci95") else f"needs {min_interval}+ occurrences"}
            for r in rows]


def _terms_section(name: str, terms: dict) -> str:
    need = terms.get("min_count_for_interval", 5)
    explained = {"delta": "term_delta", "interval": "term_interval"}
    parts = [f"<h2>Terms: {html.escape(name)}</h2>",
             f'<p class="legend">Content words only (function words such as "the" and "with" are left out); glossary '
             f"terms first, then the corpus profile's domain terms, then other words. {html.escape(explain('term_delta'))}</p>"]
    if terms.get("glossary"):
        parts.append("<h3>Glossary terms</h3>" + _table(_term_rows(terms["glossary"], need), TERM_COLUMNS, 3, explained))
    if terms.get("domain_terms"):
        parts.append("<h3>Domain terms (corpus profile)</h3>"
                     + _table(_term_rows(terms["domain_terms"], need), TERM_COLUMNS, 3, explained))
    parts.append("<h3>Largest gains (more expected after adaptation)</h3>"
                 + _table(_term_rows(terms.get("gained") or [], need), TERM_COLUMNS, 3, explained))
    parts.append("<h3>Largest losses (less expected after adaptation)</h3>"
                 + _table(_term_rows(terms.get("lost") or [], need), TERM_COLUMNS, 3, explained))
    return "".join(parts)


def _documents_section(documents: list[dict], k: int = 5) -> str:
    if not documents or "delta_nll" not in documents[0]:
        return ""
    from workbench.evaluation.tables import change_pct

    parts = ["<h2>Documents that changed most</h2>"]
    per = documents[0].get("nll_per", "token")
    columns = [("change_pct", f"perplexity change % (per {per})"), ("title", "document"), ("tokens", "tokens"),
               ("delta_nll", f"change (nats/{per})"), ("id", "id")]
    explained = {"delta_nll": "delta_nll"}
    documents = [{**d, "title": d.get("title") or d.get("extract") or d.get("id"), "change_pct": change_pct(d)}
                 for d in documents]
    for name in dict.fromkeys(d["set"] for d in documents):
        rows = sorted((d for d in documents if d["set"] == name), key=lambda d: d["delta_nll"])
        parts.append(f"<h3>{html.escape(name)}: most improved</h3>"
                     + _table([d for d in rows if d["delta_nll"] < 0][:k], columns, 3, explained))
        parts.append(f"<h3>{html.escape(name)}: most worsened</h3>"
                     + _table([d for d in rows[::-1] if d["delta_nll"] > 0][:k], columns, 3, explained))
    return "".join(parts)


def _generations_section(generations: list[dict], repetition: dict | None, screen: dict | None = None) -> str:
    rows = []
    for g in generations:
        row = dict(g)
        for side in ("base", "adapted"):
            if g.get(f"{side}_repetitive"):
                row[side] = f"{g[side]}\n⚠ repeats itself ({g[f'{side}_repetition']:.0%} of 3-word sequences repeated)"
            for hit in g.get(f"{side}_screen") or []:  # the screen's hits, beside the text they were found in
                row[side] = f"{row[side]}\n⚠ screen: {hit['category']} ({hit['match']!r})"
            if g.get(f"{side}_degenerate"):
                row[side] = f"{row[side]}\n⚠ screen: degenerate output"
        rows.append(row)
    head = "<h2>Generations (greedy)</h2>"
    if screen and screen.get("adapted"):
        head += (f'<p class="legend">Screen ({screen["rules"]} listed words and patterns): flagged base '
                 f'{screen["base"]["flagged"]} of {len(generations)}, adapted {screen["adapted"]["flagged"]} of '
                 f'{len(generations)}. {html.escape(screen["note"])}</p>')
    if repetition:
        head += (f'<p class="legend">{html.escape(explain("repetition"))} Flagged above '
                 f"{repetition['threshold']:.0%}: base {repetition['base_repetitive']} of {len(generations)}, adapted "
                 f"{repetition['adapted_repetitive']} of {len(generations)}.</p>")
    return head + '<div class="gen">' + _table(rows, [("prompt", "prompt"), ("base", "base"), ("adapted", "adapted")]) + "</div>"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
td:last-child{text-align:left}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:0.5em 1em}
.gen td{text-align:left;white-space:pre-wrap;max-width:380px}
.legend{font-size:0.85em;color:#555}
.verdict{border:1px solid #ccc;border-radius:6px;padding:0.5em 1.5em 1em;margin:1em 0 2em;background:#fafafa}
.verdict ul.status{list-style:none;padding-left:0} .verdict ul.status li{padding:0.4em 0.6em;margin:0.3em 0;border-left:5px solid #999}
.verdict li.good{border-color:#2a9d4b;background:#eef8f0} .verdict li.bad{border-color:#c0392b;background:#fcefee}
.verdict li.neutral{border-color:#999;background:#f4f4f4}
th[title]{text-decoration:underline dotted;cursor:help}
details.explain{font-size:0.85em;color:#444;margin:-1em 0 1.5em}
details.explain dl{display:grid;grid-template-columns:max-content auto;gap:0.15em 1em;margin:0.4em 0}
details.explain dt{font-weight:600} details.explain dd{margin:0}
.tokenview select{font-size:1em;margin:0.5em 0}
"""


def _training_curve_note(curve: dict | None) -> str:
    """The last in-training point against the final change, as ``comparison.json`` says it."""
    if not curve or not curve.get("sentence"):
        return ""
    return f"<p>{html.escape(curve['sentence'])}</p>"


def build_report(result: dict, figures: dict, token_html: list[str] | None = None,
                 token_documents: list[dict] | None = None, documents: list[dict] | None = None) -> str:
    """The report as one HTML string that opens offline (plotly.js embedded once).

    A comparison opens with its verdict; every number carries its plain-language explanation (hover a
    column header, or open "What these numbers mean"); empty findings read "None found".
    """
    from plotly.offline import get_plotlyjs

    from workbench.evaluation.plots import is_empty
    from workbench.evaluation.tokendiff import render_documents

    against = result.get("against")
    labels = result.get("labels") or {"base": "base", "adapted": "adapted"}
    title = ("Run against run" if against else "Base vs adapted comparison") if result.get("kind") == "comparison" \
        else "Monitor" if result.get("kind") == "monitor" else "Evaluation"
    parts = [f"<h1>{title}</h1>"]
    if result.get("kind") == "monitor":
        from workbench.evaluation.drift import monitor_html

        parts.append(monitor_html(result))
    elif result.get("kind") == "comparison" and against:
        parts.append(
            f"<p>run <code>{html.escape(str(result['adapter']))}</code> ({html.escape(labels['adapted'])}) against run "
            f"<code>{html.escape(str(against))}</code> ({html.escape(labels['base'])}), both on base "
            f"<code>{html.escape(str(result['base_model']))}</code>, weights {result['quant']}, window {result['window']}, "
            f"stride {result['stride']}. In the tables, “base” is {html.escape(labels['base'])} and “adapted” "
            f"{html.escape(labels['adapted'])}.</p>"
        )
        if result.get("verdict"):
            parts.append(_verdict_block(result["verdict"]))
    elif result.get("kind") == "comparison":
        parts.append(
            f"<p>base <code>{html.escape(str(result['base_model']))}</code>, adapted <code>{html.escape(str(result['adapter']))}</code>, "
            f"weights {result['quant']}, window {result['window']}, stride {result['stride']}.</p>"
        )
        if result.get("verdict"):
            parts.append(_verdict_block(result["verdict"]))
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
        rows = [{"set": name, **d, "ci": _ci(d["ci95"]),
                 "ppl_ci": _ci([100 * (x - 1) for x in d["ppl_ratio_ci95"]], 1, "%") if d.get("ppl_ratio_ci95")
                 and None not in d["ppl_ratio_ci95"] else "–"} for name, d in result["delta"].items()]
        per = (result.get("tokenizer") or {}).get("compared_per", "token")
        parts.append("<h2>Paired change (adapted minus base)</h2>")
        parts.append(_table(rows, [
            ("set", "set"), ("ppl_change_pct", "perplexity change %" if per == "token" else "word perplexity change %"),
            ("ppl_ci", "95% interval"), ("nll_per_token", f"Δ NLL nats/{per}"), ("ci", "95% interval (nats)"),
            ("bits_per_byte", "Δ bits/byte"), ("ece", "Δ calibration error"), ("documents_improved", "docs improved"),
            ("documents_worse", "docs worse"), ("significant", "unlikely to be chance"),
        ], explained={"ppl_ci": "ci95", "ci": "ci95", "nll_per_token": "delta_nll"})
            + _definitions([("perplexity change %", "ppl_change_pct"), ("95% interval", "ci95"),
                            ("Δ NLL nats/token", "delta_nll"), ("unlikely to be chance", "significant"),
                            ("docs improved / worse", "documents_improved")]))
    elif result.get("kind") != "monitor":  # a monitor's numbers are its own table, above
        parts.append("<h2>Numbers</h2>")
        parts.append(_metrics_table({"model": {"data": result["metrics"]}}))
    for name, fig in figures.items():
        if name.startswith("tokens_") and token_documents is not None:
            continue  # the report shows the token view as coloured text below
        parts.append(f"<h2>{html.escape(name.replace('_', ' '))}</h2>")
        if name == "training_curve":
            parts.append(_training_curve_note(result.get("training_curve")))
        parts.append(NONE_FOUND if is_empty(fig) else
                     fig.to_html(full_html=False, include_plotlyjs=False, default_height="480px"))
    parts.append(_documents_section(documents or []))
    for name, terms in (result.get("terms") or {}).items():
        parts.append(_terms_section(name, terms))
    if token_documents is not None:
        parts.append("<h2>Change word by word, one document at a time</h2>"
                     f'<p class="legend">{html.escape(explain("token_delta"))}</p>' + render_documents(token_documents))
    elif token_html:
        parts.append("<h2>Per-token surprisal change</h2>" + "".join(token_html))
    probes = result.get("probes")
    if probes:
        s = probes["summary"]
        parts.append(
            f"<h2>Probes</h2><p>{html.escape(explain('probe'))} {s['probes']} probes: expected completion more probable "
            f"after adaptation in {s['prob_up']}, rank better in {s['rank_improved']}, worse in {s['rank_worse']}; top-1 "
            f"{s['base_top1']} → {s['adapted_top1']}; mean Δ log-probability {s['mean_logprob_change']:+.3f}.</p>"
        )
        parts.append(_table(probes["rows"], [
            ("prompt", "prompt"), ("expected", "expected"), ("base_prob", "base p"), ("adapted_prob", "adapted p"),
            ("base_rank", "base rank"), ("adapted_rank", "adapted rank"),
        ], digits=4))
    cloze = result.get("cloze")
    if cloze:
        parts.append(f"<h2>Glossary cloze probes</h2><p>{html.escape(cloze['verdict']['sentence'])}</p>"
                     '<p class="legend">Each probe is a glossary definition with its term masked; the model ranks the '
                     "term among related, sibling and random glossary terms by how much the definition raises each "
                     "one's probability. log p: the term's log-probability among the candidates.</p>")
        parts.append(_table(sorted(cloze["rows"], key=lambda r: r["logprob_change"]), [
            ("term", "term"), ("base_logprob", "base log p"), ("adapted_logprob", "adapted log p"),
            ("logprob_change", "change"), ("base_rank", "base rank"), ("adapted_rank", "adapted rank"),
        ], digits=3))
    if result.get("regression"):
        from workbench.evaluation.regression import regression_html

        parts.append(regression_html(result["regression"]))
    if result.get("kind") == "comparison" and "generations" in result:
        if result.get("generations"):
            parts.append(_generations_section(result["generations"], result.get("repetition"), result.get("screen")))
    if result.get("bias"):
        from workbench.evaluation.bias import bias_html

        parts.append(bias_html(result["bias"]))
    if result.get("drift"):
        from workbench.evaluation.drift import drift_html

        parts.append(drift_html(result["drift"]))
    body = "\n".join(p for p in parts if p)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>{body}</body></html>"
    )


def write_outputs(
    out: Path, name: str, result: dict, config, documents: list[dict], figures: dict, extras: dict,
    overwrite: bool, inputs: dict[str, str | os.PathLike | None],
) -> Path:
    """Build the whole folder under a temporary name; the result JSON (``complete: true``) goes last."""
    from workbench.runcard import make_run_card

    result = _clean(result)
    runtime = result.pop("runtime", None)  # how it ran (threads, precision, cached base scores): the card's
    card = make_run_card(result["kind"], config, seed=config.seed,
                         inputs={k: v for k, v in inputs.items() if v is not None},
                         **({"runtime": runtime} if runtime else {}))
    with atomic_directory(out, overwrite=overwrite) as tmp:
        write_jsonl(tmp / "documents.jsonl", _clean(documents))
        (tmp / "figures").mkdir()
        for key, fig in figures.items():
            (tmp / "figures" / f"{key}.json").write_text(fig.to_json(), encoding="utf-8")
        token_documents = extras.get("token_documents")
        if token_documents or extras.get("token_html"):
            from workbench.evaluation.tokendiff import render_documents

            body = render_documents(token_documents) if token_documents else "".join(extras["token_html"])
            (tmp / "tokens.html").write_text(
                "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>" + body + "</body></html>", encoding="utf-8",
            )
        if token_documents:  # per-token change as data (review items of regressed documents read it)
            write_jsonl(tmp / "tokens.jsonl", _clean(token_documents))
        if result.get("generations"):
            write_jsonl(tmp / "generations.jsonl", result["generations"])
        (tmp / "report.html").write_text(
            build_report(result, figures, extras.get("token_html"), token_documents, documents), encoding="utf-8")
        write_json(tmp / name, {**result, "card": card, "complete": True})
        from workbench.artifacts import headline, write_manifest

        write_manifest(tmp, result["kind"], card=card, headline=headline(result["kind"], result))
    return out


__all__ = ["build_report", "write_outputs"]
