"""Evaluate one model, or compare a base with its adapted run, on domain and general text.

``evaluate`` writes ``evaluation.json``; ``compare`` writes ``comparison.json``; both add
``documents.jsonl`` (per-document numbers), ``figures/*.json`` (plotly) and a self-contained
``report.html``. Everything is computed first and written last, into a temporary folder that
is renamed into place, so a crash never leaves an output folder that looks finished.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from workbench import runs
from workbench.errors import WorkbenchError
from workbench.evaluation.adapted import (
    base_side,
    base_tokenizer_for,
    check_base_matches,
    load_reference,
    resolve_quant,
    run_model,
)
from workbench.evaluation.calibration import paired_ece_change
from workbench.evaluation.checkpoints import checkpoint_points
from workbench.evaluation.config import EvalConfig
from workbench.evaluation.estimate import sample_set
from workbench.evaluation.leakage import eval_set_leakage
from workbench.evaluation.metrics import document_rows, score, summarize, token_documents
from workbench.evaluation.perplexity import CorpusScore
from workbench.evaluation.result import EvaluationResult
from workbench.evaluation.scorecache import ScoreCache, base_key, model_key_parts
from workbench.evaluation.sets import EvalSet, _sample, check_inputs, default_sets, load_eval_set, uses_sample
from workbench.evaluation.stats import paired_delta
from workbench.models.runtime import apply_threads, resolve_precision
from workbench.progress import emit
from workbench.runs import run_card_for


class EvaluationWarning(UserWarning):
    """Something the user should know about the numbers (leakage, tiny sets, skipped documents)."""


def _warn(notes: list[str], progress: bool) -> None:
    for note in notes:
        warnings.warn(note, EvaluationWarning, stacklevel=3)


# ------------------------------------------------------------------------------------------
# workflows


def _out_dir(config: EvalConfig, workspace) -> Path:
    """``config.out``, else the workspace's name for it (``eval-MODEL-DATA``, ``compare-RUN``; numbered when taken).

    Without a workspace, a comparison of a run goes to the run's own workspace (``WORKSPACE/runs/RUN``),
    whatever ``$WORKBENCH_WORKSPACE`` says; anything else to ``Workspace.at()``."""
    from workbench.workspace import Workspace

    if workspace is None and config.adapter:
        run = Path(config.adapter).expanduser().resolve()
        if run.parent.name == "runs" and (run / "run.json").exists():
            workspace = Workspace(run.parent.parent)
    return (workspace or Workspace.at()).folder_for("comparisons", config)


def _subset(eval_set: EvalSet, keep: set[str]) -> EvalSet:
    """``eval_set`` without the documents whose id is not in ``keep`` (in its order)."""
    pairs = [(i, t) for i, t in zip(eval_set.ids, eval_set.texts) if i in keep]
    return replace(eval_set, ids=[i for i, _ in pairs], texts=[t for _, t in pairs])


def _check_out(out: Path, overwrite: bool) -> None:
    from workbench.io import check_output_folder

    check_output_folder(out, overwrite)  # before a model loads; a job's own status/log alone is no output yet


def evaluate(config: EvalConfig, workspace=None, progress: bool = True, overwrite: bool = False, on_progress=None) -> Path:
    """Score one model (optionally with an adapter) on ``config.data``; write ``evaluation.json``.

    Returns:
        The output folder.
    """
    result = run_evaluate(config, workspace, progress, on_progress, overwrite=overwrite, check_out=True)
    return result.write(overwrite=overwrite)


def run_evaluate(config: EvalConfig, workspace=None, progress: bool = True, on_progress=None,
                 overwrite: bool = False, check_out: bool = False) -> EvaluationResult:
    """Score one model like :func:`evaluate`, without writing: the result stays in memory
    (``result.data["metrics"]``, ``result.figures``...) until ``result.write()``."""
    from workbench.evaluation.adapted import load_with_adapter
    from workbench.models.load import resolve_model

    if not config.data:
        raise WorkbenchError("no evaluation text given.", "set {field} to a JSONL file with a text field, or a .txt file.",
                             field="data")
    if not config.model and config.adapter:
        config = replace(config, model=run_model(config.adapter))
    resolved = resolve_model(config.model)
    card = run_card_for(config.adapter) if config.adapter else None
    out = _out_dir(config, workspace)
    if check_out:
        _check_out(out, overwrite)
    check_inputs({"data": config.data})
    if config.adapter:
        check_base_matches(card, resolved, config.adapter)
    quant = resolve_quant(config, card)
    runtime = _scoring_runtime()
    model, tokenizer = load_with_adapter(resolved, config.adapter, quant=quant, device=config.device,
                                        dequantize=config.dequantize_scoring)
    runtime["precision"] = resolve_precision(next(model.parameters()).device.type)
    eval_set = load_eval_set(config.data, "data", tokenizer, config.text_field, config.text_unit)
    leakage = eval_set_leakage(card, eval_set, config)
    _warn(eval_set.warnings, progress)
    emit(on_progress, "scoring", 0, 1, "set", "evaluating")
    scored = score(model, tokenizer, eval_set, config, "evaluating", progress, runtime["precision"])
    emit(on_progress, "scoring", 1, 1, "set", "evaluating")
    summary = summarize(scored, config)
    documents = document_rows(eval_set, model=scored)
    result = {
        "kind": "evaluation",
        "model": config.model, "adapter": config.adapter, "quant": quant,
        "data": str(eval_set.path), "text_unit": config.text_unit, "window": config.window, "stride": config.stride,
        "metrics": summary,
        "leakage": leakage,
        "warnings": eval_set.warnings,
        "runtime": runtime,
    }
    from workbench.evaluation import plots

    label = "adapted" if config.adapter else "base"
    figures = {
        "perplexity": plots.perplexity_bars({label: {"data": summary}}),
        "reliability": plots.reliability_diagram({label: summary["reliability"]}),
    }
    return EvaluationResult("evaluation", out, result, config, documents, figures, {},
                            inputs={"data": eval_set.path, "adapter": config.adapter})


def _scoring_runtime() -> dict:
    """Set torch's threads to the CPUs this process may use (``workbench.models.runtime``); what the
    card records of how the scoring ran (the precision is added once the model's device is known)."""
    return {"threads": apply_threads()}


def _regression_set(config: EvalConfig):
    """The regression set of ``config.regression_set``, or None.

    A label store (``config.labels``) is the review stage's: the CLI and background jobs export its
    regression set to a file and fill ``regression_set``; this library reads only that file.
    """
    from workbench.evaluation.regression import read_regression_set

    if config.regression_set:
        return read_regression_set(config.regression_set)
    if config.labels is not None and str(config.labels).lower() != "none":
        raise WorkbenchError(
            f"labels is {config.labels!r}, but compare reads labelled errors from a regression-set file.",
            "export it with 'workbench review export FILE --format regression --db STORE' and set {field} to FILE "
            "(or run 'workbench compare --labels', which does both).",
            field="regression_set",
        )
    return None


def compare(config: EvalConfig, workspace=None, progress: bool = True, overwrite: bool = False, on_progress=None,
            score_cache: ScoreCache | None = None) -> Path:
    """Base against adapted on domain and general text; write ``comparison.json`` and the report.

    The base is the same loaded weights with the adapter disabled, so both sides share the
    quantization and differ only by the adapter. With ``score_cache`` the base's scores of a set
    scored before (same weights, tokenizer, window, documents...) are read back, not computed again.

    Returns:
        The output folder.
    """
    result = run_compare(config, workspace, progress, on_progress, overwrite=overwrite, check_out=True,
                         score_cache=score_cache)
    return result.write(overwrite=overwrite)


def run_compare(config: EvalConfig, workspace=None, progress: bool = True, on_progress=None,
                overwrite: bool = False, check_out: bool = False, score_cache: ScoreCache | None = None) -> EvaluationResult:
    """Compare like :func:`compare`, without writing: the result stays in memory (``result.data``
    holds what ``comparison.json`` would, ``result.figures`` the plotly figures) until ``result.write()``."""
    from workbench.documents.glossary import read_knowledge
    from workbench.evaluation import plots
    from workbench.evaluation.adapted import adapter_dir, load_with_adapter
    from workbench.evaluation.cloze import cloze_probes, compare_cloze, score_cloze
    from workbench.evaluation.generate import domain_prompts, side_by_side
    from workbench.evaluation.probes import compare_probes, read_probes, score_probes
    from workbench.evaluation.tokendiff import profile_terms, term_changes
    from workbench.models.load import resolve_model

    if not config.adapter:
        raise WorkbenchError("no adapted model given.", "set {field} to a run folder or an adapter folder.",
                             field="adapter")
    adapter_dir(config.adapter)  # fails early, naming the folder, when there is no adapter
    card = run_card_for(config.adapter)
    if not config.model:
        config = replace(config, model=run_model(config.adapter))
    resolved = resolve_model(config.model)
    check_base_matches(card, resolved, config.adapter)
    out = _out_dir(config, workspace)
    if check_out:
        _check_out(out, overwrite)
    domain_path, general_path = default_sets(config, card)
    check_inputs({"domain": domain_path, "general": general_path})
    regression_set = _regression_set(config)  # read before a model loads: a malformed file fails fast
    sample = uses_sample(domain_path)
    probes_path = config.probes or (str(_sample("probes.csv")) if sample else None)
    glossary_path = config.glossary or _run_glossary(card) or (str(_sample("glossary.csv")) if sample else None)
    probes = read_probes(probes_path) if probes_path else []
    concepts = read_knowledge(glossary_path) if glossary_path else []
    glossary = [c.term for c in concepts]
    cloze = cloze_probes(concepts, config.cloze_candidates, config.seed, config.cloze_probes) if config.cloze_probes else []
    domain_terms = profile_terms(config.profile) if config.profile else []
    guards = _read_guardrails(config.guardrails, domain_path)  # read before a model loads: a bad file fails fast
    quant = resolve_quant(config, card)

    runtime = _scoring_runtime()
    started = time.perf_counter()
    model, tokenizer = load_with_adapter(resolved, config.adapter, quant=quant, device=config.device,
                                        dequantize=config.dequantize_scoring)
    # how long each part took: the workspace keeps the rates for the next comparison's estimate
    timing = {"load_s": time.perf_counter() - started, "scoring_tokens": 0, "scoring_s": 0.0,
              "generated_tokens": 0, "generation_s": 0.0, "key_parts": model_key_parts(model)}
    runtime["timing"] = timing
    precision = resolve_precision(next(model.parameters()).device.type)
    runtime["precision"] = precision
    # A run that added domain tokens brings a grown tokenizer. The base never learned the new rows, so
    # it is scored with its own tokenizer, and the two sides are compared per word (and in bits per
    # byte), which do not depend on how the text is cut into tokens.
    base_tokenizer = base_tokenizer_for(resolved, tokenizer)
    grown = base_tokenizer is not tokenizer
    against_card = None
    if config.against:  # run against run: the other run's adapter is the side measured against
        if grown:
            raise WorkbenchError(f"run {config.adapter} grew the tokenizer, so its tokens differ from the other run's.",
                                 "compare each run with the base instead.", field="adapter")
        against_card = run_card_for(config.against)
        check_base_matches(against_card, resolved, config.against)
        load_reference(model, config.against, tokenizer)
    sets = {
        "domain": load_eval_set(domain_path, "domain", tokenizer, config.text_field, config.text_unit),
        "general": load_eval_set(general_path, "general", tokenizer, config.text_field, config.text_unit),
    }
    base_sets = {name: load_eval_set(s.path, name, base_tokenizer, config.text_field, config.text_unit)
                 for name, s in sets.items()} if grown else sets
    if grown and any(base_sets[n].ids != sets[n].ids for n in sets):  # a document of under two tokens in one of them
        keep = {n: set(base_sets[n].ids) & set(sets[n].ids) for n in sets}
        sets = {n: _subset(s, keep[n]) for n, s in sets.items()}
        base_sets = {n: _subset(s, keep[n]) for n, s in base_sets.items()}
    notes_sampled = []
    if config.eval_docs:  # a quick check: a seeded sample of each set, the same on both sides
        for name in list(sets):
            total = len(sets[name].ids)
            sets[name] = sample_set(sets[name], config.eval_docs, config.seed)
            if grown:
                base_sets[name] = sample_set(base_sets[name], config.eval_docs, config.seed)
            if len(sets[name].ids) < total:
                notes_sampled.append(
                    f"quick check: {name} scored on {len(sets[name].ids)} of {total} documents (a seeded sample); its "
                    "interval describes these documents and is wider than the whole set's would be: run the full "
                    "comparison before deciding on a close result.")
        if not grown:
            base_sets = sets
    train_cache: dict = {}  # the training text is read and hashed once for both sets
    leakage = {name: eval_set_leakage(card, s, config, train_cache) for name, s in sets.items()}
    if against_card is not None:  # what the other run trained on may leak into the sets too
        other_cache: dict = {}
        for name, s in sets.items():
            other = eval_set_leakage(against_card, s, config, other_cache)
            if other and (other.get("pairs") or other.get("flagged")):
                leakage[f"{name} (against)"] = other
    notes = notes_sampled + [n for s in sets.values() for n in s.warnings]
    if grown:
        notes.append(
            f"the adapter added {len(tokenizer) - len(base_tokenizer)} token(s) to the tokenizer: the base is scored "
            "with its own tokenizer and the adapted model with the grown one, so perplexity is compared per word "
            "(and in bits per byte); the per-token views and term changes need the same tokens on both sides and "
            "are left out.")
    _warn(notes, progress)

    scores: dict[str, dict[str, CorpusScore]] = {"base": {}, "adapted": {}}
    # the base side of a comparison with the base model is the same every time: read back when scored before
    weights = None if (config.against or score_cache is None) else runs.weights_sha256(resolved.path)
    runtime["base_scores"] = {}
    keys = {name: weights and base_key(model, base_tokenizer, base_sets[name].texts, config, weights, quant, precision,
                                       len(base_tokenizer) if grown else None) for name in sets}
    cached = {name: score_cache.get(key) if key else None for name, key in keys.items()}
    # progress in tokens: what is left to score (a cached base set costs nothing)
    total = sum(_count_tokens(tokenizer, s.texts) for s in sets.values()) + sum(
        _count_tokens(base_tokenizer, base_sets[name].texts) for name in sets if cached[name] is None)
    done = 0
    side = ""

    def scored(n: int) -> None:
        nonlocal done
        done += n
        emit(on_progress, "scoring", done, total, "tokens", side)

    def timed_score(label: str, *args) -> CorpusScore:
        nonlocal side
        side = label
        emit(on_progress, "scoring", done, total, "tokens", side)
        started = time.perf_counter()
        result = score(*args, label, progress, precision, on_tokens=scored)
        timing["scoring_s"] += time.perf_counter() - started
        timing["scoring_tokens"] += result.tokens
        return result

    for name, eval_set in sets.items():
        base_score = cached[name]
        runtime["base_scores"][name] = "cached" if base_score is not None else "scored"
        if base_score is None:
            with base_side(model, tokenizer, base_tokenizer):
                base_score = timed_score(f"base/{name}", model, base_tokenizer, base_sets[name], config)
            if keys[name]:
                score_cache.put(keys[name], base_score)
        scores["base"][name] = base_score
        scores["adapted"][name] = timed_score(f"adapted/{name}", model, tokenizer, eval_set, config)
    emit(on_progress, "scoring", total, total, "tokens", "scored")
    results = {label: {name: summarize(s, config) for name, s in by_set.items()} for label, by_set in scores.items()}
    unit = "word" if grown else "token"
    delta, documents, terms, token_html, token_docs = {}, [], {}, [], {}
    for name, eval_set in sets.items():
        base, adapted = scores["base"][name], scores["adapted"][name]
        if not grown:
            for b, a in zip(base.documents, adapted.documents):
                if not np.array_equal(b.token_ids, a.token_ids):  # same tokenizer, same text: must never differ
                    raise RuntimeError("base and adapted scored different tokens")
        delta[name] = paired_delta(
            [d.nll_sum for d in base.documents], [d.nll_sum for d in adapted.documents],
            [d.tokens if unit == "token" else d.n_words for d in base.documents],
        )
        delta[name]["ece_paired"] = paired_ece_change(
            [d.top1_prob for d in base.documents], [d.top1_correct for d in base.documents],
            [d.top1_prob for d in adapted.documents], [d.top1_correct for d in adapted.documents], config.n_bins)
        delta[name]["unit"] = unit
        delta[name]["bits_per_byte"] = results["adapted"][name]["bits_per_byte"] - results["base"][name]["bits_per_byte"]
        delta[name]["ece"] = results["adapted"][name]["ece"] - results["base"][name]["ece"]
        rows = document_rows(eval_set, base=base, adapted=adapted, unit=unit)
        documents.extend(rows)
        if grown:
            terms[name], token_docs[name] = {}, []
            continue
        # skip the prefix token: spans cover the document's own tokens, which are all scored
        terms[name] = term_changes(
            tokenizer, eval_set.texts, [d.nll for d in base.documents], [d.nll for d in adapted.documents],
            glossary if name == "domain" else (), top=config.top_terms,
            domain_terms=domain_terms if name == "domain" else (), ids=eval_set.ids,
        )
        token_docs[name] = token_documents(tokenizer, eval_set, rows, base, adapted, config.heatmap_documents)
        token_html.extend(token_docs[name])

    probe_result = None
    if probes:
        with base_side(model, tokenizer, base_tokenizer):
            base_probes = score_probes(model, base_tokenizer, probes)
        probe_result = compare_probes(probes, base_probes, score_probes(model, tokenizer, probes))
    cloze_result = None
    if cloze:
        emit(on_progress, "cloze", 0, 2, "side")
        with base_side(model, tokenizer, base_tokenizer):
            base_cloze = score_cloze(model, base_tokenizer, cloze)
        cloze_result = compare_cloze(cloze, base_cloze, score_cloze(model, tokenizer, cloze), _side_labels(config))
        emit(on_progress, "cloze", 2, 2, "side")
    prompts = domain_prompts(sets["domain"].texts, config.generations) if config.generations else []
    if prompts:
        emit(on_progress, "generating", 0, len(prompts), "prompt")
    started = time.perf_counter()
    generations = side_by_side(model, tokenizer, prompts, config.max_new_tokens, base_tokenizer=base_tokenizer)
    timing["generation_s"] = time.perf_counter() - started
    timing["generated_tokens"] = 2 * len(prompts) * config.max_new_tokens
    if prompts:
        emit(on_progress, "generating", len(prompts), len(prompts), "prompt")
    curve = None
    if config.checkpoints:
        curve = checkpoint_points(model, tokenizer, config, sets, Path(config.adapter), results, progress,
                                  metric="word_ppl" if grown else "token_ppl")
    from workbench.evaluation.regression import regression_check  # labelled errors re-scored
    from workbench.evaluation.repetition import flag_generations
    from workbench.evaluation.verdict import add_guardrails, build_verdict, runs_verdict

    regression = (regression_check(model, tokenizer, regression_set.cases, regression_set.source,
                                   base_tokenizer=base_tokenizer)
                  if regression_set and regression_set.cases else None)
    repetition = flag_generations(generations)
    labels = _side_labels(config)
    guardrails = _guardrails(guards, config, model, tokenizer, base_tokenizer, generations, sets, scores, card, labels)
    if config.against:
        verdict = runs_verdict(results, delta, labels, leakage, warnings=notes)
    else:
        verdict = build_verdict(results, delta, documents,
                                ((card or {}).get("config") or {}).get("forgetting_threshold_pct"),
                                repetition, leakage, regression=regression, warnings=notes)
    if cloze_result:
        verdict = {**verdict, "cloze": cloze_result["verdict"]}
    add_guardrails(verdict, **guardrails)
    comparison = {
        "kind": "comparison", "verdict": verdict,
        "base_model": config.model, "adapter": config.adapter, "against": config.against, "labels": labels,
        "quant": quant,
        "window": config.window, "stride": config.stride,
        "sets": {name: str(s.path) for name, s in sets.items()}, "text_unit": config.text_unit,
        "base": results["base"], "adapted": results["adapted"], "delta": delta,
        "tokenizer": {"grown": grown, "added_tokens": len(tokenizer) - len(base_tokenizer), "compared_per": unit},
        "terms": terms, "probes": probe_result, "cloze": cloze_result, "generations": generations,
        "learning_curves": curve, "leakage": leakage, "warnings": notes, "repetition": repetition,
        "regression": regression, **guardrails,
        "training_curve": None if config.against else _training_curve(config.adapter, card, verdict, sets),
        "runtime": runtime,
    }
    figures = {
        "perplexity": plots.perplexity_bars(results, "word_ppl" if grown else "token_ppl"),
        "bits_per_byte": plots.perplexity_bars(results, "bits_per_byte"),
        "reliability": plots.reliability_diagram(
            {f"{label} {name}": results[label][name]["reliability"] for name in sets for label in results}
        ),
        "documents": plots.document_scatter(documents),
        **{f"tokens_{name}": plots.token_view(docs, title=f"{name}: per-token change") for name, docs in token_docs.items()},
    }
    if guardrails["drift"]:
        from workbench.evaluation.drift import trend_figure

        figures["drift"] = trend_figure(guardrails["drift"])
    if curve:
        figures["learning_curves"] = plots.learning_curves(curve)
    if comparison["training_curve"]:
        figures["training_curve"] = plots.curve_vs_final(comparison["training_curve"]["points"], verdict)
    return EvaluationResult("comparison", out, comparison, config, documents, figures, {"token_documents": token_html},
                            inputs={"domain_eval": sets["domain"].path, "general_eval": sets["general"].path,
                                    "probes": probes_path, "glossary": glossary_path,
                                    "bias_probes": guards["bias_path"], "screen": guards["screen_path"],
                                    "regression_set": config.regression_set,
                                    "adapter": adapter_dir(config.adapter),
                                    "against": adapter_dir(config.against) if config.against else None})


def _run_glossary(card: dict | None) -> str | None:
    """The glossary the compared run learned from (its ``knowledge.glossary``), when that file is still there."""
    path = (((card or {}).get("config") or {}).get("knowledge") or {}).get("glossary")
    return path if path and Path(path).is_file() else None


def _read_guardrails(guardrails, domain_path) -> dict:
    """The bias pairs, the screen and the domain set's dates a comparison's guardrails ask for (files read now)."""
    from workbench.evaluation.bias import read_bias_probes
    from workbench.evaluation.drift import read_times
    from workbench.evaluation.screen import load_screen

    bias_path = guardrails.bias_probes
    if bias_path == "sample":
        from workbench.evaluation.bias import SAMPLE_PROBES

        bias_path = str(_sample(SAMPLE_PROBES))
    screen_path = guardrails.screen if guardrails.screen and str(guardrails.screen).lower() != "none" else None
    return {
        "bias_path": bias_path, "screen_path": screen_path,
        "pairs": read_bias_probes(bias_path) if bias_path else [],
        "screen": load_screen(guardrails.screen),
        "times": read_times(domain_path, guardrails.time_field) if guardrails.time_field else None,
    }


def _guardrails(guards: dict, config: EvalConfig, model, tokenizer, base_tokenizer, generations: list[dict], sets: dict,
                scores: dict, card: dict | None, labels: dict) -> dict:
    """``bias`` (paired probes), ``screen`` (of the generations) and ``drift`` (per period) of ``comparison.json``."""
    from workbench.evaluation.adapted import base_side
    from workbench.evaluation.bias import compare_bias, pair_preferences
    from workbench.evaluation.drift import drift_by_period, training_vocabulary
    from workbench.evaluation.screen import screen_generations

    bias = None
    if guards["pairs"]:
        with base_side(model, tokenizer, base_tokenizer):
            base_pref = pair_preferences(model, base_tokenizer, guards["pairs"], config.batch_size)
        adapted_pref = pair_preferences(model, tokenizer, guards["pairs"], config.batch_size)
        bias = compare_bias(guards["pairs"], base_pref, adapted_pref, worst=config.guardrails.worst_pairs, labels=labels)
    screen = screen_generations(generations, guards["screen"]) if guards["screen"].size or generations else None
    drift = None
    if guards["times"] is not None:
        g = config.guardrails
        drift = drift_by_period(sets["domain"].ids, sets["domain"].texts, guards["times"], g.period,
                                scores["base"]["domain"].documents, scores["adapted"]["domain"].documents,
                                training_vocabulary(card), g.time_field)
    return {"bias": bias, "screen": screen, "drift": drift}


def _count_tokens(tokenizer, texts: list[str]) -> int:
    """Tokens the scorer will score in ``texts`` (each document's own tokens)."""
    return sum(len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]) if texts else 0


