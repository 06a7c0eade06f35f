"""Gopher/C4-style quality signals of a document and the rules that flag it."""

from __future__ import annotations

import re

from workbench.corpus.config import QualityConfig

# Signals per document, in the order rules are checked (a document is attributed to its first failure).
SIGNALS = (
    "mean_word_length", "symbol_ratio", "alpha_share", "duplicate_line_share", "bullet_line_share",
    "ellipsis_line_share",
)
_LETTER = re.compile(r"[^\W\d_]")
_BULLETS = ("•", "●", "○", "■", "□", "▪", "▫", "–", "‣", "⁃", "-", "*")


def quality_signals(text: str, words: list[str]) -> dict[str, float]:
    """The quality signals of one document (``words`` as found by ``words.WORD_RE``)."""
    n_words = len(words)
    symbols = text.count("#") + text.count("...") + text.count("…")
    duplicate, bullet, ellipsis = line_signals(text)
    return {
        "mean_word_length": sum(map(len, words)) / n_words if n_words else 0.0,
        "symbol_ratio": symbols / n_words if n_words else float(symbols > 0),
        "alpha_share": sum(1 for w in words if _LETTER.search(w)) / n_words if n_words else 0.0,
        "duplicate_line_share": duplicate,
        "bullet_line_share": bullet,
        "ellipsis_line_share": ellipsis,
    }


def line_signals(text: str) -> tuple[float, float, float]:
    """(duplicate_line_share, bullet_line_share, ellipsis_line_share) of one document."""
    lines = [line for line in map(str.strip, text.splitlines()) if line]
    n_lines = max(1, len(lines))
    repeated = len(lines) - len(set(lines))
    bullets = sum(1 for line in lines if line.startswith(_BULLETS))
    ellipses = sum(1 for line in lines if line.endswith(("...", "…")))
    return repeated / n_lines, bullets / n_lines, ellipses / n_lines


# (rule name, signal, "min" or "max", threshold field of QualityConfig), in the order they are checked
RULES = (
    ("short_words", "mean_word_length", "min", "min_mean_word_length"),
    ("long_words", "mean_word_length", "max", "max_mean_word_length"),
    ("symbol_ratio", "symbol_ratio", "max", "max_symbol_ratio"),
    ("alpha_share", "alpha_share", "min", "min_alpha_share"),
    ("repeated_lines", "duplicate_line_share", "max", "max_duplicate_line_share"),
    ("bullet_lines", "bullet_line_share", "max", "max_bullet_line_share"),
    ("ellipsis_lines", "ellipsis_line_share", "max", "max_ellipsis_line_share"),
)


def failed_rule(signals: dict[str, float], config: QualityConfig) -> str | None:
    """Name of the first quality rule the document fails, or None when it passes them all."""
    for name, signal, bound, threshold in RULES:
        value, limit = signals[signal], getattr(config, threshold)
        if (value < limit) if bound == "min" else (value > limit):
            return name
    return None


def rule_failures(signals: dict, config: QualityConfig) -> dict:
    """``{rule: boolean array}``: which documents fail each rule, given per-document signal arrays."""
    import numpy as np

    out = {}
    for name, signal, bound, threshold in RULES:
        values, limit = np.asarray(signals[signal], dtype=float), getattr(config, threshold)
        out[name] = values < limit if bound == "min" else values > limit
    return out
