"""The monitor: an adapted run scored on a new batch of domain text against its own held-out split and the base.

Both sets are scored by the adapted model and by its base (adapter disabled); bits per byte compare them on one
scale whatever their length. :func:`workbench.evaluation.drift.monitor_verdict` says whether the domain moved.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.drift import (
    LN2,
    bits_per_byte,
    drift_by_period,
    monitor_verdict,
    read_times,
    training_vocabulary,
    trend_figure,
    unseen_terms,
)
from workbench.intervals import ratio_t_interval

__all__ = ["run_monitor"]


def _gain(base_docs, adapted_docs) -> dict:
    """Adapted minus base bits per byte, paired over documents (t-interval)."""
    diff = np.array([a.nll_sum - b.nll_sum for a, b in zip(adapted_docs, base_docs)]) / LN2
    size = np.array([d.n_bytes for d in adapted_docs], dtype=float)
    point, ci = ratio_t_interval(diff, size)
    return {"bits_per_byte": point, "ci95": None if np.isnan(ci[0]) else ci}


def run_monitor(config, out: Path, progress: bool = True, on_progress=None):
    """Score the adapted run of ``config.adapter`` and its base on the new batch ``config.data`` and on the run's
    held-out domain split (``config.domain_eval`` when given); say whether the domain moved.

    Returns:
        An :class:`~workbench.evaluation.result.EvaluationResult` of kind ``monitor`` (``monitor.json``).
    """
    from workbench.evaluation.adapted import (
        base_side,
        base_tokenizer_for,
        check_base_matches,
        load_with_adapter,
        resolve_quant,
        run_model,
    )
    from workbench.evaluation.metrics import score
    from workbench.evaluation.result import EvaluationResult
    from workbench.evaluation.sets import check_inputs, default_sets, load_eval_set
    from workbench.models.load import resolve_model
    from workbench.models.runtime import resolve_precision
    from workbench.progress import emit
    from workbench.runs import run_card_for

    if not config.adapter:
        raise WorkbenchError("no adapted run given.", "set {field} to the run folder to monitor.", field="adapter")
    if not config.data:
        raise WorkbenchError("no new batch given.", "set {field} to the new domain text (JSONL, CSV, Parquet or .txt).",
                             field="data")
    card = run_card_for(config.adapter)
    if not config.model:
        config = replace(config, model=run_model(config.adapter))
    resolved = resolve_model(config.model)
    check_base_matches(card, resolved, config.adapter)
    held_path = default_sets(config, card)[0]
    check_inputs({"data": config.data, "domain": held_path})
    quant = resolve_quant(config, card)
    model, tokenizer = load_with_adapter(resolved, config.adapter, quant=quant, device=config.device,
                                        dequantize=config.dequantize_scoring)
    precision = resolve_precision(next(model.parameters()).device.type)
    base_tokenizer = base_tokenizer_for(resolved, tokenizer)
    sets = {"held_out": load_eval_set(held_path, "held-out", tokenizer, config.text_field, config.text_unit),
            "batch": load_eval_set(config.data, "batch", tokenizer, config.text_field, config.text_unit)}
    scores: dict[str, dict] = {"base": {}, "adapted": {}}
    for i, (name, eval_set) in enumerate(sets.items()):
        base_set = (load_eval_set(eval_set.path, name, base_tokenizer, config.text_field, config.text_unit)
                    if base_tokenizer is not tokenizer else eval_set)
        with base_side(model, tokenizer, base_tokenizer):
            scores["base"][name] = score(model, base_tokenizer, base_set, config, f"base/{name}", progress, precision)
        scores["adapted"][name] = score(model, tokenizer, eval_set, config, f"adapted/{name}", progress, precision)
        emit(on_progress, "scoring", i + 1, len(sets), "set", name)
    if base_tokenizer is not tokenizer and any(len(scores["base"][n].documents) != len(scores["adapted"][n].documents)
                                               for n in sets):
        raise WorkbenchError("a document is too short to score with one of the two tokenizers.",
                             "drop documents of one or two words from the batch.", field="data")
    vocabulary = training_vocabulary(card)
    numbers = {}
    for name, eval_set in sets.items():
        rate, new = unseen_terms(eval_set.texts, vocabulary)
        numbers[name] = {"path": str(eval_set.path), "documents": len(eval_set.ids),
                         "adapted": bits_per_byte(scores["adapted"][name].documents),
                         "base": bits_per_byte(scores["base"][name].documents),
                         "gain": _gain(scores["base"][name].documents, scores["adapted"][name].documents),
                         "unseen_term_rate": rate, "new_terms": new}
    verdict = monitor_verdict(numbers["held_out"]["adapted"], numbers["batch"]["adapted"], numbers["held_out"]["gain"],
                              numbers["batch"]["gain"], numbers["batch"]["new_terms"],
                              numbers["batch"]["unseen_term_rate"], numbers["held_out"]["unseen_term_rate"])
    drift = None
    documents = [{"set": name, "id": doc_id,
                  "base_bits_per_byte": b.nll_sum / LN2 / max(b.n_bytes, 1),
                  "adapted_bits_per_byte": a.nll_sum / LN2 / max(a.n_bytes, 1), "bytes": a.n_bytes}
                 for name, eval_set in sets.items()
                 for doc_id, b, a in zip(eval_set.ids, scores["base"][name].documents, scores["adapted"][name].documents)]
    figures = {}
    if config.guardrails.time_field:
        times = read_times(sets["batch"].path, config.guardrails.time_field)
        drift = drift_by_period(sets["batch"].ids, sets["batch"].texts, times, config.guardrails.period,
                                scores["base"]["batch"].documents, scores["adapted"]["batch"].documents, vocabulary,
                                config.guardrails.time_field)
        figures["drift"] = trend_figure(drift)
    data = {"kind": "monitor", "verdict": verdict, "base_model": config.model, "adapter": config.adapter,
            "quant": quant, "window": config.window, "stride": config.stride, "sets": numbers, "drift": drift,
            "vocabulary_known": vocabulary is not None,
            "runtime": {"precision": precision}}
    return EvaluationResult("monitor", out, data, config, documents, figures, {},
                            inputs={"data": sets["batch"].path, "domain_eval": sets["held_out"].path})
