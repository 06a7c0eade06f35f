"""How hard a document is to learn from, by three cheap text signals (no model needed).

Zhang et al. 2025 (arXiv 2506.11300) found these the most useful orders for a pretraining
curriculum used as a warm-up:

- ``compression``: bytes of the text over bytes of its zlib compression (level 6). Redundant,
  repetitive text compresses well (a high ratio): easy.
- ``mtld``: lexical diversity, the Measure of Textual Lexical Diversity (McCarthy & Jarvis 2010,
  Behavior Research Methods 42(2)): the mean number of words it takes the running type-token ratio
  to fall to 0.72, forward and backward. Few distinct words (a low MTLD): easy.
- ``readability``: Flesch reading ease, ``206.835 - 1.015 * words/sentences - 84.6 * syllables/words``
  (Flesch 1948), syllables counted as vowel groups. A high score reads easily: easy.

Every signal is oriented by :func:`difficulty` so that a larger value is harder; the corpus profile
shows the raw values, training orders documents by their difficulty. Below the stages (the corpus
profile shows these signals, training orders by them), so both use one definition.
"""

from __future__ import annotations

import functools
import re
import zlib

from workbench.documents.words import WORD_RE

SIGNALS = ("compression", "mtld", "readability")
"""The difficulty signals, in the order the profile and the app show them."""

SIGNAL_LABELS = {
    "compression": "compression ratio (zlib; higher = more redundant, easier)",
    "mtld": "lexical diversity, MTLD (higher = more varied words, harder)",
    "readability": "Flesch reading ease (higher = easier to read)",
}

# +1: a larger value is harder; -1: a larger value is easier
_HARDER = {"compression": -1.0, "mtld": 1.0, "readability": -1.0}

ZLIB_LEVEL = 6  # zlib's default: the same ratios as level 9 on the sample corpus, in three quarters of the time
MTLD_THRESHOLD = 0.72  # the type-token ratio McCarthy & Jarvis close a factor at
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` (UTF-8) over bytes of its zlib compression (``ZLIB_LEVEL``); 0 for empty text."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw, ZLIB_LEVEL)) if raw else 0.0


def _mtld_pass(words: list[str], threshold: float) -> float:
    """Factors counted in one direction: full factors plus the partial factor of the remainder."""
    factors, types, count = 0.0, set(), 0
    ttr = 1.0
    for word in words:
        count += 1
        types.add(word)
        ttr = len(types) / count
        if ttr <= threshold:
            factors += 1
            types, count, ttr = set(), 0, 1.0
    if count:
        factors += (1.0 - ttr) / (1.0 - threshold)
    return factors


def mtld(words: list[str], threshold: float = MTLD_THRESHOLD) -> float:
    """MTLD of a word sequence (lowercase it first for a case-blind measure): the mean over the forward
    and backward passes of ``len(words) / factors``. A text whose type-token ratio never drops (every word
    distinct) has no factor at all; its MTLD is taken as its length, the most diverse a text that long can be."""
    if not words:
        return 0.0
    values = []
    for sequence in (words, words[::-1]):
        factors = _mtld_pass(sequence, threshold)
        values.append(len(words) / factors if factors > 0 else float(len(words)))
    return sum(values) / 2


@functools.lru_cache(maxsize=1 << 16)  # words repeat: most counts come from the cache
def syllables(word: str) -> int:
    """Syllables of an English word, counted as vowel groups (y included), a final silent 'e' dropped
    (not in '-le'), at least one."""
    w = word.lower()
    n = len(_VOWEL_GROUPS.findall(w))
    if w.endswith("e") and not w.endswith("le") and n > 1:
        n -= 1
    return max(1, n)


def flesch_reading_ease(text: str, words: list[str] | None = None) -> float:
    """Flesch reading ease of ``text``: ``206.835 - 1.015 * words/sentences - 84.6 * syllables/words``
    (numbers are not words here); a text without a sentence end counts as one sentence; 0 for a text without
    words. ``words``: the text's lowercased words as ``WORD_RE`` finds them, if already split."""
    words = [w for w in (WORD_RE.findall(text.lower()) if words is None else words) if not w.isdigit()]
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    syllable_count = sum(map(syllables, words))
    return 206.835 - 1.015 * len(words) / sentences - 84.6 * syllable_count / len(words)


def document_signals(text: str, lowered: list[str] | None = None) -> dict[str, float]:
    """The three signals of one document (``lowered``: its lowercased words as ``WORD_RE`` finds them, if
    already split)."""
    lowered = WORD_RE.findall(text.lower()) if lowered is None else lowered
    return {
        "compression": compression_ratio(text),
        "mtld": mtld(lowered),
        "readability": flesch_reading_ease(text, lowered),
    }


def signal_values(texts: list[str], signal: str) -> list[float]:
    """One signal of every text."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown difficulty signal {signal!r}; use one of {', '.join(SIGNALS)}")
    if signal == "compression":
        return [compression_ratio(t) for t in texts]
    if signal == "mtld":
        return [mtld(WORD_RE.findall(t.lower())) for t in texts]
    return [flesch_reading_ease(t) for t in texts]


def difficulty(texts: list[str], signal: str) -> list[float]:
    """How hard each text is by ``signal``, oriented so that a larger value is harder."""
    return [_HARDER[signal] * v for v in signal_values(texts, signal)]


def easy_to_hard(texts: list[str], signal: str) -> list[int]:
    """Indices of ``texts`` from the easiest to the hardest by ``signal`` (ties keep the given order)."""
    scores = difficulty(texts, signal)
    return sorted(range(len(texts)), key=lambda i: scores[i])


__all__ = ["SIGNALS", "SIGNAL_LABELS", "MTLD_THRESHOLD", "compression_ratio", "mtld", "syllables",
           "flesch_reading_ease", "document_signals", "signal_values", "difficulty", "easy_to_hard"]
