"""Training data: the domain corpus and replay text packed into blocks, the slot schedule, the
torch dataset over it, and the held-out samples that in-training evaluation scores.

Everything here turns text files into token blocks or text samples; nothing loads a model or
trains, so it can be used (and tested) with a tokenizer alone.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.documents.difficulty import easy_to_hard
from workbench.documents.glossary import read_knowledge
from workbench.documents.texts import read_texts, resolve_training_data
from workbench.errors import WorkbenchError
from workbench.training.config import TrainConfig, replay_file, synthetic_file
from workbench.training.curriculum import easy_to_hard_coverage, planned_steps, sequential_schedule, staged_schedule
from workbench.training.knowledge import render_knowledge
from workbench.training.mixing import block_schedule
from workbench.training.packing import PackedBlocks, concat_blocks, pack_documents


@dataclass
class PreparedData:
    blocks: PackedBlocks  # domain blocks first, then replay, synthetic and knowledge blocks
    n_domain_blocks: int
    n_replay_blocks: int
    schedule: np.ndarray  # block index for every training slot
    domain_tokens: int
    replay_tokens: int
    n_synthetic_blocks: int = 0
    synthetic_tokens: int = 0
    synthetic_ratio: float = 0.0  # share of the training slots given to synthetic blocks
    n_knowledge_blocks: int = 0  # text rendered from knowledge.glossary, after the synthetic blocks
    knowledge_tokens: int = 0
    knowledge_texts: tuple[str, ...] = ()

    @property
    def synthetic_share(self) -> float:
        """The share of training slots (so of training tokens) that are synthetic, as scheduled."""
        if not self.n_synthetic_blocks or not len(self.schedule):
            return 0.0
        start = self.n_domain_blocks + self.n_replay_blocks
        return float(((self.schedule >= start) & (self.schedule < start + self.n_synthetic_blocks)).mean())


def world_size() -> int:
    """Data-parallel processes in this run (torchrun sets WORLD_SIZE); 1 for a single process.

    The schedule fills whole optimizer steps of every rank, so data preparation needs it as much
    as the trainer does."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def tokenize_texts(tokenizer, texts: list[str], batch_size: int = 1000) -> list[list[int]]:
    """Batched fast-tokenizer call, without special tokens (EOS is added by packing)."""
    out: list[list[int]] = []
    for start in range(0, len(texts), batch_size):
        out.extend(tokenizer(texts[start : start + batch_size], add_special_tokens=False)["input_ids"])
    return out


def _read(path: str | Path, what: str, text_field: str, text_unit: str = "auto") -> list[str]:
    p = Path(path)
    if not p.exists():
        raise WorkbenchError(f"{what} file {p} does not exist.", f"check the path given for {what}.")
    texts = [t for t in read_texts(p, text_field, text_unit) if t.strip()]
    if not texts:
        raise WorkbenchError(f"{what} {p} holds no text.", f"give {what} a file with at least one non-empty document.")
    return texts


