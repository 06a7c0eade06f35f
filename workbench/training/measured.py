"""Training throughputs this project measured, so a plan uses them instead of an assumed utilisation.

Each row is one run of ``benchmarks/train_throughput.py`` on a real accelerator (the result file
and the BENCHMARKS.md section are its source). A plan for the same GPU, model, quantization,
block size and micro-batch takes the measured tokens per second; any other GPU plan takes the
utilisation (MFU) measured for the model nearest in size, on that GPU where it was measured, else
on a measured GPU (the GPU table's assumed utilisations were 2-10x too optimistic where they could
be checked). The plan says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MeasuredThroughput", "MEASURED", "measured_run", "nearest_measured"]


@dataclass(frozen=True)
class MeasuredThroughput:
    """One measured QLoRA training run."""

    gpu: str
    """The GPU table's name of the device (``workbench.training.hardware.GPUS``)."""
    model: str
    """The architecture's name (``KNOWN_CONFIGS`` / the plan's ``model``)."""
    n_params: int
    """The model's parameters (the plan's count), to find the nearest measured model."""
    quant: str
    block_size: int
    micro_batch_size: int
    tokens_per_s: float
    """Training tokens per second over the whole run (text tokens, packed documents)."""
    mfu: float
    """The utilisation those tokens per second are, with the plan's FLOPs per token."""
    source: str
    """Where the figure comes from."""


_H100 = "BENCHMARKS.md, 'On a GPU (H100)': one H100 80GB HBM3, torch 2.11 + CUDA 13.0"
MEASURED: tuple[MeasuredThroughput, ...] = (
    MeasuredThroughput("H100", "Llama-3.1-8B", 8_030_261_248, "nf4", 1024, 4, 3206.3, 0.1506,
                       f"{_H100} (benchmarks/results/train-Llama-3.1-8B-documents.json)"),
    MeasuredThroughput("H100", "Llama-3.2-1B", 1_235_814_400, "nf4", 1024, 4, 9846.2, 0.0748,
                       f"{_H100} (benchmarks/results/train-Llama-3.2-1B-documents.json)"),
    MeasuredThroughput("H100", "Qwen2.5-0.5B", 494_032_768, "nf4", 1024, 4, 7204.2, 0.0227,
                       f"{_H100} (benchmarks/results/train-Qwen2.5-0.5B-documents.json)"),
)

def measured_run(gpu: str, model: str, quant: str, block_size: int, micro_batch_size: int) -> MeasuredThroughput | None:
    """The measured run of exactly this setup, or None."""
    for row in MEASURED:
        if (row.gpu, row.model, row.quant, row.block_size, row.micro_batch_size) == (
                gpu, model, quant, block_size, micro_batch_size):
            return row
    return None


def nearest_measured(gpu: str, n_params: int, quant: str) -> MeasuredThroughput | None:
    """The measured run whose model is nearest in size (log scale): on ``gpu`` where it has any, else on
    any measured GPU; None when nothing with this quantization was measured."""
    rows = [r for r in MEASURED if r.gpu == gpu and r.quant == quant] or [r for r in MEASURED if r.quant == quant]
    if not rows:
        return None
    return min(rows, key=lambda r: abs(math.log(r.n_params) - math.log(max(n_params, 1))))
