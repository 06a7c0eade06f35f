"""The repetition measure flags a degenerate continuation and counts it."""

from workbench.evaluation.repetition import flag_generations, repeated_ngram_share


def test_degenerate_continuation_scores_high_and_normal_text_zero():
    loop = "the patient was given the dose " * 8
    assert repeated_ngram_share(loop) > 0.8
    normal = "Warfarin inhibits vitamin K epoxide reductase, so the clotting factors it needs are made more slowly."
    assert repeated_ngram_share(normal) == 0.0
    assert repeated_ngram_share("too short") == 0.0


def test_flags_are_counted_and_worst_first():
    rows = [
        {"prompt": "a", "base": "Heparin acts on antithrombin within minutes of an intravenous dose.", "adapted": "fine text here"},
        {"prompt": "b", "base": "ok then", "adapted": "dose dose dose dose dose dose dose dose dose dose"},
        {"prompt": "c", "base": "the renal the renal the renal the renal x", "adapted": "the renal dose the renal dose y z w"},
    ]
    summary = flag_generations(rows)
    assert rows[1]["adapted_repetitive"] and rows[1]["adapted_repetition"] > 0.8
    assert not rows[0]["base_repetitive"] and rows[0]["base_repetition"] == 0.0
    assert summary["adapted_repetitive"] == 1 and summary["base_repetitive"] == 1
    assert summary["flagged"] == [1, 2]  # worst first: a review offers them in this order
