"""Sliding-window scoring of documents: per-token NLL and calibration statistics.

Each document is scored on its own, prefixed with the tokenizer's EOS token as context (as
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

    @property
    def tokens(self) -> int:
        return int(self.nll.size)

    @property
    def nll_sum(self) -> float:
        return float(self.nll.sum(dtype=np.float64))


@dataclass
class CorpusScore:
    documents: list[DocumentScore] = field(default_factory=list)

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
) -> CorpusScore:
    """Score every document with a sliding window; batched, no-grad, vocabulary reduced on the fly.

    Args:
        window: tokens per forward pass (L), at most the model's context.
        stride: step between windows (S); default L/2.
        batch_size: windows per forward pass.
    """
    import torch
    from tqdm.auto import tqdm

    stride = stride or max(1, window // 2)
    if stride > window:
        raise ValueError("stride must not exceed window")
    prefix = tokenizer.eos_token_id if tokenizer.bos_token_id is None else tokenizer.bos_token_id
    prefix = tokenizer.eos_token_id if prefix is None else prefix
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    sequences = [[prefix] + ids for ids in encoded]
    # (doc, begin, end, first_scored) for every window of every document
    jobs = [(d, *span) for d, seq in enumerate(sequences) for span in _windows(len(seq), window, stride)]
    jobs.sort(key=lambda j: j[2] - j[1], reverse=True)  # similar lengths together: little padding
    pieces: list[list[tuple[int, dict]]] = [[] for _ in sequences]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    bar = tqdm(total=sum(j[2] - j[3] for j in jobs), desc=desc, unit="tok", disable=not progress, leave=False)
    with torch.inference_mode():
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start : start + batch_size]
            width = max(end - begin for _, begin, end, _ in batch)
            ids = torch.full((len(batch), width), tokenizer.pad_token_id or 0, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (d, begin, end, _) in enumerate(batch):
                ids[row, : end - begin] = torch.tensor(sequences[d][begin:end])
                mask[row, : end - begin] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            for row, (d, begin, end, first) in enumerate(batch):
                # logits at position p predict token p+1: targets first..end-1 use rows first-1..end-2
                rows = logits[row, first - begin - 1 : end - begin - 1].float()
                targets = ids[row, first - begin : end - begin].to(device)
                pieces[d].append((first, _reduce(rows, targets)))
            bar.update(sum(end - first for _, _, end, first in batch))
    bar.close()
    if was_training:
        model.train()
    result = CorpusScore()
    for d, text in enumerate(texts):
        parts = [p for _, p in sorted(pieces[d], key=lambda x: x[0])]
        cat = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in _KEYS}
        result.documents.append(
            DocumentScore(
                nll=cat["nll"], top1_prob=cat["top1_prob"], top1_correct=cat["top1_correct"].astype(bool),
                sum_p2=cat["sum_p2"], target_prob=cat["target_prob"], token_ids=cat["token_ids"].astype(np.int64),
                n_bytes=len(text.encode("utf-8")), n_words=count_words(text),
            )
        )
    return result


_KEYS = ("nll", "top1_prob", "top1_correct", "sum_p2", "target_prob", "token_ids")


def _reduce(logits, targets) -> dict[str, np.ndarray]:
    """Per-row statistics of a [n, vocab] logit block without keeping probabilities."""
    import torch

    lse = torch.logsumexp(logits, dim=-1)
    target_logit = logits.gather(-1, targets[:, None]).squeeze(-1)
    max_logit, argmax = logits.max(dim=-1)
    sum_p2 = torch.exp(2 * (logits - lse[:, None])).sum(-1)
    nll = lse - target_logit
    return {
        "nll": nll.double().cpu().numpy(),
        "top1_prob": torch.exp(max_logit - lse).double().cpu().numpy(),
        "top1_correct": (argmax == targets).cpu().numpy(),
        "sum_p2": sum_p2.double().cpu().numpy(),
        "target_prob": torch.exp(-nll).double().cpu().numpy(),
        "token_ids": targets.cpu().numpy(),
    }
