"""Agreement comes with a reading (Krippendorff's bounds for alpha, Landis and Koch's bands for kappa) and the
disagreements as rows of text a person reads."""

from __future__ import annotations

import pytest

from workbench.review.agreement import alpha_reading, disagreement_rows, kappa_reading


@pytest.mark.parametrize("alpha, word", [(0.95, "reliable"), (0.8, "reliable"), (0.79, "tentative"),
                                         (0.667, "tentative"), (0.66, "unreliable"), (-0.2, "unreliable"),
                                         (None, "not defined")])
def test_alpha_reading_follows_krippendorffs_bounds(alpha, word):
    assert alpha_reading(alpha).startswith(word)


@pytest.mark.parametrize("kappa, word", [(0.85, "almost perfect"), (0.8, "substantial"), (0.61, "substantial"),
                                         (0.5, "moderate"), (0.3, "fair"), (0.1, "slight"), (0.0, "poor"),
                                         (-0.3, "poor"), (None, "not defined")])
def test_kappa_reading_follows_landis_and_koch(kappa, word):
    assert kappa_reading(kappa).startswith(word)


def test_the_report_reads_its_numbers_and_lists_disagreements_as_texts(store, pair_items):
    store.add_items(pair_items)
    pairs = [i for i in store.items() if i.kind == "pair"]
    for item, (ana, bob) in zip(pairs, [("A", "A"), ("B", "B"), ("A", "B")]):
        store.submit(item.id, "ana", ana)
        store.submit(item.id, "bob", bob)
    report = store.agreement()
    # 3 items, ana A B A, bob A B B: observed 2/3; nominal alpha by hand (Krippendorff, pairable values 6)
    # o_AA=2, o_BB=2, o_AB=o_BA=1; n_A=3, n_B=3, n=6: alpha = 1 - (n-1) * o_AB*2 / (n_A*n_B*2) = 1 - 5*2/18
    assert report["alpha"]["verdict"] == pytest.approx(1 - 5 * 2 / 18)
    assert report["alpha_reading"]["verdict"] == alpha_reading(1 - 5 * 2 / 18)
    assert report["alpha_reading"]["verdict"].startswith("unreliable")
    [row] = [r for r in report["kappa"]["verdict"] if (r["a"], r["b"]) == ("ana", "bob")]
    assert row["reading"] == kappa_reading(row["kappa"])
    assert report["disagreement_rows"] == [{"item": pairs[2].id[:12], "text": "Prompt 2", "dimension": "verdict",
                                            "ana": "A", "bob": "B"}]


def test_a_disagreement_on_an_item_without_prompt_shows_its_output_cut_short():
    from workbench.review.items import make_item

    item = make_item("output", "", [{"text": "word " * 100}])
    rows = disagreement_rows([{"item_id": item.id, "dimensions": ["category"],
                               "annotators": {"ana": {"category": "fluency"}, "bob": {"category": "none"}}}], [item])
    assert rows[0]["text"].endswith("…") and len(rows[0]["text"]) == 160
    assert (rows[0]["ana"], rows[0]["bob"]) == ("fluency", "none")
