"""Intervals of a ratio of sums and of any statistic over clusters, with small-sample corrections.

Evaluation (perplexity changes over documents) and review (MQM penalty per 100 words over judged
outputs) both estimate a ratio of sums over units that were sampled: documents or outputs. These
intervals treat the unit as the cluster and keep their coverage with few units (checked by
simulation in the tests).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ratio_t_interval", "jackknife_t_interval"]


def ratio_t_interval(doc_num, doc_den, level: float = 0.95) -> tuple[float, list[float]]:
    """sum(num) / sum(den) and its t-interval, the variance clustered by document.

    R = sum(num) / sum(den) is the weighted mean of the per-document rates num_i / den_i with
    weights w_i = den_i / sum(den). Its variance is the cluster-robust one with the CR2 small-sample
    correction (each residual e_i = num_i - R den_i scaled by 1 / (1 - w_i), the document's
    leverage), and the degrees of freedom are Kish's effective number of documents minus one,
    1 / sum(w_i^2) - 1: a few long documents carry the estimate, and the interval says so. With
    equal document lengths this is exactly the one-sample t-interval of the per-document rates.

    Returns:
        The ratio and ``[low, high]`` (NaNs with fewer than 2 documents).
    """
    from scipy import stats

    num = np.asarray(doc_num, dtype=np.float64)
    den = np.asarray(doc_den, dtype=np.float64)
    total = max(float(den.sum()), 1e-300)
    ratio = float(num.sum() / total)
    n = num.size
    if n < 2:
        return ratio, [float("nan"), float("nan")]
    weights = den / total
    resid = num - ratio * den
    se = math.sqrt(float((resid**2 / np.maximum(1.0 - weights, 1e-12)).sum())) / total
    df = max(1.0 / float((weights**2).sum()) - 1.0, 1.0)
    half = float(stats.t.ppf(0.5 + level / 2, df=df)) * se
    return ratio, [ratio - half, ratio + half]


def jackknife_t_interval(statistic, n_documents: int, level: float = 0.95) -> tuple[float, list[float]]:
    """A statistic of the whole set and its delete-one-document jackknife t-interval.

    Args:
        statistic: ``f(keep)`` of a boolean mask over documents (all True: the whole set).
        n_documents: how many documents there are.
    """
    from scipy import stats

    full = float(statistic(np.ones(n_documents, dtype=bool)))
    if n_documents < 2:
        return full, [float("nan"), float("nan")]
    leave_out = np.empty(n_documents)
    for i in range(n_documents):
        keep = np.ones(n_documents, dtype=bool)
        keep[i] = False
        leave_out[i] = statistic(keep)
    se = math.sqrt((n_documents - 1) / n_documents * float(((leave_out - leave_out.mean()) ** 2).sum()))
    half = float(stats.t.ppf(0.5 + level / 2, df=n_documents - 1)) * se
    return full, [full - half, full + half]
