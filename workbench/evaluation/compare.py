"""Evaluate one model, or compare a base with its adapted run, on domain and general text.

``evaluate`` writes ``evaluation.json``; ``compare`` writes ``comparison.json``; both add
``documents.jsonl`` (per-document numbers), ``figures/*.json`` (plotly) and a self-contained
``report.html``. Everything is computed first and written last, into a temporary folder that
is renamed into place, so a crash never leaves an output folder that looks finished.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError
from workbench.evaluation.calibration import DEFAULT_TEMPERATURES, calibration_summary, fit_temperature
from workbench.evaluation.config import EvalConfig
from workbench.evaluation.perplexity import CorpusScore, score_documents
from workbench.evaluation.result import EvaluationResult
from workbench.evaluation.stats import paired_delta, perplexity_interval, ratio_interval
from workbench.io import finite_json
from workbench.progress import emit
from workbench.runs import list_checkpoints, run_card_for, weights_sha256  # noqa: F401 - re-exported

MIN_DOCUMENTS = 5  # fewer documents: the bootstrap intervals mean little
MIN_TOKENS = 1000


class EvaluationWarning(UserWarning):
    """Something the user should know about the numbers (leakage, tiny sets, skipped documents)."""


@dataclass
class EvalSet:
    name: str
    path: Path
    ids: list[str]
    texts: list[str]
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# inputs


def _sample(name: str) -> Path:
    from workbench.samples import sample_path

    return sample_path(name)


def load_eval_set(path: str | os.PathLike, name: str, tokenizer, text_field: str = "text", text_unit: str = "auto") -> EvalSet:
    """Read an evaluation file; skip documents under two tokens (with a warning); reject empty sets."""
    from workbench.corpus.readers import iter_documents

    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{name} evaluation file {path} does not exist.", "check the path.")
    docs = [d for d in iter_documents(path, text_field, text_unit)]
    docs = [d for d in docs if d.text.strip()]
    if not docs:
        raise WorkbenchError(
            f"{name} evaluation file {path} holds no documents.",
            f"give a JSONL file with a non-empty '{text_field}' field per line (or a .txt file).",
        )
    lengths = [len(ids) for ids in tokenizer([d.text for d in docs], add_special_tokens=False)["input_ids"]]
    short = [d.id for d, n in zip(docs, lengths) if n < 2]
    kept = [(d, n) for d, n in zip(docs, lengths) if n >= 2]
    notes = []
    if short:
        notes.append(
            f"{name}: skipped {len(short)} document(s) shorter than two tokens ({', '.join(short[:5])}"
            f"{'...' if len(short) > 5 else ''})."
        )
    if not kept:
        raise WorkbenchError(
            f"{name} evaluation file {path} has no document of two tokens or more.",
            "evaluate on longer documents (perplexity needs tokens to predict).",
        )
    tokens = sum(n for _, n in kept)
    if len(kept) == 1:
        notes.append(
            f"{name}: {path} is one document, so there is no bootstrap interval (it resamples documents); "
            "the numbers are that document's. Split it into several documents for an interval."
        )
    if len(kept) < MIN_DOCUMENTS or tokens < MIN_TOKENS:
        notes.append(
            f"{name}: only {len(kept)} document(s) and {tokens} tokens; intervals and calibration from so little "
            f"text are unreliable (aim for at least {MIN_DOCUMENTS} documents and {MIN_TOKENS} tokens)."
        )
    return EvalSet(name, path, [d.id for d, _ in kept], [d.text for d, _ in kept], notes)


def _leakage(card, eval_set: EvalSet, config: EvalConfig, cache: dict | None = None) -> dict | None:
    """Near-copies of training documents in an eval set, by the corpus stage's definition (see ``leakage.py``)."""
    from workbench.evaluation.leakage import run_leakage

    report, warning = run_leakage(card, eval_set.name, eval_set.path, eval_set.ids, eval_set.texts, config.text_field,
                                  cache)
    if warning:
        eval_set.warnings.append(warning)
    return report


def check_base_matches(card: dict | None, resolved, adapter: str) -> None:
    """Refuse a base whose weights differ from those the adapter was trained on (when both are known)."""
    if not card:
        return
    trained = (card.get("model") or {}).get("weights_sha256")
    if not trained or "{" in str(trained):
        return
    actual = weights_sha256(resolved.path)
    if actual and actual != trained:
        raise WorkbenchError(
            f"adapter {adapter} was trained on '{card['model'].get('spec')}' (weights sha256 {trained[:12]}), "
            f"but the base '{resolved.spec}' has different weights (sha256 {actual[:12]}).",
            f"pass --base {card['model'].get('spec')} (the model the run was trained on).",
        )


