"""Evaluation recipes: one way to an ``EvalConfig``, a single-model evaluation, and the comparison of
base and adapted with the reviewers' regression set.

The regression set (the errors reviewers corrected) is review's; evaluation reads it only as a
file. :func:`compare` is where the two meet: the label store's corrections are exported to a
regression-set file in the workspace and the comparison re-scores it, from every face.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from workbench.config import apply_overrides, from_dict, load_yaml, parse_overrides
from workbench.errors import WorkbenchError
from workbench.evaluation.config import EvalConfig
from workbench.io import read_json
from workbench.workspace import Workspace

__all__ = ["eval_config", "evaluate", "compare", "with_regression_set", "quick", "QUICK_CHECK", "check_trained_snapshot",
           "base_scores_folder", "scoring_rates_path", "compare_estimate", "plan_comparison"]

QUICK_CHECK = {"generations": 3, "max_new_tokens": 16, "n_bootstrap": 200, "cloze_probes": 40}
"""Settings of a quick comparison (the default on a CPU, and small mode of the notebooks and tests): fewer
generations, resamples and cloze probes. What makes it quick is the sample of documents :func:`plan_comparison`
sizes to a few minutes (``eval_docs``); the window stays the full comparison's, so a quick check measures the
same thing on fewer documents, with the wider interval that follows."""


def _workspace(workspace: Workspace | str | os.PathLike | None) -> Workspace | None:
    if workspace is None or isinstance(workspace, Workspace):
        return workspace
    return Workspace.at(workspace)


def eval_config(
    config_file: str | os.PathLike | None = None,
    overrides: dict | list[str] | None = None,
    **values: Any,
) -> EvalConfig:
    """The settings of an evaluation or comparison: defaults < YAML file < values < dotted overrides.

    Built once from all of them, so an override of ``window`` still gets its default stride of
    half the window. ``values`` that are None count as not given.
    """
    data = load_yaml(config_file) if config_file else {}
    data.update({k: v for k, v in values.items() if v is not None})
    if isinstance(overrides, list):
        data.update(parse_overrides(overrides))
        return from_dict(EvalConfig, _nested(data))
    config = from_dict(EvalConfig, data)
    return apply_overrides(config, dict(overrides)) if overrides else config


def _nested(data: dict) -> dict:
    """Dotted keys (``guardrails.period``) as nested mappings, merged with the nested values already there."""
    out: dict = {}
    for key, value in data.items():
        *parents, last = str(key).split(".")
        target = out
        for part in parents:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        if isinstance(value, dict):
            target[last] = {**value, **(target.get(last) if isinstance(target.get(last), dict) else {})}
        else:
            target[last] = value
    return out


def with_regression_set(config: EvalConfig, workspace: Workspace | str | os.PathLike | None = None) -> EvalConfig:
    """``config`` with ``regression_set`` filled from its label store (``labels``; default the workspace's
    ``labels.db`` when it exists), exported now; unchanged when it names a regression set already."""
    from workbench.review.regression import with_regression_set as from_store

    return from_store(config, _workspace(workspace))


def evaluate(
    config: EvalConfig,
    workspace: Workspace | str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
) -> Path:
    """Perplexity, bits per byte and calibration of one model (optionally with an adapter).

    Returns:
        The folder holding ``evaluation.json`` and ``report.html``.
    """
    from workbench.evaluation.compare import evaluate as run_evaluate  # heavy: torch, transformers

    return run_evaluate(config, _workspace(workspace), progress=progress, overwrite=overwrite, on_progress=on_progress)


def compare(
    config: EvalConfig,
    workspace: Workspace | str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
    cache_base_scores: bool = True,
) -> Path:
    """Base against adapted, with the reviewers' regression set re-scored.

    Args:
        config: the comparison's settings (``adapter`` names the run; ``against`` another run of the same
            base to compare it with in place of the base model).
        workspace: where the comparison goes; default the run's own workspace.
        cache_base_scores: keep the base's per-document scores in the workspace
            (``.cache/base-scores``) and read them back when the same base scores the same sets again.

    Returns:
        The folder holding ``comparison.json``, the figures and ``report.html``.
    """
    from workbench.evaluation.compare import compare as run_compare  # heavy: torch, transformers
    from workbench.evaluation.scorecache import ScoreCache

    ws = _workspace(workspace)
    if ws is None and config.adapter:
        ws = _run_workspace(config.adapter)
    check_trained_snapshot(config)
    cache = ScoreCache(base_scores_folder(ws or Workspace.at())) if cache_base_scores else None
    folder = run_compare(with_regression_set(config, ws), ws, progress=progress, overwrite=overwrite,
                         on_progress=on_progress, score_cache=cache)
    try:
        _record_rate(config, ws or Workspace.at(), folder)
    except (OSError, ValueError, KeyError, WorkbenchError):  # a rate not kept costs the next estimate a timed forward
        pass
    return folder


def base_scores_folder(workspace: Workspace) -> Path:
    """Where a workspace keeps the base model's per-document scores between comparisons."""
    return workspace.root / ".cache" / "base-scores"


def scoring_rates_path(workspace: Workspace) -> Path:
    """Where a workspace keeps the scoring rates its comparisons measured (the estimates read them)."""
    return workspace.root / ".cache" / "scoring-rates.json"


