"""The Train page's GPU count: how many GPUs a run trains on, shown only where more than one is visible."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def visible_gpus() -> int:
    """CUDA devices the app's machine has (asked once: it imports torch)."""
    from workbench.training.fsdp import visible_gpus as count

    return count()


def gpu_count(visible: int, key: str = "train_gpus") -> int:
    """A GPU count input (1 to ``visible``) where more than one GPU is visible; 1 otherwise, with nothing shown."""
    if visible <= 1:
        return 1
    import streamlit as st

    return int(st.number_input(
        "GPUs", min_value=1, max_value=visible, value=1, step=1, key=key,
        help="One training process per GPU. With sharding 'fsdp' (Advanced settings) the model is split over "
             "them, for a model that does not fit one GPU; otherwise each GPU trains a share of every step.",
    ))
