"""Causal-LM loss without the full logits tensor.

The standard path computes ``logits = lm_head(hidden)`` for every position of the batch, upcasts them
to fp32 and keeps the log-softmax for backward: for a 128k vocabulary and 4 x 1024 tokens that is
several GB, the largest tensors of a QLoRA step by far. With a frozen ``lm_head`` (LoRA never
adapts it) the gradient of the loss with respect to the hidden states can be computed in the
forward pass, a chunk of positions at a time: each chunk's logits live only while that chunk is
processed, and backward is one multiplication. Same loss, same gradients (up to float rounding),
a fraction of the peak memory, and no padding position is ever projected onto the vocabulary.

``workbench.models.heads.fused_head(model)`` says whether a model qualifies (a supported architecture whose ``lm_head``
is a plain, frozen linear layer); anything else (trained embeddings, new-token rows on a tied
head, logit soft-capping or scaling) keeps the model's own loss.
"""

from __future__ import annotations

import torch
from torch import nn

IGNORE_INDEX = -100
CHUNK_ELEMENTS = 2**23  # logits elements per chunk: 32 MiB in fp32 (65 positions of a 128k vocabulary)


class _LinearCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy of ``hidden @ weight.T`` against ``targets``, divided by ``denominator``.

    The gradient with respect to ``hidden`` is computed chunk by chunk in forward and saved;
    ``weight`` gets no gradient (it must be frozen).
    """

    @staticmethod
    def forward(ctx, hidden, weight, targets, denominator, chunk_rows):
        n = hidden.shape[0]
        dtype = weight.dtype
        # d(sum of losses)/d(hidden), kept in fp32 and divided by the denominator (times the
        # incoming gradient, e.g. an fp16 loss scale) only in backward: nothing underflows in fp16
        grad_hidden = torch.empty(hidden.shape, dtype=torch.float32, device=hidden.device)
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, n, chunk_rows):
            h = hidden[start : start + chunk_rows]
            t = targets[start : start + chunk_rows]
            logits = (h.to(dtype) @ weight.t()).float()
            lse = torch.logsumexp(logits, dim=-1)
            rows = torch.arange(t.shape[0], device=t.device)
            total += (lse - logits[rows, t]).sum()
            probs = logits.sub_(lse.unsqueeze(-1)).exp_()  # softmax, in place
            probs[rows, t] -= 1.0
            grad_hidden[start : start + chunk_rows] = probs.to(dtype) @ weight
            del logits, probs
        ctx.save_for_backward(grad_hidden, denominator)
        ctx.hidden_dtype = hidden.dtype
        return total / denominator

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, denominator = ctx.saved_tensors
        return (grad_hidden * (grad_output.float() / denominator)).to(ctx.hidden_dtype), None, None, None, None


def chunked_causal_lm_loss(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    num_items_in_batch: torch.Tensor | int | None = None,
    chunk_elements: int = CHUNK_ELEMENTS,
    compute_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """transformers' ForCausalLMLoss of ``hidden @ weight.T`` without materialising the logits.

    ``hidden`` is [batch, seq, hidden_size], ``labels`` [batch, seq] with -100 where no loss is
    taken; position t predicts ``labels[t + 1]``. Returns the sum over predicted tokens divided by
    ``num_items_in_batch`` when given (as the Trainer passes it for gradient accumulation), else the mean.
    The vocabulary products run in ``compute_dtype`` (default: the weight's), as the model's own
    ``lm_head`` runs under mixed-precision autocast (the Trainer applies autocast inside the model's
    forward only, so the loss sets the dtype itself); logits are reduced in fp32.
    """
    shifted = nn.functional.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:].reshape(-1)
    keep = (shifted != IGNORE_INDEX).nonzero().squeeze(-1)
    targets = shifted[keep]
    rows = hidden.reshape(-1, hidden.shape[-1]).index_select(0, keep)  # padding is never projected
    if num_items_in_batch is None:
        denominator = torch.tensor(float(max(1, targets.numel())), device=hidden.device)
    else:
        denominator = torch.as_tensor(num_items_in_batch, dtype=torch.float32, device=hidden.device)
    chunk_rows = max(1, chunk_elements // weight.shape[0])
    weight = weight.detach()
    if compute_dtype is not None and weight.dtype != compute_dtype:
        weight = weight.to(compute_dtype)  # once per step, as autocast casts the head's weight
    return _LinearCrossEntropy.apply(rows, weight, targets, denominator, chunk_rows)
