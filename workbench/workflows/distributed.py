"""Training on several GPUs: the same run (config, data, run card, comparison) as ``train``, started as
one process per GPU (torchrun), data parallel or sharded with FSDP (``TrainConfig.sharding``).

:func:`train_on_gpus` is what ``workbench train --gpus N`` and a training job holding N GPUs call; one GPU
without sharding trains in this process, as :func:`workbench.workflows.train` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import yaml

from workbench.config import flatten, to_dict
from workbench.errors import WorkbenchError
from workbench.io import atomic_write_text, read_json
from workbench.status import read_status
from workbench.stopping import Stopped
from workbench.training.config import TrainConfig
from workbench.training.fsdp import is_sharded, launch_command
from workbench.workflows.training import is_resolved, train, train_config
from workbench.workspace import Workspace

LAUNCH_CONFIG = ".launch_config.yaml"  # hidden: the settings the processes read (the run card records them)

__all__ = ["train_on_gpus", "needs_launcher", "LAUNCH_CONFIG"]


def needs_launcher(gpus: int | None, config: TrainConfig | None) -> bool:
    """Whether a run is started as processes (more than one GPU, or sharded even on one); never inside one of
    them (torchrun and accelerate set LOCAL_RANK), which trains its share itself."""
    if "LOCAL_RANK" in os.environ:
        return False
    return (gpus or 1) > 1 or (config is not None and is_sharded(config.sharding))


def train_on_gpus(
    config: TrainConfig | None,
    workspace: Workspace | str | os.PathLike | None = None,
    gpus: int | None = None,
    resume: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_progress=None,
    changes: dict | None = None,
    allow_changed_data: bool = False,
) -> Path:
    """Train (or resume) a run as ``gpus`` processes, one per GPU. Returns the run folder.

    Args:
        config: the settings (resolved through :func:`workbench.workflows.train_config` when needed);
            None with ``resume`` (the run's own settings are used).
        gpus: processes to start (default 1; a resumed run: as many as it started with, which it needs).
        resume, overwrite, progress, on_progress, changes, allow_changed_data: as
            :func:`workbench.workflows.train` (``on_progress`` is used only when the run trains in this process).

    The processes write ``status.json``, ``metrics.jsonl`` and ``run.json`` from rank 0; their output goes to
    this process's stdout and stderr. A stop (SIGINT/SIGTERM) is passed to them: the run checkpoints and ends
    ``stopped``, and this function raises :class:`workbench.stopping.Stopped` as :func:`workbench.workflows.train` does.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
    if config is not None and not is_resolved(config):
        config = train_config(base=config)
    finished = False
    gpus = gpus if resume is not None else (gpus or 1)
    if resume is not None:
        from workbench.training.trainer import finished_run_note, load_run_config

        config = load_run_config(resume)
        started_with = int(read_json(Path(resume) / "run.json").get("processes") or 1)
        gpus = started_with if gpus is None else gpus
        if gpus != started_with:  # refused here, before any process starts (each would refuse it)
            raise WorkbenchError(
                f"run {resume} started as {started_with} process(es) and is resumed on {gpus} GPU(s).",
                f"resume it with {started_with} GPU(s) (its data order and checkpoint shards depend on that), "
                "or leave the GPU count out.",
                field="gpus",
            )
        finished = finished_run_note(resume) is not None  # nothing to train: answered in this process
    if finished or not needs_launcher(gpus, config):
        return train(None if resume is not None else config, ws, resume=resume, overwrite=overwrite,
                     progress=progress, on_progress=on_progress, changes=changes, allow_changed_data=allow_changed_data)
    if resume is not None:
        folder = Path(resume).absolute()
        args = ["--resume", str(folder), *(["--allow-changed-data"] if allow_changed_data else [])]
        for key, value in flatten(changes or {}).items():
            args += ["--set", f"{key}={value}"]
    else:
        from workbench.training.config import check_train_inputs
        from workbench.training.trainer import run_dir_for

        check_train_inputs(config)  # before any process starts: one error here, not one per rank
        folder = run_dir_for(config, ws).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        settings = {**to_dict(config), "out": str(folder)}  # a name made from the time must not differ per rank
        atomic_write_text(folder / LAUNCH_CONFIG, yaml.safe_dump(settings, sort_keys=False))
        args = ["--config", str(folder / LAUNCH_CONFIG), "--workspace", str(ws.root), *(["--overwrite"] if overwrite else [])]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    child = subprocess.Popen(launch_command(gpus, args), env=env)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGTERM)  # torchrun passes it to every rank: rank 0 checkpoints and records it
        child.wait()
        raise
    status = read_status(folder) or {}
    state = status.get("state")
    if state == "stopped":  # as train() ends a stopped run: the line saying where and how to resume
        raise Stopped(signal.SIGTERM, status.get("message") or f"stopped; resume with: workbench train --resume {folder}")
    if code != 0:
        raise WorkbenchError(
            f"training {folder} as {gpus} process(es) ended with exit code {code} ({state or 'no status'}).",
            "read the error above (or the job's log); fix it and resume the run, or start it again.",
        )
    return folder
