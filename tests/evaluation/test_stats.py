import math

import numpy as np
import pytest

from workbench.evaluation.stats import MIN_DOCUMENTS, paired_delta, perplexity_interval, ratio_t_interval


def test_perplexity_interval_covers_point_and_is_seeded():
    rng = np.random.default_rng(0)
    tokens = rng.integers(50, 500, 40)
    nll = tokens * rng.normal(3.0, 0.3, 40)
    point = math.exp(nll.sum() / tokens.sum())
    ci = perplexity_interval(nll, tokens, 1000, seed=7)
    assert ci[0] < point < ci[1]
    assert ci == perplexity_interval(nll, tokens, 1000, seed=7)
    assert ci != perplexity_interval(nll, tokens, 1000, seed=8)
    # four times the documents: a narrower interval
    wide = perplexity_interval(nll[:10], tokens[:10], 1000, seed=7)
    assert (wide[1] - wide[0]) > (ci[1] - ci[0])


def test_paired_delta_sees_a_small_consistent_gain_that_unpaired_spread_would_hide():
    rng = np.random.default_rng(1)
    tokens = rng.integers(100, 400, 30).astype(float)
    base = tokens * rng.normal(3.0, 0.8, 30)  # documents differ a lot in difficulty
    adapted = base - tokens * 0.02  # every document gains 0.02 nats/token
    d = paired_delta(base, adapted, tokens)
    assert d["nll_per_token"] == pytest.approx(-0.02)
    assert d["ci95"][1] < 0 and d["significant"]
    assert d["documents_improved"] == 30 and d["ppl_ratio"] < 1


def test_paired_delta_of_noise_is_not_significant():
    rng = np.random.default_rng(2)
    tokens = np.full(40, 200.0)
    base = tokens * 3.0
    adapted = base + tokens * rng.normal(0, 0.05, 40)
    adapted -= (adapted - base).mean()  # no change on average
    d = paired_delta(base, adapted, tokens)
    assert d["ci95"][0] < 0 < d["ci95"][1] and not d["significant"]


def test_paired_change_is_the_pooled_change_per_token_not_a_mean_of_document_changes():
    # uneven documents: 10 and 100 tokens; pooled (-2 - 5) / 110, where a mean of rates would say -0.125
    d = paired_delta([10.0, 100.0], [8.0, 95.0], [10, 100], min_documents=2)
    assert d["nll_per_token"] == pytest.approx(-7 / 110)
    assert d["tokens"] == 110 and d["documents"] == 2


def test_with_equal_documents_the_interval_is_scipys_one_sample_t_interval():
    from scipy import stats

    rng = np.random.default_rng(5)
    tokens = np.full(7, 300.0)
    base = tokens * 3.0
    adapted = base + tokens * rng.normal(-0.01, 0.03, 7)
    d = paired_delta(base, adapted, tokens)
    rates = (adapted - base) / tokens
    reference = stats.ttest_1samp(rates, 0.0).confidence_interval(0.95)
    assert d["ci95"] == pytest.approx([reference.low, reference.high], rel=1e-9)


def test_uneven_documents_widen_the_interval_through_the_effective_number_of_documents():
    """One document holds most tokens: the interval uses Kish's effective count (about 1.2 documents
    here, df clamped to 1), far wider than n - 1 = 4 degrees of freedom would give."""
    from scipy import stats

    tokens = np.array([5000.0, 100, 100, 100, 100])
    diff = np.array([-50.0, 2.0, -3.0, 1.0, -2.0])
    ratio, ci = ratio_t_interval(diff, tokens)
    w = tokens / tokens.sum()
    resid = diff - ratio * tokens
    se = math.sqrt((resid**2 / (1 - w)).sum()) / tokens.sum()
    assert 1 / (w**2).sum() == pytest.approx(5400**2 / (5000**2 + 4 * 100**2))  # 1.1645
    assert ci[1] - ratio == pytest.approx(stats.t.ppf(0.975, 1) * se)
    assert ci[1] - ratio > stats.t.ppf(0.975, 4) * se * 2


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 12, 24, 50])
def test_no_true_change_is_called_significant_at_most_six_percent_of_the_time(n):
    """A simulation under the null: identical models up to document-level noise (each document's change
    per token drawn around zero, plus token noise), documents of uneven length. The verdict's claim
    ("significant") comes at most 6% of the time, and the 95% interval covers zero at least 93%."""
    rng = np.random.default_rng(100 + n)
    sims, false_claims, covered = 3000, 0, 0
    for _ in range(sims):
        tokens = np.maximum(20, rng.lognormal(6, 0.7, n)).round()
        change = rng.normal(0, 0.05, n) * tokens + rng.normal(0, 0.3, n) * np.sqrt(tokens)
        base = rng.uniform(2, 4, n) * tokens
        d = paired_delta(base, base + change, tokens)
        false_claims += d["significant"]
        covered += d["ci95"][0] <= 0 <= d["ci95"][1]
    assert false_claims / sims <= 0.06
    assert covered / sims >= 0.93
    if n < MIN_DOCUMENTS:
        assert false_claims == 0  # too few documents: no claim at all


def test_a_real_change_is_found_with_enough_documents():
    rng = np.random.default_rng(9)
    tokens = np.maximum(20, rng.lognormal(6, 0.7, 24)).round()
    base = rng.uniform(2, 4, 24) * tokens
    adapted = base + (-0.1 + rng.normal(0, 0.05, 24)) * tokens
    d = paired_delta(base, adapted, tokens)
    assert d["significant"] and d["ci95"][1] < 0