def _resolve_quant(config: EvalConfig, card: dict | None) -> str:
    if config.quant:
        return config.quant
    if config.adapter is None:
        return "none"
    return ((card or {}).get("config") or {}).get("quant", "nf4")


# ------------------------------------------------------------------------------------------
# numbers


_clean = finite_json  # kept for callers of the earlier name


def summarize(score: CorpusScore, config: EvalConfig) -> dict:
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


def _score(model, tokenizer, eval_set: EvalSet, config: EvalConfig, desc: str, progress: bool) -> CorpusScore:
    return score_documents(
        model, tokenizer, eval_set.texts, window=config.window, stride=config.stride, batch_size=config.batch_size,
        progress=progress, desc=desc, temperatures=DEFAULT_TEMPERATURES if config.temperature_scaling else None,
    )


def _document_rows(eval_set: EvalSet, **scores: CorpusScore) -> list[dict]:
    from workbench.evaluation.tokendiff import extract

    rows = []
    for i, doc_id in enumerate(eval_set.ids):
        first = next(iter(scores.values())).documents[i]
        row = {"set": eval_set.name, "id": doc_id, "tokens": first.tokens, "words": first.n_words, "bytes": first.n_bytes,
               "extract": extract(eval_set.texts[i])}
        for label, score in scores.items():
            d = score.documents[i]
            row[f"{label}_nll"] = d.nll_sum / max(d.tokens, 1)
            row[f"{label}_token_ppl"] = d.token_ppl
        if "base" in scores and "adapted" in scores:
            row["delta_nll"] = row["adapted_nll"] - row["base_nll"]
        rows.append(row)
    return rows


def _warn(notes: list[str], progress: bool) -> None:
    for note in notes:
        warnings.warn(note, EvaluationWarning, stacklevel=3)


# ------------------------------------------------------------------------------------------
# workflows


def _out_dir(config: EvalConfig, workspace) -> Path:
    """``config.out``, else the workspace's name for it (``eval-MODEL-DATA``, ``compare-RUN``; numbered when taken)."""
    from workbench.workspace import Workspace

    return (workspace or Workspace.at()).folder_for("comparisons", config)


def _check_inputs(files: dict[str, str | os.PathLike | None]) -> None:
    """Evaluation files exist and are readable (not empty, binary or damaged): checked before a model loads."""
    from workbench.corpus.readers import plan_files

    for name, path in files.items():
        if path and not Path(path).exists():
            raise WorkbenchError(f"{name} evaluation file {path} does not exist.", "check the path.")
        if path:
            plan_files(path)


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
        raise WorkbenchError("no evaluation text given.", "pass --data PATH (JSONL with a text field, or .txt).")
    if not config.model and config.adapter:
        config = replace(config, model=_run_model(config.adapter))
    resolved = resolve_model(config.model)
    card = run_card_for(config.adapter) if config.adapter else None
    out = _out_dir(config, workspace)
    if check_out:
        _check_out(out, overwrite)
    _check_inputs({"data": config.data})
    if config.adapter:
        check_base_matches(card, resolved, config.adapter)
    quant = _resolve_quant(config, card)
    model, tokenizer = load_with_adapter(resolved, config.adapter, quant=quant, device=config.device,
                                        dequantize=config.dequantize_scoring)
    eval_set = load_eval_set(config.data, "data", tokenizer, config.text_field, config.text_unit)
    leakage = _leakage(card, eval_set, config)
    _warn(eval_set.warnings, progress)
    emit(on_progress, "scoring", 0, 1, "set", "evaluating")
    score = _score(model, tokenizer, eval_set, config, "evaluating", progress)
    emit(on_progress, "scoring", 1, 1, "set", "evaluating")
    summary = summarize(score, config)
    documents = _document_rows(eval_set, model=score)
    result = {
        "kind": "evaluation",
        "model": config.model, "adapter": config.adapter, "quant": quant,
        "data": str(eval_set.path), "text_unit": config.text_unit, "window": config.window, "stride": config.stride,
        "metrics": summary,
        "leakage": leakage,
        "warnings": eval_set.warnings,
    }
    from workbench.evaluation import plots

    label = "adapted" if config.adapter else "base"
    figures = {
        "perplexity": plots.perplexity_bars({label: {"data": summary}}),
        "reliability": plots.reliability_diagram({label: summary["reliability"]}),
    }
    return EvaluationResult("evaluation", out, result, config, documents, figures, {},
                            inputs={"data": eval_set.path, "adapter": config.adapter})


