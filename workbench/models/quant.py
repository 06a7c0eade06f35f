"""bitsandbytes, imported in one place: quiet on every CPU, and the same 4-bit path on every CPU.

Two things differ on CPUs with AVX512-BF16 (Intel Xeon Sapphire Rapids and later) and are
handled here so that users and numbers do not depend on the CPU type:

- At import, bitsandbytes' CPU backend tries to load an optional kernel package and logs
  "Failed to load CPU gemm_4bit_forward from kernels-community ..." on stderr. It falls back to
  its built-in kernel; the line is noise before every command. ``import workbench`` moves that
  record (only that one) to workbench's debug log, because peft and transformers' Trainer import
  bitsandbytes themselves.
- The first forward of a 4-bit layer in eval mode without gradients repacks its weight, one
  way, into a bf16 kernel's layout; from then on every forward, in training too, runs that
  kernel: bf16 arithmetic, and no autograd, so no gradient flows through the frozen base to the
  layers below. A training run that evaluates before training (the base perplexity) then trains
  differently from a run resumed after that evaluation, and from the same run on other CPUs.
  :func:`keep_4bit_weights_unpacked` turns the repacking off for a loaded model.
"""

from __future__ import annotations

from functools import lru_cache

from workbench.errors import WorkbenchError


@lru_cache(maxsize=1)
def bitsandbytes_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("bitsandbytes") is not None


def import_bitsandbytes():
    """The bitsandbytes module, imported quietly; a user error with the fix when it is missing."""
    if not bitsandbytes_available():
        raise WorkbenchError(
            "4-bit NF4 needs the bitsandbytes package, which is not installed.",
            "pip install bitsandbytes, or set {field} to none for full-precision LoRA.",
            field="quant",
        )
    import bitsandbytes

    return bitsandbytes


def keep_4bit_weights_unpacked(model) -> int:
    """Turn off bitsandbytes' one-way CPU weight repacking on every 4-bit layer of ``model``.

    Returns:
        How many 4-bit layers were found (0 for a full-precision model).
    """
    if not bitsandbytes_available():
        return 0
    bnb = import_bitsandbytes()
    count = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            count += 1
    return count
