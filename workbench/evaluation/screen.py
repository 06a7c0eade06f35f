"""A screen of generated text: listed words and patterns, and degenerate output.

The screen is a YAML of categories, each with ``terms`` (whole words or phrases, case-insensitive)
and ``patterns`` (regular expressions, case-insensitive). The shipped screen
(``workbench/sample_data/screen.yaml``) is small; a team extends it with its own file, whose
categories add to the shipped ones (``replace: true`` drops them). Beside the listed hits, a
continuation is flagged as degenerate when it is empty or mostly not words, and the comparison's
repetition measure (:mod:`workbench.evaluation.repetition`) counts as a signal too.

A screen finds what it lists and nothing else: no hit is not evidence that an output is safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["Screen", "DEFAULT_SCREEN", "NOT_A_GUARANTEE", "load_screen", "screen_text", "screen_generations",
           "is_degenerate"]

DEFAULT_SCREEN = "screen.yaml"
"""The shipped screen, in ``workbench/sample_data``."""
NOT_A_GUARANTEE = ("The screen finds only the words and patterns it lists (and empty or repetitive output): "
                   "no hit is not evidence that an output is safe. It is a way to put outputs in front of a "
                   "reviewer first, not a safety guarantee.")
MIN_WORD_SHARE = 0.5  # below this share of word characters a non-empty continuation is called degenerate
_FIELD = "guardrails.screen"


@dataclass
class Screen:
    """Compiled rules: ``{category: [(rule, compiled regex)]}`` and the files they came from."""

    rules: dict[str, list[tuple[str, re.Pattern]]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rules.values())


def _categories(path: Path) -> tuple[dict, bool]:
    from workbench.config import load_yaml

    try:
        data = load_yaml(path)
    except WorkbenchError as exc:
        raise WorkbenchError(exc.message, exc.fix, field=_FIELD) from None
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise WorkbenchError(f"screen {path} has no 'categories' mapping.",
                             "write categories: {name: {terms: [...], patterns: [...]}}.", field=_FIELD)
    return categories, bool(data.get("replace"))


def _compile(path: Path, category: str, spec) -> list[tuple[str, re.Pattern]]:
    if not isinstance(spec, dict):
        raise WorkbenchError(f"screen {path}: category {category!r} is not a mapping.",
                             "give it 'terms' and/or 'patterns' lists.", field=_FIELD)
    rules = []
    for term in spec.get("terms") or []:
        words = str(term).split()
        if words:
            rules.append((str(term), re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.I)))
    for pattern in spec.get("patterns") or []:
        try:
            rules.append((str(pattern), re.compile(str(pattern), re.I)))
        except re.error as exc:
            raise WorkbenchError(f"screen {path}: pattern {pattern!r} of {category!r} is not a regular expression ({exc}).",
                                 "fix the pattern (YAML single quotes keep backslashes as they are).", field=_FIELD) from None
    return rules


def load_screen(path: str | Path | None = None) -> Screen:
    """The shipped screen extended by ``path`` (its categories add terms and patterns; ``replace: true`` drops
    the shipped ones); ``"none"``: an empty screen."""
    from workbench.samples import sample_path

    if path is not None and str(path).lower() == "none":
        return Screen()
    files = [sample_path(DEFAULT_SCREEN)]
    if path:
        path = Path(path)
        if not path.is_file():
            raise WorkbenchError(f"screen file {path} does not exist.", "set {field} to a YAML screen file.", field=_FIELD)
        if _categories(path)[1]:
            files = []
        files.append(path)
    screen = Screen(sources=[str(f) for f in files])
    for f in files:
        for category, spec in _categories(f)[0].items():
            screen.rules.setdefault(str(category), []).extend(_compile(f, str(category), spec))
    return screen


def is_degenerate(text: str) -> bool:
    """Empty, or mostly characters that are not letters or digits (a continuation that fell apart)."""
    stripped = "".join((text or "").split())
    if not stripped:
        return True
    return sum(c.isalnum() for c in stripped) / len(stripped) < MIN_WORD_SHARE


def screen_text(text: str, screen: Screen) -> list[dict]:
    """Every hit of the screen in ``text``: ``{category, rule, match, start, end}``, in text order."""
    hits = []
    for category, rules in screen.rules.items():
        for rule, regex in rules:
            for m in regex.finditer(text or ""):
                hits.append({"category": category, "rule": rule, "match": m.group(0), "start": m.start(), "end": m.end()})
    return sorted(hits, key=lambda h: (h["start"], h["category"]))


def screen_generations(generations: list[dict], screen: Screen, sides: tuple[str, ...] = ("base", "adapted")) -> dict:
    """Screen each side of every generation row; add ``{side}_screen`` (hits) and ``{side}_degenerate`` to the rows.

    Returns:
        ``{"rules", "sources", "note", side: {"outputs", "flagged", "hits", "by_category", "degenerate",
        "repetitive"}, "flagged": [row indices, most hits first]}``; ``flagged`` counts a row with a listed hit or
        degenerate output on either side (repetition is the comparison's own flag, counted beside).
    """
    summary: dict = {"rules": screen.size, "sources": screen.sources, "note": NOT_A_GUARANTEE}
    for side in sides:
        by_category: dict[str, int] = {}
        flagged = hits = degenerate = repetitive = 0
        for row in generations:
            found = screen_text(row.get(side) or "", screen)
            row[f"{side}_screen"] = found
            row[f"{side}_degenerate"] = is_degenerate(row.get(side) or "")
            for h in found:
                by_category[h["category"]] = by_category.get(h["category"], 0) + 1
            hits += len(found)
            degenerate += row[f"{side}_degenerate"]
            repetitive += bool(row.get(f"{side}_repetitive"))
            flagged += bool(found or row[f"{side}_degenerate"])
        summary[side] = {"outputs": len(generations), "flagged": flagged, "hits": hits, "by_category": by_category,
                         "degenerate": degenerate, "repetitive": repetitive}

    def weight(row: dict) -> int:
        return sum(len(row.get(f"{s}_screen") or []) * 2 + bool(row.get(f"{s}_degenerate")) for s in sides)

    summary["flagged"] = sorted((i for i, r in enumerate(generations) if weight(r)), key=lambda i: (-weight(generations[i]), i))
    return summary
