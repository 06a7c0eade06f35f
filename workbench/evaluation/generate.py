"""Continuations of domain prompts from base and adapted, side by side, for a person to review."""

from __future__ import annotations

from collections.abc import Sequence

from workbench.evaluation.perplexity import prefix_token_id


def domain_prompts(texts: Sequence[str], n: int, words: int = 24) -> list[str]:
    """The opening ``words`` words of the first ``n`` documents: prompts in the domain's own voice."""
    prompts = []
    for text in texts:
        head = " ".join(text.split()[:words])
        if head:
            prompts.append(head)
        if len(prompts) == n:
            break
    return prompts


def generate(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 40, batch_size: int = 8) -> list[str]:
    """Greedy continuations (deterministic, so a review compares models, not luck), batched with left padding."""
    import torch

    prefix = prefix_token_id(tokenizer)
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    outputs: list[str] = []
    for start in range(0, len(prompts), batch_size):
        chunk = [[prefix] + tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts[start : start + batch_size]]
        width = max(map(len, chunk))
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, seq in enumerate(chunk):
            ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_new_tokens,
                do_sample=False, pad_token_id=pad, eos_token_id=tokenizer.eos_token_id,
            )
        for row in out[:, width:]:
            outputs.append(tokenizer.decode(row, skip_special_tokens=True))
    return outputs


def side_by_side(model, tokenizer, prompts: Sequence[str], max_new_tokens: int = 40, base_tokenizer=None) -> list[dict]:
    """[{prompt, base, adapted}]: the base is the same weights with the adapter disabled, reading and
    writing with ``base_tokenizer`` when the adapter grew the tokenizer."""
    if not prompts:
        return []
    from workbench.evaluation.adapted import base_side

    with base_side(model, tokenizer, base_tokenizer):
        base = generate(model, base_tokenizer or tokenizer, prompts, max_new_tokens)
    adapted = generate(model, tokenizer, prompts, max_new_tokens)
    return [{"prompt": p, "base": b, "adapted": a} for p, b, a in zip(prompts, base, adapted)]
