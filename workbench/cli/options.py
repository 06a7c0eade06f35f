"""Command-line options derived from the config dataclasses, so a flag's default cannot drift from the field's.

A command option that sets a config field is declared as ``options("window")`` where ``options`` is a
:class:`ConfigOptions` bound to the dataclass (``EvalConfig``) and to its table of help lines, kept
next to the dataclass. The option's own default stays ``None``: a flag the user did not give is left
out of the values the command passes on, so the precedence defaults < YAML (``--config``) < flags <
``--set`` holds (``workbench.config.load_config``). The default that ``--help`` shows is read from
the dataclass field when the command is defined, so changing the field changes the help.

The same tables word a library error for the command that raised it (:func:`error_line`): its
field becomes the flag that sets it.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any, Mapping, Optional

import typer

from workbench.samples import SAMPLE_DATA
from workbench.workspace import Workspace

_NO_DEFAULT = object()

WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default ./workspace or $WORKBENCH_WORKSPACE).")
"""Every command's ``--workspace``."""


@dataclasses.dataclass(frozen=True)
class ConfigField:
    """Which config field a command option sets (kept on the option so tests can check every one)."""

    cls: type
    name: str

    @property
    def default(self) -> Any:
        return field_default(self.cls, self.name)


def config_field(cls: type, name: str) -> dataclasses.Field:
    """The dataclass field ``cls.name``; a ``ValueError`` names the fields when there is none (a typo in code)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise ValueError(f"{cls.__name__} has no field '{name}'; its fields are: {', '.join(fields)}.")
    return fields[name]


def field_default(cls: type, name: str) -> Any:
    """The value a field takes when nothing sets it (``default`` or a fresh ``default_factory()``)."""
    f = config_field(cls, name)
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _NO_DEFAULT


def shown_default(value: Any) -> str | None:
    """How ``--help`` shows a field default, spelled as in YAML and ``--set``; None shows nothing
    (a field without a value of its own, such as ``stride``, describes its default in the help line)."""
    if value is _NO_DEFAULT or value is None or (isinstance(value, (list, tuple, dict)) and not value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, str):
        path = Path(value)
        if path.is_absolute() and path.parent == Path(SAMPLE_DATA):
            return f"the bundled {path.name}"  # an absolute path of this install says nothing to a reader
    return str(value)


class ConfigOptions:
    """Typer options for the fields of one config dataclass.

    Args:
        cls: the config dataclass (``TrainConfig``, ``EvalConfig``...).
        help_lines: ``{field name: help line}``, the table kept next to the dataclass; a command may
            pass its own ``help=`` where a field means something particular to it.
        notes: ``{field name: words}`` appended to that field's shown default (``train``: the fields
            a shipped preset sets, whose default then comes from the preset).
    """

    def __init__(self, cls: type, help_lines: Mapping[str, str], notes: Mapping[str, str] | None = None):
        for name in help_lines:
            config_field(cls, name)  # a stale key in the table fails at import, not silently
        self.cls = cls
        self.help_lines = dict(help_lines)
        self.notes = dict(notes or {})

    def __call__(self, name: str, *param_decls: str, help: str | None = None, **kwargs: Any):
        """``typer.Option(None, *param_decls, help=...)`` for field ``name``, showing the field's default."""
        config_field(self.cls, name)
        if help is None:
            if name not in self.help_lines:
                raise ValueError(f"no help line for {self.cls.__name__}.{name}: add one to its table or pass help=.")
            help = self.help_lines[name]
        default = shown_default(field_default(self.cls, name))
        if default is not None and name in self.notes:
            default = f"{default}{self.notes[name]}"
        option = typer.Option(None, *param_decls, help=help, show_default=default if default is not None else False,
                              **kwargs)
        option.config_field = ConfigField(self.cls, name)
        return option


def option_fields(callback) -> dict[str, ConfigField]:
    """``{parameter name: ConfigField}`` of a command function's config-backed options."""
    return {name: p.default.config_field for name, p in inspect.signature(callback).parameters.items()
            if isinstance(getattr(p.default, "config_field", None), ConfigField)}


def given(**values: Any) -> dict[str, Any]:
    """The values of the options the user gave (an option not given is None and is left out)."""
    return {k: v for k, v in values.items() if v is not None}


def workspace_at(path: Optional[Path]):
    """The workspace a command's ``--workspace`` names (default ./workspace or $WORKBENCH_WORKSPACE)."""
    return Workspace.at(path)


def flag_words(command) -> dict[str, str]:
    """``{setting: flag}`` of a command, for :meth:`WorkbenchError.one_line`: a config field is worded as the
    option that sets it (``max_tokens`` -> ``--max-tokens``; ``compare`` names ``model`` ``--base``), a parameter
    of the command by its own flag (``overwrite`` -> ``--overwrite``). A field without a flag keeps its name.

    Args:
        command: the click command that ran (its ``callback`` is the typer-wrapped command function).
    """
    words: dict[str, str] = {}  # parameter name, then config field name -> the command's flag
    for param in command.params:
        flags = [opt for opt in param.opts if opt.startswith("--")]
        if param.param_type_name == "option" and flags:
            words[param.name] = flags[0]
    for name, field in (option_fields(command.callback) if command.callback else {}).items():
        words[field.name] = words[name]  # a field's own flag wins over a parameter named like the field
    return words


def error_line(error, command) -> str:
    """A library error as one line in the command's words: its field as the command's flag; a field the fix
    asks to set but the command has no flag for gets the ``--set`` that sets it (``(--set lora.r=...)``)."""
    words = flag_words(command)
    line = error.one_line(words)
    field = error.field
    if field and field not in words and "--set" in words.values() and "{field}" in (error.fix or ""):
        line += f" (--set {field}=...)"
    return line
