"""workbench: domain-adaptive pretraining, from corpus to compared models.

Heavy libraries (torch, transformers, peft, bitsandbytes) are imported lazily by the
modules that need them, so ``import workbench`` stays fast and works anywhere.
"""

from __future__ import annotations

import os
import random

__version__ = "0.1.0"

__all__ = ["__version__", "seed_everything"]


def _quiet_third_party() -> None:
    # before anything imports bitsandbytes (peft and transformers' Trainer do it themselves)
    from workbench.models.quant import quiet_bitsandbytes_logs

    quiet_bitsandbytes_logs()


_quiet_third_party()


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
