"""A job: an artifact folder with ``job.json`` (what to run), ``status.json`` and ``log.txt``; launching,
finding and attaching to one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import WorkbenchError
from workbench.io import read_json, write_json
from workbench.status import TERMINAL_STATES as TERMINAL
from workbench.status import job_process, mark_failed, read_status, recorded_status, write_status
from workbench.workspace import Workspace

JOB_FILE = "job.json"
LOG_FILE = "log.txt"
LAUNCH_LOCK = ".launch.lock"
# job kind -> (workspace folder, config class path)
KINDS: dict[str, tuple[str, str]] = {
    "inspect": ("corpora", "workbench.corpus.config:CorpusConfig"),
    "curate": ("snapshots", "workbench.corpus.config:CurateConfig"),
    "train": ("runs", "workbench.training.config:TrainConfig"),
    "compare": ("comparisons", "workbench.evaluation.config:EvalConfig"),
    "evaluate": ("comparisons", "workbench.evaluation.config:EvalConfig"),
}
_children: list[subprocess.Popen] = []  # reaped on every status read, so no zombie lingers
_ARTIFACT_KINDS = {"inspect": "corpus", "curate": "snapshot", "train": "run", "compare": "comparison",
                   "evaluate": "evaluation"}

__all__ = ["Job", "launch", "attach", "list_jobs", "find", "config_class", "KINDS", "JOB_FILE", "LOG_FILE", "TERMINAL"]


def config_class(kind: str) -> type:
    if kind not in KINDS:
        raise WorkbenchError(f"unknown job kind '{kind}'.", f"use one of: {', '.join(KINDS)}.")
    module, name = KINDS[kind][1].split(":")
    import importlib

    return getattr(importlib.import_module(module), name)


def _reap() -> None:
    for child in _children[:]:
        if child.poll() is not None:
            _children.remove(child)


@dataclass
class Job:
    """A job's folder (its artifact's final folder) and what it runs."""

    folder: Path
    kind: str
    workspace: Path | None = field(default=None, compare=False, repr=False)
    """The workspace the job was found in, when one was named (a CLI run's folder need not lie in it)."""

    @property
    def name(self) -> str:
        return self.folder.name

    def spec(self) -> dict:
        path = self.folder / JOB_FILE
        return read_json(path) if path.exists() else {"kind": self.kind}

    def status(self) -> dict:
        """The live status (a vanished process reads ``failed``). Without a readable ``status.json`` the
        folder's own files decide: a complete artifact reads ``finished``, anything else ``failed``."""
        _reap()
        status = read_status(self.folder)
        if status is not None and not status.get("unreadable"):
            return status
        from workbench.artifacts import read_manifest

        manifest = read_manifest(self.folder, _ARTIFACT_KINDS.get(self.kind))
        if manifest.state not in TERMINAL:  # no process is known to work here: it cannot be running
            manifest.state = "failed"
        error = None if manifest.state == "finished" else (
            (status or {}).get("error") or manifest.error or f"{self.folder / 'status.json'} is missing")
        return {**(status or {}), "state": manifest.state, "error": error, "derived": True}

    @property
    def state(self) -> str:
        return self.status()["state"]

    @property
    def gpus(self) -> int:
        """GPUs the job holds while it runs (one process each): a training job's ``gpus`` at launch, or the
        processes its run card records; 1 for the others."""
        spec = self.spec()
        if spec.get("gpus"):
            return int(spec["gpus"])
        card = self.folder / "run.json"
        if self.kind == "train" and card.exists():
            try:
                return int(read_json(card).get("processes") or 1)
            except (WorkbenchError, ValueError, TypeError, AttributeError):
                return 1
        return 1

    def logs(self, tail: int | None = None) -> str:
        """The job's output (``log.txt``); ``tail``: only the last lines."""
        path = self.folder / LOG_FILE
        if not path.exists():
            return ""
        text = path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    def stop(self) -> dict:
        """Ask the job to stop (SIGTERM). Training checkpoints where it can and ends ``stopped``;
        other stages end ``stopped`` with nothing marked complete. Returns the status after asking.

        Only the job's own process is signalled: the one ``status.json`` names by pid and start time,
        and only while it is this folder's job runner or holds the folder's run lock (a training run
        from the CLI or a notebook). When ``status.json`` says the job is active but names no such
        process, nothing is signalled: the status is marked ``failed`` and a :class:`WorkbenchError`
        says the job's process is gone.
        """
        raw = recorded_status(self.folder)
        if raw is None or raw["state"] in TERMINAL:
            return self.status()
        pid = raw.get("pid")
        proc = job_process(self.folder, raw)
        if proc is None:
            reason = _not_the_job(self.folder, raw)
            write_status(self.folder, "failed", error=f"process gone: {reason}", error_type="ProcessGone")
            raise WorkbenchError(f"the process of job {self.folder} is gone: {reason}; nothing was signalled.",
                                 "resume the job (workbench jobs resume), or launch it again.")
        write_status(self.folder, "stopping", pid=pid)
        try:
            proc.send_signal(signal.SIGTERM)  # psutil checks the pid still is this process first
        except Exception:  # noqa: BLE001 - psutil.NoSuchProcess: it ended between the look and the signal
            pass
        return self.status()

    def wait(self, timeout: float | None = None, poll: float = 0.2) -> dict:
        """Block until the job ends (stopped, finished or failed); returns its final status."""
        deadline = None if timeout is None else time.time() + timeout
        while True:
            status = self.status()
            if status["state"] in TERMINAL:
                return status
            if deadline is not None and time.time() > deadline:
                raise TimeoutError(f"job {self.folder} still {status['state']} after {timeout}s")
            time.sleep(poll)

    def resume(self, workspace: Workspace | str | os.PathLike | None = None) -> Job:
        """Start the job again in its own folder: a training run continues from its last checkpoint;
        other stages rebuild their artifact from the recorded config.

        Args:
            workspace: where a training run started from the CLI (no ``job.json``) takes its turn on
                the GPU, when its folder is not ``<workspace>/runs/<name>`` (``--out`` elsewhere);
                default: the workspace the job was found in, else ``Workspace.at()``. A launched
                job always uses the workspace recorded at launch.
        """
        with _launch_lock(self.folder):
            state = self.status()["state"]
            if state not in TERMINAL:
                raise WorkbenchError(f"job {self.folder} is {state}: it is resumed or running already.",
                                     "follow it (workbench jobs logs), stop it first (workbench jobs stop), or wait for it.")
            return self._restart(workspace)

    def _restart(self, workspace: Workspace | str | os.PathLike | None) -> Job:
        spec = self.spec()
        if self.kind == "train":
            from workbench.runs import latest_checkpoint

            resume = latest_checkpoint(self.folder) is not None
        else:
            resume = False
        if "config" not in spec:  # a run started from the CLI: its run card says how to repeat it
            if not (self.folder / "run.json").exists():
                raise WorkbenchError(f"{self.folder} has no {JOB_FILE} or run.json.", "launch it again instead.")
            card = read_json(self.folder / "run.json")
            spec = {"kind": "train", "config": card["config"], "gpus": int(card.get("processes") or 1),
                    "workspace": str(self._cli_workspace(workspace).root)}
        if "out" in spec["config"]:
            # the job's own folder, absolute: a run named by time, or an ``out`` relative to another
            # working directory, would otherwise be rebuilt somewhere else while this folder waits
            spec = {**spec, "config": {**spec["config"], "out": str(self.folder.resolve())}}
        spec = {**spec, "resume": resume, "overwrite": True}
        return _start(self.folder, spec, self.workspace)

    def _cli_workspace(self, workspace: Workspace | str | os.PathLike | None) -> Workspace:
        """The workspace of a run started by ``workbench train`` (which records none): the one named,
        else the one holding the folder (``<workspace>/runs/<name>``), else the default."""
        if workspace is not None or self.workspace is not None:
            return _workspace_of(workspace if workspace is not None else self.workspace)
        folder = self.folder.resolve()
        if folder.parent.name == "runs":
            return Workspace(folder.parents[1])
        return Workspace.at()


def _not_the_job(folder: Path, status: dict) -> str:
    """Why the process ``status`` names is not the job's (for the refusal to signal it)."""
    from workbench.status import process_alive

    pid = status.get("pid")
    if not pid:
        return "status.json names no process"
    if status.get("pid_started") is None:
        return f"status.json names pid {pid} without its start time, so it cannot be told from another process"
    if not process_alive(pid, status.get("pid_started")):
        return f"pid {pid} has ended (or is another process now)"
    return f"pid {pid} is not a workbench job of this folder"


@contextlib.contextmanager
def _launch_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's launch lock (a hidden ``.launch.lock`` in it, bookkeeping like a job's own
    files) while a job is checked and started, so two launches or resumes of one folder at once
    start one runner: the second waits, then sees the first one's job ``queued`` and refuses."""
    import fcntl

    folder = Path(folder).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LAUNCH_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _workspace_of(workspace: Workspace | str | os.PathLike | None) -> Workspace:
    if isinstance(workspace, Workspace):
        return workspace
    return Workspace.at(workspace)


