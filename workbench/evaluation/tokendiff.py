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


def extract(text: str, chars: int = 140) -> str:
    """The document's opening, whitespace collapsed, cut at a word boundary: enough to recognise it."""
    flat = " ".join(text.split())
    if len(flat) <= chars:
        return flat
    cut = flat[:chars].rsplit(" ", 1)[0] or flat[:chars]
    return cut + " …"


HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def title(text: str, chars: int = 80) -> str:
    """What a person calls a document: its first Markdown heading among the opening lines, else its first line,
    cut at a word boundary."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    heading = next((m.group(1) for line in lines[:5] if (m := HEADING.match(line))), None)
    return extract(heading or (lines[0] if lines else ""), chars)


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


SPACE = re.compile(r"(\s+)")


def word_rows(tokens: list[dict]) -> list[dict]:
    """The token rows of a document (:func:`document_tokens`) joined into whole words, as a reader sees them.

    A word is a run of characters between whitespace; its base, adapted and change are the sums over its
    tokens (nats: the surprisal of the whole word, by the chain rule), and ``pieces`` lists how the
    tokenizer cut it. A token that is whitespace only (a space or newline token) counts with the word after
    it; whitespace itself is kept as rows with ``space: True`` and no numbers, so joining every row's
    ``text`` gives the document back.
    """
    rows: list[dict] = []
    current: dict | None = None
    pending = [0.0, 0.0, 0.0, 0]  # a whitespace-only token's numbers, for the next word

    def add(word: dict, b: float, a: float, d: float, n: int) -> None:
        word["base"] += b
        word["adapted"] += a
        word["delta"] += d
        word["tokens"] += n

    for token in tokens:
        numbers = (float(token["base"]), float(token["adapted"]), float(token["delta"]), 1)
        counted = False
        for segment in SPACE.split(token["text"]):
            if not segment:
                continue
            if segment.isspace():
                rows.append({"text": segment, "space": True})
                current = None
                continue
            if current is None:
                current = {"text": "", "base": pending[0], "adapted": pending[1], "delta": pending[2],
                           "tokens": pending[3], "pieces": []}
                pending = [0.0, 0.0, 0.0, 0]
                rows.append(current)
            current["text"] += segment
            if not counted:
                add(current, *numbers)
                current["pieces"].append(segment)
                counted = True
        if not counted:
            if token["text"] == "" and current is not None:  # a byte of the character its neighbour showed
                add(current, *numbers)
            else:
                pending = [p + v for p, v in zip(pending, numbers)]
    if pending[3] and current is not None:  # trailing whitespace tokens: count with the last word
        add(current, *pending)
    return rows


def _colour(delta: float, scale: float) -> str:
    x = max(-1.0, min(1.0, delta / scale)) if scale > 0 else 0.0
    alpha = round(abs(x) * 0.85, 3)
    # blue: the adapted model is less surprised (gain); red: more surprised (loss)
    return f"rgba(33,102,172,{alpha})" if x < 0 else f"rgba(178,24,43,{alpha})"


def render_html(rows: list[dict], title: str = "", scale: float | None = None, legend: bool = True) -> str:
    """The document as HTML, each whole word coloured by its change (:func:`word_rows`); hovering a word
    shows its numbers and how the tokenizer cut it. ``rows`` are token rows."""
    words = word_rows(rows)
    scale = scale or _scale([w["delta"] for w in words if not w.get("space")])
    parts = []
    for w in words:
        text = html.escape(w["text"])
        if w.get("space"):
            parts.append(text.replace("\n", "<br>"))
            continue
        pieces = " | ".join(w["pieces"]) if len(w["pieces"]) > 1 else ""
        tip = (f"{w['text']}: base {w['base']:.2f} nats, adapted {w['adapted']:.2f}, change {w['delta']:+.2f} "
               f"({w['tokens']} token{'s' if w['tokens'] != 1 else ''}{': ' + pieces if pieces else ''})")
        parts.append(f'<span style="background:{_colour(w["delta"], scale)};border-radius:3px" '
                     f'title="{html.escape(tip, quote=True)}">{text}</span>')
    total = sum(r["delta"] for r in rows)
    n_words = sum(1 for w in words if not w.get("space"))
    head = f"<h4>{html.escape(title)}</h4>" if title else ""
    note = f'<p class="legend">{n_words} words ({len(rows)} tokens), total change {total:+.1f} nats.</p>'
    key = colour_legend(scale) if legend else ""
    return (f'<div class="tokendiff">{head}{key}{note}<p style="line-height:1.9;max-width:80ch;white-space:normal">'
            f'{"".join(parts)}</p></div>')


def _scale(deltas: list[float]) -> float:
    """The 98th percentile of the absolute changes: the colour scale's end (1 when there are none)."""
    return float(np.quantile(np.abs(np.asarray(deltas)), 0.98)) or 1.0 if deltas else 1.0