def _side_labels(config: EvalConfig) -> dict:
    """How the two sides are called: ``base``/``adapted``, or the two runs' names in a run-against-run comparison."""
    if not config.against:
        return {"base": "base", "adapted": "adapted"}
    names = [Path(str(p)).expanduser().resolve().name for p in (config.against, config.adapter)]
    if names[0] == names[1]:
        names = [str(config.against), str(config.adapter)]
    return {"base": names[0], "adapted": names[1]}


def _training_curve(adapter: str, card: dict | None, verdict: dict, sets: dict) -> dict | None:
    """The run's in-training evaluations beside this comparison (None when the adapter is no run or the
    run evaluated nothing): its last point against the final change, so a user sees whether the curve
    they watched told the truth. The points come from a fixed sample of the run's held-out sets;
    ``same_sets`` says whether those are the files compared here."""
    from workbench.runs import eval_curve, run_folder_of

    run = run_folder_of(adapter)
    points = eval_curve(run) if run else []
    if len(points) < 2:
        return None
    keys = ("step", "tokens", "domain_ppl", "general_ppl", "domain_change_pct", "general_change_pct",
            "domain_eval_tokens", "general_eval_tokens", "domain_eval_documents", "general_eval_documents",
            "domain_change_ci95_pct", "general_change_ci95_pct")
    points = [{k: p.get(k) for k in keys} for p in points]
    run_config = (card or {}).get("config") or {}
    from workbench.documents.texts import resolve_eval_sets

    trained_on = resolve_eval_sets(run_config.get("data"), run_config.get("domain_eval"), run_config.get("general_eval"))
    same = all(Path(a).resolve() == Path(sets[name].path).resolve() for name, a in zip(("domain", "general"), trained_on))
    last = points[-1]
    ends = {}
    for name in ("domain", "general"):
        end = {"step": last["step"], "change_pct": last.get(f"{name}_change_pct"),
               "ci95_pct": last.get(f"{name}_change_ci95_pct"),
               "sample_tokens": last.get(f"{name}_eval_tokens"), "sample_documents": last.get(f"{name}_eval_documents"),
               "final_change_pct": (verdict.get(name) or {}).get("change_pct"),
               "final_ci95_pct": (verdict.get(name) or {}).get("ci95_pct")}
        if end["change_pct"] is not None and end["final_change_pct"] is not None:
            end["gap_pts"] = round(end["change_pct"] - end["final_change_pct"], 2)
        ends[name] = end
    return {"points": points, "same_sets": same, "last": ends, "sentence": curve_sentence(ends, same)}


