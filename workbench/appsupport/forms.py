"""The app's config forms: one input per config field, labelled from the field's docstring; the
form's values back to the stage's config through the library's one way to it; and the labels a
library error about a field is worded with (``WorkbenchError.one_line(words)``).

Each ``*_config_from_form`` function is what a page's button launches, callable without Streamlit:
it keeps every path under the file roots and the model to what the app may load, then resolves the
config through :mod:`workbench.workflows` as the CLI and the notebooks do. The workflows (which load
every stage's config module) are imported when a form is resolved, so reading the app's settings
(``workbench --help``) stays light.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.appsupport.files import resolve_inside
from workbench.appsupport.models import check_model_spec
from workbench.config import apply_overrides, field_docs, field_label, flatten
from workbench.errors import WorkbenchError
from workbench.workspace import check_name

if TYPE_CHECKING:
    from workbench.appsupport.server import AppSettings
    from workbench.corpus.config import CurateConfig
    from workbench.evaluation.config import EvalConfig
    from workbench.training.config import TrainConfig

__all__ = [
    "FieldSpec", "field_docs", "field_label", "config_fields", "form_overrides", "form_words", "config_diff",
    "TRAIN_LABELS", "TRAIN_FORM_SKIP", "TRAIN_PATH_KEYS", "own_preset", "train_form", "train_words",
    "train_config_from_form", "CURATE_LABELS", "CURATE_FORM_SKIP", "curate_words", "curate_config_from_form",
    "COMPARE_LABELS", "compare_words", "compare_config_from_form", "REVIEW_LABELS",
]




@dataclass(frozen=True)
class FieldSpec:
    """One config key as a form shows it."""

    key: str
    """Dotted key (``lora.r``)."""
    kind: str
    """bool, int, float, str, choice, optional-str (empty means None) or list (comma-separated text;
    empty means None where the field allows it, else an empty list)."""
    default: object
    doc: str = ""
    choices: tuple = ()
    label: str = ""
    """What the form shows: the page's own word for the field, else :func:`field_label` of its doc."""


def config_fields(config: object, skip: tuple[str, ...] = (), labels: dict[str, str] | None = None) -> list[FieldSpec]:
    """The form fields of a config dataclass instance (nested dataclasses flattened to dotted keys),
    with the instance's values as defaults, the field docs, the choices of ``Literal`` fields, and
    their labels (``labels`` where given, else from the docs)."""
    labels = labels or {}
    import types
    import typing

    hints = typing.get_type_hints(type(config))
    docs = field_docs(type(config))
    specs: list[FieldSpec] = []
    for f in dataclasses.fields(config):
        if f.name in skip:
            continue
        value = getattr(config, f.name)
        tp = hints[f.name]
        if dataclasses.is_dataclass(value):
            inner = [s for s in config_fields(value) if f"{f.name}.{s.key}" not in skip]
            specs += [dataclasses.replace(s, key=f"{f.name}.{s.key}", label="") for s in inner]
            continue
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        optional = origin in (typing.Union, types.UnionType) and type(None) in args
        if optional:
            rest = [a for a in args if a is not type(None)]
            tp = rest[0] if len(rest) == 1 else str
            origin, args = typing.get_origin(tp), typing.get_args(tp)
        if isinstance(value, dict) or origin is dict or tp is dict:
            continue  # mappings are filled by the library (e.g. curation's drop decisions), not typed in
        if origin in (list, tuple):
            specs.append(FieldSpec(f.name, "list", ", ".join(map(str, value or [])), docs.get(f.name, ""),
                                   ("optional",) if optional else ()))
        elif origin is typing.Literal:
            specs.append(FieldSpec(f.name, "choice", value, docs.get(f.name, ""), tuple(args)))
        elif tp is bool:
            specs.append(FieldSpec(f.name, "bool", value, docs.get(f.name, "")))
        elif tp in (int, float) and not optional:
            specs.append(FieldSpec(f.name, tp.__name__, value, docs.get(f.name, "")))
        else:
            specs.append(FieldSpec(f.name, "optional-str" if optional else "str",
                                   "" if value is None else str(value), docs.get(f.name, "")))
    own = {f.name: f.metadata["label"] for f in dataclasses.fields(config) if f.metadata.get("label")}
    return [spec if spec.label else dataclasses.replace(
                spec, label=labels.get(spec.key) or own.get(spec.key) or field_label(spec.key, spec.doc))
            for spec in specs]