def shared_scale(documents: list[dict]) -> float:
    """The colour scale of a set of documents: the 98th percentile of their absolute per-word changes."""
    return _scale([w["delta"] for d in documents for w in word_rows(d["tokens"]) if not w.get("space")])


def colour_legend(scale: float) -> str:
    """A diverging colour bar from -scale (blue) through 0 (white) to +scale (red), labelled in words."""
    bar = (f"linear-gradient(to right, {_colour(-1, 1)}, rgba(255,255,255,0), {_colour(1, 1)})")
    return (
        '<div class="legend">'
        f"<span>{-scale:.2f} nats: more expected after adaptation</span> "
        f'<span style="display:inline-block;width:220px;height:12px;vertical-align:middle;border:1px solid #ccc;'
        f'background:{bar}"></span> '
        f"<span>+{scale:.2f} nats: less expected</span> (hover a word for its numbers)</div>"
    )


def render_documents(documents: list[dict]) -> str:
    """One document at a time, chosen from a selector: wrapped text, whole words coloured on one shared scale.

    Args:
        documents: ``[{"title": str, "tokens": rows of document_tokens}]`` (e.g. most improved and most worsened).
    """
    documents = [d for d in documents if d.get("tokens")]
    if not documents:
        return "<p><em>None found.</em></p>"
    scale = shared_scale(documents) or 1.0
    options = "".join(f'<option value="{i}">{html.escape(d["title"])}</option>' for i, d in enumerate(documents))
    script = ("var v=this.closest('.tokenview');v.querySelectorAll('.tokendoc').forEach(function(d,i)"
              "{d.style.display=(i==this.selectedIndex)?'block':'none'},this);")
    docs = "".join(
        f'<div class="tokendoc" style="display:{"block" if i == 0 else "none"}">'
        + render_html(d["tokens"], d["title"], scale, legend=False) + "</div>"
        for i, d in enumerate(documents)
    )
    return (f'<div class="tokenview"><label>Document: <select onchange="{script}">{options}</select></label>'
            f"{colour_legend(scale)}{docs}</div>")


def _occurrence_sums(spans: np.ndarray, delta: np.ndarray, base: np.ndarray, start: int, end: int):
    """Sums of change and base NLL over tokens overlapping [start, end)."""
    lo = int(np.searchsorted(spans[:, 1], start, side="right"))
    hi = int(np.searchsorted(spans[:, 0], end, side="left"))
    if hi <= lo:
        return None
    return float(delta[lo:hi].sum()), float(base[lo:hi].sum())


MIN_INTERVAL_COUNT = 5  # fewer occurrences: no interval, the row says so ("at least 5 needed")
KINDS = ("glossary", "domain", "word")  # table order: glossary terms, then the profile's domain terms, then words


def is_content_word(word: str) -> bool:
    """A word worth listing: not an English function word, three letters or more, not a number."""
    from workbench.documents.words import STOPWORDS

    word = word.lower()
    return len(word) >= 3 and word not in STOPWORDS and any(ch.isalpha() for ch in word)


def _context(text: str, start: int, end: int, width: int = 50) -> str:
    """'... left **term** right ...' around one occurrence, on one line."""
    left = " ".join(text[max(0, start - width) : start].split())
    right = " ".join(text[end : end + width].split())
    if start - width > 0:
        left = "… " + left.split(" ", 1)[-1] if " " in left else "… " + left
    if end + width < len(text):
        right = right.rsplit(" ", 1)[0] + " …" if " " in right else right + " …"
    sep_l = " " if text[max(0, start - 1) : start].isspace() else ""
    sep_r = " " if text[end : end + 1].isspace() else ""
    return f"{left}{sep_l}[{text[start:end]}]{sep_r}{right}".strip()


def _mean_interval(values: np.ndarray, seed: int = 1234, n_resamples: int = 1000) -> list[float] | None:
    if len(values) < MIN_INTERVAL_COUNT:
        return None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_resamples, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return [float(lo), float(hi)]


