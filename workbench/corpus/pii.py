"""Personally identifiable information: regex detectors, counts and redaction to typed placeholders."""

from __future__ import annotations

import re

# Checked in this order: a URL may hold an email-like part, an ID-like number may look like a phone.
PATTERNS: dict[str, re.Pattern] = {
    "url": re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]", re.IGNORECASE),
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    # national ID / card / record numbers: 123-45-6789, 4111 1111 1111 1111, 8+ digit runs
    "id_number": re.compile(r"(?<![\w.,-])(?:\d{3}-\d{2}-\d{4}|\d{4}(?:[ -]\d{4}){2,3}|\d{8,})(?![\w.,-]?\d)"),
    # +44 20 7946 0958, (555) 123-4567, 555-123-4567, 555.123.4567
    "phone": re.compile(
        r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}(?![\w-]|\.\d)"
    ),
}
PLACEHOLDERS = {"url": "[URL]", "email": "[EMAIL]", "id_number": "[ID]", "phone": "[PHONE]"}


# Cheap necessary conditions: a text failing one cannot match that pattern, so the pattern is not run.
# (Placeholders hold no '@', digits, 'http' or 'www.', so masking earlier types cannot create a match.)
_DIGITS3 = re.compile(r"\d{3}")


def _may_match(kind: str, text: str, lowered: str) -> bool:
    if kind == "url":
        return "http" in lowered or "www." in lowered
    if kind == "email":
        return "@" in text
    return _DIGITS3.search(text) is not None  # id_number and phone need three digits in a row


def pii_counts(text: str, types: tuple[str, ...] | list[str] = tuple(PATTERNS), lowered: str | None = None) -> dict[str, int]:
    """How many matches of each PII type the text holds (earlier types mask later ones).

    ``lowered`` is ``text.lower()`` when the caller already has it.
    """
    lowered = text.lower() if lowered is None else lowered
    counts = {}
    digits = None
    for kind, pattern in PATTERNS.items():
        if kind not in types:
            continue
        if kind in ("id_number", "phone"):
            if digits is None:
                digits = _may_match(kind, text, lowered)
            possible = digits
        else:
            possible = _may_match(kind, text, lowered)
        if not possible:
            counts[kind] = 0
            continue
        text, n = pattern.subn(PLACEHOLDERS[kind], text)
        counts[kind] = n
    return counts


def redact(text: str, types: tuple[str, ...] | list[str] = tuple(PATTERNS)) -> tuple[str, dict[str, int]]:
    """The text with each PII match replaced by its typed placeholder, and the counts per type."""
    counts = {}
    for kind, pattern in PATTERNS.items():
        if kind in types:
            text, counts[kind] = pattern.subn(PLACEHOLDERS[kind], text)
    return text, counts
