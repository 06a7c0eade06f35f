"""The per-document table of a comparison in a reader's words: the change first, then the document's title.

One builder for every face (the app's Documents tab, the notebooks, tests), from the rows of
``documents.jsonl``: each document's perplexity change in percent (adapted over base, per token, or
per word when the adapter grew the tokenizer), its title (heading or first line), its set and size,
both perplexities, and its id last. Sorted by change, most worsened first (what to review), and
searchable by title, extract or id.
"""

from __future__ import annotations

import math

COLUMNS = ("change %", "document", "set", "tokens", "base perplexity", "adapted perplexity", "id")
"""The table's columns, in order."""


def change_pct(row: dict) -> float | None:
    """A document's perplexity change in percent: exp(adapted minus base NLL per token, or per word) - 1."""
    delta = row.get("delta_nll")
    if delta is None or not math.isfinite(delta):
        return None
    return 100.0 * math.expm1(delta)


def document_table(rows: list[dict], query: str = "", worst_first: bool = True) -> list[dict]:
    """The table's rows (``{column: value}`` in :data:`COLUMNS` order), sorted by change.

    Args:
        rows: ``documents.jsonl`` rows of a comparison.
        query: keep the documents whose title, extract or id contains it (any case).
        worst_first: the most worsened document first (else the most improved).
    """
    needle = query.strip().lower()
    table = []
    for row in rows:
        name = row.get("title") or row.get("extract") or str(row.get("id", ""))
        if needle and not any(needle in str(row.get(k) or "").lower() for k in ("title", "extract", "id")):
            continue
        change = change_pct(row)
        table.append({
            "change %": None if change is None else round(change, 1),
            "document": name,
            "set": row.get("set"),
            "tokens": row.get("tokens"),
            "base perplexity": _round(row.get("base_token_ppl")),
            "adapted perplexity": _round(row.get("adapted_token_ppl")),
            "id": str(row.get("id", "")),
        })
    missing = -math.inf if worst_first else math.inf
    table.sort(key=lambda r: missing if r["change %"] is None else r["change %"], reverse=worst_first)
    return table


def _round(value) -> float | None:
    return None if value is None else round(float(value), 2)


__all__ = ["COLUMNS", "change_pct", "document_table"]
