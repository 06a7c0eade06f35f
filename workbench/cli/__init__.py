"""The ``workbench`` command: one table of commands, each a thin call into the library.

:data:`COMMANDS` maps every command and group to its function, in the order ``workbench --help``
lists them. The functions live beside their options in this package (``corpus``, ``training``,
``evaluation``, ``review``, ``jobs``, ``models``, ``notebooks``, ``quickstart``, ``webapp``); each fills a config
from its flags and calls one workflow (``workbench.workflows``) or a stage's reader. The heavy
libraries (torch, transformers, SQLAlchemy, plotly) load only when a command runs, so
``workbench --help`` stays fast.

:func:`main` turns what the user can fix into one line on stderr and exit code 2: a library error
(:class:`~workbench.errors.WorkbenchError`) names the setting by the flag the command offers for it
(``--max-tokens``; ``--set lora.r=...`` for a field without a flag of its own), a usage error names
the command whose ``--help`` to read.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable, Union

import typer
from typer.core import TyperCommand, TyperGroup

from workbench.cli import (
    corpus,
    evaluation,
    handoff,
    jobs,
    models,
    notebooks,
    quickstart,
    review,
    synthetic,
    training,
    webapp,
)
from workbench.cli.options import error_line
from workbench.errors import WorkbenchError
from workbench.stopping import Stopped, end_child_processes, graceful_stop

__all__ = [
    "app", "main", "COMMANDS", "Group", "build", "usage_error_line",
    "options", "corpus", "training", "evaluation", "review", "jobs", "models", "notebooks", "quickstart", "webapp",
    "handoff",
    "synthetic",
]


@dataclass(frozen=True)
class Group:
    """A command group (``workbench review ...``): its help line and its own table of commands."""

    help: str
    commands: dict[str, Callable]


COMMANDS: dict[str, Union[Callable, Group]] = {
    "inspect": corpus.inspect,
    "curate": corpus.curate,
    "evaluate": evaluation.evaluate,
    "compare": evaluation.compare,
    "quickstart": quickstart.quickstart,
    "train": training.train,
    "plan": training.plan,
    "presets": training.presets,
    "export": training.export,
    "export-config": handoff.export_config,
    "app": webapp.app,
    "notebooks": notebooks.notebooks,
    "models": Group("Provision and list models (offline).", {
        "fetch": models.fetch,
        "list": models.list_models,
    }),
    "jobs": Group("Background jobs: list, follow, stop and resume them.", {
        "list": jobs.list_jobs,
        "logs": jobs.logs,
        "stop": jobs.stop,
        "resume": jobs.resume,
    }),
    "review": Group("Expert review: items, labels in labels.db, agreement, export.", {
        "items": review.items,
        "queue": review.queue,
        "stats": review.stats,
        "agreement": review.agreement,
        "export": review.export,
        "import": review.import_labels,
    }),
    "synthetic": Group("Synthetic text: generate it, audit it against real text before curate mixes it.", {"audit": synthetic.audit, "generate": synthetic.generate}),
}
"""Every ``workbench`` command: ``{name: function}``, or ``{name: Group}`` for a group of subcommands."""


class _StopExit(BaseException):
    """Carries a SIGINT/SIGTERM stop past typer, which would turn it into a bare exit 130."""

    def __init__(self, stopped: KeyboardInterrupt):
        super().__init__(stopped)
        self.stopped = stopped


class _Commands(TyperGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise _StopExit(exc) from None


class _Command(TyperCommand):
    """A leaf command: a library error leaving it carries its line in the command's words (its flags)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            exc.cli_line = error_line(exc, self)  # printed by main(); the error itself stays the library's
            raise


def build(table: dict[str, Union[Callable, Group]], **settings) -> typer.Typer:
    """A Typer app with the commands of ``table`` (``settings``: the app's own, such as its help).

    A table of one command makes that command the program itself (typer's rule), not a group.
    """
    built = typer.Typer(cls=_Commands, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                        **settings)
    for name, entry in table.items():
        if isinstance(entry, Group):
            built.add_typer(build(entry.commands, help=entry.help), name=name)
        else:
            built.command(name, cls=_Command)(entry)
    return built


app = build(COMMANDS, help="Domain-adaptive pretraining workbench: inspect, curate, train (QLoRA), compare.")


def _click_exceptions():
    """The click exception classes typer raises (typer 0.2x vendors click as ``typer._click``)."""
    try:
        from typer._click import exceptions
    except ImportError:  # older typer on plain click
        from click import exceptions
    return exceptions


def usage_error_line(exc) -> str:
    """One line for a click usage error (unknown option, extra argument, bad value) and its fix."""
    command = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "workbench"
    message = " ".join(exc.format_message().split())
    return f"{message} ({command}). Fix: see '{command} --help' for its options and arguments."


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors (ours and click's usage errors) become one line on stderr and exit code 2."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        with graceful_stop():  # SIGTERM/SIGINT: every stage unwinds, says "stopped", exits 130/143
            app(args=argv, prog_name="workbench", standalone_mode=False)
    except WorkbenchError as exc:
        typer.echo(f"error: {getattr(exc, 'cli_line', None) or exc.one_line()}", err=True)
        sys.exit(2)
    except _StopExit as exc:
        _exit_stopped(exc.stopped)
    except KeyboardInterrupt as exc:
        _exit_stopped(exc)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        exceptions = _click_exceptions()
        if isinstance(exc, exceptions.NoArgsIsHelpError):  # bare `workbench` or `workbench models`: the help
            typer.echo(exc.format_message())
            sys.exit(0)
        if isinstance(exc, exceptions.UsageError):
            typer.echo(f"error: {usage_error_line(exc)}", err=True)
            sys.exit(2)
        if isinstance(exc, exceptions.ClickException):
            typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        raise


def _exit_stopped(exc: KeyboardInterrupt) -> None:
    """One line (training: the step and the resume command) and exit 128 + the signal (130, 143)."""
    stopped = exc if isinstance(exc, Stopped) else Stopped()
    end_child_processes()  # a worker pool caught mid-start would keep the exit waiting forever
    typer.echo(stopped.message, err=True)
    sys.exit(stopped.exit_code)