def launch(kind: str, config: Any, workspace: Workspace | str | os.PathLike | None = None,
           overwrite: bool = False, num_proc: int | None = None, labels: str | None = None, gpus: int = 1) -> Job:
    """Start ``kind`` (inspect, curate, train, compare, evaluate) on ``config`` as a detached process.

    Args:
        config: the stage's config dataclass (``CorpusConfig``, ``CurateConfig``, ``TrainConfig``,
            ``EvalConfig``) or a dict of its keys. A ``TrainConfig`` not made by
            ``workflows.train_config`` is resolved through it (the model's preset under the settings given).
        workspace: where the artifact goes (default ``Workspace.at()``); ``config.out`` wins.
        overwrite: replace an existing artifact of the same name.
        num_proc: worker processes for the corpus stages.
        labels: ``curate``: a label store whose drop decisions apply (``"workspace"``: the workspace's own).
        gpus: ``train``: GPUs the run trains on, one process each (``TrainConfig.sharding`` says whether the
            model is sharded over them); the job holds them all while it runs.

    Returns:
        The :class:`Job`; its folder already holds ``status.json`` (``queued``) and ``job.json``.
    """
    from workbench.config import from_dict, to_dict
    from workbench.io import artifact_entries, check_output_folder

    cls = config_class(kind)
    if isinstance(config, dict):
        config = from_dict(cls, config)
    elif not isinstance(config, cls):
        raise WorkbenchError(f"a {kind} job takes a {cls.__name__}, got {type(config).__name__}.",
                             f"build the config with workbench's {cls.__name__}(...).")
    if kind == "train" and (isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1):
        raise WorkbenchError(f"{{field}} is {gpus!r}.", "use 1 or more GPUs.", field="gpus")
    if kind == "train":
        from workbench.workflows import is_resolved, train_config

        if not is_resolved(config):  # a partial config gets its model's preset, as every face does
            config = train_config(base=config)
    ws = _workspace_of(workspace)
    if kind == "compare" and not getattr(config, "adapter", None):
        raise WorkbenchError("no adapted model given.", "set adapter to a run folder.")
    folder = ws.folder_for(KINDS[kind][0], config).absolute()
    if not overwrite and artifact_entries(folder):  # replacing is a choice the user makes, never a default
        raise WorkbenchError(f"{folder} already exists.", "choose another name, or choose {field}: the one there "
                             "stays until the new one is complete.", field="overwrite")
    # before the job's own files land there: never a folder of the user's files, and writable
    check_output_folder(folder, overwrite, option="out",
                        exists_fix="choose another name/out, or launch with overwrite=True.")
    with _launch_lock(folder):
        status = read_status(folder)
        if status and status["state"] not in TERMINAL:
            raise WorkbenchError(f"a job is already {status['state']} in {folder}.", "stop it first, or wait for it.")
        folder.mkdir(parents=True, exist_ok=True)
        data = to_dict(config)
        if "out" in data:  # train and compare write where ``out`` says; the corpus stages get the folder
            data["out"] = str(folder)
        spec = {"kind": kind, "config": data, "workspace": str(ws.root), "overwrite": overwrite,
                "num_proc": num_proc, "labels": labels, "resume": False,
                **({"gpus": int(gpus)} if kind == "train" else {})}
        return _start(folder, spec, ws.root)


