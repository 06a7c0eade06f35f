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


def failed_rule(signals: dict[str, float], config: QualityConfig) -> str | None:
    """Name of the first quality rule the document fails, or None when it passes them all."""
    if signals["mean_word_length"] < config.min_mean_word_length:
        return "short_words"
    if signals["mean_word_length"] > config.max_mean_word_length:
        return "long_words"
    if signals["symbol_ratio"] > config.max_symbol_ratio:
        return "symbol_ratio"
    if signals["alpha_share"] < config.min_alpha_share:
        return "alpha_share"
    if signals["duplicate_line_share"] > config.max_duplicate_line_share:
        return "repeated_lines"
    if signals["bullet_line_share"] > config.max_bullet_line_share:
        return "bullet_lines"
    if signals["ellipsis_line_share"] > config.max_ellipsis_line_share:
        return "ellipsis_lines"
    return None
