"""Typed configs: dataclasses loaded from YAML, overridden by dotted keys, recorded resolved.

Every concern has one dataclass (``TrainConfig``, ``CorpusConfig``, ``EvalConfig``...). This
module holds the shared machinery: build a dataclass from a mapping (rejecting unknown keys
with the list of valid ones), apply ``a.b=value`` overrides, and turn it back into a dict.
"""

from __future__ import annotations

import dataclasses
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
