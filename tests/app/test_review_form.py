"""A review form read as one review (``appsupport.review_from_form``): exactly what it shows, or one refusal
naming everything missing. The same reading serves the Review page and the notebooks' ReviewForm."""

from __future__ import annotations

import pytest

from workbench.appsupport import error_from_form, review_from_form, selection_span
from workbench.errors import WorkbenchError
from workbench.review.config import DEFAULT_CATEGORIES
from workbench.review.items import make_item

CATS = list(DEFAULT_CATEGORIES)


@pytest.fixture
def pair():
    return make_item("pair", "Q", [{"text": "alpha beta gamma", "model": "x"}, {"text": "delta epsilon zeta", "model": "y"}])


@pytest.fixture
def single():
    return make_item("output", "Q", [{"text": "The dose is 5 mg daily."}])


def sel(item, slot, words):
    text = item.output(slot)["text"]
    return {"output": slot, "start": text.index(words), "end": text.index(words) + len(words), "text": words}


def test_the_selection_decides_the_output_and_the_offsets(pair):
    b_words = pair.output("B")["text"].split()[1]
    verdict, [mark] = review_from_form(pair, {"selection": sel(pair, "B", b_words), "category": CATS[0],
                                              "severity": "major", "correction": " fixed "}, "tie", CATS)
    text = pair.output("B")["text"]
    assert (verdict, mark.output, mark.start, mark.end) == ("tie", "B", text.index(b_words), text.index(b_words) + len(b_words))
    assert (mark.category, mark.severity, mark.correction) == (CATS[0], "major", "fixed")


def test_a_selection_in_b_with_the_output_set_to_a_is_refused(pair):
    with pytest.raises(WorkbenchError) as info:
        error_from_form(pair, {"selection": sel(pair, "B", pair.output("B")["text"].split()[0]), "output": "A",
                               "category": CATS[0], "severity": "minor"}, CATS)
    assert info.value.message == "the highlighted text is in output B but {field} says A."
    assert info.value.one_line({"output": "Error in output"}) == (
        "the highlighted text is in output B but Error in output says A. Fix: set Error in output to B, or highlight "
        "the words in output A.")


def test_a_note_alone_is_an_error_missing_its_category_and_severity(single):
    with pytest.raises(WorkbenchError) as info:
        review_from_form(single, {"note": "per kg?"}, None, CATS)
    assert info.value.message == "not saved: the error has no category and no severity."
    assert info.value.field == "category"


def test_nothing_marked_on_one_output_is_no_error(single):
    assert review_from_form(single, {"phrase": "  ", "note": ""}, None, CATS) == ("no_error", [])


def test_a_phrase_and_a_selection_together_are_refused(single):
    with pytest.raises(WorkbenchError, match="both a highlighted span"):
        error_from_form(single, {"selection": sel(single, "output", "5 mg"), "phrase": "daily",
                                 "category": CATS[0], "severity": "minor"}, CATS)


def test_a_typed_phrase_in_a_pair_needs_its_output(pair):
    with pytest.raises(WorkbenchError) as info:
        review_from_form(pair, {"phrase": "alpha", "category": CATS[0], "severity": "minor"}, "A", CATS)
    assert info.value.message == "not saved: the error has no output."
    assert info.value.fix == "choose the output the error is in (A or B)."


def test_a_selection_whose_text_is_not_at_its_offsets_is_refused(single):
    with pytest.raises(WorkbenchError, match="the highlight says 'dose' but output output has 'The '"):
        selection_span(single, {"output": "output", "start": 0, "end": 4, "text": "dose"})
