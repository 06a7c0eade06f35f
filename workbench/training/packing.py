"""Pack tokenized documents into fixed blocks, EOS-separated, with per-document position ids.

Position ids restart at 0 at each document start. transformers turns position ids that restart
inside a row into a block-diagonal causal mask (sdpa/eager) or variable-length attention
(flash-attention), so no token attends across a document boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

IGNORE_INDEX = -100


@dataclass
class PackedBlocks:
    """Blocks of ``block_size`` tokens. ``labels`` is -100 on padding; ``source`` tags each block."""

    input_ids: np.ndarray  # [n_blocks, block_size] int64
    position_ids: np.ndarray  # [n_blocks, block_size] int64
    labels: np.ndarray  # [n_blocks, block_size] int64
    real_tokens: int
    documents: int

    @property
    def n_blocks(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def efficiency(self) -> float:
        """Real tokens / token slots: 1.0 means no padding at all."""
        slots = self.input_ids.size
        return self.real_tokens / slots if slots else 0.0


def pack_documents(
    token_lists: Sequence[Sequence[int]], block_size: int, eos_id: int, pad_id: int | None = None
) -> PackedBlocks:
    """Concatenate documents (each followed by EOS) and cut into blocks of ``block_size``.

    A document longer than a block continues into the next block; its position ids continue too
    (up to ``block_size`` they restart at 0 in each block so they never exceed the context).
    The last, partial block is padded and its padding masked out of the loss.
    """
    if block_size < 2:
        raise ValueError("block_size must be at least 2")
    pad_id = eos_id if pad_id is None else pad_id
    docs = [list(t) + [eos_id] for t in token_lists if len(t) > 0]
    total = sum(len(d) for d in docs)
    if total == 0:
        empty = np.zeros((0, block_size), dtype=np.int64)
        return PackedBlocks(empty, empty.copy(), empty.copy(), 0, 0)
    flat = np.fromiter((tok for d in docs for tok in d), dtype=np.int64, count=total)
    # position within document, computed vectorised from document starts
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.arange(total, dtype=np.int64) - starts
    n_blocks = -(-total // block_size)
    slots = n_blocks * block_size
    input_ids = np.full(slots, pad_id, dtype=np.int64)
    position_ids = np.zeros(slots, dtype=np.int64)
    labels = np.full(slots, IGNORE_INDEX, dtype=np.int64)
    input_ids[:total] = flat
    labels[:total] = flat
    position_ids[:total] = positions
    input_ids = input_ids.reshape(n_blocks, block_size)
    labels = labels.reshape(n_blocks, block_size)
    position_ids = position_ids.reshape(n_blocks, block_size)
    # a document continuing from the previous block restarts its positions at the block start,
    # so positions stay below block_size (the row's own first token has position 0)
    first = position_ids[:, :1]
    continuing = np.cumsum(np.diff(position_ids, axis=1, prepend=first - 1) != 1, axis=1) == 0
    position_ids = np.where(continuing, position_ids - first, position_ids)
    # padding gets its own restart so it forms a separate (masked) segment
    pad_mask = labels == IGNORE_INDEX
    if pad_mask.any():
        row = n_blocks - 1
        pad_start = int(np.argmax(pad_mask[row]))
        position_ids[row, pad_start:] = np.arange(block_size - pad_start)
    return PackedBlocks(input_ids, position_ids, labels, real_tokens=total, documents=len(docs))


def concat_blocks(parts: Sequence[PackedBlocks]) -> PackedBlocks:
    parts = [p for p in parts if p.n_blocks]
    if not parts:
        raise ValueError("nothing to concatenate")
    return PackedBlocks(
        np.concatenate([p.input_ids for p in parts]),
        np.concatenate([p.position_ids for p in parts]),
        np.concatenate([p.labels for p in parts]),
        real_tokens=sum(p.real_tokens for p in parts),
        documents=sum(p.documents for p in parts),
    )
