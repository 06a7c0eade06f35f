"""``workbench train``, ``plan``, ``presets`` and ``export``: thin calls into ``workflows.train`` and the training stage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from workbench.cli.options import WORKSPACE, ConfigOptions, given, workspace_at
from workbench.config import apply_overrides, load_yaml, parse_overrides
from workbench.models.registry import DEFAULT_MODEL
from workbench.training import config as train_config
from workbench.training import plan as plan_config

# options that set a config field: the help line from the table next to the dataclass, the default shown from the field
train_option = ConfigOptions(train_config.TrainConfig, train_config.OPTION_HELP,
                             notes=dict.fromkeys(train_config.preset_keys(), ", or the preset's"))
plan_option = ConfigOptions(plan_config.PlanConfig, plan_config.OPTION_HELP)


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
    order: Optional[str] = typer.Option(None, "--order", help="Data order: shuffled (the default), easy_to_hard "
                                        "(by --order-signal) or stages (listed under curriculum.stages in --config)."),
    order_signal: Optional[str] = typer.Option(None, "--order-signal", help="Difficulty signal of easy_to_hard: "
                                               "compression (the default), mtld or readability."),
    sharding: Optional[str] = train_option("sharding"),
    gpus: Optional[int] = typer.Option(None, "--gpus", min=1, help="GPUs to train on, one process each (torchrun); "
                                       "with --sharding fsdp the model is split over them. Default 1; with --resume, "
                                       "as many as the run started with."),
    glossary: Optional[str] = typer.Option(None, "--glossary", help="Glossary CSV or ontology (YAML, OBO) to learn "
                                           "from (knowledge.glossary; see 'workbench glossary')."),
    glossary_share: Optional[float] = typer.Option(None, "--glossary-share", help="Share of training blocks "
                                                   "rendered from the glossary (knowledge.text_share)."),
    resume: Optional[Path] = typer.Option(None, help="Resume this run folder from its last checkpoint."),
    from_run: Optional[Path] = typer.Option(None, "--from-run", help="Repeat an earlier run: start from its run.json config."),
    overwrite: bool = typer.Option(False, help="Replace an existing run folder."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override any key: --set lora.r=8 --set block_size=512."),
    allow_changed_data: bool = typer.Option(False, "--allow-changed-data", help="With --resume: go on although the training data changed (both hashes are recorded)."),
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """QLoRA continued pretraining on a snapshot or corpus file."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    ws = workspace_at(workspace)
    knowledge = {key: value for key, value in (("knowledge.glossary", glossary), ("knowledge.text_share", glossary_share))
                 if value is not None}
    if resume:
        # imported here, not at the top: the trainer loads numpy and the training stack
        from workbench.training.trainer import finished_run_note

        note = finished_run_note(resume)  # a finished run: say so, change nothing, exit 0
        # the settings given with --resume: the library applies those a resumed run can take and refuses the rest
        changes = {**given(preset=preset, name=name, model=model, data=data, out=out, max_tokens=max_tokens, replay=replay,
                           replay_ratio=replay_ratio, quant=quant, text_unit=text_unit, sharding=sharding), **knowledge,
                   **given(**curriculum_values(order, order_signal)),
                   **(load_yaml(config) if config else {}), **parse_overrides(set_)}
        run_dir = workflows.train_on_gpus(None, ws, gpus=gpus, resume=resume, changes=changes,
                                          allow_changed_data=allow_changed_data)
        if note:
            typer.echo(note)
            return
    else:
        cfg = workflows.train_config(
            model=model, preset=preset, overrides=set_, config_file=config, from_run=from_run, data=data, out=out,
            max_tokens=max_tokens, replay=replay, replay_ratio=replay_ratio, quant=quant, name=name,
            text_unit=text_unit, sharding=sharding, **knowledge, **curriculum_values(order, order_signal),
        )
        if workflows.needs_launcher(gpus, cfg):
            run_dir = workflows.train_on_gpus(cfg, ws, gpus=gpus, overwrite=overwrite)
        else:
            run_dir = workflows.train(cfg, ws, overwrite=overwrite)
    if int(os.environ.get("RANK", "0")) == 0:  # one line for a run of several processes
        typer.echo(f"run finished: {run_dir}")


