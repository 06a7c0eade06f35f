"""How a run executes on a device: one decision, used by the trainer and by the plan.

Gradient checkpointing, the optimizer and whether the chunked loss applies used to be decided
twice (the trainer's ``TrainingArguments`` and the plan's estimate) and could drift apart; both
now call :func:`resolve_runtime`, so the plan describes the run the trainer will make.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from workbench.models.heads import SUPPORTED_MODEL_TYPES


@dataclass(frozen=True)
class Runtime:
    """What a training run uses on its device."""

    device: str
    """cuda, mps or cpu."""
    checkpointing: bool
    """Gradient checkpointing (recompute activations in backward)."""
    optimizer: str
    """paged_adamw_8bit (QLoRA on CUDA) or adamw_torch."""
    chunked_loss: bool
    """The chunked causal-LM loss from the frozen head (never the whole batch's logits)."""

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_runtime(
    device: str,
    quant: str = "nf4",
    gradient_checkpointing: str = "auto",
    optimizer: str = "auto",
    chunked_loss: bool = True,
    train_embeddings: bool = False,
    model_type: str | None = None,
) -> Runtime:
    """The runtime of a run on ``device`` ("cuda", "mps" or "cpu").

    Args:
        gradient_checkpointing: "on", "off" or "auto" (on for any accelerator, off on the CPU,
            where memory is rarely the limit and recomputation only costs time).
        optimizer: a name, or "auto": paged 8-bit AdamW for NF4 on CUDA, plain AdamW otherwise.
        chunked_loss: asked for; applies only to architectures whose head is exactly
            ``lm_head(hidden)`` and a frozen head (no trained embedding copies).
        model_type: the model's ``config.model_type`` (None: not known yet, assume supported).
    """
    checkpointing = gradient_checkpointing == "on" or (gradient_checkpointing == "auto" and device != "cpu")
    if optimizer == "auto":
        optimizer = "paged_adamw_8bit" if quant == "nf4" and device == "cuda" else "adamw_torch"
    chunked = bool(chunked_loss) and not train_embeddings and (model_type is None or model_type in SUPPORTED_MODEL_TYPES)
    return Runtime(device=device, checkpointing=checkpointing, optimizer=optimizer, chunked_loss=chunked)


__all__ = ["Runtime", "resolve_runtime"]
