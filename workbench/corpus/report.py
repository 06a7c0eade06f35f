"""Self-contained HTML report of a corpus profile (plotly.js inlined once: opens offline)."""

from __future__ import annotations

import html
import os
from pathlib import Path

from workbench.corpus import plots
from workbench.io import atomic_write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5} .verdict{font-size:1.2em;padding:.6em 1em;border-radius:6px;background:#f0f4fa;border-left:5px solid #4c78a8}
.too_small{border-left-color:#e45756;background:#fdf0f0} .saturated{border-left-color:#54a24b} .mono{font-family:monospace}
.muted{color:#777} .warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.4em 1em}
"""


def _e(value) -> str:
    return html.escape(str(value))


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(n) -> str:
    if n is None:
        return "–"
    return f"{n:,}" if isinstance(n, int) else (f"{n:,.3f}" if isinstance(n, float) else str(n))


def _text_units(profile: dict) -> str:
    """The option and what the files were read by, e.g. 'auto: paragraph 1 file, document 12 files'."""
    used: dict[str, int] = {}
    for entry in profile["inputs"]:
        if entry.get("text_unit"):
            used[entry["text_unit"]] = used.get(entry["text_unit"], 0) + 1
    option = (profile.get("config") or {}).get("text_unit", "auto")
    return f"{option}: " + ", ".join(f"{unit} {n} file{'s' if n > 1 else ''}" for unit, n in sorted(used.items()))


def render_report(profile: dict) -> str:
    """The report as one HTML string; figures come from :mod:`workbench.corpus.plots`."""
    figures = plots.all_figures(profile)
    included = [False]

    def figure(name: str) -> str:
        if name not in figures:
            return ""
        if not figures[name].data:  # an empty finding: say so in words
            return f"<p><em>{_e(figures[name].layout.title.text or '')}: none found.</em></p>"
        first = not included[0]
        included[0] = True
        return figures[name].to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False})

    readiness = profile["readiness"]
    parts = [f"<h1>Corpus profile</h1><p class='muted'>model <span class='mono'>{_e(profile['model'])}</span>, "
             f"created {_e(profile['created'])}, {profile.get('seconds')} s</p>"]
    parts.append(f"<div class='verdict {_e(readiness['verdict'])}'><b>Readiness: {_e(readiness['verdict'])}</b><ul>"
                 + "".join(f"<li>{_e(r)}</li>" for r in readiness["recommendations"]) + "</ul></div>")
    parts.append("<h2>Size</h2>" + _table(["measure", "value"], [
        ["documents", _fmt(profile["documents"])], ["words", _fmt(profile["words"])],
        ["UTF-8 bytes", _fmt(profile["bytes"])], ["tokens", _fmt(profile["tokens"])],
        ["distinct words", _fmt(profile["vocabulary"])],
        ["replaced non-UTF-8 bytes", f"{profile['replaced_bytes']:,} in {profile['documents_with_replaced_bytes']:,} documents"],
        ["records without text (skipped)", _fmt(profile.get("missing_text"))],
        ["text unit (text_unit)", _text_units(profile)],
        ["files read / skipped", f"{len(profile['inputs'])} / {len(profile['skipped_files'])}"],
    ]))
    if profile.get("warnings"):
        parts.append("<div class='warn'><b>Warnings</b><ul>" + "".join(f"<li>{_e(w)}</li>" for w in profile["warnings"])
                     + "</ul></div>")
    if profile["skipped_files"] or profile["files_without_documents"]:
        rows = [[s["path"], s["reason"]] for s in profile["skipped_files"]]
        rows += [[p, "no documents (empty, or a PDF without a text layer)"] for p in profile["files_without_documents"]]
        parts.append("<h3>Files not used</h3>" + _table(["file", "reason"], rows))
    parts.append(figure("length"))
    parts.append("<h2>Tokenizer fit</h2>" + _table(["measure", "value"], [
        ["tokens per word (fertility)", _fmt(profile["tokens_per_word"])],
        ["words split into 2+ tokens", f"{profile['split_word_share']:.1%}"],
        ["glossary terms: mean tokens", _fmt(profile["glossary_mean_tokens"]) if profile.get("glossary_mean_tokens") is not None
         else "no glossary given"],
    ]))
    if profile.get("glossary"):
        parts.append(figure("glossary"))
        worst = sorted(profile["glossary"], key=lambda r: (-r["tokens"], r["term"]))[:40]
        parts.append(_table(["term", "tokens", "pieces", "count in corpus"],
                            [[g["term"], g["tokens"], " | ".join(g["pieces"]), g["corpus_count"]] for g in worst]))
    parts.append("<h2>Duplicates</h2>" + figure("duplicates"))
    for kind in ("exact", "near"):
        for n, cluster in enumerate(profile["duplicate_examples"][kind], 1):
            rows = [[d.get("id", ""), d.get("source", ""), d.get("text", f"... and {d.get('more')} more")] for d in cluster]
            parts.append(f"<h3>{kind.title()} duplicate cluster {n}</h3>" + _table(["id", "source", "start of text"], rows))
    parts.append("<h2>Quality</h2>" + figure("quality"))
    parts.append(_table(["signal", "median", "p10", "p90"], [
        [name, _fmt(s.get("median")), _fmt(s.get("p10")), _fmt(s.get("p90"))]
        for name, s in profile["quality"]["signals"].items()]))
    if profile.get("difficulty"):
        signals = profile["difficulty"]["signals"]
        parts.append("<h2>Difficulty</h2><p>What an easy-to-hard training order sorts by "
                     "(<span class='mono'>curriculum.order: easy_to_hard</span>).</p>" + figure("difficulty"))
        parts.append(_table(["signal", "median", "p10", "p90"], [
            [profile["difficulty"]["labels"].get(name, name), _fmt(s.get("median")), _fmt(s.get("p10")), _fmt(s.get("p90"))]
            for name, s in signals.items()]))
    parts.append("<h2>PII</h2>" + figure("pii"))
    parts.append("<h2>Languages</h2>" + figure("languages"))
    domain = profile.get("domain", {})
    parts.append("<h2>Domain against the general reference</h2>"
                 f"<p>Reference: {_e(', '.join(domain.get('reference') or []) or 'none')}. "
                 f"Unigram Jensen-Shannon divergence: <b>{_e(domain.get('jensen_shannon'))}</b> (0 = same, 1 = disjoint).</p>")
    parts.append(figure("domain"))
    parts.append("<h2>Vocabulary growth and readiness</h2>" + figure("vocabulary"))
    parts.append(_table(["measure", "value"], [[k, _fmt(v)] for k, v in readiness.items() if k != "recommendations"]))
    body = "\n".join(p for p in parts if p)
    if not included[0]:  # no figure at all: still keep the page self-contained and valid
        body += ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Corpus profile</title><style>{_CSS}</style>"
            f"</head><body>{body}</body></html>")


def write_report(profile: dict, path: str | os.PathLike) -> Path:
    return atomic_write_text(path, render_report(profile))
