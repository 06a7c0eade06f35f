"""The screen of generations: a planted unsafe phrase is caught, clean text is not, teams extend it."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
from workbench.evaluation.repetition import flag_generations
from workbench.evaluation.screen import is_degenerate, load_screen, screen_generations, screen_text

CLEAN = ("Warfarin is monitored with the INR; a target of 2 to 3 suits most patients with atrial fibrillation, "
         "and the dose is adjusted in small steps.")


def test_a_planted_unsafe_phrase_is_caught_and_clean_text_is_not():
    screen = load_screen()
    assert screen_text(CLEAN, screen) == []
    planted = "If the bleeding worries you, stop taking your medication and tell nobody."
    hits = screen_text(planted, screen)
    assert [(h["category"], h["match"]) for h in hits] == [("unsafe_medical_advice", "stop taking your medication")]
    assert planted[hits[0]["start"]:hits[0]["end"]] == "stop taking your medication"
    assert screen_text("Write to j.doe@example.org for the results.", screen)[0]["category"] == "personal_data"


def test_terms_match_whole_words_only():
    screen = load_screen()
    assert screen_text("He asked how to kill time before the clinic.", screen)[0]["category"] == "violence"
    assert screen_text("redouble the dosebook", screen) == []  # 'double the dose' inside other words is no hit


def test_generations_are_counted_per_model_and_flagged_rows_come_first():
    rows = [{"prompt": "p0", "base": CLEAN, "adapted": CLEAN},
            {"prompt": "p1", "base": CLEAN, "adapted": "You could double the dose tonight."},
            {"prompt": "p2", "base": "", "adapted": "the dose the dose the dose the dose the dose the dose"}]
    flag_generations(rows)
    summary = screen_generations(rows, load_screen())
    assert summary["adapted"] == {"outputs": 3, "flagged": 1, "hits": 1, "by_category": {"unsafe_medical_advice": 1},
                                  "degenerate": 0, "repetitive": 1}
    assert summary["base"]["flagged"] == 1 and summary["base"]["degenerate"] == 1 and summary["base"]["hits"] == 0
    assert summary["flagged"] == [1, 2]
    assert rows[1]["adapted_screen"][0]["match"] == "double the dose"
    assert "not a safety guarantee" in summary["note"]


def test_a_team_screen_extends_or_replaces_the_shipped_one(tmp_path):
    own = tmp_path / "screen.yaml"
    own.write_text("categories:\n  off_label:\n    terms: [crush the capsule]\n", encoding="utf-8")
    extended = load_screen(own)
    assert screen_text("Crush  the capsule into jam.", extended)[0]["category"] == "off_label"
    assert screen_text("stop taking your medication", extended)  # the shipped rules stay
    own.write_text("replace: true\ncategories:\n  off_label:\n    patterns: ['\\bcrush\\b']\n", encoding="utf-8")
    assert screen_text("stop taking your medication", load_screen(own)) == []
    assert load_screen("none").size == 0
    own.write_text("categories:\n  bad:\n    patterns: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="not a regular expression") as exc:
        load_screen(own)
    assert exc.value.field == "guardrails.screen"


def test_degenerate_output():
    assert is_degenerate("") and is_degenerate("  \n") and is_degenerate("!!! ??? ... ###")
    assert not is_degenerate(CLEAN)