def prepare_data(config: TrainConfig, tokenizer) -> PreparedData:
    train_path, _ = resolve_training_data(config.data)
    texts = [t for t in read_texts(train_path, config.text_field, config.text_unit) if t.strip()]
    if not texts:
        raise WorkbenchError(f"training data {train_path} holds no documents.", "check the file or snapshot; it is empty.")
    if config.curriculum.order == "easy_to_hard":  # packed easiest first: block order follows difficulty
        texts = [texts[i] for i in easy_to_hard(texts, config.curriculum.signal)]
    domain = pack_documents(tokenize_texts(tokenizer, texts), config.block_size, tokenizer.eos_token_id, tokenizer.pad_token_id)
    parts = [domain]
    replay = None
    replay_path = replay_file(config)
    if replay_path:
        replay_texts = _read(replay_path, "replay text (--replay)", config.text_field, config.text_unit)
        replay = pack_documents(
            tokenize_texts(tokenizer, replay_texts), config.block_size, tokenizer.eos_token_id, tokenizer.pad_token_id
        )
        parts.append(replay)
    synthetic, synthetic_ratio = None, 0.0
    synthetic_path = synthetic_file(config)
    if synthetic_path:
        synthetic_texts = _read(synthetic_path, "synthetic text", "text")
        synthetic = pack_documents(
            tokenize_texts(tokenizer, synthetic_texts), config.block_size, tokenizer.eos_token_id, tokenizer.pad_token_id
        )
        parts.append(synthetic)
        synthetic_ratio = synthetic_share(synthetic.real_tokens, domain.real_tokens, config.synthetic.max_share)
        if synthetic_ratio + (config.replay_ratio if replay else 0.0) >= 1.0:
            raise WorkbenchError(
                f"replay_ratio ({config.replay_ratio}) and the synthetic share ({synthetic_ratio:.3f}) leave no slot "
                "for the domain text.", "lower {field} or replay_ratio so they add up to less than 1.",
                field="synthetic.max_share")
    knowledge_texts = knowledge_documents(config)
    knowledge = None
    if knowledge_texts:
        knowledge = pack_documents(
            tokenize_texts(tokenizer, knowledge_texts), config.block_size, tokenizer.eos_token_id, tokenizer.pad_token_id
        )
        parts.append(knowledge)
    per_step = config.micro_batch_size * config.grad_accum * world_size()
    n_slots = planned_steps(config.max_tokens, config.block_size, per_step) * per_step
    n_replay = replay.n_blocks if replay else 0
    for mixed, what in ((synthetic, "synthetic text"), (knowledge, "text rendered from the glossary")):
        if mixed and config.curriculum.order != "shuffled":
            raise WorkbenchError(
                f"{what} mixes into the shuffled order only; {{field}} is {config.curriculum.order!r}.",
                f"set {{field}} to 'shuffled', or train without {what}.", field="curriculum.order")
    if config.curriculum.staged:
        schedule = staged_schedule(domain.n_blocks, n_replay, config.curriculum.stages, n_slots // per_step, per_step,
                                   config.seed)
    elif config.curriculum.order == "easy_to_hard":
        schedule = sequential_schedule(domain.n_blocks, n_slots, config.seed, n_replay, config.replay_ratio)
        partial = easy_to_hard_coverage(domain.n_blocks, int((schedule < domain.n_blocks).sum()),
                                        config.curriculum.signal)
        if partial:
            warnings.warn(partial, stacklevel=2)
    else:
        schedule = block_schedule(domain.n_blocks, n_slots, config.seed, n_replay, config.replay_ratio,
                                  synthetic.n_blocks if synthetic else 0, synthetic_ratio,
                                  knowledge.n_blocks if knowledge else 0, config.knowledge.text_share)
    return PreparedData(
        n_knowledge_blocks=knowledge.n_blocks if knowledge else 0,
        knowledge_tokens=knowledge.real_tokens if knowledge else 0,
        knowledge_texts=tuple(knowledge_texts),
        blocks=concat_blocks(parts),
        n_domain_blocks=domain.n_blocks,
        n_replay_blocks=replay.n_blocks if replay else 0,
        schedule=schedule,
        domain_tokens=domain.real_tokens,
        replay_tokens=replay.real_tokens if replay else 0,
        n_synthetic_blocks=synthetic.n_blocks if synthetic else 0,
        synthetic_tokens=synthetic.real_tokens if synthetic else 0,
        synthetic_ratio=synthetic_ratio,
    )


def synthetic_share(synthetic_tokens: int, domain_tokens: int, max_share: float) -> float:
    """The share of training slots synthetic text gets: its natural share of the training text
    (``synthetic / (synthetic + domain)`` tokens), capped at ``max_share``."""
    total = synthetic_tokens + domain_tokens
    return min(max_share, synthetic_tokens / total) if total else 0.0


def knowledge_documents(config: TrainConfig) -> list[str]:
    """The documents rendered from ``knowledge.glossary`` that the run mixes in (none at a share of 0)."""
    if config.knowledge.text_share <= 0 or not config.knowledge.glossary:
        return []
    texts = render_knowledge(read_knowledge(config.knowledge.glossary))
    if not texts:
        raise WorkbenchError(
            f"glossary {config.knowledge.glossary} has no definitions or relations to render as training text.",
            "add a definition column (or broader, synonyms, related), or set knowledge.text_share to 0.")
    return texts


