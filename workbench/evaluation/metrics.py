"""The numbers of a scored set: perplexities with intervals, bits per byte and calibration, and the
per-document and per-token rows the report and ``documents.jsonl`` show.

Pure functions of :class:`~workbench.evaluation.perplexity.CorpusScore` (``score`` is the one that runs
the model), so a comparison, an evaluation and a checkpoint curve summarise a set the same way.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.evaluation.calibration import DEFAULT_TEMPERATURES, calibration_summary, fit_temperature
from workbench.evaluation.perplexity import CorpusScore, score_documents
from workbench.evaluation.sets import EvalSet
from workbench.evaluation.stats import perplexity_interval, ratio_interval
from workbench.models.runtime import resolve_precision


def summarize(score: CorpusScore, config) -> dict:
    """Perplexities with intervals, bits per byte, calibration (and temperature scaling) of one scored set."""
    docs = score.documents
    nll = np.array([d.nll_sum for d in docs])
    tokens = np.array([d.tokens for d in docs])
    words = np.array([d.n_words for d in docs])
    n_bytes = np.array([d.n_bytes for d in docs])
    boot = dict(n_resamples=config.n_bootstrap, seed=config.seed)
    cat = {k: np.concatenate([getattr(d, k) for d in docs]) for k in ("top1_prob", "top1_correct", "sum_p2", "target_prob")}
    result = {
        "token_ppl": score.token_ppl,
        "token_ppl_ci95": perplexity_interval(nll, tokens, **boot),
        "word_ppl": score.word_ppl,
        "word_ppl_ci95": [math.exp(x) for x in ratio_interval(nll, words, **boot)],
        "bits_per_byte": score.bits_per_byte,
        "bits_per_byte_ci95": [x / math.log(2) for x in ratio_interval(nll, n_bytes, **boot)],
        "nll_per_token": score.nll_sum / max(score.tokens, 1),
        "tokens": score.tokens,
        "words": score.n_words,
        "bytes": score.n_bytes,
        "documents": len(docs),
        **calibration_summary(cat["top1_prob"], cat["top1_correct"], cat["sum_p2"], cat["target_prob"], config.n_bins),
    }
    if score.temperatures and len(docs) >= 2:
        rng = np.random.default_rng(config.seed)
        fit_docs = set(rng.permutation(len(docs))[: len(docs) // 2].tolist())
        mask = np.concatenate([np.full(d.tokens, i in fit_docs) for i, d in enumerate(docs)])
        result["temperature_scaling"] = fit_temperature(
            np.concatenate([d.nll_by_temperature for d in docs]),
            np.concatenate([d.top1_prob_by_temperature for d in docs]),
            cat["top1_correct"], score.temperatures, mask, config.n_bins,
        )
    return result


def score(model, tokenizer, eval_set: EvalSet, config, desc: str, progress: bool,
          precision: str | None = None, on_tokens=None) -> CorpusScore:
    """Score ``eval_set`` with the window, stride and batch size of ``config`` (and the temperatures, when asked),
    the matmuls in ``precision`` (default: :func:`workbench.models.runtime.resolve_precision` for the model's device);
    ``on_tokens(n)`` after each batch of ``n`` scored tokens."""
    if precision is None:
        precision = resolve_precision(next(model.parameters()).device.type)
    return score_documents(
        model, tokenizer, eval_set.texts, window=config.window, stride=config.stride, batch_size=config.batch_size,
        progress=progress, desc=desc, temperatures=scoring_temperatures(config), precision=precision,
        on_tokens=on_tokens,
    )


def scoring_temperatures(config) -> tuple[float, ...] | None:
    """The temperature grid a set is scored with (None: temperature scaling is off)."""
    return tuple(DEFAULT_TEMPERATURES) if config.temperature_scaling else None


def document_rows(eval_set: EvalSet, unit: str = "token", **scores: CorpusScore) -> list[dict]:
    """One ``documents.jsonl`` row per document: size, an extract, and per labelled score the NLL per token and
    perplexity (``delta_nll`` = adapted minus base when both are given).

    ``unit="word"`` (base and adapted cut the text with different tokenizers): the NLLs are per word, so the
    two sides and ``delta_nll`` compare, and each side's token count is kept (``{label}_tokens``)."""
    from workbench.evaluation.tokendiff import extract, title

    rows = []
    for i, doc_id in enumerate(eval_set.ids):
        first = next(iter(scores.values())).documents[i]
        row = {"set": eval_set.name, "id": doc_id, "title": title(eval_set.texts[i]), "tokens": first.tokens,
               "words": first.n_words, "bytes": first.n_bytes, "extract": extract(eval_set.texts[i])}
        if unit == "word":
            row["nll_per"] = "word"
        for label, corpus_score in scores.items():
            d = corpus_score.documents[i]
            row[f"{label}_nll"] = d.nll_sum / max(d.tokens if unit == "token" else d.n_words, 1)
            row[f"{label}_token_ppl"] = d.token_ppl
            if unit == "word":
                row[f"{label}_tokens"] = d.tokens
        if "base" in scores and "adapted" in scores:
            row["delta_nll"] = row["adapted_nll"] - row["base_nll"]
        rows.append(row)
    return rows


def token_documents(tokenizer, eval_set: EvalSet, rows: list[dict], base: CorpusScore, adapted: CorpusScore,
                    k: int) -> list[dict]:
    """The ``k`` most improved and ``k`` most worsened documents of a set, token by token, for the token view."""
    from workbench.evaluation.tokendiff import document_tokens

    order = [int(i) for i in np.argsort([r["delta_nll"] for r in rows], kind="stable")]
    improved = [i for i in order if rows[i]["delta_nll"] < 0][:k]
    worsened = [i for i in order[::-1] if rows[i]["delta_nll"] > 0 and i not in improved][:k]
    picks = [(i, "most improved", rank) for rank, i in enumerate(improved, 1)]
    picks += [(i, "most worsened", rank) for rank, i in enumerate(worsened, 1)]
    return [{
        "set": eval_set.name, "id": eval_set.ids[i], "what": what, "delta_nll": rows[i]["delta_nll"],
        "title": f"{rows[i]['title'] or eval_set.ids[i]} · {eval_set.name}, {what} #{rank}, "
                 f"perplexity {100 * (math.exp(rows[i]['delta_nll']) - 1):+.1f}%",
        "tokens": document_tokens(tokenizer, eval_set.texts[i], base.documents[i].nll, adapted.documents[i].nll),
    } for i, what, rank in picks]


# the names compare.py used before the split
_score = score
_document_rows = document_rows
_token_documents = token_documents
