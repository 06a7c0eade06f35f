"""Evaluation: sliding-window perplexity, bits per byte, calibration, comparisons, reports.

The public modules are listed in ``__all__``; the others (calibration, checkpoints, explain,
leakage, metrics, probes, report, sets, tokendiff, verdict) are the comparison's parts. Nothing is imported here, so ``import workbench.evaluation`` pulls no torch.
"""

__all__ = ["adapted", "compare", "config", "generate", "perplexity", "plots", "regression", "repetition", "result", "scorecache", "stats"]
