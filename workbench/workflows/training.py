"""Training recipes: the one way to a ``TrainConfig``, and a run with its held-out scorer wired.

:func:`train_config` is how every face turns a user's choices (a model, a preset, a few settings)
into the settings a run trains with: the CLI's flags, the app's form, a notebook's widgets, the
quickstart and ``jobs.launch`` all go through it, so the same choice trains the same way
everywhere. The precedence, lowest first:

    plain defaults < run to repeat (``from_run``) < preset < YAML file < values < dotted overrides

Naming only a model starts from the preset made for it; ``preset="none"`` opts out; a preset made
for another model is refused, naming both.

:func:`train` is the one place training meets evaluation: it hands training evaluation's
sliding-window scorer, so the in-training curves and the final comparison measure the same thing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from workbench.config import apply_overrides, flatten, from_dict, load_yaml, parse_overrides, to_dict
from workbench.errors import WorkbenchError
from workbench.io import read_json
from workbench.models.registry import DEFAULT_MODEL
from workbench.training.config import NO_PRESET, PRESETS, TrainConfig, list_presets, preset_for_model
from workbench.workspace import Workspace

__all__ = ["train_config", "train", "preset_model", "is_resolved", "Overrides"]

Overrides = Mapping[str, Any] | list[str] | None
"""Dotted settings: ``{"lora.r": 8}`` or ``["lora.r=8"]`` (as ``--set`` gives them)."""


def preset_model(preset: str) -> str | None:
    """The model a shipped preset is made for (its ``model:`` key)."""
    path = PRESETS / f"{preset}.yaml"
    if not path.exists():
        raise WorkbenchError(f"unknown {{field}} '{preset}'.", f"use one of: {', '.join(list_presets())}, or 'none'.",
                             field="preset")
    return load_yaml(path).get("model")


def _same_model(a: str, b: str) -> bool:
    def norm(spec: str) -> str:
        return str(spec).strip().lower().rstrip("/")

    return norm(a) == norm(b) or norm(a).split("/")[-1] == norm(b).split("/")[-1]


def _explicit_fields(config: TrainConfig) -> dict[str, Any]:
    """The dotted settings of ``config`` that differ from the plain defaults (what its author chose)."""
    chosen = flatten(to_dict(config))
    defaults = flatten(to_dict(TrainConfig()))
    return {key: value for key, value in chosen.items() if defaults.get(key, object()) != value}


def is_resolved(config: TrainConfig) -> bool:
    """Whether ``config`` came through :func:`train_config` (its ``preset`` names one, or ``none``)."""
    return bool(config.preset)


def train_config(
    model: str | None = None,
    preset: str | None = None,
    overrides: Overrides = None,
    config_file: str | os.PathLike | None = None,
    from_run: str | os.PathLike | None = None,
    base: TrainConfig | None = None,
    **values: Any,
) -> TrainConfig:
    """The settings a run trains with, from a user's choices.

    Args:
        model: model spec (registry name, folder, .gguf, Hub id); default: the preset's model, else
            the default model.
        preset: a shipped preset (``workbench presets``); default: the one made for ``model``;
            ``"none"``: the plain defaults.
        overrides: dotted settings applied last (``{"lora.r": 8}`` or ``["lora.r=8"]``).
        config_file: a YAML file of ``TrainConfig`` keys.
        from_run: an earlier run folder whose settings to repeat (its name and folder are not taken).
        base: a ``TrainConfig`` built by hand: the settings it changed from the plain defaults count
            as ``values`` (so ``TrainConfig(model=..., data=...)`` still gets the model's preset).
        **values: ``TrainConfig`` keys (``data``, ``max_tokens``, ``name``...); None means not given.

    Returns:
        The resolved ``TrainConfig``; its ``preset`` records the preset used (``"none"`` for none).
    """
    given = {k: v for k, v in values.items() if v is not None}
    if base is not None:
        if preset is None and base.preset:
            preset = base.preset
        given = {**{k: v for k, v in _explicit_fields(base).items() if k != "preset"}, **given}
    nested = {k: given.pop(k) for k in [k for k in given if "." in k]}
    if model is not None:
        given["model"] = model
    file_values = load_yaml(config_file) if config_file else {}
    data: dict[str, Any] = {}
    apply_preset = True
    if from_run:
        card = Path(from_run) / "run.json"
        if not card.exists():
            raise WorkbenchError(f"{from_run} is not a run folder (no run.json).", "give {field} the folder of an earlier run.",
                                 field="from_run")
        repeated = read_json(card).get("config") or {}
        data.update({k: v for k, v in repeated.items() if k not in ("out", "name")})
        if preset is None:  # the repeated run's settings already hold its preset's
            preset, apply_preset = repeated.get("preset") or NO_PRESET, False
    chosen_model = given.get("model") or file_values.get("model")
    if preset is None:
        preset = preset_for_model(chosen_model or data.get("model") or DEFAULT_MODEL) or NO_PRESET
    if preset != NO_PRESET and apply_preset:
        made_for = preset_model(preset)
        if chosen_model and made_for and not _same_model(chosen_model, made_for):
            own = preset_for_model(chosen_model)
            raise WorkbenchError(
                f"{{field}} '{preset}' is made for {made_for}, not for {chosen_model}: its block size, batch and "
                "learning rate would not fit.",
                (f"set {{field}} to the preset made for {chosen_model} ('{own}') or " if own else "set {field} to ")
                + "'none' for the plain defaults, or choose the preset's own model.",
                field="preset",
            )
        data.update(load_yaml(PRESETS / f"{preset}.yaml"))
    data.update(file_values)
    data.update(given)
    data["preset"] = preset
    config = from_dict(TrainConfig, data)
    dotted = {**nested, **(parse_overrides(overrides) if isinstance(overrides, list) else dict(overrides or {}))}
    return apply_overrides(config, dotted) if dotted else config


def train(
    config: TrainConfig | None = None,
    workspace: Workspace | str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
    changes: dict | None = None,
    allow_changed_data: bool = False,
) -> Path:
    """Train a QLoRA adapter (or resume a run) with the held-out scorer wired in.

    Args:
        config: the settings; one not made by :func:`train_config` is resolved through it first
            (so a hand-built ``TrainConfig`` gets its model's preset under the settings it changed).
        workspace: where the run goes (default ``Workspace.at()``).
        resume: a run folder to continue from its last checkpoint (``config`` is then None).
        overwrite: replace an earlier run of the same name once this one finishes.
        progress: a progress bar on the terminal.
        on_progress: a listener of :class:`workbench.progress.ProgressEvent`.
        changes: with ``resume``, settings to change (``{field: value}``): those a resumed run can take
            apply and are recorded, any other is refused naming it.
        allow_changed_data: with ``resume``, go on although the training data changed (both hashes recorded).

    Returns:
        The run folder.
    """
    # heavy: the trainer imports torch, transformers and peft; the scorer evaluation's model code
    from workbench.evaluation.perplexity import score_documents
    from workbench.training.trainer import train as train_run

    ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
    if config is not None and not is_resolved(config):
        config = train_config(base=config)
    return train_run(config, ws, resume=resume, overwrite=overwrite, progress=progress, on_progress=on_progress,
                     scorer=score_documents, changes=changes, allow_changed_data=allow_changed_data)
