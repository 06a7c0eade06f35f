"""Labelled errors as a regression set that every new comparison re-scores.

The review stage hands the set to evaluation as a plain file: :func:`export_regression_set` writes the
store's corrected errors as JSONL (the format :mod:`workbench.evaluation.regression` reads and scores),
and :func:`with_regression_set` does it for a comparison's ``labels`` (the CLI and background jobs call
it), so evaluation never opens a label store. Scoring (log-likelihoods of the erroneous and the
corrected output) is evaluation's job: ``workbench/evaluation/regression.py``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import write_jsonl
from workbench.review.config import default_db
from workbench.review.exchange import output_file
from workbench.review.export import corrections
from workbench.review.store import LabelStore

REGRESSION_SET_KIND = "workbench-regression-set"  # the header evaluation.regression reads
REGRESSION_SET_FORMAT = 1
EXPORT_NAME = "regression_set.jsonl"
CASE_KEYS = ("uid", "item_id", "annotator", "output", "prompt", "erroneous", "corrected", "categories", "severity",
             "model", "checkpoint", "doc_id")


def regression_cases(store) -> list[dict]:
    """``[{uid, item_id, prompt, erroneous, corrected, categories, severity, ...}]`` from the store's corrections
    (a correction that is not text, in a log written before the store refused them, is skipped with a warning)."""
    return [c for c in corrections(store) if c["corrected"] != c["erroneous"]]


def export_regression_set(store, path: str | os.PathLike) -> Path:
    """Write the store's regression set to ``path``: a header naming the store, then one case per line.

    A store without corrections gives a file of the header alone (a comparison then reports no regression set).
    """
    header = {"type": "header", "kind": REGRESSION_SET_KIND, "format": REGRESSION_SET_FORMAT, "source": store.safe_url}
    path = output_file(path)
    return write_jsonl(path, [header] + [{k: c.get(k) for k in CASE_KEYS} for c in regression_cases(store)])


def _resolve_labels(labels: str | os.PathLike | None, workspace=None) -> str | os.PathLike | None:
    """The store a comparison's ``labels`` names: None for 'none', the workspace's labels.db for None (when it
    exists), else the path or URL given (an error when a path does not exist)."""
    if labels is not None and str(labels).lower() == "none":
        return None
    if labels is None:
        path = default_db(workspace)
        return path if path.exists() else None
    if "://" not in str(labels) and not Path(labels).exists():
        raise WorkbenchError(f"label store {labels} does not exist.", "pass an existing labels.db (or a database URL).")
    return labels


def regression_set_for(labels: str | os.PathLike | None, workspace=None,
                       out: str | os.PathLike | None = None) -> Path | None:
    """Export the regression set of the store ``labels`` names (see ``EvalConfig.labels``) to ``out``
    (default ``<workspace>/exports/regression_set.jsonl``); None when there is no store to read."""
    store_path = _resolve_labels(labels, workspace)
    if store_path is None:
        return None
    if out is None:
        from workbench.workspace import Workspace

        ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
        out = ws.root / "exports" / EXPORT_NAME
    with LabelStore(store_path) as store:
        return export_regression_set(store, out)


def with_regression_set(config, workspace=None):
    """``config`` (an ``EvalConfig``) with ``regression_set`` filled from its ``labels`` store, exported now; unchanged
    when it already names a regression set or there is no store."""
    if getattr(config, "regression_set", None):
        return config
    path = regression_set_for(config.labels, workspace)
    return replace(config, regression_set=str(path)) if path else config