PLAN_TOKENS = 50_000_000  # a budget worth planning a GPU for, not PlanConfig's 50,000 (a CPU demo's)


def curriculum_values(order: str | None, signal: str | None) -> dict:
    """``--order`` and ``--order-signal`` as the dotted settings they set (None where not given)."""
    return {"curriculum.order": order, "curriculum.signal": signal}


def plan(
    model: str = typer.Option(DEFAULT_MODEL, help="Model spec, a local folder, or a known config name (e.g. Llama-3.1-8B)."),
    gpu: Optional[str] = plan_option("gpu"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Training budget in tokens [default: "
                                             f"{PLAN_TOKENS:,}, or the --config file's]."),
    preset: Optional[str] = typer.Option(None, help="Take shapes, LoRA and budget from a training preset."),
    price: Optional[float] = plan_option("price_per_hour", "--price"),
    mfu: Optional[float] = plan_option("mfu"),
    gpus: Optional[int] = plan_option("gpus"),
    cpu_offload: Optional[bool] = plan_option("cpu_offload", "--cpu-offload/--no-cpu-offload"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="Override a PlanConfig key: --set micro_batch_size=2."),
    config_file: Optional[Path] = typer.Option(None, "--config", "-c", help="A training YAML (TrainConfig keys): "
                                               "its shapes and budget are planned, and its curriculum's stages shown."),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Accepted like every command's; plan reads and writes nothing there."),
) -> None:
    """Estimate peak memory, fit, wall time and cost of a run before launching it (and the phases of a staged one)."""
    from workbench import workflows  # here, not at the top: the workflows load every stage; --help needs none

    if max_tokens is None and not config_file:
        max_tokens = PLAN_TOKENS
    values = given(max_tokens=max_tokens, gpu=gpu, price_per_hour=price, mfu=mfu, gpus=gpus, cpu_offload=cpu_offload)
    preset_config = None
    if preset or config_file:
        preset_config = workflows.train_config(preset=preset, max_tokens=max_tokens, config_file=config_file,
                                               model=None if model == DEFAULT_MODEL else model)
        values["max_tokens"] = preset_config.max_tokens
        config = plan_config.PlanConfig.from_train_config(preset_config, **values)
        model = model if model != DEFAULT_MODEL else preset_config.model
    else:
        config = plan_config.PlanConfig(**values)
    if set_:
        config = apply_overrides(config, parse_overrides(set_))
    result = plan_config.estimate(model, config)
    typer.echo(plan_config.format_plan(result))
    if preset_config is not None and preset_config.curriculum.order != "shuffled":
        from workbench.training.curriculum import preview  # numpy: off the CLI's start

        typer.echo(preview(preset_config)["text"])
    if gpus or cpu_offload or not result.fits:  # per-GPU memory on 1, 2, 4 and 8 GPUs, with and without offload
        typer.echo("\nsharded with FSDP (workbench train --gpus N --sharding fsdp):")
        typer.echo(plan_config.format_shard_plans(plan_config.shard_plans(model, config)))
    if not result.fits:
        fix = plan_config.suggest(model, config)
        typer.echo("does not fit; closest configuration that fits: " + ", ".join(fix.changes))


def presets(
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Accepted like every command's; presets are shipped with workbench."),
) -> None:
    """List the shipped training presets."""
    for name in train_config.list_presets():
        first = (train_config.PRESETS / f"{name}.yaml").read_text().splitlines()[0].lstrip("# ")
        model = load_yaml(train_config.PRESETS / f"{name}.yaml").get("model")
        typer.echo(f"{name:<22} {model:<28} {first}")


def export(
    run: Path = typer.Argument(..., help="Run folder."),
    merge: bool = typer.Option(False, help="Merge the adapter into full-precision base weights."),
    out: Optional[Path] = typer.Option(None, help="Output folder (default RUN/export/adapter or RUN/export/merged)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
) -> None:
    """Write a run's adapter, or a merged model folder."""
    from workbench.training.export import export_run  # here, not at the top: it loads the training stage

    typer.echo(str(export_run(run, out=out, merge=merge, overwrite=overwrite)))
