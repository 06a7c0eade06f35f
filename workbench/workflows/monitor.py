"""Monitoring recipe: score an adapted run on a new batch of domain text against its own held-out split
and the base, and say whether the domain has moved (see :mod:`workbench.evaluation.drift`)."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.evaluation.config import EvalConfig
from workbench.workflows.evaluation import _run_workspace, _workspace
from workbench.workspace import Workspace

__all__ = ["monitor", "run_monitor"]


def run_monitor(config: EvalConfig, workspace: Workspace | str | os.PathLike | None = None, progress: bool = True,
                on_progress=None):
    """Monitor like :func:`monitor` without writing: the result (``result.data["verdict"]["moved"]``...) stays in
    memory until ``result.write()``."""
    from workbench.evaluation.monitor import run_monitor as score_batch  # heavy: torch, transformers

    ws = _workspace(workspace) or (_run_workspace(config.adapter) if config.adapter else None) or Workspace.at()
    return score_batch(config, ws.folder_for("monitors", config), progress=progress, on_progress=on_progress)


def monitor(config: EvalConfig, workspace: Workspace | str | os.PathLike | None = None, overwrite: bool = False,
            progress: bool = True, on_progress=None) -> Path:
    """Score the adapted run ``config.adapter`` (and its base) on the new batch ``config.data`` and on the run's
    held-out split; write ``monitor.json`` and ``report.html`` into ``<workspace>/monitors/monitor-RUN-BATCH``.

    Args:
        config: ``adapter`` the run, ``data`` the new batch, ``domain_eval`` the held-out split to compare with
            (default: the run's own), ``guardrails.time_field`` a date field of the batch for per-period numbers.
        workspace: where the monitor goes; default the run's own workspace.

    Returns:
        The folder holding ``monitor.json`` (``verdict.moved``, ``verdict.sentence``, the new terms).
    """
    from workbench.io import check_output_folder

    ws = _workspace(workspace) or (_run_workspace(config.adapter) if config.adapter else None) or Workspace.at()
    out = ws.folder_for("monitors", config)
    check_output_folder(out, overwrite)
    result = run_monitor(config, ws, progress=progress, on_progress=on_progress)
    return result.write(out, overwrite=overwrite)
