import math

import numpy as np
import pytest

from workbench.evaluation.calibration import (
    DEFAULT_TEMPERATURES,
    brier_score,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    maximum_calibration_error,
    reliability_bins,
    rms_calibration_error,
    top_label_brier,
)


def test_hand_computed_example():
    conf, hit = [0.1, 0.2, 0.9, 1.0], [0, 0, 1, 0]
    # bins [0, .5) -> gap |0 - .15|, [.5, 1] -> gap |.5 - .95|, equal weights
    assert expected_calibration_error(conf, hit, n_bins=2) == pytest.approx(0.3)
    assert expected_calibration_error(conf, hit, n_bins=2, strategy="quantile") == pytest.approx(0.3)
    assert maximum_calibration_error(conf, hit, n_bins=2) == pytest.approx(0.45)
    assert rms_calibration_error(conf, hit, n_bins=2) == pytest.approx(math.sqrt(0.5 * 0.15**2 + 0.5 * 0.45**2))
    assert top_label_brier(conf, hit) == pytest.approx((0.01 + 0.04 + 0.01 + 1.0) / 4)


def test_confidence_of_one_goes_in_last_bin_and_edges_open_upper_bin():
    bins = reliability_bins([1.0, 0.5, 0.0], [1, 1, 0], n_bins=2)
    assert [b["count"] for b in bins] == [1, 2]
    assert expected_calibration_error([1.0], [True], n_bins=15) == 0.0


def test_matches_straightforward_loop_on_random_data():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0, 1, 5000)
    hit = rng.uniform(0, 1, 5000) < conf**1.5  # overconfident
    expected = 0.0
    for k in range(15):
        sel = np.minimum((conf * 15).astype(int), 14) == k
        if sel.any():
            expected += sel.mean() * abs(hit[sel].mean() - conf[sel].mean())
    assert expected_calibration_error(list(conf), list(hit)) == pytest.approx(expected, rel=1e-9)
    # equal-mass bins: 15 groups of ~333 tokens in confidence order
    order = np.argsort(conf**3)
    reference = sum(len(g) / conf.size * abs(hit[g].mean() - (conf**3)[g].mean()) for g in np.array_split(order, 15))
    assert expected_calibration_error(conf**3, hit, strategy="quantile") == pytest.approx(reference, rel=1e-9)
    bins = reliability_bins(conf**3, hit, strategy="quantile")
    assert {b["count"] for b in bins} == {333, 334}


def test_perfectly_calibrated_data_has_small_ece():
    rng = np.random.default_rng(1)
    conf = rng.uniform(0, 1, 200_000)
    hit = rng.uniform(0, 1, conf.size) < conf
    assert expected_calibration_error(conf, hit) < 0.01


def test_bad_inputs():
    with pytest.raises(ValueError):
        expected_calibration_error([0.5, 0.2], [1])
    with pytest.raises(ValueError):
        expected_calibration_error([1.5], [1])
    with pytest.raises(ValueError):
        expected_calibration_error([0.5], [1], strategy="log")
    assert math.isnan(expected_calibration_error([], []))


def test_full_vocabulary_brier():
    # probabilities (0.7, 0.2, 0.1), true class 1: (0.7)^2 + (0.2 - 1)^2 + 0.1^2 = 1.14
    p = np.array([0.7, 0.2, 0.1])
    assert brier_score([np.sum(p**2)], [0.2]) == pytest.approx(1.14)
    summary = calibration_summary([0.7], [False], [np.sum(p**2)], [0.2], n_bins=15)
    assert summary["brier"] == pytest.approx(1.14) and summary["brier_top_label"] == pytest.approx(0.49)
    assert len(summary["reliability"]) == 15


def test_temperature_scaling_cools_an_overconfident_model():
    rng = np.random.default_rng(2)
    n, vocab = 4000, 20
    true_logits = rng.normal(0, 2, (n, vocab))
    targets = np.array([rng.choice(vocab, p=np.exp(r) / np.exp(r).sum()) for r in true_logits])
    logits = true_logits * 2.5  # overconfident: the right temperature is 2.5
    temps = DEFAULT_TEMPERATURES + (2.5, 3.0)
    nll, top1 = [], []
    for t in temps:
        z = logits / t
        lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
        nll.append(lse - z[np.arange(n), targets])
        top1.append(np.exp(z.max(1) - lse))
    correct = logits.argmax(1) == targets
    mask = np.arange(n) < n // 2
    fit = fit_temperature(np.stack(nll, 1), np.stack(top1, 1), correct, temps, mask)
    assert fit["temperature"] == pytest.approx(2.5)
    assert fit["ece_after"] < fit["ece_before"] / 3
    assert fit["nll_after"] < fit["nll_before"]


def _calibrated_documents(rng, lengths, overconfidence=0.0):
    """Per document: confidences and hits of a model right as often as it says, minus ``overconfidence``."""
    conf, hit = [], []
    for n in lengths:
        c = np.clip(rng.beta(2, 2, n), 0.01, 0.99)
        conf.append(np.clip(c + overconfidence, 0.01, 0.99))
        hit.append(rng.random(n) < c)
    return conf, hit


def test_two_equally_calibrated_models_are_rarely_called_different():
    """A simulation: both models calibrated, 10 uneven documents; the paired ECE change is called
    significant in at most 6% of runs (the old fixed 0.005 threshold: 17%)."""
    from workbench.evaluation.calibration import paired_ece_change

    rng = np.random.default_rng(11)
    claims = 0
    for _ in range(200):
        lengths = np.maximum(20, rng.lognormal(5, 0.7, 10)).astype(int)
        base, adapted = _calibrated_documents(rng, lengths), _calibrated_documents(rng, lengths)
        claims += paired_ece_change(*base, *adapted, n_bins=15)["significant"]
    assert claims / 200 <= 0.06


def test_a_planted_overconfidence_is_found_and_its_change_is_the_ece_difference():
    from workbench.evaluation.calibration import expected_calibration_error, paired_ece_change

    rng = np.random.default_rng(12)
    lengths = np.maximum(20, rng.lognormal(5, 0.7, 24)).astype(int)
    base = _calibrated_documents(rng, lengths)
    adapted = _calibrated_documents(rng, lengths, overconfidence=0.15)
    result = paired_ece_change(*base, *adapted, n_bins=15)
    pooled = [expected_calibration_error(np.concatenate(c), np.concatenate(h), 15) for c, h in (base, adapted)]
    assert result["change"] == pytest.approx(pooled[1] - pooled[0])
    assert result["significant"] and result["ci95"][0] > 0
    few = paired_ece_change(*[x[:3] for x in base], *[x[:3] for x in adapted], n_bins=15)
    assert not few["significant"] and not few["enough_documents"]