def form_overrides(specs: list[FieldSpec], values: dict) -> dict:
    """Dotted overrides of the form values that differ from the defaults (empty optional text -> None),
    ready for :func:`workbench.config.apply_overrides`."""
    overrides = {}
    for spec in specs:
        if spec.key not in values:
            continue
        value = values[spec.key]
        if spec.kind == "optional-str":
            value = (value or "").strip() or None
            default = spec.default or None
        elif spec.kind == "list":
            parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
            value = parts or (None if spec.choices == ("optional",) else [])
            default = ([p.strip() for p in str(spec.default).split(",") if p.strip()]
                       or (None if spec.choices == ("optional",) else []))
        else:
            default = spec.default
        if value != default:
            overrides[spec.key] = value
    return overrides


def form_words(config: object, labels: dict[str, str] | None = None) -> dict[str, str]:
    """``{dotted field: the label its form field shows}`` for every field of ``config``: the page's own
    ``labels`` where it words a field itself, else the label from the docstring. A page words a library
    error about a field with it: ``exc.one_line(form_words(config, labels))``."""
    return {spec.key: spec.label for spec in config_fields(config, labels=labels)} | dict(labels or {})


def config_diff(configs: dict[str, dict], ignore: tuple[str, ...] = ("out", "name")) -> list[dict]:
    """Rows of the config keys that differ between runs: ``{"key", <run>: value, ...}``."""
    flats = {name: flatten(cfg or {}) for name, cfg in configs.items()}
    keys = sorted({k for flat in flats.values() for k in flat} - set(ignore))
    missing = object()
    rows = []
    for key in keys:
        values = [flat.get(key, missing) for flat in flats.values()]
        if len({json.dumps(v, sort_keys=True, default=str) if v is not missing else "\x00" for v in values}) > 1:
            rows.append({"key": key, **{n: (None if v is missing else v) for n, v in zip(flats, values)}})
    return rows


# --- Train ------------------------------------------------------------------------------------

TRAIN_LABELS = {
    "model": "Model",
    "preset": "Preset",
    "data": "Training data (snapshot or corpus file)",
    "max_tokens": "Training budget (tokens)",
    "name": "Run name",
}
"""The Train page's own words for the fields it shows first; the others are labelled from their docs."""
TRAIN_FORM_SKIP = ("out", "model", "preset", "curriculum.stages")
"""Not form fields: the model and the preset are chosen first, the library names the run folder, and a
curriculum's stages are a table of their own (the Train page's curriculum section)."""
TRAIN_PATH_KEYS = ("data", "replay", "domain_eval", "general_eval", "new_tokens", "knowledge.glossary")
"""Fields that name input files: each must lie under the file roots ('sample' = the bundled text)."""


def train_words() -> dict[str, str]:
    """The Train form's label of every ``TrainConfig`` field (see :func:`form_words`)."""
    from workbench.training.config import TrainConfig

    return form_words(TrainConfig(), TRAIN_LABELS)


def own_preset(model: str) -> str:
    """The name of the preset made for ``model`` (``"none"`` when no shipped preset is)."""
    from workbench import workflows

    return workflows.train_config(model).preset


def train_form(settings: AppSettings, model: str, preset: str | None = None) -> tuple[TrainConfig, list[FieldSpec]]:
    """What the Train form shows for a model and a preset, before the user changes anything.

    Args:
        model: a registry name or a model folder under the allowed roots.
        preset: a shipped preset, ``"none"`` for the plain defaults, None for the model's own.

    Returns:
        The resolved settings (:func:`workbench.workflows.train_config`) and the form's fields,
        prefilled from them. A preset made for another model is the library's refusal.
    """
    from workbench import workflows

    config = workflows.train_config(check_model_spec(model, settings), preset)
    return config, config_fields(config, skip=TRAIN_FORM_SKIP, labels=TRAIN_LABELS)


