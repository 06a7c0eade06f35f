"""Deterministic order of training blocks: domain epochs shuffled by seed, replay interleaved.

The whole schedule (which block is seen at which step) is a pure function of the packed data,
the budget, the replay ratio and the seed, so a resumed run sees exactly the blocks the
uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np


def block_schedule(
    n_domain: int, n_steps_blocks: int, seed: int, n_replay: int = 0, replay_ratio: float = 0.0,
    n_knowledge: int = 0, knowledge_ratio: float = 0.0,
) -> np.ndarray:
    """Indices into [domain blocks..., replay blocks..., knowledge blocks...] for ``n_steps_blocks`` slots.

    Replay blocks (indices ``n_domain + k``) take a ``replay_ratio`` share of the slots, spread
    evenly (slot i is replay when floor((i+1)*r) > floor(i*r)). Knowledge blocks (text rendered from
    a glossary, indices ``n_domain + n_replay + k``) take a ``knowledge_ratio`` share of all slots,
    spread evenly over the slots replay leaves. Each source is cycled in fresh seeded permutations
    when the budget exceeds its size (more than one epoch). Knowledge blocks draw from the seeded
    generator after the other two sources, so without them the schedule is the domain+replay one, draw
    for draw, and so are the replay slots with them.
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
    if not 0.0 <= knowledge_ratio < 1.0 or replay_ratio + knowledge_ratio >= 1.0:
        raise ValueError("knowledge_ratio must be in [0, 1) and leave room for domain blocks")
    is_knowledge = np.zeros(n_steps_blocks, dtype=bool)
    if n_knowledge > 0 and knowledge_ratio > 0:
        free = np.flatnonzero(~is_replay)
        share = knowledge_ratio * n_steps_blocks / max(1, free.size)  # of the slots replay leaves
        k = np.arange(free.size)
        is_knowledge[free[np.floor((k + 1) * share) > np.floor(k * share)]] = True
    n_rep, n_know = int(is_replay.sum()), int(is_knowledge.sum())
    is_domain = ~is_replay & ~is_knowledge
    domain_order = _cycled_permutations(n_domain, int(is_domain.sum()), rng)
    replay_order = _cycled_permutations(n_replay, n_rep, rng) + n_domain if n_rep else np.zeros(0, dtype=np.int64)
    schedule = np.empty(n_steps_blocks, dtype=np.int64)
    schedule[is_domain] = domain_order
    schedule[is_replay] = replay_order
    if n_know:
        schedule[is_knowledge] = _cycled_permutations(n_knowledge, n_know, rng) + n_domain + n_replay
    return schedule


def _cycled_permutations(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    epochs = -(-count // n)
    return np.concatenate([rng.permutation(n) for _ in range(epochs)])[:count].astype(np.int64)
