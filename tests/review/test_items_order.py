"""Review items offer the generations that repeat themselves first (compare's repetition measure)."""

from __future__ import annotations

import json

from workbench.review.items import items_from_comparison


def test_repetitive_generations_come_first(tmp_path):
    generations = [
        {"prompt": "p0", "base": "a fine continuation", "adapted": "another fine one",
         "base_repetition": 0.0, "base_repetitive": False, "adapted_repetition": 0.0, "adapted_repetitive": False},
        {"prompt": "p1", "base": "ok text", "adapted": "the dose the dose the dose the dose",
         "base_repetition": 0.0, "base_repetitive": False, "adapted_repetition": 0.8, "adapted_repetitive": True},
        {"prompt": "p2", "base": "x y x y x y", "adapted": "fine",
         "base_repetition": 0.5, "base_repetitive": True, "adapted_repetition": 0.0, "adapted_repetitive": False},
    ]
    (tmp_path / "comparison.json").write_text(json.dumps({"base_model": "base", "adapter": None, "sets": {},
                                                          "generations": generations, "complete": True}))
    items = [i for i in items_from_comparison(tmp_path) if i.kind == "pair"]
    assert [i.prompt for i in items] == ["p1", "p2", "p0"]  # most repetitive first, the clean one last
    assert items[0].meta["repetition"] == 0.8 and "repeats itself" in items[0].meta["why"]
    assert [i.meta["group"] for i in items] == ["repetitive generation", "repetitive generation", "generation"]
    assert "repetition" not in items[2].meta
