"""Review statistics pinned against hand-worked values and reference packages, on uneven tables."""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from workbench.review.agreement import cohen_kappas, krippendorff_alpha
from workbench.review.stats import error_stats


def _item(item_id, model, words):
    return NS(id=item_id, kind="output", source={},
              outputs=[{"slot": "A", "text": " ".join(["w"] * words), "model": model}])


def _judged(specs):
    """specs: (item id, model, words, [severities]) -> items, verdicts, labels of one annotator."""
    items, verdicts, labels = [], [], []
    for item_id, model, words, severities in specs:
        items.append(_item(item_id, model, words))
        verdicts.append(NS(item_id=item_id, annotator="ann", verdict="errors" if severities else "no_error"))
        labels += [NS(item_id=item_id, annotator="ann", output="A", severity=s, category="terminology", created=0)
                   for s in severities]
    return items, verdicts, labels


def test_penalty_per_100_words_not_per_output_decides_between_models():
    """The adapted model writes long outputs: more penalty per output (7.5 vs 5.0), far less per word."""
    items, verdicts, labels = _judged([
        ("b1", "base", 10, ["major"]), ("b2", "base", 10, ["major"]),           # 5 + 5 over 20 words
        ("a1", "adapted", 200, ["major", "minor", "minor"]),                  # 7 over 200 words
        ("a2", "adapted", 200, ["major", "minor", "minor", "minor"]),         # 8 over 200 words
    ])
    by_model = error_stats(items, verdicts, labels)["by_model"]
    base, adapted = by_model["base"], by_model["adapted"]
    assert base["penalty_per_output"] == 5.0 and adapted["penalty_per_output"] == 7.5
    assert base["penalty_per_100_words"] == pytest.approx(100 * 10 / 20)      # 50
    assert adapted["penalty_per_100_words"] == pytest.approx(100 * 15 / 400)  # 3.75: 13.3x better
    assert base["penalty"] == 10 and base["words"] == 20  # the raw sums stand beside


def test_the_interval_over_outputs_is_the_t_interval_when_outputs_are_equally_long():
    from scipy import stats

    rng = np.random.default_rng(3)
    severities = [["minor"] * int(k) for k in rng.integers(0, 5, 9)]
    items, verdicts, labels = _judged([(f"o{i}", "m", 40, s) for i, s in enumerate(severities)])
    group = error_stats(items, verdicts, labels)["by_model"]["m"]
    per_output = np.array([100 * len(s) / 40 for s in severities])
    reference = stats.ttest_1samp(per_output, 0).confidence_interval(0.95)
    assert group["penalty_per_100_words"] == pytest.approx(per_output.mean())
    assert group["penalty_per_100_words_ci95"] == pytest.approx([reference.low, reference.high])


def test_cohens_kappa_is_chance_corrected_not_raw_agreement():
    """Hand-worked: 7 of 10 agree (0.7); marginals A 6/5, B 2/4, tie 2/1 give chance 0.40; kappa 0.5."""
    a = ["A", "A", "A", "A", "A", "A", "B", "B", "tie", "tie"]
    b = ["A", "A", "A", "A", "B", "B", "B", "B", "tie", "A"]
    values = {**{(f"i{k}", "ann1"): v for k, v in enumerate(a)}, **{(f"i{k}", "ann2"): v for k, v in enumerate(b)}}
    values[("i99", "ann1")] = "A"  # an item only one of them did: not shared, not counted
    [row] = cohen_kappas(values)
    assert row["items"] == 10 and row["observed_agreement"] == pytest.approx(0.7)
    assert row["kappa"] == pytest.approx((0.7 - 0.40) / (1 - 0.40))


def test_krippendorffs_alpha_with_missing_ratings_matches_the_published_example():
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability', the 4 coders x 12 units example
    with missing values: nominal alpha 0.743. A missing rating is absent, never a category of its own."""
    rows = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    values = {(f"u{u}", coder): str(v) for coder, row in rows.items() for u, v in enumerate(row) if v is not None}
    assert krippendorff_alpha(values) == pytest.approx(0.743, abs=5e-4)
