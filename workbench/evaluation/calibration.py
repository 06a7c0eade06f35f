"""Calibration of next-token prediction: ECE, MCE, RMS error, Brier scores, temperature scaling.

Confidence is the model's top-1 next-token probability; "correct" means that top-1 token is
the actual next token. Equal-width bins are [k/B, (k+1)/B) with a confidence of exactly 1.0 in
the last bin; equal-mass bins split the tokens sorted by confidence into B groups of (nearly)
equal size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from workbench.evaluation.stats import MIN_DOCUMENTS, jackknife_t_interval

Strategy = Literal["uniform", "quantile"]


def _bins(confidences: np.ndarray, n_bins: int, strategy: Strategy) -> list[np.ndarray]:
    """Indices of the tokens in each bin (empty bins included for 'uniform')."""
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        # side='right': a confidence equal to an inner edge opens the upper bin; 1.0 lands in the last
        which = np.searchsorted(edges[1:-1], confidences, side="right")
        order = np.argsort(which, kind="stable")
        counts = np.bincount(which, minlength=n_bins)
        return np.split(order, np.cumsum(counts)[:-1])
    if strategy == "quantile":
        order = np.argsort(confidences, kind="stable")
        return [part for part in np.array_split(order, min(n_bins, max(len(order), 1))) if part.size]
    raise ValueError(f"unknown binning strategy {strategy!r}; use 'uniform' or 'quantile'")


def _as_arrays(confidences, correct) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    hit = np.asarray(correct, dtype=np.float64).ravel()
    if conf.shape != hit.shape:
        raise ValueError(f"confidences ({conf.size}) and correct ({hit.size}) differ in length")
    if conf.size and (conf.min() < 0 or conf.max() > 1):
        raise ValueError("confidences must lie in [0, 1]")
    return conf, hit


def reliability_bins(confidences, correct, n_bins: int = 15, strategy: Strategy = "uniform") -> list[dict]:
    """Per bin: lower/upper edge, tokens, mean confidence, accuracy (None for empty bins)."""
    conf, hit = _as_arrays(confidences, correct)
    rows = []
    for k, idx in enumerate(_bins(conf, n_bins, strategy)):
        if strategy == "uniform":
            lo, hi = k / n_bins, (k + 1) / n_bins
        else:
            lo, hi = float(conf[idx].min()), float(conf[idx].max())
        rows.append({
            "lower": lo, "upper": hi, "count": int(idx.size),
            "confidence": float(conf[idx].mean()) if idx.size else None,
            "accuracy": float(hit[idx].mean()) if idx.size else None,
        })
    return rows


def _gaps(conf: np.ndarray, hit: np.ndarray, n_bins: int, strategy: Strategy) -> tuple[np.ndarray, np.ndarray]:
    weights, gaps = [], []
    for idx in _bins(conf, n_bins, strategy):
        if idx.size:
            weights.append(idx.size / conf.size)
            gaps.append(abs(hit[idx].mean() - conf[idx].mean()))
    return np.asarray(weights), np.asarray(gaps)


def expected_calibration_error(confidences, correct, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """ECE = sum over bins of (tokens in bin / tokens) * |accuracy - mean confidence|.

    Args:
        confidences: top-1 probabilities in [0, 1] (any array-like).
        correct: whether each top-1 prediction was right (bools or 0/1).
        n_bins: number of bins.
        strategy: "uniform" (equal-width bins) or "quantile" (equal-mass bins).
    """
    conf, hit = _as_arrays(confidences, correct)
    if conf.size == 0:
        return float("nan")
    weights, gaps = _gaps(conf, hit, n_bins, strategy)
    return float((weights * gaps).sum())


def maximum_calibration_error(confidences, correct, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """MCE: the largest |accuracy - confidence| over non-empty bins."""
    conf, hit = _as_arrays(confidences, correct)
    if conf.size == 0:
        return float("nan")
    return float(_gaps(conf, hit, n_bins, strategy)[1].max())


def rms_calibration_error(confidences, correct, n_bins: int = 15, strategy: Strategy = "uniform") -> float:
    """RMS calibration error: sqrt(sum over bins of weight * gap^2)."""
    conf, hit = _as_arrays(confidences, correct)
    if conf.size == 0:
        return float("nan")
    weights, gaps = _gaps(conf, hit, n_bins, strategy)
    return float(np.sqrt((weights * gaps**2).sum()))


def brier_score(sum_p2, target_prob) -> float:
    """Full-vocabulary Brier score, mean over tokens of sum_v (p_v - 1[v = y])^2 = sum p^2 - 2 p_y + 1."""
    sum_p2 = np.asarray(sum_p2, dtype=np.float64)
    target = np.asarray(target_prob, dtype=np.float64)
    return float(np.mean(sum_p2 - 2 * target + 1)) if sum_p2.size else float("nan")


def top_label_brier(confidences, correct) -> float:
    """Brier score of the top-1 prediction only: mean (confidence - correct)^2."""
    conf, hit = _as_arrays(confidences, correct)
    return float(np.mean((conf - hit) ** 2)) if conf.size else float("nan")


def calibration_summary(confidences, correct, sum_p2, target_prob, n_bins: int = 15) -> dict:
    """Every calibration number of one model on one set, plus both reliability diagrams' bins."""
    conf, hit = _as_arrays(confidences, correct)
    return {
        "ece": expected_calibration_error(conf, hit, n_bins, "uniform"),
        "ece_equal_mass": expected_calibration_error(conf, hit, n_bins, "quantile"),
        "mce": maximum_calibration_error(conf, hit, n_bins, "uniform"),
        "rms_ce": rms_calibration_error(conf, hit, n_bins, "uniform"),
        "brier": brier_score(sum_p2, target_prob),
        "brier_top_label": top_label_brier(conf, hit),
        "accuracy": float(hit.mean()) if hit.size else float("nan"),
        "mean_confidence": float(conf.mean()) if conf.size else float("nan"),
        "n_bins": n_bins,
        "reliability": reliability_bins(conf, hit, n_bins, "uniform"),
        "reliability_equal_mass": reliability_bins(conf, hit, n_bins, "quantile"),
    }