def _record_rate(config: EvalConfig, workspace: Workspace, folder: Path) -> None:
    """Keep the rate the comparison in ``folder`` measured, for the next estimate on this machine."""
    from workbench.evaluation.adapted import resolve_quant, run_model
    from workbench.evaluation.estimate import ScoringRates, rate_from_timing, rate_key
    from workbench.models.load import default_device, resolve_model
    from workbench.runcard import now_iso
    from workbench.runs import run_card_for

    record = read_json(folder / "comparison.json")
    timing = (((record.get("card") or {}).get("runtime") or {}).get("timing")) or {}
    entry = rate_from_timing(timing)
    if entry is None:
        return
    resolved = resolve_model(config.model or run_model(config.adapter), fetch=False)
    device = str(config.device or default_device()).split(":")[0]
    key = rate_key(str(resolved.path), resolve_quant(config, run_card_for(config.adapter)), config.dequantize_scoring,
                   device, config.window, config.batch_size, config.temperature_scaling)
    ScoringRates(scoring_rates_path(workspace)).put(key, {**entry, "comparison": folder.name, "at": now_iso()})


def compare_estimate(config: EvalConfig, workspace: Workspace | str | os.PathLike | None = None,
                     measure: bool = True, rate: dict | None = None):
    """How long the comparison ``config`` will take on this machine (a
    :class:`~workbench.evaluation.estimate.ComparisonEstimate`): the tokens to score (base scores the
    workspace has cached cost nothing) at the rate an earlier comparison measured here, else a short timed
    forward now (``measure``; without it and without a known rate: None)."""
    from workbench.evaluation.estimate import ScoringRates, estimate_comparison
    from workbench.evaluation.scorecache import ScoreCache

    ws = _workspace(workspace) or (_run_workspace(config.adapter) if config.adapter else None) or Workspace.at()
    return estimate_comparison(config, ScoringRates(scoring_rates_path(ws)), ScoreCache(base_scores_folder(ws)),
                               rate=rate, measure=measure)


def plan_comparison(config: EvalConfig, workspace: Workspace | str | os.PathLike | None = None,
                    full: bool | None = None, budget_s: float | None = None):
    """The comparison to launch and its time estimate: ``(config, estimate)``.

    A full comparison scores every document. On a CPU (``full=None``) a comparison whose estimate passes
    ``budget_s`` (default about three minutes) becomes a quick check: the :data:`QUICK_CHECK` settings and
    a seeded sample of each set (``eval_docs``) sized to fit the budget. ``full=False`` asks for the quick
    check on any device. A config that sets ``eval_docs`` itself is kept as it is.
    """
    from workbench.evaluation.estimate import QUICK_BUDGET_S, quick_documents, rate_entry
    from workbench.models.load import default_device

    check_trained_snapshot(config)
    asked_quick = full is False  # the quick settings even when every document fits the budget
    if full is None:
        full = str(config.device or default_device()).split(":")[0] != "cpu"
    estimate = compare_estimate(config, workspace)
    budget = QUICK_BUDGET_S if budget_s is None else budget_s
    if full or config.eval_docs is not None or (estimate.seconds <= budget and not asked_quick):
        return config, estimate
    config = quick(config)
    estimate = compare_estimate(config, workspace, rate=rate_entry(estimate))
    n = quick_documents(estimate, config.seed, budget)
    if n is None:
        return config, estimate
    config = dataclasses.replace(config, eval_docs=n)
    return config, compare_estimate(config, workspace, rate=rate_entry(estimate))


def check_trained_snapshot(config: EvalConfig) -> None:
    """Refuse a comparison that would score the held-out split of a snapshot replaced since the run
    trained on it: the run's card records the sha256 of the snapshot's ``train.jsonl``, the snapshot's
    ``manifest.json`` (or the file itself) gives today's. Nothing to check when ``domain_eval`` is
    chosen for the comparison or was for the run, or the run trained on a plain file."""
    from workbench.io import sha256_file
    from workbench.runs import run_card_for

    if config.domain_eval or not config.adapter:
        return
    card = run_card_for(config.adapter) or {}
    run_config = card.get("config") or {}
    data = run_config.get("data")
    if run_config.get("domain_eval") or not data or not (Path(data) / "train.jsonl").is_file():
        return
    recorded = ((card.get("inputs") or {}).get("data") or {}).get("sha256")
    if not recorded:
        return
    snapshot = Path(data)
    try:
        current = read_json(snapshot / "manifest.json")["files"]["train.jsonl"]["sha256"]
    except Exception:  # noqa: BLE001 - no (readable) manifest: hash the file itself
        current = sha256_file(snapshot / "train.jsonl")
    if current != recorded:
        raise WorkbenchError(
            f"the run {config.adapter} trained on snapshot {snapshot} as it was then (train.jsonl sha256 "
            f"{recorded[:12]}), but the snapshot has been replaced since (sha256 {current[:12]}): its held-out "
            "split is not the run's.",
            "set {field} to the held-out file to score, or train a run on the snapshot as it is now.",
            field="domain_eval",
        )


def _run_workspace(adapter: str) -> Workspace | None:
    """The workspace a run folder lies in (``WORKSPACE/runs/RUN``), or None."""
    run = Path(adapter).expanduser().resolve()
    if run.parent.name == "runs" and (run / "run.json").exists():
        return Workspace(run.parent.parent)
    return None


def quick(config: EvalConfig) -> EvalConfig:
    """``config`` with the quick-check settings (:data:`QUICK_CHECK`) where it keeps the defaults."""
    defaults = EvalConfig()
    changes = {k: v for k, v in QUICK_CHECK.items() if getattr(config, k) == getattr(defaults, k)}
    if not changes:
        return config
    if "window" in changes and config.stride == defaults.stride:  # a stride derived from the window: derive it anew
        changes["stride"] = None
    return dataclasses.replace(config, **changes)
