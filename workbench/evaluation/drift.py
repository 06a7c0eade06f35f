"""Drift of the domain over time: scores per period of dated documents, terms the training never saw,
and the verdict of a monitor (an adapted run on a new batch, :mod:`workbench.evaluation.monitor`).

Per period (month, quarter or year of a date field), the comparison reports bits per byte of the base and
the adapted model (a t-interval over the period's documents, :func:`workbench.intervals.ratio_t_interval`)
and the rate of unseen terms: the share of the period's term occurrences (words of four letters or more)
whose word never occurs in the run's training text. Bits per byte do not depend on the tokenizer, so
periods, runs and batches compare on one scale.

The monitor scores the adapted run (and its base) on a new batch and on the run's own held-out split and
says the domain moved when the batch's bits per byte are worse than the held-out split's by more than
both intervals (the batch's lower end above the held-out's upper end), naming the new terms that
explain it.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError
from workbench.intervals import ratio_t_interval

__all__ = ["period_of", "read_times", "terms", "training_vocabulary", "bits_per_byte", "drift_by_period",
           "trend_figure", "monitor_verdict", "unseen_terms", "monitor_html", "drift_html", "NEW_TERMS_SHOWN"]

NEW_TERMS_SHOWN = 15
"""New terms listed per period and in a monitor's verdict."""
_DATE = re.compile(r"^\s*(\d{4})(?:[-/.](\d{1,2}))?")
_TERM = re.compile(r"[^\W\d_][\w-]{3,}")
LN2 = math.log(2)


def period_of(value, period: str = "month") -> str | None:
    """The period of a date (``2024-03-17``, ``2024-03``, ``2024``, a datetime): ``2024-03``, ``2024-Q1`` or ``2024``."""
    if value is None:
        return None
    match = _DATE.match(str(value))
    if not match:
        return None
    year, month = match.group(1), int(match.group(2)) if match.group(2) else None
    if period == "year" or month is None or not 1 <= month <= 12:
        return year
    if period == "quarter":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    return f"{year}-{month:02d}"


def read_times(path: str | Path, time_field: str) -> dict[str, object]:
    """``{document id: time value}`` of a JSONL, CSV or Parquet file, ids as the readers give them
    (the ``id`` field, else ``STEM-N``)."""
    from workbench.documents.readers import _stem

    path = Path(path)
    stem = _stem(path)
    suffix = path.suffix.lower()
    times: dict[str, object] = {}
    if suffix in (".jsonl", ".json", ".ndjson"):
        index = 0
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                times[str(record.get("id", f"{stem}-{index}"))] = record.get(time_field)
                index += 1
    elif suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")):
                times[str(row.get("id") or f"{stem}-{i}")] = row.get(time_field)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if time_field not in table.column_names:
            times = {}
        else:
            ids = table.column("id").to_pylist() if "id" in table.column_names else [None] * table.num_rows
            for i, (doc_id, value) in enumerate(zip(ids, table.column(time_field).to_pylist())):
                times[str(doc_id if doc_id is not None else f"{stem}-{i}")] = value
    else:
        raise WorkbenchError(f"{path} carries no fields, so it has no dates.",
                             "use a JSONL, CSV or Parquet file with a date field, or leave {field} unset.",
                             field="guardrails.time_field")
    if not any(v not in (None, "") for v in times.values()):
        raise WorkbenchError(f"no record of {path} has a '{time_field}' field.",
                             "set {field} to the name of the date field of the domain eval records.",
                             field="guardrails.time_field")
    return times


def terms(text: str) -> list[str]:
    """The terms of a text: lowercased words of four letters or more (hyphens kept)."""
    return [t.lower() for t in _TERM.findall(text)]


def training_vocabulary(card: dict | None) -> set[str] | None:
    """The terms of everything the run trained on (its domain data), or None when the run's data is unknown."""
    from workbench.documents.texts import read_texts, resolve_training_data

    run_config = (card or {}).get("config") or {}
    if not run_config.get("data"):
        return None
    try:
        train_path, _ = resolve_training_data(run_config["data"])
        texts = read_texts(train_path, run_config.get("text_field", "text"), run_config.get("text_unit", "auto"))
    except WorkbenchError:
        return None
    return {t for text in texts for t in terms(text)}


def bits_per_byte(documents) -> dict:
    """Bits per byte of scored documents with a t-interval over them (``ci95`` None with one document)."""
    nll = np.array([d.nll_sum for d in documents]) / LN2
    size = np.array([d.n_bytes for d in documents], dtype=float)
    point, ci = ratio_t_interval(nll, size)
    return {"bits_per_byte": point, "ci95": None if math.isnan(ci[0]) else ci, "documents": len(documents),
            "bytes": int(size.sum())}


