"""Learning-rate schedules without a wasted first step.

transformers' warm-up schedules give step 0 a learning rate of ``0 / warmup`` = 0: the first
optimizer step updates nothing (Adam still moves its moments), one step in eight of a short run.
``warmup_scheduler`` runs the same named schedule shifted by one step: the schedule of
``total + 1`` steps with ``warmup + 1`` warm-up steps, starting at its step 1. Warm-up then goes
``lr/(warmup+1), 2*lr/(warmup+1), ..., lr`` and the decay after it is unchanged.
"""

from __future__ import annotations


def warmup_scheduler(name: str, optimizer, warmup_steps: int, total_steps: int, scheduler_kwargs: dict | None = None):
    """A torch LR scheduler for transformers' schedule ``name`` whose first step is never at LR 0."""
    from torch.optim.lr_scheduler import LambdaLR
    from transformers import get_scheduler

    if warmup_steps <= 0:
        return get_scheduler(name, optimizer, num_warmup_steps=0, num_training_steps=total_steps,
                             scheduler_specific_kwargs=scheduler_kwargs)
    shifted = get_scheduler(name, optimizer, num_warmup_steps=warmup_steps + 1, num_training_steps=total_steps + 1,
                            scheduler_specific_kwargs=scheduler_kwargs)
    if not isinstance(shifted, LambdaLR):  # e.g. reduce_lr_on_plateau: nothing to shift
        return shifted
    # the first scheduler recorded each group's peak as 'initial_lr'; the second starts from it
    lambdas = [lambda step, f=f: f(step + 1) for f in shifted.lr_lambdas]
    return LambdaLR(optimizer, lambdas)


def first_step_lr(learning_rate: float, warmup_steps: int) -> float:
    """The learning rate of the first optimizer step under ``warmup_scheduler`` (warm-up schedules)."""
    return learning_rate / (warmup_steps + 1) if warmup_steps > 0 else learning_rate


def multiplier_scheduler(optimizer, multipliers):
    """A torch LR scheduler that gives optimizer step ``i`` the learning rate ``multipliers[i]`` times each
    group's own (embedding groups keep their ratio); past the end, the last multiple. The multiples are a
    pure function of the config (a staged curriculum), so a resumed run rebuilds the same scheduler and
    goes on from the step its checkpoint saved."""
    from torch.optim.lr_scheduler import LambdaLR

    values = [float(m) for m in multipliers]
    last = len(values) - 1

    def at(step: int) -> float:
        return values[min(step, last)]

    return LambdaLR(optimizer, at)