class ScheduledBlocks:
    """A torch-style map dataset: item i is the block scheduled for training slot i."""

    def __init__(self, blocks: PackedBlocks, schedule: np.ndarray):
        self.blocks, self.schedule = blocks, schedule

    def __len__(self) -> int:
        return int(self.schedule.size)

    def __getitem__(self, i: int) -> dict:
        import torch

        b = int(self.schedule[i])
        return {
            "input_ids": torch.from_numpy(self.blocks.input_ids[b]),
            "position_ids": torch.from_numpy(self.blocks.position_ids[b]),
            "labels": torch.from_numpy(self.blocks.labels[b]),
        }


def collate_blocks(items: list[dict]) -> dict:
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _spread_order(n: int) -> list[int]:
    """0..n-1 in van der Corput order (0, n/2, n/4, 3n/4, ...): every prefix is spread over the range."""
    order, seen, i = [], set(), 0
    while len(order) < n:
        x, denom, k = 0.0, 1.0, i
        while k:
            denom *= 2
            x += (k % 2) / denom
            k //= 2
        j = min(n - 1, int(x * n))
        if j not in seen:
            seen.add(j)
            order.append(j)
        i += 1
        if i > 4 * n + 16:  # the rest, in order (never reached for the n we see; a guard all the same)
            order += [j for j in range(n) if j not in seen]
            break
    return order


def cap_texts(tokenizer, texts: list[str], max_tokens: int, min_piece: int = 64, position: str = "whole") -> list[str]:
    """A fixed sample of about ``max_tokens`` tokens that represents the whole held-out set.

    Taking the first documents made the curves users watch describe a few documents only; short spans
    of many documents, scored without the text before them, overstated the change the final comparison
    then found (-43% against -27% for one SmolLM2 run: BENCHMARKS.md, "Which held-out sample").
    ``position``:

    - ``"whole"``: documents spread through the set (van der Corput order: the middle one, then the
      quarters, ...) kept whole until the budget is spent, the last one cut to fit. Scored like the
      comparison scores them (from their start, with all their context).
    - ``"middle"`` / ``"start"``: the budget spread over documents evenly spaced through the set (at most
      ``max_tokens // min_piece`` of them): shorter documents are kept whole, the others share the rest
      equally, each contributing a contiguous span from its middle / its start.
    """
    encoded = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    if sum(map(len, encoded)) <= max_tokens:
        return list(texts)
    if position == "whole":
        picked, used = {}, 0
        for i in _spread_order(len(texts)):
            if used >= max_tokens:
                break
            k = min(len(encoded[i]), max_tokens - used)
            if k >= 16 or k == len(encoded[i]):
                picked[i] = texts[i] if k == len(encoded[i]) else tokenizer.decode(encoded[i][:k])
                used += k
        return [picked[i] for i in sorted(picked)]
    if position not in ("middle", "start"):
        raise ValueError(f"position is {position!r}; use 'whole', 'middle' or 'start'")
    n_docs = max(1, min(len(texts), max_tokens // min_piece))
    if n_docs == 1:
        chosen = [len(texts) // 2]
    else:
        chosen = sorted({round(i * (len(texts) - 1) / (n_docs - 1)) for i in range(n_docs)})
    budget, alloc = max_tokens, {}
    remaining = sorted(chosen, key=lambda i: len(encoded[i]))
    while remaining:  # water-filling: whole short documents first, equal shares of the rest
        share = budget // len(remaining)
        if len(encoded[remaining[0]]) <= share:
            i = remaining.pop(0)
            alloc[i] = len(encoded[i])
            budget -= alloc[i]
        else:
            alloc.update({i: share for i in remaining})
            break
    pieces = []
    for i in chosen:
        ids, k = encoded[i], alloc[i]
        if k == len(ids):
            pieces.append(texts[i])
        elif k >= 16:
            start = (len(ids) - k) // 2 if position == "middle" else 0
            pieces.append(tokenizer.decode(ids[start:start + k]))
    return pieces


def default_eval_sets(config: TrainConfig) -> dict[str, list[str]]:
    from workbench.documents.texts import resolve_eval_sets

    domain, general = resolve_eval_sets(config.data, config.domain_eval, config.general_eval)
    return {
        "domain": _read(domain, "domain evaluation text", config.text_field, config.text_unit),
        "general": _read(general, "general evaluation text", config.text_field, config.text_unit),
    }
