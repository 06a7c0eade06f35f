"""Deterministic order of training blocks: domain epochs shuffled by seed, replay, synthetic and glossary text interleaved.

The whole schedule (which block is seen at which step) is a pure function of the packed data,
the budget, the replay and synthetic ratios and the seed, so a resumed run sees exactly the blocks the
uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np


def block_schedule(
    n_domain: int, n_steps_blocks: int, seed: int, n_replay: int = 0, replay_ratio: float = 0.0,
    n_synthetic: int = 0, synthetic_ratio: float = 0.0, n_knowledge: int = 0, knowledge_ratio: float = 0.0,
) -> np.ndarray:
    """Indices into [domain blocks..., replay blocks..., synthetic blocks..., knowledge blocks...] for
    ``n_steps_blocks`` training slots.

    Replay blocks (indices ``n_domain + k``) take a ``replay_ratio`` share of the slots, spread
    evenly (slot i is replay when floor((i+1)*r) > floor(i*r)). Synthetic blocks (indices
    ``n_domain + n_replay + k``) take a ``synthetic_ratio`` share of all slots, spread the same way
    over the slots replay left; knowledge blocks (text rendered from a glossary, indices after the
    synthetic ones) take a ``knowledge_ratio`` share of all slots, spread over the slots replay and
    synthetic text left. Each source is cycled in fresh seeded permutations when the budget exceeds its
    size (more than one epoch), drawn from the seeded generator in that order, so a run without the
    later sources has the schedule a run without them always had, draw for draw.
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
    replay_share = replay_ratio if n_replay > 0 else 0.0
    if not 0.0 <= synthetic_ratio < 1.0 - replay_share:
        raise ValueError("synthetic_ratio must be in [0, 1 - replay_ratio)")
    synthetic_share = synthetic_ratio if n_synthetic > 0 else 0.0
    if not 0.0 <= knowledge_ratio < 1.0 or replay_share + synthetic_share + knowledge_ratio >= 1.0:
        raise ValueError("knowledge_ratio must be in [0, 1) and leave room for domain blocks")
    is_synthetic = _spread(~is_replay, synthetic_ratio * n_steps_blocks) if n_synthetic > 0 and synthetic_ratio > 0 \
        else np.zeros(n_steps_blocks, dtype=bool)
    is_knowledge = _spread(~is_replay & ~is_synthetic, knowledge_ratio * n_steps_blocks) \
        if n_knowledge > 0 and knowledge_ratio > 0 else np.zeros(n_steps_blocks, dtype=bool)
    n_rep, n_syn, n_know = int(is_replay.sum()), int(is_synthetic.sum()), int(is_knowledge.sum())
    is_domain = ~is_replay & ~is_synthetic & ~is_knowledge
    domain_order = _cycled_permutations(n_domain, int(is_domain.sum()), rng)
    replay_order = _cycled_permutations(n_replay, n_rep, rng) + n_domain if n_rep else np.zeros(0, dtype=np.int64)
    schedule = np.empty(n_steps_blocks, dtype=np.int64)
    schedule[is_domain] = domain_order
    schedule[is_replay] = replay_order
    if n_syn:
        schedule[is_synthetic] = _cycled_permutations(n_synthetic, n_syn, rng) + n_domain + n_replay
    if n_know:
        schedule[is_knowledge] = _cycled_permutations(n_knowledge, n_know, rng) + n_domain + n_replay + n_synthetic
    return schedule


def _spread(free: np.ndarray, count: float) -> np.ndarray:
    """A mask choosing about ``count`` of the ``free`` slots, spread evenly over them."""
    chosen = np.zeros(free.size, dtype=bool)
    rest = np.flatnonzero(free)
    if rest.size == 0:
        return chosen
    within = count / rest.size
    j = np.arange(rest.size)
    nudge = 1e-9  # 0.15 / 0.75 is 0.1999...: without it a whole share would lose its last slot
    chosen[rest[np.floor((j + 1) * within + nudge) > np.floor(j * within + nudge)]] = True
    return chosen


def _cycled_permutations(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    epochs = -(-count // n)
    return np.concatenate([rng.permutation(n) for _ in range(epochs)])[:count].astype(np.int64)
