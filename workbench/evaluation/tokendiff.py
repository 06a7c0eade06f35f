"""Per-token surprisal differences between base and adapted: coloured text and per-term totals.

A token's change is adapted NLL minus base NLL in nats (negative = the adapted model found it
less surprising). Tokens are mapped back to character spans of the document with the fast
tokenizer's offsets, so coloured text shows the original characters, and a term's change is
the sum over the tokens that overlap it.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")


def token_spans(tokenizer, text: str) -> np.ndarray:
    """[tokens, 2] character spans of ``text``'s tokens (same tokens the scorer scored)."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    return spans


def document_tokens(tokenizer, text: str, base_nll: np.ndarray, adapted_nll: np.ndarray) -> list[dict]:
    """One row per token: its text (a slice of the document), base and adapted NLL, change."""
    spans = token_spans(tokenizer, text)
    if len(spans) != len(base_nll) or len(base_nll) != len(adapted_nll):
        raise ValueError("token spans and scores differ in length; score with the same tokenizer")
    rows, cursor = [], 0
    for (start, end), b, a in zip(spans.tolist(), base_nll, adapted_nll):
        # byte-level tokens inside one character share its span: show the character once
        piece = text[max(start, cursor) : end] if end > cursor else ""
        cursor = max(cursor, end)
        rows.append({"text": piece, "base": float(b), "adapted": float(a), "delta": float(a - b)})
    return rows


def _colour(delta: float, scale: float) -> str:
    x = max(-1.0, min(1.0, delta / scale)) if scale > 0 else 0.0
    alpha = round(abs(x) * 0.85, 3)
    # blue: the adapted model is less surprised (gain); red: more surprised (loss)
    return f"rgba(33,102,172,{alpha})" if x < 0 else f"rgba(178,24,43,{alpha})"


def render_html(rows: list[dict], title: str = "", scale: float | None = None) -> str:
    """The document as HTML spans coloured by the per-token change; hover shows the numbers."""
    deltas = np.array([r["delta"] for r in rows]) if rows else np.zeros(1)
    scale = scale or float(np.quantile(np.abs(deltas), 0.98)) or 1.0
    parts = []
    for r in rows:
        tip = f"base {r['base']:.2f} nats, adapted {r['adapted']:.2f}, change {r['delta']:+.2f}"
        text = html.escape(r["text"]).replace("\n", "<br>")
        parts.append(f'<span style="background:{_colour(r["delta"], scale)}" title="{tip}">{text}</span>')
    total = sum(r["delta"] for r in rows)
    head = f"<h4>{html.escape(title)}</h4>" if title else ""
    legend = (
        f'<p class="legend">{len(rows)} tokens, total change {total:+.1f} nats '
        f"(<span style=\"background:{_colour(-1, 1)}\">less surprising after adaptation</span> / "
        f"<span style=\"background:{_colour(1, 1)}\">more surprising</span>; colour saturates at {scale:.2f} nats)</p>"
    )
    return f'<div class="tokendiff">{head}{legend}<p style="line-height:1.7">{"".join(parts)}</p></div>'


def _occurrence_sums(spans: np.ndarray, delta: np.ndarray, base: np.ndarray, start: int, end: int):
    """Sums of change and base NLL over tokens overlapping [start, end)."""
    lo = int(np.searchsorted(spans[:, 1], start, side="right"))
    hi = int(np.searchsorted(spans[:, 0], end, side="left"))
    if hi <= lo:
        return None
    return float(delta[lo:hi].sum()), float(base[lo:hi].sum())


def term_changes(
    tokenizer,
    texts: Sequence[str],
    base_nll: Sequence[np.ndarray],
    adapted_nll: Sequence[np.ndarray],
    glossary: Sequence[str] = (),
    top: int = 20,
    min_count: int = 2,
) -> dict:
    """Terms whose surprisal changed most, glossary terms first.

    Returns:
        {"glossary": [...], "gained": [...], "lost": [...]}; each row holds the term, its
        occurrences, and the mean per occurrence of base NLL, adapted NLL and change (nats,
        summed over the term's tokens). ``glossary`` lists every glossary term found, sorted
        by change; ``gained``/``lost`` are the other words seen at least ``min_count`` times.
    """
    glossary_patterns = [
        (term, re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE))
        for term in dict.fromkeys(t.strip() for t in glossary if t and t.strip())
    ]
    glossary_lower = {t.lower() for t, _ in glossary_patterns}
    stats: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for text, b, a in zip(texts, base_nll, adapted_nll):
        spans = token_spans(tokenizer, text)
        if len(spans) != len(b):
            raise ValueError("token spans and scores differ in length; score with the same tokenizer")
        delta = np.asarray(a) - np.asarray(b)
        for term, pattern in glossary_patterns:
            for m in pattern.finditer(text):
                got = _occurrence_sums(spans, delta, np.asarray(b), m.start(), m.end())
                if got:
                    stats[("glossary", term)].append(got)
        for m in WORD.finditer(text):
            word = m.group(0).lower()
            if len(word) < 3 or word in glossary_lower:
                continue
            got = _occurrence_sums(spans, delta, np.asarray(b), m.start(), m.end())
            if got:
                stats[("word", word)].append(got)

    def row(term: str, values: list[tuple[float, float]]) -> dict:
        d = np.array([v[0] for v in values])
        base = np.array([v[1] for v in values])
        return {
            "term": term, "count": len(values), "base_nll": float(base.mean()),
            "adapted_nll": float((base + d).mean()), "delta": float(d.mean()), "total_delta": float(d.sum()),
        }

    gloss = sorted((row(t, v) for (kind, t), v in stats.items() if kind == "glossary"), key=lambda r: r["delta"])
    words = [row(t, v) for (kind, t), v in stats.items() if kind == "word" and len(v) >= min_count]
    gained = sorted((r for r in words if r["delta"] < 0), key=lambda r: r["total_delta"])[:top]
    lost = sorted((r for r in words if r["delta"] > 0), key=lambda r: -r["total_delta"])[:top]
    return {"glossary": gloss, "gained": gained, "lost": lost}
