"""Error spans of the Review page: character offsets from picked words or a typed phrase."""

from __future__ import annotations

import re

from workbench.errors import WorkbenchError

__all__ = ["word_spans", "span_from_words", "find_phrase"]

_WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """Whitespace-separated words of ``text`` with their character offsets (start, end, word)."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def span_from_words(text: str, indices: list[int]) -> tuple[int, int]:
    """Character span covering the picked words (by index in :func:`word_spans`), first to last."""
    words = word_spans(text)
    if not indices:
        raise WorkbenchError("no words picked for the error span.", "pick the words that are wrong, or type the phrase.",
                             field="span")
    bad = [i for i in indices if not 0 <= i < len(words)]
    if bad:
        raise WorkbenchError(f"word index {bad[0]} is outside the text ({len(words)} words).", "pick words shown.",
                             field="span")
    return words[min(indices)][0], words[max(indices)][1]


def find_phrase(text: str, phrase: str, occurrence: int = 1) -> tuple[int, int]:
    """Character span of the ``occurrence``-th appearance of ``phrase`` in ``text``.

    Whitespace in the phrase matches any run of whitespace, so a phrase copied across a line break
    is still found; an absent phrase is a user error naming it."""
    phrase = phrase.strip()
    if not phrase:
        raise WorkbenchError("the error phrase is empty.", "type the words that are wrong, as they appear.",
                             field="span")
    pattern = r"\s+".join(re.escape(part) for part in phrase.split())
    matches = list(re.finditer(pattern, text))
    if len(matches) < occurrence:
        raise WorkbenchError(f"the phrase '{phrase[:60]}' does not appear in the output.", "copy it from the text.",
                             field="span")
    match = matches[occurrence - 1]
    return match.start(), match.end()

