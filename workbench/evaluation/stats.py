"""Bootstrap intervals over documents (the unit that was sampled), seeded and vectorised."""

from __future__ import annotations

import math

import numpy as np


def _resample_counts(n_docs: int, n_resamples: int, seed: int) -> np.ndarray:
    """[n_resamples, n_docs] counts: how often each document is drawn in each resample."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_docs, size=(n_resamples, n_docs))
    counts = np.zeros((n_resamples, n_docs), dtype=np.int32)
    np.add.at(counts, (np.arange(n_resamples)[:, None], draws), 1)
    return counts


def _interval(samples: np.ndarray, level: float) -> list[float]:
    alpha = (1 - level) / 2
    lo, hi = np.quantile(samples, [alpha, 1 - alpha])
    return [float(lo), float(hi)]


def perplexity_interval(
    doc_nll_sums, doc_tokens, n_resamples: int = 1000, seed: int = 1234, level: float = 0.95
) -> list[float]:
    """Percentile bootstrap interval of exp(sum NLL / sum tokens), resampling whole documents."""
    nll = np.asarray(doc_nll_sums, dtype=np.float64)
    tok = np.asarray(doc_tokens, dtype=np.float64)
    if nll.size < 2:
        return [float("nan"), float("nan")]
    counts = _resample_counts(nll.size, n_resamples, seed)
    ratio = (counts @ nll) / np.maximum(counts @ tok, 1)
    return [math.exp(x) for x in _interval(ratio, level)]


def ratio_interval(doc_num, doc_den, n_resamples: int = 1000, seed: int = 1234, level: float = 0.95) -> list[float]:
    """Percentile bootstrap interval of sum(num) / sum(den) over resampled documents."""
    num = np.asarray(doc_num, dtype=np.float64)
    den = np.asarray(doc_den, dtype=np.float64)
    if num.size < 2:
        return [float("nan"), float("nan")]
    counts = _resample_counts(num.size, n_resamples, seed)
    return _interval((counts @ num) / np.maximum(counts @ den, 1e-300), level)


def paired_delta(
    base_nll_sums, adapted_nll_sums, doc_tokens, n_resamples: int = 1000, seed: int = 1234, level: float = 0.95
) -> dict:
    """The paired change in NLL per token (adapted minus base) with its bootstrap interval.

    Both models score the same tokens of the same documents, so each resample draws documents
    once and takes both models' sums from them: the interval reflects only how the change varies
    across documents, not the (much larger) spread of document difficulty.
    """
    base = np.asarray(base_nll_sums, dtype=np.float64)
    adapted = np.asarray(adapted_nll_sums, dtype=np.float64)
    tok = np.asarray(doc_tokens, dtype=np.float64)
    diff = adapted - base
    per_doc = diff / np.maximum(tok, 1)
    point = float(diff.sum() / max(tok.sum(), 1))
    ci = ratio_interval(diff, tok, n_resamples, seed, level)
    return {
        "nll_per_token": point,
        "ci95": ci,
        "ppl_ratio": math.exp(point),
        "ppl_ratio_ci95": [math.exp(x) for x in ci],
        "ppl_change_pct": 100 * (math.exp(point) - 1),
        "significant": bool(ci[0] > 0 or ci[1] < 0) if not math.isnan(ci[0]) else False,
        "documents": int(base.size),
        "documents_improved": int((per_doc < 0).sum()),
        "documents_worse": int((per_doc > 0).sum()),
        "n_resamples": n_resamples,
        "seed": seed,
    }
