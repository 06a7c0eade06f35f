"""The process behind a job: ``python -m workbench.jobs.runner FOLDER`` runs what ``FOLDER/job.json``
says, keeping ``FOLDER/status.json`` current. Started by :func:`workbench.jobs.launch`."""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path

from workbench import workflows
from workbench.errors import WorkbenchError
from workbench.io import read_json
from workbench.jobs.job import config_class
from workbench.progress import ProgressEvent, StatusProgress, combine
from workbench.status import TERMINAL_STATES, job_process, mark_failed, recorded_status, write_status
from workbench.workspace import Workspace

TRAIN_LOCK = "train.lock"


class LogProgress:
    """Progress as plain lines in the job's log (at most one every ``every`` seconds per stage)."""

    def __init__(self, every: float = 5.0):
        self.every = every
        self._last: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        now = time.time()
        done = event.total is not None and event.done >= event.total
        if now - self._last.get(event.stage, 0.0) < self.every and not done:
            return
        self._last[event.stage] = now
        total = f"/{event.total:g}" if event.total is not None else ""
        print(f"[{time.strftime('%H:%M:%S')}] {event.stage}: {event.done:g}{total} {event.unit} {event.message}".rstrip(),
              flush=True)


_stop = {"requested": False}
STOP_MESSAGE = "stopped by the user (SIGTERM)"


def _stop_requested(signum, frame):  # noqa: ARG001 - signal handler signature
    _stop["requested"] = True
    raise KeyboardInterrupt(STOP_MESSAGE)


def _check_stop(event: ProgressEvent) -> None:  # noqa: ARG001 - a progress listener
    """Raise the stop again at the next progress event: Python drops an exception raised while the
    signal lands in a garbage-collector callback, so the handler's alone is not enough."""
    if _stop["requested"]:
        raise KeyboardInterrupt(STOP_MESSAGE)


def acquire_training_slot(workspace: Workspace, folder: Path, gpus: int = 1):
    """Wait (``queued``) until no other training job of the workspace holds the GPUs; returns the held lock.
    One training job runs at a time in a workspace, on the ``gpus`` GPUs it asked for (``train.holder`` says
    which run holds them, and how many)."""
    import fcntl

    lock_dir = workspace.root / ".jobs"
    lock_dir.mkdir(parents=True, exist_ok=True)
    handle = open(lock_dir / TRAIN_LOCK, "a+")
    announced = 0.0
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.time() - announced > 5:
                holder = (lock_dir / "train.holder").read_text().strip() if (lock_dir / "train.holder").exists() else "?"
                held = (lock_dir / "train.gpus").read_text().strip() if (lock_dir / "train.gpus").exists() else "1"
                write_status(folder, "queued", phase="waiting for the GPU", waiting_for=holder, held_gpus=int(held or 1))
                print(f"queued: waiting for the training job in {holder} to end", flush=True)
                announced = time.time()
            time.sleep(0.5)
    (lock_dir / "train.holder").write_text(str(folder))
    (lock_dir / "train.gpus").write_text(str(gpus))
    return handle


def run(folder: Path) -> int:
    from workbench.config import from_dict

    spec = read_json(folder / "job.json")
    kind = spec["kind"]
    workspace = Workspace(spec["workspace"])
    recorded = recorded_status(folder) or {}
    if recorded.get("state") in TERMINAL_STATES:  # stopped (or given up) before this process started
        print(f"the job in {folder} is {recorded['state']} already: not started", flush=True)
        return 0
    if recorded.get("pid") != os.getpid() and job_process(folder, recorded) is not None:
        print(f"another process (pid {recorded['pid']}) runs the job in {folder}: not started", flush=True)
        return 3
    write_status(folder, "queued", kind=kind, phase="starting")
    signal.signal(signal.SIGTERM, _stop_requested)
    print(f"[{time.strftime('%H:%M:%S')}] {kind} job in {folder} (pid {os.getpid()})", flush=True)
    log = LogProgress()
    try:
        config = from_dict(config_class(kind), spec["config"])
        live = combine(_check_stop, StatusProgress(folder), log)
        overwrite = bool(spec.get("overwrite"))
        if kind != "train":  # training runs once it holds the GPU
            write_status(folder, "running", phase="loading")
        if kind == "inspect":
            workflows.inspect(config, workspace, out=folder, num_proc=spec.get("num_proc"), progress=False,
                              overwrite=overwrite, on_progress=live)
        elif kind == "curate":
            workflows.curate(config, workspace, labels=spec.get("labels"), out=folder, num_proc=spec.get("num_proc"),
                             progress=False, overwrite=overwrite, on_progress=live)
        elif kind == "train":
            gpus = int(spec.get("gpus") or 1)
            lock = acquire_training_slot(workspace, folder, gpus)  # noqa: F841 - held until the process ends
            write_status(folder, "running", phase="loading", gpus=gpus)
            # one GPU trains in this process; more (or a sharded run) as one process per GPU
            workflows.train_on_gpus(None if spec.get("resume") else config, workspace, gpus=gpus,
                                    resume=folder if spec.get("resume") else None, overwrite=overwrite,
                                    progress=False, on_progress=combine(_check_stop, log))
        elif kind == "compare":
            workflows.compare(config, workspace, progress=False, overwrite=overwrite, on_progress=live)
        elif kind == "evaluate":
            workflows.evaluate(config, workspace, progress=False, overwrite=overwrite, on_progress=live)
        status = recorded_status(folder) or {}
        if status.get("state") != "stopped":  # training that stopped gracefully reports it itself
            write_status(folder, "finished", phase="done",
                         **({"progress": status["progress"]} if status.get("progress") else {}))
        print(f"[{time.strftime('%H:%M:%S')}] {status.get('state') if status.get('state') == 'stopped' else 'finished'}",
              flush=True)
        return 0
    except KeyboardInterrupt as exc:
        write_status(folder, "stopped", error=str(exc) or "stopped by the user", phase="stopped")
        print(f"[{time.strftime('%H:%M:%S')}] stopped", flush=True)
        return 143
    except WorkbenchError as exc:
        mark_failed(folder, exc)
        print(f"error: {exc.one_line()}", flush=True)
        return 2
    except BaseException as exc:  # noqa: BLE001 - recorded in status.json and the log
        mark_failed(folder, exc)
        traceback.print_exc()
        return 1


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m workbench.jobs.runner FOLDER", file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(run(Path(argv[0]).resolve()))


if __name__ == "__main__":
    main()
