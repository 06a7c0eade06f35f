"""Evaluation: sliding-window perplexity, bits per byte, calibration, comparisons, reports.

The public modules are listed in ``__all__``; the others (calibration, checkpoints, explain,
generate, leakage, metrics, probes, repetition, report, sets, verdict) are the comparison's parts. Nothing is imported here, so ``import workbench.evaluation`` pulls no torch.
"""

__all__ = ["adapted", "compare", "config", "estimate", "perplexity", "plots", "regression", "result", "scorecache", "stats",
           "tables", "tokendiff"]
