"""Evaluation: sliding-window perplexity, bits per byte, calibration, comparisons, reports."""
