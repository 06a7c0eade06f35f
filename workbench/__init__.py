"""workbench: domain-adaptive pretraining, from corpus to compared models.

Heavy libraries (torch, transformers, peft, bitsandbytes) are imported lazily by the
modules that need them, so ``import workbench`` stays fast and works anywhere.
"""

from __future__ import annotations

import logging
import os
import random

__version__ = "0.1.0"

__all__ = ["__version__", "seed_everything"]

# Third-party notices that are harmless noise before every command: logger -> message starts.
# bitsandbytes' CPU backend (>= 0.49, on AVX512-BF16 CPUs) logs this at import and falls back to its
# built-in kernel. peft and transformers' Trainer import bitsandbytes themselves, so the filter is
# installed when workbench is imported.
_NOISY = {"bitsandbytes.backends.cpu.ops": ("Failed to load CPU gemm_4bit_forward from kernels-community",)}


class _ToDebugLog(logging.Filter):
    """Drops known, harmless third-party notices from their logger and re-logs them at DEBUG."""

    def __init__(self, prefixes: tuple[str, ...]):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith(self.prefixes):
            logging.getLogger(__name__).debug("%s: %s", record.name, record.getMessage())
            return False
        return True


for _name, _prefixes in _NOISY.items():
    logging.getLogger(_name).addFilter(_ToDebugLog(_prefixes))


def seed_everything(seed: int, deterministic: bool = False) -> int:
    """Seed Python, NumPy and torch (CPU and CUDA) from one place.

    Args:
        seed: the seed; stored in every run card and checked on resume.
        deterministic: also ask torch for deterministic kernels (slower on GPU).

    Returns:
        The seed, so callers can record it.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        pass
    try:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    except ImportError:  # pragma: no cover
        pass
    return seed
