"""Figures of workspace artifacts, for every surface: one registry from an artifact kind to the figure
builders of its stage.

Why here: the workspace (:mod:`workbench.workspace`) is the plain-file layer *below* the stages. It
reads folders, records and metrics and knows nothing of plotting or of any stage. Drawing an artifact
needs the stage's pure builders (``corpus/plots.py``, ``training/plots.py``), so the mapping "kind ->
builders" sits above the stages, where they are put together: the app, the notebooks and the CLI call
:func:`figures_of` with a handle or a folder.

A kind whose stage saves its figures (comparisons, evaluations: ``figures/*.json``) needs no builder.
Another surface or a plugin adds a kind with :func:`register`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from workbench.workspace import Artifact

if TYPE_CHECKING:
    import plotly.graph_objects as go

FigureBuilder = Callable[[Artifact], "dict[str, go.Figure]"]
_BUILDERS: dict[str, FigureBuilder] = {}


def register(kind: str, builder: FigureBuilder | None = None):
    """Make ``builder(artifact) -> {name: figure}`` draw artifacts of ``kind`` (a decorator without ``builder``)."""
    def add(function: FigureBuilder) -> FigureBuilder:
        _BUILDERS[kind] = function
        return function

    return add(builder) if builder is not None else add


def builder_for(kind: str) -> FigureBuilder | None:
    """The registered builder of ``kind``, None when it only has saved figures."""
    return _BUILDERS.get(kind)


def saved_figures(folder: str | os.PathLike) -> dict[str, go.Figure]:
    """The figures a stage saved in ``folder/figures/*.json`` (comparisons, evaluations), by file stem."""
    import plotly.io as pio

    return {path.stem: pio.from_json(path.read_text(encoding="utf-8"))
            for path in sorted((Path(folder) / "figures").glob("*.json"))}


def figures_of(artifact: Artifact | str | os.PathLike) -> dict[str, go.Figure]:
    """Every figure of an artifact (a handle or its folder): the saved ones, then those its kind's
    builder draws from the artifact's data (a profile's, a snapshot's funnel, a run's curves)."""
    artifact = artifact if isinstance(artifact, Artifact) else Artifact(artifact)
    figures = saved_figures(artifact.folder)
    builder = builder_for(artifact.manifest().kind)
    if builder is not None:
        figures.update(builder(artifact))
    return figures


@register("corpus")
def corpus_figures(artifact: Artifact) -> dict[str, go.Figure]:
    """A profile's figures (the report's sections), from ``profile.json``."""
    from workbench.corpus.plots import all_figures

    profile = artifact.record()
    return all_figures(profile) if profile else {}


@register("snapshot")
def snapshot_figures(artifact: Artifact) -> dict[str, go.Figure]:
    """A snapshot's removal funnel, from ``manifest.json`` (as :meth:`CurationResult.figures` draws it)."""
    from workbench.corpus.plots import snapshot_figures as from_manifest

    manifest = artifact.record()
    return from_manifest(manifest) if manifest else {}


@register("run")
def run_figures(artifact: Artifact) -> dict[str, go.Figure]:
    """A run's training and perplexity curves, from ``metrics.jsonl`` (empty before the first row)."""
    from workbench.training.plots import training_figures

    rows, _ = artifact.metrics()
    return training_figures(rows)