def _start(folder: Path, spec: dict, workspace: Path | None = None) -> Job:
    from workbench.runcard import now_iso

    spec = {**spec, "launched": now_iso()}
    folder = Path(folder).absolute()
    # queued from the first second; the launcher's pid until the runner reports with its own
    write_status(folder, "queued", kind=spec["kind"], phase="starting")
    write_json(folder / JOB_FILE, spec)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    try:
        with open(folder / LOG_FILE, "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "workbench.jobs.runner", str(folder)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
            )
    except OSError as exc:
        # never leave it 'queued' under the launcher's pid (an app server lives on: queued forever)
        mark_failed(folder, exc)
        raise WorkbenchError(f"could not start the {spec['kind']} job in {folder}: {exc}.",
                             "check free memory and process limits, then launch it again.") from None
    _children.append(child)
    current = read_status(folder) or {}
    if current.get("pid") == os.getpid() and current.get("state") == "queued":
        write_status(folder, "queued", pid=child.pid)  # the runner's pid: a crash before it reports reads failed
    return Job(folder, spec["kind"], workspace)


def attach(folder: str | os.PathLike) -> Job:
    """The job of an artifact folder (after a reload or a restart): launched ones and CLI runs."""
    folder = Path(folder).resolve()
    if (folder / JOB_FILE).exists():
        return Job(folder, read_json(folder / JOB_FILE)["kind"])
    if (folder / "status.json").exists() and (folder / "run.json").exists():
        return Job(folder, "train")
    raise WorkbenchError(f"{folder} is not a job folder (no {JOB_FILE}, no status.json).",
                         "pass an artifact folder started by 'workbench jobs' or 'workbench train'.")