def train_config_from_form(settings: AppSettings, model: str, preset: str | None, values: dict) -> TrainConfig:
    """The ``TrainConfig`` the Train form describes, resolved as ``workbench train`` resolves it.

    The model is checked (:func:`check_model_spec`); the fields the user changed from what
    :func:`train_form` showed become dotted overrides of ``workflows.train_config(model, preset)``;
    every input path is kept under the file roots, the run name made a folder name, and the run
    folder left to the library.

    Args:
        model: a registry name or a model folder under the allowed roots.
        preset: a shipped preset, ``"none"`` for the plain defaults, None for the model's own.
        values: ``{dotted field: value}`` as the form's widgets hold them.
    """
    from workbench import workflows

    if values.get("out"):
        raise WorkbenchError("the app does not take a {field}.", "give the run a name instead.", field="out")
    model = check_model_spec(model, settings)
    shown = workflows.train_config(model, preset)
    overrides = form_overrides(config_fields(shown, skip=TRAIN_FORM_SKIP), values)
    if values.get("curriculum.stages"):  # rows of the stages table, as YAML lists them
        overrides["curriculum.stages"] = list(values["curriculum.stages"])
    roots = settings.file_roots()
    for key in TRAIN_PATH_KEYS:
        value = overrides.get(key, functools.reduce(getattr, key.split("."), shown))  # dotted: knowledge.glossary
        if value and value != "sample":
            checked = str(resolve_inside(value, roots, field=key))
            if checked != value:
                overrides[key] = checked
    if overrides.get("name"):  # the one name rule: a name it would change is refused, the slug offered
        overrides["name"] = check_name("runs", str(overrides["name"]).strip(), field="name")
    return workflows.train_config(model, preset, overrides=overrides)


# --- Curate -----------------------------------------------------------------------------------

CURATE_LABELS = {"paths": "Corpus files", "model": "Tokenizer of the model you will train"}
"""The Corpus page's own words for the fields it shows apart from the curation form."""
CURATE_FORM_SKIP = ("paths", "drop_documents", "drop_list", "eval_paths", "model", "synthetic", "synthetic_force")
"""Not form fields: the files and the tokenizer are chosen above the form; reviewers' drops come from
the label store; a synthetic set is audited in the page's own section."""


def curate_words() -> dict[str, str]:
    """The Corpus page's label of every ``CurateConfig`` field (see :func:`form_words`)."""
    from workbench.corpus.config import CurateConfig

    return form_words(CurateConfig(paths=["corpus"]), CURATE_LABELS)


def curate_config_from_form(settings: AppSettings, paths: list[str], model: str, values: dict) -> CurateConfig:
    """The ``CurateConfig`` the curation form describes: the chosen files (kept under the file roots),
    the fields changed from the defaults, and the tokenizer that counts the snapshot (checked as a
    model the app may load). Reviewers' drops are not in it: ``jobs.launch("curate", ..., labels=...)``
    applies the label store's."""
    from workbench.corpus.config import CurateConfig

    roots = settings.file_roots()
    base = CurateConfig(paths=[str(resolve_inside(path, roots, field="paths")) for path in paths])
    config = apply_overrides(base, form_overrides(config_fields(base, skip=CURATE_FORM_SKIP), values))
    return dataclasses.replace(config, model=check_model_spec(model, settings))


# --- Compare ----------------------------------------------------------------------------------

COMPARE_LABELS = {
    "adapter": "Adapter",
    "model": "Base model",
    "domain_eval": "Domain held-out text",
    "general_eval": "General held-out text (forgetting)",
    "generations": "Generations",
    "window": "Window (tokens)",
}
"""The Compare page's words for the fields it shows."""


def compare_words() -> dict[str, str]:
    """The Compare page's label of every ``EvalConfig`` field (see :func:`form_words`)."""
    from workbench.evaluation.config import EvalConfig

    return form_words(EvalConfig(), COMPARE_LABELS)


def compare_config_from_form(settings: AppSettings, adapter: str, model: str | None, domain_eval: str,
                             general_eval: str, **values) -> EvalConfig:
    """The ``EvalConfig`` of a comparison the Compare form describes, through ``workflows.eval_config``.

    Args:
        adapter: the run (or one of its checkpoints) under the workspace.
        model: the base model (checked as one the app may load); empty: the run's own.
        domain_eval: held-out domain text under the file roots.
        general_eval: held-out general text under the file roots.
        **values: other ``EvalConfig`` fields (``generations``, ``window``...).
    """
    from workbench import workflows

    roots = settings.file_roots()
    return workflows.eval_config(
        model=check_model_spec(model, settings) if model and str(model).strip() else None,
        adapter=str(resolve_inside(adapter, [settings.workspace_root], field="adapter")),
        domain_eval=str(resolve_inside(domain_eval, roots, field="domain_eval")),
        general_eval=str(resolve_inside(general_eval, roots, field="general_eval")),
        **values,
    )


# --- Review -----------------------------------------------------------------------------------

REVIEW_LABELS = {
    "verdict": "Verdict",
    "category": "Category",
    "severity": "Severity",
    "output": "Error in output",
    "span": "Wrong words",
}
"""The Review page's words for what a reviewer fills in (the fields of ``workflows.ErrorMark`` and the
verdict); a refused review names them so."""