DEFAULT_TEMPERATURES = tuple(float(t) for t in np.round(np.geomspace(0.5, 2.0, 15), 4))


def fit_temperature(
    nll_by_temperature: np.ndarray, top1_by_temperature: np.ndarray, correct: np.ndarray,
    temperatures: Sequence[float], fit_mask: np.ndarray, n_bins: int = 15,
) -> dict:
    """Temperature scaling on a grid: pick T minimising the NLL of the ``fit_mask`` tokens, then
    report ECE (and NLL) on the other tokens before (T = 1) and after.

    Args:
        nll_by_temperature, top1_by_temperature: [tokens, len(temperatures)] from scoring with
            ``temperatures`` (top-1 token does not change with T, so ``correct`` is shared).
        fit_mask: bool per token, True for the tokens used to fit.
    """
    temps = np.asarray(temperatures, dtype=np.float64)
    fit, held = np.asarray(fit_mask, bool), ~np.asarray(fit_mask, bool)
    if not fit.any() or not held.any():
        raise ValueError("temperature scaling needs tokens both to fit and to evaluate")
    best = int(np.argmin(nll_by_temperature[fit].mean(0)))
    one = int(np.argmin(np.abs(temps - 1.0)))
    hit = np.asarray(correct)[held]
    return {
        "temperature": float(temps[best]),
        "grid": temps.tolist(),
        "fit_tokens": int(fit.sum()),
        "eval_tokens": int(held.sum()),
        "at_grid_edge": best in (0, len(temps) - 1),
        "ece_before": expected_calibration_error(top1_by_temperature[held, one], hit, n_bins),
        "ece_after": expected_calibration_error(top1_by_temperature[held, best], hit, n_bins),
        "nll_before": float(nll_by_temperature[held, one].mean()),
        "nll_after": float(nll_by_temperature[held, best].mean()),
    }


def paired_ece_change(base_confidences, base_correct, adapted_confidences, adapted_correct, n_bins: int = 15,
                      level: float = 0.95, min_documents: int | None = None) -> dict:
    """The change in ECE (adapted minus base) on the same documents, with a jackknife t-interval over documents.

    Args:
        base_confidences, base_correct: per document, the base model's top-1 confidence and hit per token.
        adapted_confidences, adapted_correct: the same for the adapted model (same documents, same order).

    Returns:
        ``{"change", "ci95", "significant", "enough_documents", "documents"}``: significant when the
        interval excludes zero and there are at least ``min_documents`` documents.
    """
    min_documents = MIN_DOCUMENTS if min_documents is None else min_documents
    n = len(base_confidences)
    b_conf, b_hit = [np.asarray(c, dtype=np.float64) for c in base_confidences], [np.asarray(h, bool) for h in base_correct]
    a_conf, a_hit = ([np.asarray(c, dtype=np.float64) for c in adapted_confidences],
                     [np.asarray(h, bool) for h in adapted_correct])

    def change(keep: np.ndarray) -> float:
        idx = np.flatnonzero(keep)
        ece = [expected_calibration_error(np.concatenate([conf[i] for i in idx]), np.concatenate([hit[i] for i in idx]),
                                          n_bins)
               for conf, hit in ((b_conf, b_hit), (a_conf, a_hit))]
        return ece[1] - ece[0]

    point, ci = jackknife_t_interval(change, n, level)
    enough = n >= min_documents
    excludes_zero = not math.isnan(ci[0]) and (ci[0] > 0 or ci[1] < 0)
    return {"change": point, "ci95": ci, "significant": bool(excludes_zero and enough), "enough_documents": enough,
            "documents": n, "interval": "jackknife t over documents"}