def _run_model(adapter: str) -> str:
    card = run_card_for(adapter)
    spec = ((card or {}).get("config") or {}).get("model")
    if not spec:
        raise WorkbenchError(
            f"{adapter} has no run.json saying which base model it was trained on.",
            "pass the base model with --base (or --model).",
        )
    return spec


def _default_sets(config: EvalConfig, card: dict | None) -> tuple[str, str]:
    """The sets given, else the held-out sets the run evaluated on during training (one resolution
    with the trainer's), else the bundled samples."""
    from workbench.corpus.readers import resolve_eval_sets

    run_config = (card or {}).get("config") or {}
    run_domain, run_general = resolve_eval_sets(run_config.get("data"), run_config.get("domain_eval"),
                                                run_config.get("general_eval"))
    return config.domain_eval or run_domain, config.general_eval or run_general


def compare(config: EvalConfig, workspace=None, progress: bool = True, overwrite: bool = False, on_progress=None) -> Path:
    """Base against adapted on domain and general text; write ``comparison.json`` and the report.

    The base is the same loaded weights with the adapter disabled, so both sides share the
    quantization and differ only by the adapter.

    Returns:
        The output folder.
    """
    result = run_compare(config, workspace, progress, on_progress, overwrite=overwrite, check_out=True)
    return result.write(overwrite=overwrite)


