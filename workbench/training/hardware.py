"""Accelerators the plan knows: memory, dense bf16 peak, a typical price and utilisation.

A table apart from the estimate (``workbench.training.plan``), so adding a GPU touches only this file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workbench.errors import WorkbenchError

GIB = 2**30


# --------------------------------------------------------------------------------------------
# Hardware
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GPU:
    """One accelerator type: memory, dense bf16 peak, a typical on-demand price, a typical MFU."""

    name: str
    memory_gib: float
    """Memory the device reports as total (torch.cuda.get_device_properties), GiB."""
    bf16_tflops: float
    """Dense (no sparsity) bf16 tensor-core peak, TFLOP/s (fp16 for the T4, fp32 for 'cpu')."""
    price_per_hour: float
    """Typical on-demand price in USD per GPU hour (2024-25 cloud list prices; override it)."""
    mfu: float
    """Assumed share of the peak a small-batch QLoRA run reaches (4-bit dequantization included); a plan
    uses measured utilisations instead where ``workbench.training.measured`` has them."""


# Peaks from the vendors' data sheets (dense, not the 2x 'with sparsity' figures). Memory is what
# CUDA reports, a little under the marketed size. MFU defaults are deliberately modest: QLoRA
# dequantizes every weight in every forward and backward matmul, which is memory-bound and costs
# most at micro-batch 1; newer, faster GPUs reach a smaller share of their higher peaks.
GPUS: dict[str, GPU] = {
    g.name: g
    for g in (
        GPU("T4", 14.7, 65.0, 0.35, 0.25),  # no bf16: fp16 tensor cores
        GPU("L4", 22.2, 121.0, 0.80, 0.30),
        GPU("A10G", 22.2, 70.0, 1.01, 0.35),
        GPU("RTX 4090", 23.6, 165.0, 0.45, 0.35),  # fp32-accumulate tensor rate
        GPU("A100-40GB", 39.4, 312.0, 1.30, 0.35),
        GPU("A100-80GB", 79.1, 312.0, 1.80, 0.35),
        # measured here: 0.02-0.15 by model size (workbench.training.measured); plans use those
        GPU("H100", 79.1, 989.0, 2.99, 0.08),  # SXM
        GPU("H200", 139.8, 989.0, 3.80, 0.08),
        # A small cloud VM (2-4 cores, fp32, no bf16 units); memory is read from this machine.
        # MFU calibrated on a 2-core AMD EPYC (BENCHMARKS.md, training throughput); override for others.
        GPU("cpu", 16.0, 0.2, 0.0, 0.15),
    )
}


def gpu_spec(name: str) -> GPU:
    """The ``GPUS`` entry for ``name`` (case and punctuation insensitive: 'a100-80gb', 'rtx4090')."""
    key = _norm(name)
    for gpu in GPUS.values():
        if _norm(gpu.name) == key:
            if gpu.name == "cpu":
                return replace(gpu, memory_gib=_host_memory_gib())
            return gpu
    raise WorkbenchError(f"unknown GPU '{name}'.", f"use one of {', '.join(GPUS)}, or pass memory_gib and tflops.")


def _host_memory_gib() -> float:
    try:
        import psutil

        return round(psutil.virtual_memory().total / GIB, 1)
    except ImportError:  # pragma: no cover
        return GPUS["cpu"].memory_gib


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())
