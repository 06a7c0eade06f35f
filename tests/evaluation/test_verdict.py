"""The verdict block: significance, forgetting against the run's threshold, calibration, next steps."""

import math

import pytest

from workbench.evaluation.verdict import build_verdict


def _delta(change_pct: float, lo_pct: float, hi_pct: float) -> dict:
    to_ratio = lambda p: 1 + p / 100  # noqa: E731
    return {
        "nll_per_token": math.log(to_ratio(change_pct)), "ppl_change_pct": change_pct,
        "ppl_ratio_ci95": [to_ratio(lo_pct), to_ratio(hi_pct)], "significant": lo_pct > 0 or hi_pct < 0,
        "documents_improved": 10, "documents_worse": 2,
    }


def _results(ece_base=0.05, ece_adapted=0.05, documents=20, tokens=20_000):
    m = lambda ece: {"ece": ece, "documents": documents, "tokens": tokens}  # noqa: E731
    return {"base": {"domain": m(ece_base), "general": m(0.04)}, "adapted": {"domain": m(ece_adapted), "general": m(0.04)}}


def test_significant_domain_gain_without_forgetting():
    v = build_verdict(_results(0.06, 0.03), {"domain": _delta(-12.0, -15.0, -9.0), "general": _delta(2.0, 0.5, 3.5)},
                      forgetting_threshold_pct=10)
    assert v["domain"]["status"] == "better" and v["domain"]["significant"]
    assert v["domain"]["ci95_pct"][0] == pytest.approx(-15.0) and "-12.0%" in v["domain"]["sentence"] and "-15.0% to -9.0%" in v["domain"]["sentence"]
    assert v["general"]["status"] == "small_cost" and not v["general"]["over_threshold"]
    assert v["calibration"]["status"] == "better"
    assert "keep this run" in v["next_steps"][0]
    assert 1 <= len(v["next_steps"]) <= 2


def test_interval_including_zero_is_not_significant():
    v = build_verdict(_results(), {"domain": _delta(-3.0, -7.0, 1.5), "general": _delta(0.2, -1.0, 1.0)})
    assert v["domain"]["status"] == "unclear" and not v["domain"]["significant"]
    assert "may be chance" in v["domain"]["sentence"]
    assert any("Train longer" in s for s in v["next_steps"])


def test_forgetting_over_the_runs_threshold_asks_for_replay():
    deltas = {"domain": _delta(-20.0, -25.0, -15.0), "general": _delta(14.0, 9.0, 19.0)}
    v = build_verdict(_results(0.03, 0.06), deltas, forgetting_threshold_pct=10)
    assert v["general"]["status"] == "forgetting" and v["general"]["over_threshold"] and v["general"]["threshold_pct"] == 10
    assert v["calibration"]["status"] == "worse"
    assert any("replay" in s for s in v["next_steps"]) and not any("keep this run" in s for s in v["next_steps"])
    # the same change under a looser threshold is not forgetting, but its interval may pass it
    loose = build_verdict(_results(), deltas, forgetting_threshold_pct=15)
    assert loose["general"]["status"] == "small_cost" and loose["general"]["may_exceed_threshold"]


def test_too_little_text_asks_for_more_data_and_names_documents_to_review():
    documents = [{"set": "domain", "id": "d1", "delta_nll": 0.4, "extract": "Warfarin dosing …"},
                 {"set": "domain", "id": "d2", "delta_nll": -0.1, "extract": "x"},
                 {"set": "general", "id": "g1", "delta_nll": 0.9, "extract": "y"}]
    v = build_verdict(_results(documents=3, tokens=400), {"domain": _delta(-1.0, -6.0, 4.0), "general": _delta(0.0, -1, 1)},
                      documents)
    assert any("Collect more evaluation text" in s for s in v["next_steps"])
    assert [d["id"] for d in v["review_first"]] == ["d1"] and v["review_first"][0]["extract"].startswith("Warfarin")


def test_leakage_and_repetition_lead_the_next_steps():
    v = build_verdict(_results(), {"domain": _delta(-12.0, -15.0, -9.0), "general": _delta(1.0, -1.0, 3.0)},
                      leakage={"domain": {"pairs": [{"train_id": "t", "eval_id": "e", "jaccard": 0.9}]}, "general": None},
                      repetition={"adapted_repetitive": 2})
    assert v["next_steps"][0].startswith("Evaluate on held-out text") and v["leakage_documents"] == {"domain": 1}
    assert v["repetitive_generations"] == 2 and "repeats itself" in v["next_steps"][1]


def test_a_regression_set_gets_its_own_line():
    v = build_verdict(_results(), {"domain": _delta(-5.0, -8.0, -2.0), "general": _delta(0.0, -1, 1),
                                   "regression": _delta(6.0, 2.0, 10.0)})
    assert v["other_sets"]["regression"]["status"] == "worse" and "regression set" in v["other_sets"]["regression"]["sentence"]


def test_small_but_significant_gain_asks_for_more_training_after_leakage():
    v = build_verdict(_results(), {"domain": _delta(-0.4, -0.5, -0.3), "general": _delta(0.0, -0.2, 0.2)},
                      leakage={"domain": {"pairs": [{"train_id": "t", "eval_id": "e", "jaccard": 0.95}]}})
    assert v["domain"]["status"] == "better"
    assert v["next_steps"][0].startswith("Evaluate on held-out text: 1 domain document(s)")
    assert "real but small" in v["next_steps"][1]


