"""What counts as a word everywhere in the corpus stage (counts, fertility, shingles, vocabulary)."""

from __future__ import annotations

import re

# Letters/digits/underscore runs, keeping inner apostrophes and hyphens: "don't", "beta-blocker".
WORD_RE = re.compile(r"\w+(?:['’-]\w+)*")


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def lower_words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower())
