"""Corpus recipes: inspect a corpus, and curate it into a snapshot with the reviewers' decisions.

Reviewers' keep/drop decisions reach curation one way, whichever face the user is in: the label
store's drop decisions are exported as a drop list file in the workspace (``exports/drop_list.jsonl``)
and the snapshot's config names that file, so the manifest records what was dropped and why.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from workbench.corpus.config import CorpusConfig, CurateConfig
from workbench.workspace import Workspace

__all__ = ["inspect", "curate", "with_drop_list"]


def _workspace(workspace: Workspace | str | os.PathLike | None) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)


def inspect(
    config: CorpusConfig,
    workspace: Workspace | str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    num_proc: int | None = None,
    progress: bool = True,
    on_progress=None,
) -> Path:
    """Profile a corpus in the model's tokenizer; write ``profile.json`` and ``report.html``.

    Args:
        config: what to read and how (``CorpusConfig``).
        workspace: where the profile goes: ``corpora/<first input's name>`` unless ``out`` is given.
        out: the profile folder.
        overwrite: replace an earlier profile made by workbench (only once the new one is complete).
        num_proc: worker processes (does not change the result).

    Returns:
        The profile folder.
    """
    from workbench.corpus.profile import profile_corpus  # heavy: tokenizers, datasets

    folder = Path(out) if out else _workspace(workspace).folder_for("corpora", config)
    profile_corpus(config, folder, num_proc=num_proc, progress=progress, overwrite=overwrite, on_progress=on_progress)
    return folder


def with_drop_list(config: CurateConfig, labels: str | os.PathLike | None,
                   workspace: Workspace | str | os.PathLike | None = None) -> CurateConfig:
    """``config`` with the drop decisions of the label store ``labels`` as its drop list.

    Args:
        labels: a label store (``labels.db`` path, a database URL, or ``"workspace"`` for the
            workspace's own); None leaves ``config`` as it is.
    """
    if not labels:
        return config
    from workbench.review.export import drop_list_for

    return dataclasses.replace(config, drop_list=str(drop_list_for(labels, _workspace(workspace))))


def curate(
    config: CurateConfig,
    workspace: Workspace | str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    num_proc: int | None = None,
    progress: bool = True,
    on_progress=None,
) -> Path:
    """Deduplicate, filter, redact and split a corpus into a snapshot, dropping what reviewers dropped.

    Args:
        config: the cleaning rules (``CurateConfig``).
        workspace: where the snapshot goes: ``snapshots/<first input's name>`` unless ``out`` is given.
        labels: a label store whose drop decisions apply (see :func:`with_drop_list`).
        out: the snapshot folder.
        overwrite: replace an earlier snapshot made by workbench (only once the new one is complete).

    Returns:
        The snapshot folder.
    """
    from workbench.corpus.curate import curate_corpus  # heavy: tokenizers, datasets

    ws = _workspace(workspace)
    config = with_drop_list(config, labels, ws)
    folder = Path(out) if out else ws.folder_for("snapshots", config)
    curate_corpus(config, folder, num_proc=num_proc, progress=progress, overwrite=overwrite, on_progress=on_progress)
    return folder