def test_regression_set_of_labelled_errors_is_part_of_the_verdict():
    deltas = {"domain": _delta(-12.0, -15.0, -9.0), "general": _delta(1.0, -1.0, 3.0)}
    worse = build_verdict(_results(), deltas, regression={"cases": 5, "base": {"still_wrong": 1}, "adapted": {"still_wrong": 3}})
    assert worse["regression"]["status"] == "worse" and "base model still makes 1 and the adapted model 3" in worse["regression"]["sentence"]
    assert any("Review the regression set" in s for s in worse["next_steps"])
    better = build_verdict(_results(), deltas, regression={"cases": 5, "base": {"still_wrong": 4}, "adapted": {"still_wrong": 1}})
    assert better["regression"]["status"] == "better"
    assert build_verdict(_results(), deltas)["regression"] is None


def test_too_few_documents_make_no_claim_and_say_how_many_are_needed():
    from workbench.evaluation.stats import paired_delta
    from workbench.evaluation.verdict import domain_verdict

    # three documents, 970 tokens, every one a little better: the old verdict said "unlikely to be chance"
    tokens = [300, 320, 350]
    base = [3.0 * t for t in tokens]
    adapted = [b - 0.01 * t for b, t in zip(base, tokens)]
    v = domain_verdict(paired_delta(base, adapted, tokens))
    assert v["status"] == "too_few" and not v["significant"]
    assert "Too few held-out documents to tell (3; need at least 5)" in v["sentence"]
    assert "3 documents, 970 tokens" in v["sentence"] and "unlikely to be chance" not in v["sentence"]


def test_every_domain_sentence_names_its_documents_and_tokens():
    from workbench.evaluation.stats import paired_delta
    from workbench.evaluation.verdict import domain_verdict

    tokens = [200, 250, 300, 350, 400, 450]
    base = [3.0 * t for t in tokens]
    adapted = [b - (0.1 + 0.01 * i) * t for i, (b, t) in enumerate(zip(base, tokens))]
    v = domain_verdict(paired_delta(base, adapted, tokens))
    assert v["status"] == "better" and "6 documents, 1,950 tokens" in v["sentence"]


def test_replay_text_that_copies_an_eval_set_is_said_in_the_verdict():
    copied = {"pairs": [{"train_id": "r1", "eval_id": "g1", "jaccard": 0.9},
                        {"train_id": "r2", "eval_id": "g1", "jaccard": 0.8}],
              "flagged": [{"id": "g1", "overlap": 0.9, "train_id": "r1"}]}
    deltas = {"domain": _delta(-12.0, -15.0, -9.0), "general": _delta(1.0, -1.0, 3.0)}
    v = build_verdict(_results(), deltas, leakage={"domain": {"pairs": [], "replay": {"pairs": []}},
                                                   "general": {"pairs": [], "replay": copied}})
    assert v["general"]["replayed_documents"] == 1 and v["general"]["sentence"].endswith("this understates forgetting.")
    assert v["next_steps"][0].startswith("Measure forgetting") and "keep this run" not in " ".join(v["next_steps"])
    # replay text that copies a domain eval document is leakage like the domain data's own copies
    v = build_verdict(_results(), deltas, leakage={"domain": {"pairs": [], "replay": copied}, "general": None})
    assert v["leakage_documents"] == {"domain": 1} and v["next_steps"][0].startswith("Evaluate on held-out text")
    assert "replayed_documents" not in v["general"]
    clean = build_verdict(_results(), deltas, leakage={"general": {"pairs": [], "replay": {"pairs": []}}})
    assert "keep this run" in clean["next_steps"][0] and "replayed_documents" not in clean["general"]


def test_check_the_flagged_items_only_when_something_below_is_flagged():
    deltas = {"domain": _delta(-12.0, -15.0, -9.0), "general": _delta(0.5, -1.0, 2.0)}
    nothing = build_verdict(_results(), deltas, [{"set": "domain", "id": "d1", "delta_nll": -0.2}])
    assert nothing["flagged"] == {} and nothing["next_steps"][0].endswith("keep this run.")
    assert "flagged" not in " ".join(nothing["next_steps"])
    worse = build_verdict(_results(), deltas, [{"set": "domain", "id": "d1", "delta_nll": 0.3}])
    assert worse["flagged"] == {"documents_worse": 1}
    assert "check the flagged items below" in worse["next_steps"][0]
    repeating = build_verdict(_results(), deltas, [], repetition={"adapted_repetitive": 2})
    assert repeating["flagged"] == {"repetitive_generations": 2} and "flagged items below" in repeating["next_steps"][0]


def test_the_verdict_carries_the_comparisons_warnings_and_what_perplexity_cannot_say():
    from workbench.evaluation.verdict import LIMITS, runs_verdict

    deltas = {"domain": _delta(-12.0, -15.0, -9.0), "general": _delta(0.5, -1.0, 2.0)}
    notes = ["domain: only 3 document(s) and 400 tokens; intervals ... are unreliable."]
    v = build_verdict(_results(), deltas, warnings=notes)
    assert v["warnings"] == notes and v["limits"] == LIMITS
    assert "not that what it writes is true" in LIMITS and "generations" in LIMITS and "review" in LIMITS
    pair = runs_verdict(_results(), deltas, {"base": "a", "adapted": "b"}, warnings=notes)
    assert pair["warnings"] == notes and pair["limits"] == LIMITS
    assert build_verdict(_results(), deltas)["warnings"] == []


def test_the_sentence_says_how_many_documents_and_tokens_it_rests_on():
    delta = {**_delta(-12.0, -15.0, -9.0), "documents": 12, "tokens": 10_219}
    v = build_verdict(_results(), {"domain": delta, "general": {**_delta(0.5, -1.0, 2.0), "documents": 9, "tokens": 8_000}})
    assert "on 12 documents, 10,219 tokens" in v["domain"]["sentence"]
    assert "on 9 documents, 8,000 tokens" in v["general"]["sentence"] and "12 documents" in v["headline"]
