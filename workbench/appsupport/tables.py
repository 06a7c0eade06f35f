"""Workspace listings as a person reads them: named columns, numbers with their units.

``eta_s None`` or ``domain_ppl_change_pct -23.9939`` are the artifact keys; a table shows "Time left"
and "-24.0% (95% CI -26.1% to -21.8%)". Pure functions of the typed summaries
(:class:`workbench.workspace.ArtifactSummary`), so every page words them the same.
"""

from __future__ import annotations

from typing import Any, Callable

from workbench.status import duration_text

__all__ = ["MISSING", "summary_rows", "percent_change", "count"]

MISSING = "–"
"""What a cell shows when the artifact does not record the number (yet)."""


def count(value: Any, unit: str = "") -> str:
    """``16384`` -> ``16,384`` (with ``unit`` after it); :data:`MISSING` for None."""
    if value is None:
        return MISSING
    return f"{value:,.0f}{f' {unit}' if unit else ''}"


def _decimal(value: Any, digits: int = 2) -> str:
    return MISSING if value is None else f"{value:,.{digits}f}"


def percent_change(value: Any, ci: Any = None) -> str:
    """``-23.9939`` and ``[-26.1, -21.8]`` -> ``-24.0% (95% CI -26.1% to -21.8%)``."""
    if value is None:
        return MISSING
    text = f"{value:+.1f}%"
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and None not in ci:
        text += f" (95% CI {ci[0]:+.1f}% to {ci[1]:+.1f}%)"
    return text


def _created(value: Any) -> str:
    """``2026-12-07T22:31:28+00:00`` -> ``2026-12-07 22:31`` (the time as recorded, to the minute)."""
    if not value:
        return MISSING
    text = str(value).replace("T", " ")
    return text[:16]


def _progress(summary) -> str:
    if summary.total_steps:
        return f"{summary.step or 0:,} / {summary.total_steps:,} steps"
    return MISSING


def _time_left(summary) -> str:
    # only a running job has time left: a queued, stopped or finished one shows none
    return f"about {duration_text(summary.eta_s)}" if summary.state == "running" and summary.eta_s is not None else MISSING


COLUMNS: dict[str, list[tuple[str, Callable[[Any], str]]]] = {
    "corpus": [
        ("Documents", lambda s: count(s.documents)),
        ("Tokens", lambda s: count(s.tokens)),
        ("Readiness", lambda s: (s.readiness or MISSING).replace("_", " ")),
    ],
    "snapshot": [
        ("Train documents", lambda s: count(s.train_documents)),
        ("Eval documents", lambda s: count(s.eval_documents)),
        ("Size", lambda s: s.size_text()),
    ],
    "run": [
        ("Progress", _progress),
        ("Tokens seen", lambda s: count(s.tokens_seen)),
        ("Speed", lambda s: count(s.tokens_per_s, "tokens/s")),
        ("Time left", _time_left),
        ("Best domain perplexity", lambda s: _decimal(s.best_domain_ppl)),
        ("General perplexity change", lambda s: percent_change(s.general_ppl_change_pct)),
    ],
    "comparison": [
        ("Domain perplexity change", lambda s: percent_change(s.domain_ppl_change_pct, s.domain_ppl_change_ci95)),
        ("General perplexity change", lambda s: percent_change(s.general_ppl_change_pct, s.general_ppl_change_ci95)),
    ],
    "evaluation": [
        ("Perplexity", lambda s: _decimal(s.token_ppl)
         + (f" (95% CI {s.token_ppl_ci95[0]:.2f} to {s.token_ppl_ci95[1]:.2f})" if s.token_ppl_ci95 else "")),
    ],
}
"""The columns of each artifact kind after Name, State and Created: (heading, cell of a summary)."""


def summary_rows(summaries) -> list[dict[str, str]]:
    """One row per artifact: ``Name``, ``State``, ``Created``, the kind's own columns (:data:`COLUMNS`),
    and ``Error`` when one of them failed; every cell text, numbers with their units."""
    summaries = list(summaries)
    rows = []
    for summary in summaries:
        row = {"Name": summary.name, "State": summary.state, "Created": _created(summary.created)}
        for heading, cell in COLUMNS.get(summary.kind, []):
            try:
                row[heading] = cell(summary)
            except (AttributeError, TypeError, ValueError, IndexError):  # a summary of another kind or release
                row[heading] = MISSING
        rows.append(row)
    if any(s.error for s in summaries):
        for row, summary in zip(rows, summaries):
            row["Error"] = summary.error or ""
    return rows
