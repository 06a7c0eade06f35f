"""The adapter put on the base model: LoRA on the chosen layers, trainable embedding copies or
new-token rows, the optimizer's parameter groups for them, and a hash of what trained.

The base model's own weights hash and the run-folder layout belong to :mod:`workbench.runs`.
"""

from __future__ import annotations

from workbench.training.config import TrainConfig

EMBEDDING_PARAM_MARKERS = ("embed_tokens", "lm_head", "trainable_tokens")


def add_lora(model, config: TrainConfig, device: str, new_token_ids: list[int] | None = None):
    """Wrap ``model`` in a peft LoRA model as ``config`` says; returns the peft model."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if config.quant == "nf4" and config.upcast_unquantized:
        # casts embeddings, lm_head and norms to fp32; checkpointing is set by TrainingArguments
        # (non-reentrant, so no input grads are needed; get_peft_model freezes the base)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    targets = config.lora.target_modules
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        target_modules=targets if targets == "all-linear" else [t.strip() for t in targets.split(",")],
        task_type="CAUSAL_LM",
        bias="none",
    )
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    if config.train_embeddings:
        # full trainable copies; the adapter grows by the size of these matrices
        lora.modules_to_save = ["embed_tokens"] if tied else ["embed_tokens", "lm_head"]
    elif new_token_ids:
        # only the new rows train (and are saved): a small adapter even with a big vocabulary
        lora.trainable_token_indices = {"embed_tokens": list(new_token_ids)}
        if not tied:
            lora.trainable_token_indices["lm_head"] = list(new_token_ids)
    model = get_peft_model(model, lora)
    for param in model.parameters():  # trained copies (modules_to_save) of a bf16 base: train in fp32
        if param.requires_grad and param.is_floating_point() and param.dtype != torch.float32:
            param.data = param.data.float()
    return model


def embedding_param_groups(model, learning_rate: float, ratio: float, weight_decay: float) -> list[dict]:
    """LoRA parameters at ``learning_rate``; embedding/lm_head copies and new-token rows at
    ``learning_rate * ratio`` (embeddings move far with a LoRA-sized rate)."""
    lora, embed = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (embed if any(m in name for m in EMBEDDING_PARAM_MARKERS) else lora).append(param)
    groups = [{"params": lora, "lr": learning_rate, "weight_decay": weight_decay}]
    if embed:
        groups.append({"params": embed, "lr": learning_rate * ratio, "weight_decay": 0.0})
    return groups

