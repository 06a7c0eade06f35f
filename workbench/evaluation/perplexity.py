"""Sliding-window scoring of documents: per-token NLL and calibration statistics.

Each document is scored on its own, prefixed with the tokenizer's BOS token (EOS when it has no BOS) as context (as
lm-evaluation-harness's rolling loglikelihood does), so every token of the document is
predicted. Windows of ``window`` tokens advance by ``stride``; each window scores only the
tokens not scored by the previous one (the Hugging Face "perplexity of fixed-length models"
procedure), so with ``stride < window`` every scored token sees at least ``window - stride``
tokens of context.

Full-vocabulary probabilities are reduced on the fly to four numbers per scored token (NLL,
top-1 probability, top-1 correct, sum of squared probabilities for the Brier score); the
vocabulary-sized rows are never kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class DocumentScore:
    """Scores of one document. Arrays hold one entry per scored token, in order."""

    nll: np.ndarray  # natural-log negative log-likelihood of each token
    top1_prob: np.ndarray  # confidence: the model's highest next-token probability
    top1_correct: np.ndarray  # bool: was the most probable token the actual one
    sum_p2: np.ndarray  # sum over the vocabulary of p^2 (full-vocabulary Brier)
    target_prob: np.ndarray  # probability given to the actual token
    token_ids: np.ndarray  # the scored token ids
    n_bytes: int
    n_words: int
    # [tokens, len(temperatures)] when scored with a temperature grid (for temperature scaling)
    nll_by_temperature: np.ndarray | None = None
    top1_prob_by_temperature: np.ndarray | None = None

    @property
    def tokens(self) -> int:
        return int(self.nll.size)

    @property
    def nll_sum(self) -> float:
        return float(self.nll.sum(dtype=np.float64))

    @property
    def token_ppl(self) -> float:
        return math.exp(self.nll_sum / max(self.tokens, 1))


@dataclass
class CorpusScore:
    documents: list[DocumentScore] = field(default_factory=list)
    temperatures: tuple[float, ...] = ()

    @property
    def tokens(self) -> int:
        return sum(d.tokens for d in self.documents)

    @property
    def nll_sum(self) -> float:
        return float(sum(d.nll_sum for d in self.documents))

    @property
    def n_bytes(self) -> int:
        return sum(d.n_bytes for d in self.documents)

    @property
    def n_words(self) -> int:
        return sum(d.n_words for d in self.documents)

    @property
    def token_ppl(self) -> float:
        return math.exp(self.nll_sum / max(self.tokens, 1))

    @property
    def word_ppl(self) -> float:
        """lm-evaluation-harness: exp(-sum loglikelihood / words)."""
        return math.exp(self.nll_sum / max(self.n_words, 1))

    @property
    def bits_per_byte(self) -> float:
        """lm-evaluation-harness: -sum loglikelihood / (bytes * ln 2)."""
        return self.nll_sum / (max(self.n_bytes, 1) * math.log(2))


def count_words(text: str) -> int:
    """Words as lm-evaluation-harness counts them: pieces of ``re.split(r"\\s+", text)``."""
    return len(re.split(r"\s+", text))


def _windows(n_tokens: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """(begin, end, first_scored) windows over a sequence whose position 0 is the prefix token.

    Every position 1..n-1 is scored exactly once, always with its previous token in the same
    window (so a window advances by at most ``window - 1`` even when ``stride == window``).
    """
    spans = []
    begin, prev_end = 0, 1
    while prev_end < n_tokens:
        end = min(begin + window, n_tokens)
        spans.append((begin, end, prev_end))
        prev_end = end
        begin = min(begin + stride, prev_end - 1)
    return spans


def score_documents(
    model,
    tokenizer,
    texts: Sequence[str],
    window: int = 1024,
    stride: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    desc: str = "scoring",
    temperatures: Sequence[float] | None = None,
    precision: str = "fp32",
    on_tokens=None,
) -> CorpusScore:
    """Score every document with a sliding window; batched, no-grad, vocabulary reduced on the fly.

    Args:
        window: tokens per forward pass (L), at most the model's context.
        stride: step between windows (S); default L/2.
        batch_size: windows per forward pass.
        temperatures: also keep each token's NLL and top-1 probability at these softmax
            temperatures (for temperature scaling); costs one extra vocabulary pass per value.
        precision: "bf16" runs the model's matmuls under bf16 autocast on the CPU (see
            :func:`workbench.models.runtime.resolve_precision`); the softmax reductions stay fp32.
        on_tokens: called after each batch with the number of tokens it scored (progress in tokens).

    Returns:
        A CorpusScore with one DocumentScore per text, in order.
    """
    stride = stride or max(1, window // 2)
    check_window(model, window, stride)
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    sequences = [[prefix_token_id(tokenizer)] + ids for ids in encoded]
    # (doc, begin, end, first_scored) for every window of every document
    jobs = [(d, *span) for d, seq in enumerate(sequences) for span in _windows(len(seq), window, stride)]
    pieces = _score_windows(model, tokenizer, sequences, jobs, batch_size, progress, desc, temperatures, precision,
                            on_tokens)
    result = CorpusScore(temperatures=tuple(temperatures or ()))
    for d, text in enumerate(texts):
        result.documents.append(_document(pieces[d], len(text.encode("utf-8")), count_words(text)))
    return result


def prefix_token_id(tokenizer) -> int:
    """BOS when the tokenizer has one, else EOS: the context that lets the first token be scored."""
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if prefix is None:
        from workbench.errors import WorkbenchError

        raise WorkbenchError("the tokenizer has neither a BOS nor an EOS token.", "set bos_token or eos_token in tokenizer_config.json.")
    return prefix


def check_window(model, window: int, stride: int) -> None:
    from workbench.errors import WorkbenchError

    if window < 2:
        raise WorkbenchError(f"window is {window}.", "use a window of at least 2 tokens.")
    if not 1 <= stride <= window:
        raise WorkbenchError(f"stride {stride} is outside 1..window ({window}).", "use a stride between 1 and the window.")
    context = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if context and window > context:
        raise WorkbenchError(
            f"window {window} is longer than the model's context ({context} tokens).",
            f"use a window of {context} tokens or less.",
        )


def score_concatenated(
    model, tokenizer, texts: Sequence[str], window: int = 1024, stride: int | None = None,
    batch_size: int = 8, progress: bool = False, desc: str = "scoring",
) -> DocumentScore:
    """The Hugging Face "perplexity of fixed-length models" procedure, batched.

    Encodes ``"\\n\\n".join(texts)`` as the recipe does (default special tokens), places windows
    at 0, S, 2S... (each ending at min(begin + L, n)), and scores in each window the targets
    after the previous window's end; the first token of the text is never a target. Used to
    check our numbers against the field's reference; ``score_documents`` is what evaluations use.
    """
    stride = stride or max(1, window // 2)
    check_window(model, window, stride)
    text = "\n\n".join(texts)
    ids = tokenizer(text)["input_ids"]
    jobs, prev_end = [], 0
    for begin in range(0, len(ids), stride):
        end = min(begin + window, len(ids))
        first = max(prev_end, begin + 1)  # a target needs its previous token in the window
        if first < end:
            jobs.append((0, begin, end, first))
        prev_end = end
        if end == len(ids):
            break
    pieces = _score_windows(model, tokenizer, [ids], jobs, batch_size, progress, desc, None)
    return _document(pieces[0], len(text.encode("utf-8")), count_words(text))


def _score_windows(model, tokenizer, sequences, jobs, batch_size, progress, desc, temperatures, precision="fp32",
                   on_tokens=None):
    """Run the (doc, begin, end, first) windows in length-sorted batches; reduce logits per target."""
    import torch
    from tqdm.auto import tqdm

    from workbench.models.heads import hidden_states_as_logits, scoring_head
    from workbench.models.runtime import cpu_autocast

    jobs = sorted(jobs, key=lambda j: j[2] - j[1], reverse=True)  # similar lengths together: little padding
    pieces: list[list[tuple[int, dict]]] = [[] for _ in sequences]
    device = next(model.parameters()).device
    autocast = cpu_autocast(precision if device.type == "cpu" else "fp32")
    head = scoring_head(model)
    # the hidden states can come back in fp32 while the head is bf16 (during training, accelerate
    # converts the model's outputs to fp32): the selected rows go to the head in its own dtype
    head_weight = getattr(head, "weight", None)
    head_dtype = head_weight.dtype if isinstance(head_weight, torch.Tensor) and head_weight.is_floating_point() else None
    was_training = model.training
    model.eval()
    bar = tqdm(total=sum(j[2] - j[3] for j in jobs), desc=desc, unit="tok", disable=not progress, leave=False)
    with torch.inference_mode(), autocast:
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start : start + batch_size]
            width = max(end - begin for _, begin, end, _ in batch)
            ids = torch.full((len(batch), width), tokenizer.pad_token_id or 0, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (d, begin, end, _) in enumerate(batch):
                ids[row, : end - begin] = torch.tensor(sequences[d][begin:end])
                mask[row, : end - begin] = 1
            # logits at position p predict token p+1: targets first..end-1 use rows first-1..end-2.
            row_idx = torch.cat([torch.full((e - f,), r) for r, (_, b, e, f) in enumerate(batch)]).to(device)
            pos_idx = torch.cat([torch.arange(f - b, e - b) for _, b, e, f in batch]).to(device)
            ids, mask = ids.to(device), mask.to(device)
            targets = ids[row_idx, pos_idx]
            if head is not None:
                # hidden states out; only the scored positions (half of them at the default stride)
                # are projected onto the vocabulary
                with hidden_states_as_logits(model):
                    states = model(input_ids=ids, attention_mask=mask).logits
            else:
                states = model(input_ids=ids, attention_mask=mask).logits
            # All targets of the batch are reduced together, in chunks, so only one [chunk, vocab]
            # block of probabilities exists at a time; results stay on the device until the batch ends.
            parts = []
            for lo in range(0, row_idx.numel(), REDUCE_CHUNK):
                rows = states[row_idx[lo : lo + REDUCE_CHUNK], pos_idx[lo : lo + REDUCE_CHUNK] - 1]
                if head is not None:
                    logits = head(rows if head_dtype is None else rows.to(head_dtype))
                else:
                    logits = rows
                parts.append(_reduce(logits.float(), targets[lo : lo + REDUCE_CHUNK], temperatures))
            del states
            reduced = _to_numpy({k: torch.cat([p[k] for p in parts]) for k in parts[0]})
            offset = 0
            for d, _begin, end, first in batch:
                n = end - first
                pieces[d].append((first, {k: v[offset : offset + n] for k, v in reduced.items()}))
                offset += n
            done = sum(end - first for _, _, end, first in batch)
            bar.update(done)
            if on_tokens is not None:
                on_tokens(done)
    bar.close()
    if was_training:
        model.train()
    return pieces


def _document(parts_by_start: list[tuple[int, dict]], n_bytes: int, n_words: int) -> DocumentScore:
    parts = [p for _, p in sorted(parts_by_start, key=lambda x: x[0])]
    keys = list(parts[0]) if parts else list(_KEYS)
    cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in keys}
    return DocumentScore(
        nll=cat["nll"], top1_prob=cat["top1_prob"], top1_correct=cat["top1_correct"].astype(bool),
        sum_p2=cat["sum_p2"], target_prob=cat["target_prob"], token_ids=cat["token_ids"].astype(np.int64),
        n_bytes=n_bytes, n_words=n_words,
        nll_by_temperature=cat.get("nll_t"), top1_prob_by_temperature=cat.get("top1_t"),
    )


REDUCE_CHUNK = 1024  # target positions reduced at once: bounds the [chunk, vocab] temporaries
_KEYS = ("nll", "top1_prob", "top1_correct", "sum_p2", "target_prob", "token_ids")


def _reduce(logits, targets, temperatures: Sequence[float] | None = None) -> dict:
    """Per-row statistics (device tensors) of a [n, vocab] logit block without keeping probabilities."""
    import torch

    logp = torch.log_softmax(logits, dim=-1)  # one [n, vocab] block, freed when we return
    target_logp = logp.gather(-1, targets[:, None]).squeeze(-1)
    max_logp, argmax = logp.max(dim=-1)
    sum_p2 = torch.exp(2 * logp).sum(-1)
    out = {
        "nll": -target_logp,
        "top1_prob": torch.exp(max_logp),
        "top1_correct": argmax == targets,
        "sum_p2": sum_p2,
        "target_prob": torch.exp(target_logp),
        "token_ids": targets,
    }
    if temperatures:
        nll_t, top1_t = [], []
        max_logit = logits.gather(-1, argmax[:, None]).squeeze(-1)
        target_logit = logits.gather(-1, targets[:, None]).squeeze(-1)
        for t in temperatures:
            lse = torch.logsumexp(logits / t, dim=-1)
            nll_t.append(lse - target_logit / t)
            top1_t.append(torch.exp(max_logit / t - lse))
        out["nll_t"] = torch.stack(nll_t, -1)
        out["top1_t"] = torch.stack(top1_t, -1)
    return out


def _to_numpy(part: dict) -> dict[str, np.ndarray]:
    """One device-to-host copy per key for a whole batch (floats as float64, as the metrics expect)."""
    import torch

    return {k: (v.double() if torch.is_floating_point(v) else v).cpu().numpy() for k, v in part.items()}