def list_jobs(workspace: Workspace | str | os.PathLike | None = None) -> list[Job]:
    """Every job of the workspace (launched ones, and training runs started from the CLI), newest first."""
    ws = _workspace_of(workspace)
    found = []
    for kind in ("corpora", "snapshots", "runs", "comparisons"):
        for folder in ws.list(kind):
            if (folder / JOB_FILE).exists() or (kind == "runs" and (folder / "status.json").exists()):
                try:
                    job = attach(folder)
                except (WorkbenchError, OSError, ValueError):
                    continue
                job.workspace = ws.root
                found.append(job)
    return sorted(found, key=lambda j: (j.folder / "status.json").stat().st_mtime
                  if (j.folder / "status.json").exists() else 0, reverse=True)


def find(job: str, workspace: Workspace | str | os.PathLike | None = None) -> Job:
    """A job by folder path or by name (searched across the workspace's kinds)."""
    path = Path(job)
    if path.is_dir():
        found = attach(path)
        found.workspace = _workspace_of(workspace).root if workspace is not None else None
        return found
    jobs = list_jobs(workspace)
    matches = [j for j in jobs if j.name == job]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(sorted(j.name for j in jobs)) or "none yet"
    if matches:
        raise WorkbenchError(f"several jobs are named '{job}'.", "pass the folder path instead: "
                             + ", ".join(str(j.folder) for j in matches) + ".")
    raise WorkbenchError(f"no job named '{job}'.", f"use one of: {names} (or a folder path).")

