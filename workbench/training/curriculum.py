"""Data orders and staged curricula: which block a run sees when, and the learning rate of each stage.

Three orders (``curriculum.order``):

- ``shuffled`` (the control, and the default): domain blocks in seeded random epochs, replay spread
  evenly at ``replay_ratio`` (:func:`workbench.training.mixing.block_schedule`).
- ``easy_to_hard``: documents sorted from the easiest to the hardest by a difficulty signal
  (:mod:`workbench.documents.difficulty`: compression ratio, MTLD or Flesch reading ease) before
  they are packed, then trained in that order, every epoch again from easy to hard; replay as above.
- ``stages``: a list of phases, each with its share of the token budget, its replay share and its own
  learning-rate shape (warm-up share, then constant, cosine or linear decay to ``min_lr_ratio``, at
  ``lr_scale`` times the run's learning rate). A stage that warms up again after a decayed one
  re-warms, and decays again by its end (Ibrahim et al. 2024, arXiv 2403.08763); a replay share
  that falls from stage to stage is a data blend that changes late in training (Parmar et al. 2024,
  arXiv 2407.07263). Domain blocks run through one seeded stream across the stages, so no stage
  starts an epoch again.

Every plan here is a pure function of the packed data, the budget and the seed: a resumed run
recomputes it and goes on with exactly the blocks and learning rates the uninterrupted run had,
inside a stage as anywhere else.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError
from workbench.training.config import CurriculumSettings, Stage, TrainConfig

# -- the plan: pure functions of the budget --------------------------------------------------------

def planned_steps(max_tokens: int, block_size: int, per_step: int) -> int:
    """Optimizer steps of a run: the budget's whole blocks in whole steps of ``per_step`` blocks (at least one)."""
    return max(1, (max_tokens // block_size) // per_step)


def stage_bounds(stages: list[Stage], n_steps: int) -> list[tuple[int, int]]:
    """``(from_step, to_step)`` of each stage, whole optimizer steps: boundaries at the rounded cumulative
    token shares, every stage at least one step when the run has that many."""
    if not stages:
        return []
    shares = np.cumsum([s.tokens for s in stages])
    bounds, start, last = [], 0, len(stages) - 1
    for k, share in enumerate(shares):
        end = n_steps if k == last else int(round(share / shares[-1] * n_steps))
        if n_steps >= len(stages):  # every stage at least one step, the later ones keeping theirs
            end = min(max(end, start + 1), n_steps - (last - k))
        end = max(start, end)
        bounds.append((start, end))
        start = end
    return bounds


def stage_at(plan: list[dict], step: int) -> str | None:
    """The name of the stage that trains optimizer step ``step`` (1-based, as the Trainer counts), from a
    recorded plan (``run.json``'s ``curriculum.stages``)."""
    for stage in plan:
        if stage["from_step"] < step <= stage["to_step"]:
            return stage["name"]
    return plan[-1]["name"] if plan and step > plan[-1]["to_step"] else None


def _spread(n: int, ratio: float) -> np.ndarray:
    """Which of n slots are replay: slot i when floor((i+1)*r) > floor(i*r), an even spread."""
    slots = np.arange(n)
    if ratio <= 0:
        return np.zeros(n, dtype=bool)
    return np.floor((slots + 1) * ratio) > np.floor(slots * ratio)


def _cycled(n: int, count: int, rng: np.random.Generator, shuffle: bool = True) -> np.ndarray:
    if count <= 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    epochs = -(-count // n)
    parts = [rng.permutation(n) if shuffle else np.arange(n) for _ in range(epochs)]
    return np.concatenate(parts)[:count].astype(np.int64)


def staged_schedule(n_domain: int, n_replay: int, stages: list[Stage], n_steps: int, per_step: int,
                    seed: int) -> np.ndarray:
    """Block indices (``[domain..., replay...]``) for every slot of a staged run: each stage's slots get its
    replay share spread evenly; domain and replay blocks each come from one seeded stream of cycled
    permutations that runs on across the stages."""
    if n_domain <= 0:
        raise ValueError("no domain blocks to train on")
    bounds = stage_bounds(stages, n_steps)
    is_replay = np.concatenate([_spread((b - a) * per_step, s.replay_ratio if n_replay else 0.0)
                                for s, (a, b) in zip(stages, bounds)]) if bounds else np.zeros(0, dtype=bool)
    rng = np.random.default_rng(seed)
    n_rep = int(is_replay.sum())
    schedule = np.empty(is_replay.size, dtype=np.int64)
    schedule[~is_replay] = _cycled(n_domain, is_replay.size - n_rep, rng)
    schedule[is_replay] = _cycled(n_replay, n_rep, rng) + n_domain
    return schedule


def sequential_schedule(n_domain: int, n_slots: int, seed: int, n_replay: int = 0,
                        replay_ratio: float = 0.0) -> np.ndarray:
    """Block indices for 'easy_to_hard': domain blocks in their packed (easy to hard) order, every epoch
    again, replay blocks (seeded permutations) spread at ``replay_ratio``."""
    if n_domain <= 0:
        raise ValueError("no domain blocks to train on")
    is_replay = _spread(n_slots, replay_ratio if n_replay else 0.0)
    rng = np.random.default_rng(seed)
    n_rep = int(is_replay.sum())
    schedule = np.empty(n_slots, dtype=np.int64)
    schedule[~is_replay] = _cycled(n_domain, n_slots - n_rep, rng, shuffle=False)
    schedule[is_replay] = _cycled(n_replay, n_rep, rng) + n_domain
    return schedule


def easy_to_hard_coverage(n_domain: int, n_domain_slots: int, signal: str) -> str | None:
    """What an 'easy_to_hard' run whose budget is less than one pass over the corpus leaves out, in words
    (None when the budget covers every domain block): it trains on the easiest part of the corpus only, so
    it is compared with a shuffled run that sees the whole corpus."""
    if n_domain <= 0 or n_domain_slots >= n_domain:
        return None
    share = n_domain_slots / n_domain
    return (f"curriculum.order 'easy_to_hard': the budget fills {n_domain_slots:,} of the corpus's {n_domain:,} "
            f"domain blocks ({share:.1%}), so the run trains on the easiest {share:.1%} of it by {signal} and never "
            f"sees the rest; raise max_tokens to at least one pass, or keep 'shuffled' (it samples the whole corpus)")


def stage_lr_multipliers(stage: Stage, n: int) -> np.ndarray:
    """The learning rate of each of a stage's ``n`` steps, as a multiple of the run's learning rate.

    Warm-up over ``ceil(warmup * n)`` steps goes ``scale/(w+1), 2*scale/(w+1), ..., w*scale/(w+1)`` (never a
    step at 0, as ``training/schedule.py``), then the shape runs from the peak ``scale`` at its first step
    to ``min_lr_ratio * scale`` after its last (constant stays at the peak)."""
    if n <= 0:
        return np.zeros(0)
    w = min(n - 1, math.ceil(stage.warmup * n)) if stage.warmup > 0 else 0
    scale, floor = stage.lr_scale, stage.min_lr_ratio
    warm = scale * np.arange(1, w + 1) / (w + 1)
    rest = n - w
    progress = np.arange(rest) / rest
    if stage.lr == "constant":
        body = np.ones(rest)
    elif stage.lr == "linear":
        body = floor + (1 - floor) * (1 - progress)
    else:
        body = floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * progress))
    return np.concatenate([warm, scale * body])


def lr_multipliers(stages: list[Stage], n_steps: int) -> np.ndarray:
    """The learning-rate multiple of every optimizer step of a staged run (index 0: the first step)."""
    parts = [stage_lr_multipliers(s, b - a) for s, (a, b) in zip(stages, stage_bounds(stages, n_steps))]
    return np.concatenate(parts) if parts else np.ones(n_steps)


def stage_plan(settings: CurriculumSettings, n_steps: int, tokens_per_step: int,
               learning_rate: float | None = None) -> list[dict]:
    """What the run card records and ``workbench plan`` shows of each stage: its steps, tokens, replay share
    and learning-rate shape (with the peak learning rate when ``learning_rate`` is known)."""
    rows = []
    for stage, (a, b) in zip(settings.stages, stage_bounds(settings.stages, n_steps)):
        rows.append({
            "name": stage.name, "from_step": a, "to_step": b, "steps": b - a,
            "tokens": (b - a) * tokens_per_step, "token_share": stage.tokens, "replay_ratio": stage.replay_ratio,
            "lr": stage.lr, "warmup": stage.warmup, "lr_scale": stage.lr_scale, "min_lr_ratio": stage.min_lr_ratio,
            **({"peak_lr": learning_rate * stage.lr_scale} if learning_rate else {}),
        })
    return rows


def curriculum_record(settings: CurriculumSettings, n_steps: int, tokens_per_step: int,
                      learning_rate: float | None = None) -> dict:
    """The data order of a run as its run card records it: the order, the signal of 'easy_to_hard', and for
    'stages' each stage's steps, tokens, replay share and learning-rate shape."""
    record: dict = {"order": settings.order}
    if settings.continue_from:
        record["continue_from"] = settings.continue_from
    if settings.order == "easy_to_hard":
        record["signal"] = settings.signal
    if settings.staged:
        record["stages"] = stage_plan(settings, n_steps, tokens_per_step, learning_rate)
    return record


def preview(config) -> dict:
    """A run's data order before launch, as ``workbench plan``, the app and the notebooks show it: ``text`` (in
    words, with the stages), and for stages ``stages`` (:func:`stage_plan`), ``multipliers`` (the learning-rate
    multiple of every step) and ``learning_rate`` (``plots.stage_plan_figure`` draws them)."""
    settings = config.curriculum
    if settings.order == "shuffled":
        return {"text": "data order: shuffled (seeded random epochs), replay spread evenly"}
    if settings.order == "easy_to_hard":
        return {"text": f"data order: easy to hard by {settings.signal}, every epoch again"}
    n_steps = planned_steps(config.max_tokens, config.block_size, config.micro_batch_size * config.grad_accum)
    rows = stage_plan(settings, n_steps, config.tokens_per_step, config.learning_rate)
    return {"text": f"data order: {len(rows)} stages over {n_steps} steps\n" + format_stages(rows), "stages": rows,
            "multipliers": lr_multipliers(settings.stages, n_steps).tolist(), "learning_rate": config.learning_rate}


# -- continuing an adapted run -----------------------------------------------------------------------

def continued_adapter(config: TrainConfig) -> Path | None:
    """The adapter folder a run continues from (``curriculum.continue_from``'s ``adapter/``), or None."""
    run = config.curriculum.continue_from
    return Path(run) / "adapter" if run else None


def load_continued_adapter(model, config: TrainConfig) -> str:
    """Load the adapter of ``curriculum.continue_from`` into the freshly wrapped peft ``model``; returns the
    sha256 of the weights loaded (the run card records it)."""
    import hashlib

    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    weights = continued_adapter(config) / "adapter_model.safetensors"
    state = load_file(str(weights))
    result = set_peft_model_state_dict(model, state)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if unexpected:
        raise WorkbenchError(f"the adapter of {{field}} has weights this run's adapter lacks ({unexpected[0]}...).",
                             "continue with the run's own lora settings (run.json's config).",
                             field="curriculum.continue_from")
    return hashlib.sha256(weights.read_bytes()).hexdigest()


def format_stages(rows: list[dict]) -> str:
    """The stages of a plan as lines of text (``workbench plan``)."""
    lines = []
    for r in rows:
        shape = f"{r['lr']}" + (f" after {r['warmup']:.0%} warm-up" if r["warmup"] else "")
        peak = f", peak lr {r['peak_lr']:.2g}" if r.get("peak_lr") else f", lr x{r['lr_scale']:g}"
        lines.append(f"  {r['name']:<16} steps {r['from_step'] + 1}-{r['to_step']} ({r['tokens']:,} tokens), "
                     f"replay {r['replay_ratio']:.0%}, {shape}{peak}")
    return "\n".join(lines)


__all__ = ["continued_adapter", "load_continued_adapter", "planned_steps", "preview", "curriculum_record", "stage_bounds", "stage_at",
           "staged_schedule", "sequential_schedule", "easy_to_hard_coverage", "stage_lr_multipliers", "lr_multipliers", "stage_plan",
           "format_stages"]
