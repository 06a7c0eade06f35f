"""How a run executes on a device: one decision, used by the trainer, the scorer and the plan.

Gradient checkpointing, the optimizer and whether the chunked loss applies are decided once
(:func:`resolve_runtime`), so the plan describes the run the trainer will make. On the CPU two more
choices live here, shared by training and scoring:

- **threads** (:func:`resolve_threads`): torch's intra-op threads from the CPUs this process may use
  (its affinity mask and its cgroup CPU quota), never more. On a shared host more threads than
  CPUs make every step wait for the slowest thread; ``WORKBENCH_THREADS`` sets a smaller number.
- **precision** (:func:`resolve_precision`): bf16 autocast for the matmuls where the CPU has bf16
  instructions (AVX512-BF16 or AMX), fp32 elsewhere; ``WORKBENCH_CPU_PRECISION=fp32`` forces fp32.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.models.heads import SUPPORTED_MODEL_TYPES

THREADS_ENV = "WORKBENCH_THREADS"
"""Environment variable: intra-op threads to use (at most the CPUs this process may use)."""
PRECISION_ENV = "WORKBENCH_CPU_PRECISION"
"""Environment variable: ``auto`` (bf16 where the CPU has it), ``bf16`` or ``fp32``."""
PRECISIONS = ("auto", "bf16", "fp32")
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2 CPU quota: "QUOTA PERIOD" or "max PERIOD"
CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 flags of native bf16 matmul instructions
SMALL_MACHINE_CPUS = 4  # at most this many CPUs: the data loader runs in the main process


@dataclass(frozen=True)
class Runtime:
    """What a training run uses on its device."""

    device: str
    """cuda, mps or cpu."""
    checkpointing: bool
    """Gradient checkpointing (recompute activations in backward)."""
    optimizer: str
    """paged_adamw_8bit (QLoRA on CUDA) or adamw_torch."""
    chunked_loss: bool
    """The chunked causal-LM loss from the frozen head (never the whole batch's logits)."""
    threads: int | None = None
    """torch intra-op threads (the CPUs this process may use, or ``WORKBENCH_THREADS``)."""
    precision: str = "fp32"
    """CPU matmul precision: bf16 (autocast) or fp32; fp32 on accelerators, whose dtype is the model's."""
    dataloader_workers: int = 0
    """Data-loader worker processes (0: the main process loads, as on small machines)."""

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_runtime(
    device: str,
    quant: str = "nf4",
    gradient_checkpointing: str = "auto",
    optimizer: str = "auto",
    chunked_loss: bool = True,
    train_embeddings: bool = False,
    model_type: str | None = None,
    precision: str | None = None,
) -> Runtime:
    """The runtime of a run on ``device`` ("cuda", "mps" or "cpu").

    Args:
        gradient_checkpointing: "on", "off" or "auto" (on for any accelerator, off on the CPU,
            where memory is rarely the limit and recomputation only costs time).
        optimizer: a name, or "auto": paged 8-bit AdamW for NF4 on CUDA, plain AdamW otherwise.
        chunked_loss: asked for; applies only to architectures whose head is exactly
            ``lm_head(hidden)`` and a frozen head (no trained embedding copies).
        model_type: the model's ``config.model_type`` (None: not known yet, assume supported).
        precision: the CPU precision, "auto", "bf16" or "fp32" (None: ``WORKBENCH_CPU_PRECISION``, else auto).
    """
    checkpointing = gradient_checkpointing == "on" or (gradient_checkpointing == "auto" and device != "cpu")
    if optimizer == "auto":
        optimizer = "paged_adamw_8bit" if quant == "nf4" and device == "cuda" else "adamw_torch"
    chunked = bool(chunked_loss) and not train_embeddings and (model_type is None or model_type in SUPPORTED_MODEL_TYPES)
    cpus = available_cpus()
    return Runtime(device=device, checkpointing=checkpointing, optimizer=optimizer, chunked_loss=chunked,
                   threads=resolve_threads(cpus=cpus), precision=resolve_precision(device, precision),
                   dataloader_workers=dataloader_workers(cpus))


def quota_cpus(cpu_max: str | os.PathLike = CPU_MAX) -> int | None:
    """CPUs the cgroup quota allows (``QUOTA / PERIOD`` of ``cpu.max``, rounded up), or None without a quota."""
    try:
        fields = Path(cpu_max).read_text(encoding="utf-8").split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def available_cpus(cpu_max: str | os.PathLike = CPU_MAX, affinity: set[int] | None = None) -> int:
    """The CPUs this process may use: its affinity mask, capped by the cgroup CPU quota."""
    if affinity is None:
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cpus = max(1, len(affinity))
    quota = quota_cpus(cpu_max)
    return min(cpus, quota) if quota else cpus


def resolve_threads(requested: int | str | None = None, cpus: int | None = None) -> int:
    """Intra-op threads: ``requested`` (else ``WORKBENCH_THREADS``, else all), never more than ``cpus``
    (default: :func:`available_cpus`)."""
    cpus = available_cpus() if cpus is None else cpus
    if requested is None:
        requested = os.environ.get(THREADS_ENV) or None
    if requested is None:
        return cpus
    try:
        threads = int(requested)
    except (TypeError, ValueError):
        threads = 0
    if threads < 1:
        raise WorkbenchError(f"{THREADS_ENV} is {requested!r}.", f"set {THREADS_ENV} to a whole number of 1 or more "
                             f"(at most the {cpus} CPUs this process may use), or unset it.")
    return min(threads, cpus)


def apply_threads(requested: int | str | None = None) -> int:
    """Set torch's intra-op threads to :func:`resolve_threads` and return the number."""
    import torch

    threads = resolve_threads(requested)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def dataloader_workers(cpus: int | None = None) -> int:
    """Data-loader worker processes: none on small machines (the main process loads the packed blocks,
    which costs little; a worker would take a CPU from the matmuls), one above that."""
    cpus = available_cpus() if cpus is None else cpus
    return 0 if cpus <= SMALL_MACHINE_CPUS else 1


def cpu_has_bf16(cpuinfo: str | os.PathLike = CPUINFO) -> bool:
    """Whether the CPU has native bf16 matmul instructions (AVX512-BF16 or AMX-BF16 in its flags)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags") or line.startswith("Features"):
            flags = set(line.partition(":")[2].split())
            return any(flag in flags for flag in BF16_FLAGS)
    return False


def resolve_precision(device: str = "cpu", setting: str | None = None, has_bf16: bool | None = None) -> str:
    """``"bf16"`` or ``"fp32"``: the precision of the CPU's matmuls (autocast), from ``setting`` (else
    ``WORKBENCH_CPU_PRECISION``, else ``auto``: bf16 where the CPU has it). Other devices: ``"fp32"``
    here (their dtype is the model's, :func:`workbench.models.load.compute_dtype`)."""
    setting = (setting or os.environ.get(PRECISION_ENV) or "auto").strip().lower()
    if setting not in PRECISIONS:
        raise WorkbenchError(f"{PRECISION_ENV} is {setting!r}.", f"set {PRECISION_ENV} to auto, bf16 or fp32.")
    if device != "cpu" or setting == "fp32":
        return "fp32"
    if setting == "bf16":
        return "bf16"
    return "bf16" if (cpu_has_bf16() if has_bf16 is None else has_bf16) else "fp32"


def cpu_autocast(precision: str):
    """A context in which the CPU's matmuls run in bf16 (``precision == "bf16"``); else nothing changes."""
    if precision != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


__all__ = ["Runtime", "resolve_runtime", "available_cpus", "quota_cpus", "resolve_threads", "apply_threads",
           "dataloader_workers", "cpu_has_bf16", "resolve_precision", "cpu_autocast", "THREADS_ENV", "PRECISION_ENV"]