def unseen_terms(texts: list[str], vocabulary: set[str] | None) -> tuple[float | None, list[dict]]:
    if vocabulary is None:
        return None, []
    counts = Counter(t for text in texts for t in terms(text))
    total = sum(counts.values())
    new = Counter({t: n for t, n in counts.items() if t not in vocabulary})
    rate = sum(new.values()) / total if total else None
    return rate, [{"term": t, "count": n} for t, n in new.most_common(NEW_TERMS_SHOWN)]


def drift_by_period(ids: list[str], texts: list[str], times: dict, period: str, base: list, adapted: list,
                    vocabulary: set[str] | None, time_field: str = "date") -> dict:
    """Per period: documents, bits per byte of base and adapted with intervals, the unseen-term rate and
    the commonest unseen terms. ``base`` / ``adapted`` are the documents' scores (``DocumentScore``), in order."""
    groups: dict[str, list[int]] = {}
    undated = 0
    for i, doc_id in enumerate(ids):
        value = times.get(doc_id)
        if value is None and "-part" in doc_id:  # a long record split into parts keeps its record's date
            value = times.get(doc_id.rsplit("-part", 1)[0])
        key = period_of(value, period)
        if key is None:
            undated += 1
            continue
        groups.setdefault(key, []).append(i)
    rows = []
    for key in sorted(groups):
        idx = groups[key]
        b, a = bits_per_byte([base[i] for i in idx]), bits_per_byte([adapted[i] for i in idx])
        rate, new = unseen_terms([texts[i] for i in idx], vocabulary)
        rows.append({"period": key, "documents": len(idx), "bytes": a["bytes"],
                     "base_bits_per_byte": b["bits_per_byte"], "base_ci95": b["ci95"],
                     "adapted_bits_per_byte": a["bits_per_byte"], "adapted_ci95": a["ci95"],
                     "unseen_term_rate": rate, "new_terms": new})
    return {"time_field": time_field, "period": period, "periods": rows, "undated_documents": undated,
            "vocabulary_known": vocabulary is not None}


