"""The stages wired together: the one place where training meets evaluation.

Stages do not import each other (``tests/test_layering.py``). Training scores held-out text while
it trains (the forgetting monitor) with a scorer it *receives*
(:class:`workbench.training.heldout.Scorer`); which scorer that is gets decided here, once:
evaluation's sliding-window perplexity, so the live curves and the final comparison measure the
same thing. The CLI, the jobs runner (and so the app and the notebooks, which launch jobs) and
the quickstart train through :func:`train`.

Why a composition module rather than the alternatives: a default argument inside training would
make training import evaluation; a registry that evaluation fills when imported would make a run
evaluate or not depending on what happened to be imported first. A direct library call to
``workbench.training.trainer.train`` without a scorer still evaluates: it asks
:func:`default_scorer` here, the same function, so there is one default and one place to change it.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.training.config import TrainConfig
from workbench.training.heldout import Scorer
from workbench.workspace import Workspace


def default_scorer() -> Scorer:
    """The scorer training uses when none is given: :func:`workbench.evaluation.perplexity.score_documents`."""
    from workbench.evaluation.perplexity import score_documents

    return score_documents


def train(
    config: TrainConfig | None = None,
    workspace: Workspace | None = None,
    resume: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
    scorer: Scorer | None = None,
    changes: dict | None = None,
    allow_changed_data: bool = False,
) -> Path:
    """:func:`workbench.training.trainer.train` with its held-out scorer wired (default: :func:`default_scorer`).

    Same arguments and result: the run folder.
    """
    from workbench.training.trainer import train as train_run

    return train_run(config, workspace, resume=resume, overwrite=overwrite, progress=progress,
                     on_progress=on_progress, scorer=scorer if scorer is not None else default_scorer(),
                     changes=changes, allow_changed_data=allow_changed_data)