def run_compare(config: EvalConfig, workspace=None, progress: bool = True, on_progress=None,
                overwrite: bool = False, check_out: bool = False) -> EvaluationResult:
    """Compare like :func:`compare`, without writing: the result stays in memory (``result.data``
    holds what ``comparison.json`` would, ``result.figures`` the plotly figures) until ``result.write()``."""
    from workbench.evaluation import plots
    from workbench.evaluation.adapted import adapter_dir, load_with_adapter
    from workbench.evaluation.generate import domain_prompts, side_by_side
    from workbench.evaluation.probes import compare_probes, read_probes, score_probes
    from workbench.evaluation.tokendiff import profile_terms, term_changes
    from workbench.io import read_glossary
    from workbench.models.load import resolve_model

    if not config.adapter:
        raise WorkbenchError("no adapted model given.", "pass --adapted RUN (a run folder or an adapter folder).")
    adapter_dir(config.adapter)  # fails early, naming the folder, when there is no adapter
    card = run_card_for(config.adapter)
    if not config.model:
        config = replace(config, model=_run_model(config.adapter))
    resolved = resolve_model(config.model)
    check_base_matches(card, resolved, config.adapter)
    out = _out_dir(config, workspace)
    if check_out:
        _check_out(out, overwrite)
    domain_path, general_path = _default_sets(config, card)
    _check_inputs({"domain": domain_path, "general": general_path})
    uses_sample = Path(domain_path).resolve() == _sample("domain_eval.jsonl").resolve()
    probes_path = config.probes or (str(_sample("probes.csv")) if uses_sample else None)
    glossary_path = config.glossary or (str(_sample("glossary.csv")) if uses_sample else None)
    probes = read_probes(probes_path) if probes_path else []
    glossary = read_glossary(glossary_path) if glossary_path else []
    domain_terms = profile_terms(config.profile) if config.profile else []
    quant = _resolve_quant(config, card)

    model, tokenizer = load_with_adapter(resolved, config.adapter, quant=quant, device=config.device,
                                        dequantize=config.dequantize_scoring)
    sets = {
        "domain": load_eval_set(domain_path, "domain", tokenizer, config.text_field, config.text_unit),
        "general": load_eval_set(general_path, "general", tokenizer, config.text_field, config.text_unit),
    }
    train_cache: dict = {}  # the training text is read and hashed once for both sets
    leakage = {name: _leakage(card, s, config, train_cache) for name, s in sets.items()}
    notes = [n for s in sets.values() for n in s.warnings]
    _warn(notes, progress)

    scores: dict[str, dict[str, CorpusScore]] = {"base": {}, "adapted": {}}
    emit(on_progress, "scoring", 0, 2 * len(sets), "set")
    for i, (name, eval_set) in enumerate(sets.items()):
        with model.disable_adapter():
            scores["base"][name] = _score(model, tokenizer, eval_set, config, f"base/{name}", progress)
        emit(on_progress, "scoring", 2 * i + 1, 2 * len(sets), "set", f"base/{name}")
        scores["adapted"][name] = _score(model, tokenizer, eval_set, config, f"adapted/{name}", progress)
        emit(on_progress, "scoring", 2 * i + 2, 2 * len(sets), "set", f"adapted/{name}")
    results = {label: {name: summarize(s, config) for name, s in by_set.items()} for label, by_set in scores.items()}
    delta, documents, terms, token_html, token_docs = {}, [], {}, [], {}
    for name, eval_set in sets.items():
        base, adapted = scores["base"][name], scores["adapted"][name]
        for b, a in zip(base.documents, adapted.documents):
            if not np.array_equal(b.token_ids, a.token_ids):  # same tokenizer, same text: must never differ
                raise RuntimeError("base and adapted scored different tokens")
        delta[name] = paired_delta(
            [d.nll_sum for d in base.documents], [d.nll_sum for d in adapted.documents],
            [d.tokens for d in base.documents], config.n_bootstrap, config.seed,
        )
        delta[name]["bits_per_byte"] = results["adapted"][name]["bits_per_byte"] - results["base"][name]["bits_per_byte"]
        delta[name]["ece"] = results["adapted"][name]["ece"] - results["base"][name]["ece"]
        rows = _document_rows(eval_set, base=base, adapted=adapted)
        documents.extend(rows)
        # skip the prefix token: spans cover the document's own tokens, which are all scored
        terms[name] = term_changes(
            tokenizer, eval_set.texts, [d.nll for d in base.documents], [d.nll for d in adapted.documents],
            glossary if name == "domain" else (), top=config.top_terms,
            domain_terms=domain_terms if name == "domain" else (), ids=eval_set.ids,
        )
        token_docs[name] = _token_documents(tokenizer, eval_set, rows, base, adapted, config.heatmap_documents)
        token_html.extend(token_docs[name])

    probe_result = None
    if probes:
        with model.disable_adapter():
            base_probes = score_probes(model, tokenizer, probes)
        probe_result = compare_probes(probes, base_probes, score_probes(model, tokenizer, probes))
    generations = side_by_side(
        model, tokenizer, domain_prompts(sets["domain"].texts, config.generations), config.max_new_tokens
    ) if config.generations else []
    curve = None
    if config.checkpoints:
        curve = _checkpoint_points(model, tokenizer, config, sets, Path(config.adapter), results, progress)
    from workbench.evaluation.repetition import flag_generations
    from workbench.evaluation.verdict import build_verdict
    from workbench.review.regression import regression_for_compare  # labelled errors re-scored (issue 12)

    regression = regression_for_compare(model, tokenizer, config.labels, workspace)
    repetition = flag_generations(generations)
    verdict = build_verdict(results, delta, documents, ((card or {}).get("config") or {}).get("forgetting_threshold_pct"),
                            repetition, leakage, regression=regression)
    comparison = {
        "kind": "comparison", "verdict": verdict,
        "base_model": config.model, "adapter": config.adapter, "quant": quant,
        "window": config.window, "stride": config.stride,
        "sets": {name: str(s.path) for name, s in sets.items()}, "text_unit": config.text_unit,
        "base": results["base"], "adapted": results["adapted"], "delta": delta,
        "terms": terms, "probes": probe_result, "generations": generations,
        "learning_curves": curve, "leakage": leakage, "warnings": notes, "repetition": repetition,
        "regression": regression,
        "training_curve": _training_curve(config.adapter, verdict, sets),
    }
    figures = {
        "perplexity": plots.perplexity_bars({k: v for k, v in results.items()}),
        "bits_per_byte": plots.perplexity_bars(results, "bits_per_byte"),
        "reliability": plots.reliability_diagram(
            {f"{label} {name}": results[label][name]["reliability"] for name in sets for label in results}
        ),
        "documents": plots.document_scatter(documents),
        **{f"tokens_{name}": plots.token_view(docs, title=f"{name}: per-token change") for name, docs in token_docs.items()},
    }
    if curve:
        figures["learning_curves"] = plots.learning_curves(curve)
    if comparison["training_curve"]:
        figures["training_curve"] = plots.curve_vs_final(comparison["training_curve"]["points"], verdict)
    return EvaluationResult("comparison", out, comparison, config, documents, figures, {"token_documents": token_html},
                            inputs={"domain_eval": sets["domain"].path, "general_eval": sets["general"].path,
                                    "probes": probes_path, "glossary": glossary_path,
                                    "adapter": adapter_dir(config.adapter)})


