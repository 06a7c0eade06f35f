"""Typed configs: dataclasses loaded from YAML, overridden by dotted keys, recorded resolved.

Every concern has one dataclass (``TrainConfig``, ``CorpusConfig``, ``EvalConfig``...). This
module holds the shared machinery: build a dataclass from a mapping (rejecting unknown keys
with the list of valid ones), apply ``a.b=value`` overrides, and turn it back into a dict.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from workbench.errors import WorkbenchError

T = TypeVar("T")


def to_dict(config: Any) -> dict:
    """A plain, JSON-ready dict of a (nested) config dataclass."""
    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, Path):
            return str(value)
        return value

    return convert(config)


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _nested_dataclass(tp: Any) -> type | None:
    if dataclasses.is_dataclass(tp):
        return tp
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg):
                return arg
    return None


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Coerce YAML/CLI scalars to the annotated type where it is unambiguous."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _coerce(value, non_none[0], key)
        return value
    if origin is typing.Literal:
        if value not in args:
            raise WorkbenchError(
                f"config key '{key}' is {value!r}; allowed values are {', '.join(map(repr, args))}.",
                "use one of the allowed values.",
            )
        return value
    try:
        if tp is bool and isinstance(value, str):
            lowered = value.lower()
            if lowered in {"true", "yes", "1", "on"}:
                return True
            if lowered in {"false", "no", "0", "off"}:
                return False
            raise ValueError(value)
        if tp is int and not isinstance(value, bool):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) else int(value)
        if tp is float and not isinstance(value, bool):
            return float(value)
        if tp is str:
            return str(value)
    except (TypeError, ValueError):
        raise WorkbenchError(
            f"config key '{key}' must be of type {getattr(tp, '__name__', tp)}, got {value!r}.",
            f"give '{key}' a value of that type.",
        ) from None
    if origin in (list, tuple) and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def from_dict(cls: type[T], data: dict | None, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping; unknown keys are an error naming the valid ones."""
    data = dict(data or {})
    hints = _field_types(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise WorkbenchError(
            f"unknown config key '{prefix}{unknown[0]}' for {cls.__name__}.",
            f"valid keys are: {', '.join(sorted(names))}.",
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        nested = _nested_dataclass(hints[f.name])
        if nested is not None and isinstance(value, dict):
            kwargs[f.name] = from_dict(nested, value, prefix=f"{prefix}{f.name}.")
        else:
            kwargs[f.name] = _coerce(value, hints[f.name], prefix + f.name)
    return cls(**kwargs)


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """Parse ``["lora.r=8", "learning_rate=1e-4"]`` into a flat {dotted_key: value} dict."""
    result: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise WorkbenchError(f"override '{item}' has no '='.", "write overrides as key=value, e.g. lora.r=8.")
        key, raw = item.split("=", 1)
        result[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    return result


def apply_overrides(config: T, overrides: dict[str, Any]) -> T:
    """Return a copy of ``config`` with dotted-key overrides applied (validated like YAML)."""
    data = to_dict(config)
    for dotted, value in overrides.items():
        target = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                raise WorkbenchError(
                    f"unknown config key '{dotted}' for {type(config).__name__}.",
                    f"valid top-level keys are: {', '.join(sorted(data))}.",
                )
            target = target[part]
        if parts[-1] not in target:
            raise WorkbenchError(
                f"unknown config key '{dotted}' for {type(config).__name__}.",
                f"valid keys here are: {', '.join(sorted(target))}.",
            )
        target[parts[-1]] = value
    return from_dict(type(config), data)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"config file {path} does not exist.", "check the path.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise WorkbenchError(f"{path} is not valid YAML: {exc}.", "fix the YAML syntax.") from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"{path} must hold a mapping of config keys.", "write key: value lines.")
    return data


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None, **values) -> T:
    """Defaults < YAML file < keyword values < dotted CLI overrides."""
    data = load_yaml(path) if path else {}
    data.update({k: v for k, v in values.items() if v is not None})
    config = from_dict(cls, data)
    return apply_overrides(config, parse_overrides(overrides)) if overrides else config


def flatten(data: dict, prefix: str = "") -> dict:
    """``{"lora": {"r": 8}}`` as ``{"lora.r": 8}``: the dotted keys of ``--set`` (dotted keys stay as they are)."""
    flat: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# --- how a face words a field: its label and help, from the docstring under it -----------------

def field_docs(cls: type) -> dict[str, str]:
    """The one-line docstrings written under each field of a config dataclass (its help text)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


_ASIDE = re.compile(r"\s*\([^()]*\)")
_SCOPE = re.compile(r"^[a-z]+: ")  # "compare: also score...": the command a field is for
_CLAUSE_END = re.compile(r"(?:;|: |\.\s|\.$)")
MAX_LABEL = 60


def key_words(key: str) -> str:
    """A dotted key in words, for a field whose doc has no short clause: ``upcast_unquantized`` ->
    ``Upcast unquantized``, ``dedup.threshold`` -> ``Dedup threshold``."""
    parts = key.split(".")
    text = " ".join(parts[-2:] if len(parts) > 1 and parts[-1] in ("threshold", "r", "alpha", "dropout") else parts[-1:])
    text = text.replace("_", " ").replace("pct", "(%)").strip()
    return text[:1].upper() + text[1:]


def field_label(key: str, doc: str) -> str:
    """A form label from a field's docstring: its first clause without asides in parentheses
    ("Training budget in tokens" for ``max_tokens``); when the doc has no short clause, the key in words
    (:func:`key_words`), never the raw key."""
    text = _SCOPE.sub("", doc.replace("`", ""))
    while _ASIDE.search(text):
        text = _ASIDE.sub("", text)
    text = _CLAUSE_END.split(text, maxsplit=1)[0].strip()
    if len(text) > MAX_LABEL:
        text = text.split(", ")[0].strip()
        if len(text) < 16:  # "With NF4": a clause too short to say what the field is
            return key_words(key)
    if not 3 <= len(text) <= MAX_LABEL or not text[0].isalpha() or "{" in text:
        return key_words(key)
    return text[0].upper() + text[1:]


@dataclasses.dataclass(frozen=True)
class FieldText:
    """How a face words one config field."""

    label: str
    """Short: what a form shows beside the input."""
    help: str
    """The field's docstring: what a form shows on hover."""


def field_texts(config: Any, prefix: str = "") -> dict[str, FieldText]:
    """``{dotted key: FieldText}`` of every field of a config dataclass (or its class), nested ones
    included: the label from the field's ``metadata["label"]`` when it has one, else from its docstring
    (:func:`field_label`), and the docstring as help. The one place the faces take field words from."""
    cls = config if isinstance(config, type) else type(config)
    hints = _field_types(cls)
    docs = field_docs(cls)
    texts: dict[str, FieldText] = {}
    for f in dataclasses.fields(cls):
        nested = _nested_dataclass(hints[f.name])
        if nested is not None:
            texts.update(field_texts(nested, f"{prefix}{f.name}."))
            continue
        doc = docs.get(f.name, "")
        texts[prefix + f.name] = FieldText(f.metadata.get("label") or field_label(prefix + f.name, doc), doc)
    return texts
