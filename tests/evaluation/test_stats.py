import math

import numpy as np
import pytest

from workbench.evaluation.stats import paired_delta, perplexity_interval


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
    d = paired_delta(base, adapted, tokens, 1000, seed=3)
    assert d["nll_per_token"] == pytest.approx(-0.02)
    assert d["ci95"][1] < 0 and d["significant"]
    assert d["documents_improved"] == 30 and d["ppl_ratio"] < 1


def test_paired_delta_of_noise_is_not_significant():
    rng = np.random.default_rng(2)
    tokens = np.full(40, 200.0)
    base = tokens * 3.0
    adapted = base + tokens * rng.normal(0, 0.05, 40)
    adapted -= (adapted - base).mean()  # no change on average
    d = paired_delta(base, adapted, tokens, 1000, seed=3)
    assert d["ci95"][0] < 0 < d["ci95"][1] and not d["significant"]
