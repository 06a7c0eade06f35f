"""Model-head helpers the trainer's chunked loss and the evaluation scorer both need.

Which architectures compute ``logits = lm_head(hidden_states)`` exactly, how to find the
``*ForCausalLM`` module inside DDP/accelerate/peft wrappers, and how to run a forward that returns
the final hidden states instead of logits. Models-layer knowledge: training and evaluation import
it from here, not from each other.
"""

from __future__ import annotations

from contextlib import contextmanager

from torch import nn

# architectures whose causal-LM head is exactly ``logits = lm_head(hidden_states)`` (no scaling or
# soft-capping) followed by transformers' ForCausalLMLoss
SUPPORTED_MODEL_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3"})


def _causal_lm(model: nn.Module) -> nn.Module:
    """The transformers *ForCausalLM module inside DDP/accelerate and peft wrappers."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):  # DDP / DataParallel
        model = model.module
    if hasattr(model, "get_base_model"):  # peft
        model = model.get_base_model()
    return model


def fused_head(model: nn.Module) -> nn.Linear | None:
    """The frozen ``lm_head`` the chunked loss can use in place of the model's own loss, or None."""
    inner = _causal_lm(model)
    config = getattr(inner, "config", None)
    head = getattr(inner, "lm_head", None)
    if getattr(config, "model_type", None) not in SUPPORTED_MODEL_TYPES:
        return None
    if type(head) is not nn.Linear or head.bias is not None or head.weight.requires_grad:
        return None
    return head


def scoring_head(model: nn.Module) -> nn.Module | None:
    """The output head to apply to selected hidden states (evaluation scores only some positions),
    or None where the logits are more than ``lm_head(hidden)`` (then score the model's own logits)."""
    inner = _causal_lm(model)
    if getattr(getattr(inner, "config", None), "model_type", None) not in SUPPORTED_MODEL_TYPES:
        return None
    return getattr(inner, "lm_head", None)


@contextmanager
def hidden_states_as_logits(model: nn.Module):
    """Within the block, the model's forward returns its final hidden states in ``.logits``."""
    inner = _causal_lm(model)
    head = inner.lm_head
    inner.lm_head = nn.Identity()
    try:
        yield head
    finally:
        inner.lm_head = head


@contextmanager
def vocabulary_limit(model: nn.Module, size: int | None):
    """Within the block, the output head's logits cover only the first ``size`` tokens (``None``: all).

    The base model's own vocabulary, when an adapter grew the tokenizer: the rows added for the new
    tokens, which the base never learned, then take no probability from the base's predictions.
    """
    if size is None:
        yield
        return
    handle = _causal_lm(model).lm_head.register_forward_hook(lambda module, inputs, output: output[..., :size])
    try:
        yield
    finally:
        handle.remove()
