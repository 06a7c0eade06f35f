"""Degenerate generations: the share of a continuation's word n-grams that repeat an earlier one.

Greedy decoding can fall into a loop ("the patient the patient the patient"); the share of
repeated n-grams (Welleck et al. 2019, "seq-rep-n") is 0 for text that never repeats a
three-word sequence and approaches 1 for a loop.
"""

from __future__ import annotations

import re

N = 3
REPETITION_THRESHOLD = 0.3  # above this share a continuation is flagged as repetitive
_WORD = re.compile(r"\w+")


def repeated_ngram_share(text: str, n: int = N) -> float:
    """1 - distinct / total word n-grams of ``text`` (0 when it has fewer than ``n`` + 1 words)."""
    words = _WORD.findall(text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if len(grams) < 2:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


def flag_generations(generations: list[dict], threshold: float = REPETITION_THRESHOLD) -> dict:
    """Add ``base_repetition`` / ``adapted_repetition`` (and ``*_repetitive`` flags) to each row; count them.

    Returns:
        ``{"n": N, "threshold", "base_repetitive", "adapted_repetitive", "flagged": [row indices]}``;
        ``flagged`` lists the rows where either model repeats itself, worst first, so a reviewer sees
        them first.
    """
    for row in generations:
        for side in ("base", "adapted"):
            share = repeated_ngram_share(row.get(side) or "")
            row[f"{side}_repetition"] = round(share, 3)
            row[f"{side}_repetitive"] = share > threshold
    flagged = [i for i, r in enumerate(generations) if r["base_repetitive"] or r["adapted_repetitive"]]
    flagged.sort(key=lambda i: -max(generations[i]["base_repetition"], generations[i]["adapted_repetition"]))
    return {
        "n": N, "threshold": threshold,
        "base_repetitive": sum(r["base_repetitive"] for r in generations),
        "adapted_repetitive": sum(r["adapted_repetitive"] for r in generations),
        "flagged": flagged,
    }


__all__ = ["N", "REPETITION_THRESHOLD", "flag_generations", "repeated_ngram_share"]
