"""Deterministic order of training blocks: domain epochs shuffled by seed, replay and synthetic text interleaved.

The whole schedule (which block is seen at which step) is a pure function of the packed data,
the budget, the replay and synthetic ratios and the seed, so a resumed run sees exactly the blocks the
uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np


def block_schedule(
    n_domain: int, n_steps_blocks: int, seed: int, n_replay: int = 0, replay_ratio: float = 0.0,
    n_synthetic: int = 0, synthetic_ratio: float = 0.0,
) -> np.ndarray:
    """Indices into [domain blocks..., replay blocks..., synthetic blocks...] for ``n_steps_blocks`` training slots.

    Replay blocks (indices ``n_domain + k``) take a ``replay_ratio`` share of the slots, spread
    evenly (slot i is replay when floor((i+1)*r) > floor(i*r)). Synthetic blocks (indices
    ``n_domain + n_replay + k``) take a ``synthetic_ratio`` share of all slots, spread the same way
    over the slots replay left. Each source is cycled in fresh seeded permutations when the budget
    exceeds its size (more than one epoch). Without synthetic blocks the schedule is the one a run
    without them always had.
    """
    if n_domain <= 0:
        raise ValueError("no domain blocks to train on")
    if not 0.0 <= replay_ratio < 1.0:
        raise ValueError("replay_ratio must be in [0, 1)")
    rng = np.random.default_rng(seed)
    slots = np.arange(n_steps_blocks)
    is_replay = (
        np.floor((slots + 1) * replay_ratio) > np.floor(slots * replay_ratio)
        if n_replay > 0 and replay_ratio > 0
        else np.zeros(n_steps_blocks, dtype=bool)
    )
    if not 0.0 <= synthetic_ratio < 1.0 - (replay_ratio if n_replay > 0 else 0.0):
        raise ValueError("synthetic_ratio must be in [0, 1 - replay_ratio)")
    is_synthetic = np.zeros(n_steps_blocks, dtype=bool)
    if n_synthetic > 0 and synthetic_ratio > 0:
        rest = np.flatnonzero(~is_replay)
        within = synthetic_ratio * n_steps_blocks / rest.size
        j = np.arange(rest.size)
        nudge = 1e-9  # 0.15 / 0.75 is 0.1999...: without it a whole share would lose its last slot
        is_synthetic[rest[np.floor((j + 1) * within + nudge) > np.floor(j * within + nudge)]] = True
    n_rep = int(is_replay.sum())
    n_syn = int(is_synthetic.sum())
    is_domain = ~is_replay & ~is_synthetic
    domain_order = _cycled_permutations(n_domain, int(is_domain.sum()), rng)
    replay_order = _cycled_permutations(n_replay, n_rep, rng) + n_domain if n_rep else np.zeros(0, dtype=np.int64)
    schedule = np.empty(n_steps_blocks, dtype=np.int64)
    schedule[is_domain] = domain_order
    schedule[is_replay] = replay_order
    if n_syn:
        schedule[is_synthetic] = _cycled_permutations(n_synthetic, n_syn, rng) + n_domain + n_replay
    return schedule


def _cycled_permutations(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    epochs = -(-count // n)
    return np.concatenate([rng.permutation(n) for _ in range(epochs)])[:count].astype(np.int64)