def trend_figure(drift: dict):
    """Bits per byte of base and adapted per period (with intervals) and the unseen-term rate: a plotly figure."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = (drift or {}).get("periods") or []
    x = [r["period"] for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for side, colour in (("base", "#888888"), ("adapted", "#1f77b4")):
        y = [r[f"{side}_bits_per_byte"] for r in rows]
        ci = [r.get(f"{side}_ci95") or [v, v] for r, v in zip(rows, y)]
        fig.add_trace(go.Scatter(x=x, y=y, name=f"{side} bits/byte", mode="lines+markers", line={"color": colour},
                                 error_y={"type": "data", "symmetric": False, "array": [c[1] - v for c, v in zip(ci, y)],
                                          "arrayminus": [v - c[0] for c, v in zip(ci, y)]}), secondary_y=False)
    if any(r.get("unseen_term_rate") is not None for r in rows):
        fig.add_trace(go.Bar(x=x, y=[100 * (r.get("unseen_term_rate") or 0) for r in rows], name="unseen terms %",
                             opacity=0.3, marker={"color": "#ff7f0e"}), secondary_y=True)
    fig.update_layout(title="Drift over time: bits per byte per period (lower is better) and terms unseen in training",
                      xaxis_title=drift.get("time_field", "period") if drift else "period")
    fig.update_yaxes(title_text="bits per byte", secondary_y=False)
    fig.update_yaxes(title_text="unseen terms %", secondary_y=True)
    return fig


def monitor_verdict(held: dict, batch: dict, held_gain: dict, batch_gain: dict, new_terms: list[dict],
                    unseen_rate: float | None, held_unseen_rate: float | None) -> dict:
    """Whether the domain moved: the batch's adapted bits per byte against the held-out split's, in plain words."""
    hb, bb = held["bits_per_byte"], batch["bits_per_byte"]
    hci, bci = held.get("ci95"), batch.get("ci95")
    moved = bool(hci and bci and bci[0] > hci[1])
    improved = bool(hci and bci and bci[1] < hci[0])
    change = 100 * (bb / hb - 1) if hb else None
    words = ", ".join(t["term"] for t in new_terms[:8])
    if moved:
        sentence = (f"The domain has moved: the adapted model needs {bb:.3f} bits per byte on the new batch against "
                    f"{hb:.3f} on its held-out split ({change:+.1f}%), worse by more than both intervals.")
        if words:
            sentence += f" Terms it never saw in training explain part of it: {words}."
        advice = "Curate the new text into a snapshot and continue training (or retrain) on it."
    elif not (hci and bci):
        sentence = (f"Too few documents for intervals: {bb:.3f} bits per byte on the new batch against {hb:.3f} on the "
                    "held-out split; add documents to the batch to tell drift from chance.")
        advice = "Score a larger batch (5 or more documents)."
    else:
        sentence = (f"No drift beyond chance: {bb:.3f} bits per byte on the new batch against {hb:.3f} on the held-out "
                    f"split ({change:+.1f}%), within the intervals" + (" (the batch is easier)." if improved else "."))
        advice = "Nothing to do; monitor the next batch."
    if unseen_rate is not None and held_unseen_rate is not None:
        sentence += (f" {100 * unseen_rate:.1f}% of the batch's terms never occur in the training text "
                     f"(held-out split: {100 * held_unseen_rate:.1f}%).")
    gain = batch_gain.get("bits_per_byte")
    if gain is not None:
        sentence += (f" Against the base, adaptation saves {-gain:+.3f} bits per byte on the batch "
                     f"({-held_gain['bits_per_byte']:+.3f} on the held-out split).")
    return {"moved": moved, "status": "moved" if moved else ("too_few" if not (hci and bci) else "stable"),
            "change_pct": change, "sentence": sentence, "advice": advice}


def _fmt_ci(ci) -> str:
    return f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "–"


def monitor_html(result: dict) -> str:
    """The body of a monitor's report: the verdict, the numbers of both sets, the new terms."""
    import html

    verdict = result.get("verdict") or {}
    parts = [f"<p>run <code>{html.escape(str(result.get('adapter')))}</code> on base "
             f"<code>{html.escape(str(result.get('base_model')))}</code>.</p>",
             f'<div class="verdict"><p><b>{html.escape(verdict.get("sentence", ""))}</b></p>'
             f'<p>{html.escape(verdict.get("advice", ""))}</p></div>',
             "<table><tr><th>set</th><th>documents</th><th>adapted bits/byte</th><th>95% interval</th>"
             "<th>base bits/byte</th><th>unseen terms</th></tr>"]
    for name, s in (result.get("sets") or {}).items():
        rate = s.get("unseen_term_rate")
        parts.append(f"<tr><td>{html.escape(name)}</td><td>{s['documents']}</td>"
                     f"<td>{s['adapted']['bits_per_byte']:.3f}</td><td>{_fmt_ci(s['adapted'].get('ci95'))}</td>"
                     f"<td>{s['base']['bits_per_byte']:.3f}</td>"
                     f"<td>{'–' if rate is None else f'{100 * rate:.1f}%'}</td></tr>")
    parts.append("</table>")
    new = ((result.get("sets") or {}).get("batch") or {}).get("new_terms") or []
    if new:
        parts.append("<h2>Terms of the batch the training text never had</h2><p>"
                     + ", ".join(f"{html.escape(t['term'])} ({t['count']})" for t in new) + "</p>")
    if not result.get("vocabulary_known"):
        parts.append("<p class='legend'>The run's training text could not be read, so unseen terms are not counted.</p>")
    return "\n".join(parts)


def drift_html(drift: dict) -> str:
    """The report's table of periods (the trend figure is drawn with the other figures)."""
    import html

    rows = []
    for r in drift.get("periods") or []:
        rate = r.get("unseen_term_rate")
        rows.append(
            f"<tr><td>{html.escape(r['period'])}</td><td>{r['documents']}</td><td>{r['base_bits_per_byte']:.3f}</td>"
            f"<td>{r['adapted_bits_per_byte']:.3f}</td><td>{_fmt_ci(r.get('adapted_ci95'))}</td>"
            f"<td>{'–' if rate is None else f'{100 * rate:.1f}%'}</td>"
            f"<td>{html.escape(', '.join(t['term'] for t in r.get('new_terms', [])[:6]))}</td></tr>")
    return (f"<h2>Drift over time ({html.escape(drift['time_field'])}, per {html.escape(drift['period'])})</h2>"
            "<table><tr><th>period</th><th>documents</th><th>base bits/byte</th><th>adapted bits/byte</th>"
            "<th>95% interval</th><th>unseen terms</th><th>commonest unseen terms</th></tr>" + "".join(rows) + "</table>"
            + (f"<p class='legend'>{drift['undated_documents']} document(s) without a readable date are left out.</p>"
               if drift.get("undated_documents") else ""))