def curve_sentence(ends: dict, same_sets: bool = True) -> str:
    """What the in-training curve's last point said against the final comparison, set by set: its sample
    (documents, tokens) and interval, the final change over the whole set, and how many points apart."""
    sentences = []
    for name, end in ends.items():
        if end.get("change_pct") is None or end.get("final_change_pct") is None:
            continue
        sample = ", ".join(part for part in (
            f"{end['sample_documents']:,} documents" if end.get("sample_documents") else "",
            f"{end['sample_tokens']:,} tokens" if end.get("sample_tokens") else "") if part)
        ci = end.get("ci95_pct")
        final_ci = end.get("final_ci95_pct")
        sentences.append(
            f"{name}: the training curve's last point (step {end['step']}"
            + (f", a sample of {sample}" if sample else "") + f") said {end['change_pct']:+.1f}%"
            + (f" (95% interval {ci[0]:+.1f} to {ci[1]:+.1f}%)" if ci
               else " (one document: no interval)" if end.get("sample_documents") == 1 else "")
            + f"; the whole set says {end['final_change_pct']:+.1f}%"
            + (f" ({final_ci[0]:+.1f} to {final_ci[1]:+.1f}%)" if final_ci else "")
            + f", {abs(end['gap_pts']):.1f} points apart.")
    if sentences and not same_sets:
        sentences.append("The run evaluated on other held-out files than this comparison, so the two need not agree.")
    return " ".join(sentences)