def _training_curve(adapter: str, verdict: dict, sets: dict) -> dict | None:
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
            "domain_eval_tokens", "general_eval_tokens")
    points = [{k: p.get(k) for k in keys} for p in points]
    card = run_card_for(adapter) or {}
    run_config = card.get("config") or {}
    from workbench.corpus.readers import resolve_eval_sets

    trained_on = resolve_eval_sets(run_config.get("data"), run_config.get("domain_eval"), run_config.get("general_eval"))
    same = all(Path(a).resolve() == Path(sets[name].path).resolve() for name, a in zip(("domain", "general"), trained_on))
    last = points[-1]
    return {
        "points": points,
        "same_sets": same,
        "last": {name: {"step": last["step"], "change_pct": last.get(f"{name}_change_pct"),
                        "sample_tokens": last.get(f"{name}_eval_tokens"),
                        "final_change_pct": (verdict.get(name) or {}).get("change_pct"),
                        "final_ci95_pct": (verdict.get(name) or {}).get("ci95_pct")}
                 for name in ("domain", "general")},
    }


def _token_documents(tokenizer, eval_set: EvalSet, rows: list[dict], base: CorpusScore, adapted: CorpusScore,
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
        "title": f"{eval_set.name} {eval_set.ids[i]}: {what} #{rank} ({rows[i]['delta_nll']:+.3f} nats/token)",
        "tokens": document_tokens(tokenizer, eval_set.texts[i], base.documents[i].nll, adapted.documents[i].nll),
    } for i, what, rank in picks]


# ------------------------------------------------------------------------------------------
# checkpoints


def _checkpoint_points(model, tokenizer, config, sets, run_dir: Path, base_results: dict, progress: bool) -> list[dict]:
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise WorkbenchError(
            f"{run_dir} has no checkpoints/checkpoint-N folders with an adapter.",
            "pass a run folder trained with evaluation/checkpoints enabled (eval_every > 0), or drop --checkpoints.",
        )
    def point(step, label, results):
        row = {"step": step, "label": label}
        for name in sets:
            row[f"{name}_ppl"] = results[name]["token_ppl"]
            row[f"{name}_ppl_ci95"] = results[name]["token_ppl_ci95"]
        return row

    points = [point(0, "base", base_results["base"])]
    active = model.active_adapter
    for step, path in checkpoints:
        name = f"step-{step}"
        model.load_adapter(str(path), adapter_name=name)
        model.set_adapter(name)
        results = {s: summarize(_score(model, tokenizer, es, config, f"{name}/{s}", progress), config) for s, es in sets.items()}
        points.append(point(step, f"checkpoint-{step}", results))
        model.set_adapter(active)
        model.delete_adapter(name)
    return points


def compare_checkpoints(config: EvalConfig, progress: bool = True) -> list[dict]:
    """Domain and general perplexity (with intervals) of the base and of every checkpoint of a run.

    Returns:
        Points ``{step, label, domain_ppl, domain_ppl_ci95, general_ppl, general_ppl_ci95}``,
        step 0 being the base model.
    """
    from workbench.evaluation.adapted import load_with_adapter
    from workbench.models.load import resolve_model

    if not config.adapter:
        raise WorkbenchError("no run given.", "pass --adapted RUN (a run folder with checkpoints/).")
    card = run_card_for(config.adapter)
    if not config.model:
        config = replace(config, model=_run_model(config.adapter))
    resolved = resolve_model(config.model)
    check_base_matches(card, resolved, config.adapter)
    checkpoints = list_checkpoints(config.adapter)
    if not checkpoints:
        raise WorkbenchError(f"{config.adapter} has no checkpoints with an adapter.", "pass a run folder with checkpoints/.")
    model, tokenizer = load_with_adapter(resolved, checkpoints[-1][1], quant=_resolve_quant(config, card), device=config.device,
                                        dequantize=config.dequantize_scoring)
    domain, general = _default_sets(config, card)
    sets = {"domain": load_eval_set(domain, "domain", tokenizer, config.text_field, config.text_unit),
            "general": load_eval_set(general, "general", tokenizer, config.text_field, config.text_unit)}
    with model.disable_adapter():
        base = {name: summarize(_score(model, tokenizer, s, config, f"base/{name}", progress), config) for name, s in sets.items()}
    return _checkpoint_points(model, tokenizer, config, sets, Path(config.adapter), {"base": base}, progress)