def term_changes(
    tokenizer,
    texts: Sequence[str],
    base_nll: Sequence[np.ndarray],
    adapted_nll: Sequence[np.ndarray],
    glossary: Sequence[str] = (),
    top: int = 20,
    min_count: int = 2,
    domain_terms: Sequence[str] = (),
    ids: Sequence[str] | None = None,
) -> dict:
    """Content words and terms whose surprisal changed most: glossary terms first, then domain terms.

    Function words ("the", "and", "with") are never listed. Each row holds the term, its ``kind``
    (glossary, domain = one of the corpus profile's domain terms, word), its occurrences (``count``,
    ``documents``), the mean per occurrence of base NLL, adapted NLL and change (nats, summed over the
    term's tokens), the total change, a 95% bootstrap interval of the mean change over occurrences
    (``ci95``; None below ``MIN_INTERVAL_COUNT`` occurrences, with ``min_count_for_interval`` saying so)
    and an ``example``: the occurrence whose change is most typical of the row, in context.

    Returns:
        ``{"glossary": [...], "domain_terms": [...], "gained": [...], "lost": [...], "min_count": n,
        "min_count_for_interval": MIN_INTERVAL_COUNT}``. ``glossary`` and ``domain_terms`` list every such
        term found, by change; ``gained``/``lost`` list terms of every kind seen at least ``min_count``
        times (glossary terms once is enough), glossary first, then domain terms, then other words,
        each group by total change.
    """
    glossary_patterns = [
        (term, re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE))
        for term in dict.fromkeys(t.strip() for t in glossary if t and t.strip())
    ]
    glossary_lower = {t.lower() for t, _ in glossary_patterns}
    domain_lower = {t.lower() for t in domain_terms if t} - glossary_lower
    stats: dict[tuple[str, str], list[tuple[float, float, int, int, int]]] = defaultdict(list)
    for d, (text, b, a) in enumerate(zip(texts, base_nll, adapted_nll)):
        spans = token_spans(tokenizer, text)
        if len(spans) != len(b):
            raise ValueError("token spans and scores differ in length; score with the same tokenizer")
        delta = np.asarray(a) - np.asarray(b)
        for term, pattern in glossary_patterns:
            for m in pattern.finditer(text):
                got = _occurrence_sums(spans, delta, np.asarray(b), m.start(), m.end())
                if got:
                    stats[("glossary", term)].append((*got, d, m.start(), m.end()))
        for m in WORD.finditer(text):
            word = m.group(0).lower()
            if word in glossary_lower or not is_content_word(word):
                continue
            got = _occurrence_sums(spans, delta, np.asarray(b), m.start(), m.end())
            if got:
                stats[("domain" if word in domain_lower else "word", word)].append((*got, d, m.start(), m.end()))

    def row(kind: str, term: str, values: list) -> dict:
        d = np.array([v[0] for v in values])
        base = np.array([v[1] for v in values])
        mean = float(d.mean())
        typical = int(np.argmin(np.abs(d - mean)))  # an occurrence like the average, not the extreme one
        doc, start, end = values[typical][2:]
        return {
            "term": term, "kind": kind, "count": len(values), "documents": len({v[2] for v in values}),
            "base_nll": float(base.mean()), "adapted_nll": float((base + d).mean()), "delta": mean,
            "total_delta": float(d.sum()), "ci95": _mean_interval(d),
            "example": _context(texts[doc], start, end), "example_id": ids[doc] if ids is not None else doc,
        }

    rows = [row(kind, t, v) for (kind, t), v in stats.items()]
    by_kind = {k: i for i, k in enumerate(KINDS)}
    listed = [r for r in rows if r["kind"] == "glossary" or r["count"] >= min_count]
    gained = sorted((r for r in listed if r["delta"] < 0), key=lambda r: (by_kind[r["kind"]], r["total_delta"]))[:top]
    lost = sorted((r for r in listed if r["delta"] > 0), key=lambda r: (by_kind[r["kind"]], -r["total_delta"]))[:top]
    return {
        "glossary": sorted((r for r in rows if r["kind"] == "glossary"), key=lambda r: r["delta"]),
        "domain_terms": sorted((r for r in rows if r["kind"] == "domain"), key=lambda r: r["delta"]),
        "gained": gained, "lost": lost, "min_count": min_count, "min_count_for_interval": MIN_INTERVAL_COUNT,
    }


def profile_terms(profile: str) -> list[str]:
    """The domain terms of a corpus profile (``profile.json`` or the folder holding it), best first."""
    from pathlib import Path

    from workbench.errors import WorkbenchError
    from workbench.io import read_json

    path = Path(profile)
    path = path / "profile.json" if path.is_dir() else path
    if not path.exists():
        raise WorkbenchError(f"profile {path} does not exist.",
                             "set {field} to a corpus profile.json (made by 'workbench inspect').", field="profile")
    return [t["term"] for t in ((read_json(path).get("domain") or {}).get("top_terms") or [])]
