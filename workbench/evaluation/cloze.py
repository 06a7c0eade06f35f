"""Cloze probes from a glossary's definitions: does the model name the term its definition describes?

Each probe is a term's definition, the term masked in it (``this term``), followed by a cue; the
model ranks the true term among a few candidates: the term's related and sibling terms (sharing a
broader term or a category), then random glossary terms when those are few. A candidate's score is
how much the definition raises its probability, a pointwise mutual information:

    score(c) = log P(" c." | definition + cue) - log P(" c." | cue)

so a frequent or short candidate gains nothing from being likely anyway (the usual length and
frequency bias of ranking by raw probability). The probe's value is the log-probability of the true
term among the candidates (a softmax over the scores) and its rank (1 = named first).

Base and adapted score the same probes, so the change is paired over probes: the mean change of the
true term's log-probability with a t-interval over probes (:func:`workbench.intervals.ratio_t_interval`
with unit weights), and how many terms each model knows better ("knows N of M terms better").
Probes come from the same definitions a run may have trained on (``knowledge.text_share``): they
measure whether the glossary's knowledge got in, not whether it generalises beyond it.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

import numpy as np

from workbench.documents.glossary import Concept
from workbench.evaluation.probes import Probe, score_probes
from workbench.evaluation.stats import MIN_DOCUMENTS
from workbench.intervals import ratio_t_interval

CUE = "The term for this is"
MASK = "this term"
TIE = 1e-6  # a change of the true term's log-probability smaller than this counts as the same


@dataclass(frozen=True)
class ClozeProbe:
    term: str
    prompt: str
    """The definition with the term masked, then the cue."""
    candidates: tuple[str, ...]
    """The true term first, then the distractors."""
    kinds: tuple[str, ...]
    """Why each candidate is there: term, related, sibling, random."""


def mask_term(definition: str, names) -> str:
    """``definition`` with every whole-word occurrence of any of ``names`` (case-insensitive) masked."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        definition = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", MASK, definition, flags=re.IGNORECASE)
    return definition


def cloze_probes(concepts: list[Concept], n_candidates: int = 8, seed: int = 0, limit: int | None = None) -> list[ClozeProbe]:
    """One probe per concept with a definition (at most ``limit``, spread over the glossary), each with
    up to ``n_candidates`` candidates: the term, its related terms, its siblings, then random terms."""
    if n_candidates < 2:
        raise ValueError("a cloze probe needs at least 2 candidates")
    rng = random.Random(seed)
    terms = [c.term for c in concepts]
    by_key = {t.casefold(): t for t in terms}
    groups: dict[tuple[str, str], list[str]] = {}
    for c in concepts:
        for b in c.broader:
            groups.setdefault(("broader", b.casefold()), []).append(c.term)
        if c.category:
            groups.setdefault(("category", c.category.casefold()), []).append(c.term)
    defined = [c for c in concepts if c.definition.strip()]
    if limit is not None and len(defined) > limit:
        step = len(defined) / limit
        defined = [defined[int(i * step)] for i in range(limit)]
    probes = []
    for c in defined:
        own = {c.term.casefold(), *(s.casefold() for s in c.synonyms)}
        chosen, kinds = [c.term], ["term"]

        def add(names, kind, chosen=chosen, kinds=kinds, own=own):
            for name in names:
                name = by_key.get(name.casefold(), name)
                if len(chosen) >= n_candidates or name.casefold() in own or name in chosen:
                    continue
                chosen.append(name)
                kinds.append(kind)

        related = list(c.related) + [b for b in c.broader]
        add(sorted(related, key=lambda _: rng.random()), "related")
        siblings = [t for key in [("broader", b.casefold()) for b in c.broader]
                    + ([("category", c.category.casefold())] if c.category else []) for t in groups.get(key, [])]
        add(sorted(dict.fromkeys(siblings), key=lambda _: rng.random()), "sibling")
        if len(chosen) < n_candidates:
            add(rng.sample(terms, min(len(terms), 4 * n_candidates)), "random")
        if len(chosen) < 2:
            continue  # a glossary of one term: nothing to rank against
        prompt = f"{_sentence(mask_term(c.definition, [c.term, *c.synonyms]))} {CUE}"
        probes.append(ClozeProbe(c.term, prompt, tuple(chosen), tuple(kinds)))
    return probes


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1:] in ".!?" else text + "."


