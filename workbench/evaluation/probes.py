"""Cloze probes: the probability and rank of an expected completion after a prompt.

A probe is ``prompt,expected[,source_id]``. The completion is the expected text after one
space (none when the prompt already ends in whitespace). Its probability is the product of its
tokens' probabilities; its rank is the rank of its first token among the whole vocabulary at
the position after the prompt (1 = the model's top choice).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class Probe:
    prompt: str
    expected: str
    source_id: str = ""


def read_probes(path: str | Path) -> list[Probe]:
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"probes file {path} does not exist.", "check the path given to {field}.", field="probes")
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"prompt", "expected"} - set(reader.fieldnames or [])
        if missing:
            raise WorkbenchError(
                f"probes file {path} lacks the column(s) {', '.join(sorted(missing))}.",
                "write a CSV with a header row: prompt,expected,source_id.",
            )
        probes = [
            Probe(r["prompt"], r["expected"], r.get("source_id") or "")
            for r in reader
            if (r.get("prompt") or "").strip() and (r.get("expected") or "").strip()
        ]
    if not probes:
        raise WorkbenchError(f"probes file {path} holds no probes.", "add rows with a prompt and an expected completion.")
    return probes


def _encode(tokenizer, probe: Probe) -> tuple[list[int], list[int]]:
    sep = "" if probe.prompt[-1:].isspace() else " "
    prompt_ids = tokenizer(probe.prompt, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe.prompt + sep + probe.expected, add_special_tokens=False)["input_ids"]
    if full[: len(prompt_ids)] == prompt_ids and len(full) > len(prompt_ids):
        return prompt_ids, full[len(prompt_ids) :]
    # the tokenizer merged across the boundary: encode the completion on its own
    return prompt_ids, tokenizer(sep + probe.expected, add_special_tokens=False)["input_ids"]


def score_probes(model, tokenizer, probes: list[Probe], batch_size: int = 16) -> list[dict]:
    """Per probe: completion log-probability, probability, first-token rank, tokens."""
    import torch

    from workbench.evaluation.perplexity import prefix_token_id

    prefix = prefix_token_id(tokenizer)
    encoded = [_encode(tokenizer, p) for p in probes]
    device = next(model.parameters()).device
    results: list[dict] = []
    with torch.inference_mode():
        for start in range(0, len(probes), batch_size):
            chunk = encoded[start : start + batch_size]
            seqs = [[prefix] + p + c for p, c in chunk]
            width = max(map(len, seqs))
            ids = torch.full((len(seqs), width), tokenizer.pad_token_id or 0, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, seq in enumerate(seqs):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            for row, (p, c) in enumerate(chunk):
                first = 1 + len(p)  # position of the completion's first token
                rows = logits[row, first - 1 : first - 1 + len(c)].float()
                logp = torch.log_softmax(rows, -1)
                target = torch.tensor(c, device=logp.device)
                token_logp = logp.gather(-1, target[:, None]).squeeze(-1)
                rank = int((logp[0] > token_logp[0]).sum().item()) + 1
                lp = float(token_logp.sum().item())
                results.append({
                    "logprob": lp, "prob": math.exp(lp), "first_token_prob": float(math.exp(token_logp[0].item())),
                    "rank": rank, "tokens": len(c),
                })
    return results


def compare_probes(probes: list[Probe], base: list[dict], adapted: list[dict]) -> dict:
    """Rows side by side and a summary: mean log-probability change, ranks improved, top-1 hits."""
    rows = []
    for p, b, a in zip(probes, base, adapted):
        rows.append({
            "prompt": p.prompt, "expected": p.expected, "source_id": p.source_id, "tokens": b["tokens"],
            "base_prob": b["prob"], "adapted_prob": a["prob"], "base_rank": b["rank"], "adapted_rank": a["rank"],
            "base_logprob": b["logprob"], "adapted_logprob": a["logprob"], "logprob_change": a["logprob"] - b["logprob"],
        })
    change = np.array([r["logprob_change"] for r in rows]) if rows else np.zeros(0)
    summary = {
        "probes": len(rows),
        "mean_logprob_change": float(change.mean()) if rows else None,
        "prob_up": int((change > 0).sum()),
        "rank_improved": sum(r["adapted_rank"] < r["base_rank"] for r in rows),
        "rank_worse": sum(r["adapted_rank"] > r["base_rank"] for r in rows),
        "base_top1": sum(r["base_rank"] == 1 for r in rows),
        "adapted_top1": sum(r["adapted_rank"] == 1 for r in rows),
        "base_median_rank": float(np.median([r["base_rank"] for r in rows])) if rows else None,
        "adapted_median_rank": float(np.median([r["adapted_rank"] for r in rows])) if rows else None,
    }
    return {"summary": summary, "rows": rows}