def score_cloze(model, tokenizer, probes: list[ClozeProbe], batch_size: int = 32) -> list[dict]:
    """Per probe: each candidate's score (see the module), the true term's log-probability among the
    candidates (``logprob``), its rank (1 = named first) and whether it was named first."""
    pairs = [Probe(p.prompt, f"{c}.") for p in probes for c in p.candidates]
    names = sorted({c for p in probes for c in p.candidates})
    conditional = score_probes(model, tokenizer, pairs, batch_size=batch_size)
    prior = dict(zip(names, score_probes(model, tokenizer, [Probe(CUE, f"{c}.") for c in names], batch_size=batch_size)))
    out, k = [], 0
    for p in probes:
        scores = np.array([conditional[k + i]["logprob"] - prior[c]["logprob"] for i, c in enumerate(p.candidates)])
        k += len(p.candidates)
        logprob = float(scores[0] - np.logaddexp.reduce(scores))
        rank = int((scores[1:] > scores[0]).sum()) + 1
        out.append({"scores": [float(s) for s in scores], "logprob": logprob, "rank": rank, "top1": rank == 1})
    return out


def compare_cloze(probes: list[ClozeProbe], base: list[dict], adapted: list[dict], labels: dict | None = None) -> dict:
    """Rows side by side, the paired summary over probes and the verdict line.

    Returns:
        ``{"summary": {...}, "rows": [...], "verdict": {"status", "sentence", ...}}``; the summary holds
        ``probes``, ``better``, ``worse``, ``same``, ``mean_logprob_change`` and its ``ci95``, ``significant``,
        ``base_top1``/``adapted_top1`` (terms named first), ``top1_change_ci95`` (paired, in terms per probe)
        and ``candidates`` (mean per probe).
    """
    labels = labels or {"base": "base", "adapted": "adapted"}
    rows = []
    for p, b, a in zip(probes, base, adapted):
        rows.append({"term": p.term, "prompt": p.prompt, "candidates": list(p.candidates), "kinds": list(p.kinds),
                     "base_logprob": b["logprob"], "adapted_logprob": a["logprob"],
                     "logprob_change": a["logprob"] - b["logprob"], "base_rank": b["rank"], "adapted_rank": a["rank"]})
    n = len(rows)
    change = np.array([r["logprob_change"] for r in rows], dtype=np.float64)
    ones = np.ones(n)
    if n >= 2:
        mean, ci = ratio_t_interval(change, ones)
        top1 = np.array([(r["adapted_rank"] == 1) - (r["base_rank"] == 1) for r in rows], dtype=np.float64)
        _, top1_ci = ratio_t_interval(top1, ones)
    else:
        mean, ci, top1_ci = (float(change.mean()) if n else float("nan")), [float("nan")] * 2, [float("nan")] * 2
    excludes_zero = not math.isnan(ci[0]) and (ci[0] > 0 or ci[1] < 0)
    summary = {
        "probes": n, "better": int((change > TIE).sum()), "worse": int((change < -TIE).sum()),
        "same": int((np.abs(change) <= TIE).sum()),
        "mean_logprob_change": mean, "ci95": list(ci), "significant": bool(excludes_zero and n >= MIN_DOCUMENTS),
        "min_probes": MIN_DOCUMENTS,
        "base_top1": sum(r["base_rank"] == 1 for r in rows), "adapted_top1": sum(r["adapted_rank"] == 1 for r in rows),
        "top1_change_ci95": list(top1_ci),
        "candidates": float(np.mean([len(r["candidates"]) for r in rows])) if rows else 0.0,
        "interval": "t over probes (paired, mean change of the true term's log-probability among the candidates)",
    }
    return {"summary": summary, "rows": rows, "verdict": cloze_verdict(summary, labels)}


def cloze_verdict(summary: dict, labels: dict) -> dict:
    """"knows N of M terms better/worse", with the paired interval of the mean change and whether it can be chance."""
    a, b = labels["adapted"], labels["base"]
    n, better, worse = summary["probes"], summary["better"], summary["worse"]
    ci = summary["ci95"]
    mean = summary["mean_logprob_change"]
    if not n:
        return {"status": "none", "sentence": "No cloze probes: the glossary has no definitions."}
    if n < summary["min_probes"]:
        status, tail = "too_few", f"too few probes ({n}) to tell a real change from chance."
    elif summary["significant"]:
        status = "better" if mean > 0 else "worse"
        tail = "the interval excludes zero, so the change is unlikely to be chance."
    else:
        status, tail = "unclear", "the interval includes zero, so the change may be chance."
    interval = "" if math.isnan(ci[0]) else f" (95% interval {ci[0]:+.2f} to {ci[1]:+.2f})"
    sentence = (f"Glossary cloze: {a} knows {better} of {n} terms better than {b} and {worse} worse "
                f"(the term named first: {summary['base_top1']} → {summary['adapted_top1']} of {n}); mean change of the "
                f"term's log-probability among its {summary['candidates']:.0f} candidates {mean:+.2f} nats{interval}; {tail}")
    return {"status": status, "probes": n, "better": better, "worse": worse, "mean_logprob_change": mean,
            "ci95": ci, "sentence": sentence}


__all__ = ["CUE", "TIE", "ClozeProbe", "cloze_probes", "cloze_verdict", "compare_cloze", "mask_term", "score_cloze"]
