"""``status.json``: one writer, one reader, for every long job (inspect, curate, train, compare).

A job keeps its folder's ``status.json`` current (queued, running with progress and ETA, stopping,
stopped, finished, failed with the error), with the writing process's pid and start time, so any
surface (a notebook, the app after a reload, the CLI) can follow it; :func:`read_status` turns a
job whose process is gone into ``failed`` ("process vanished").

A status names its process by pid *and* start time (a status without the start time names no
live process). Before anything is signalled, :func:`job_process` also checks the process works
on that folder: the job runner started for it (``python -m workbench.jobs.runner FOLDER``) or a
process holding the folder's run lock (a training run started from the CLI or a notebook). An
unreadable ``status.json`` reads ``failed`` with
``unreadable`` set; :func:`workbench.artifacts.read_manifest` then lets a complete artifact's own
files decide.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any, Literal

from workbench.io import read_json, write_json
from workbench.runcard import now_iso
from workbench.runlock import lock_path

State = Literal["queued", "running", "stopping", "stopped", "finished", "failed"]


ERROR_KEYS = ("error", "error_type", "traceback")
TERMINAL_STATES = ("stopped", "finished", "failed")
ACTIVE_STATES = ("queued", "running", "stopping")
STATES = ACTIVE_STATES + TERMINAL_STATES


def _process_started(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001 - gone, or not ours to read
        return None


RUNNER_MODULE = "workbench.jobs.runner"
"""The module a background job runs as (``python -m workbench.jobs.runner FOLDER``)."""
_UNREADABLE = object()


def _read(folder: Path) -> dict | None | object:
    """The parsed ``status.json``; None when there is none; ``_UNREADABLE`` when it is not a status."""
    path = folder / "status.json"
    if not path.exists():
        return None
    try:
        data = read_json(path)
    except Exception:  # noqa: BLE001 - replaced atomically, so only a foreign broken file lands here
        return _UNREADABLE
    if not isinstance(data, dict) or data.get("state") not in STATES:
        return _UNREADABLE
    return data


def recorded_status(folder: str | os.PathLike) -> dict | None:
    """``status.json`` as written (no check of its process); None when missing or unreadable."""
    data = _read(Path(folder))
    return data if isinstance(data, dict) else None



def write_status(folder: str | os.PathLike, state: State, **info: Any) -> None:
    """Keep ``status.json`` current: state, time, the writing process (pid and its start time) and
    whatever progress fields the job has.

    Fields of the same attempt are merged (a progress update keeps the phase); a job that starts
    again after it stopped, failed or finished (``queued``/``running`` after a terminal state)
    starts a fresh status, so a resumed run never shows the old error. Error fields are kept only
    while the state stays the same. Once a stop is asked for (``stopping``), progress written before the
    job ends keeps the state ``stopping``; an ended job (stopped, finished, failed) keeps no ETA. Only
    rank 0 writes in data-parallel runs.
    """
    if int(os.environ.get("RANK", "0")) != 0:
        return
    folder = Path(folder)
    previous = recorded_status(folder) or {}
    if state == "stopping" and previous.get("state") in TERMINAL_STATES:
        return  # the job ended while a stop was being asked for: a stop request never reopens it
    if state in ("queued", "running") and previous.get("state") == "stopping":
        state = "stopping"  # a stop asked for stays asked for: progress until the job ends never reads running
    restarted = previous.get("state") in TERMINAL_STATES and state in ACTIVE_STATES
    if restarted:
        previous = {"attempt": int(previous.get("attempt", 1)) + 1}
    elif previous.get("state") != state:
        previous = {k: v for k, v in previous.items() if k not in ERROR_KEYS}
    pid = int(info.pop("pid", os.getpid()))
    status = {**previous, **info, "state": state, "updated": now_iso(), "pid": pid,
              "pid_started": _process_started(pid)}
    if state in TERMINAL_STATES:  # nothing is left to wait for: no time left on an ended job
        status.pop("eta_s", None)
        if isinstance(status.get("progress"), dict):
            status["progress"] = {k: v for k, v in status["progress"].items() if k != "eta_s"}
    if restarted or "started" not in status:
        status["started"] = info.get("started") or now_iso()
    write_json(folder / "status.json", status)


def process_alive(pid: int | None, started: float | None) -> bool:
    """Is ``pid`` a live process, and the same one (its start time matches ``started``)? A pid without
    a start time cannot be told from a reused one: it is not taken as alive."""
    return _process(pid, started) is not None


def _process(pid: Any, started: Any):
    """The live ``psutil.Process`` of ``pid`` started at ``started`` (within a second), else None."""
    if not pid or started is None:
        return None
    try:
        import psutil

        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc if abs(proc.create_time() - float(started)) < 1.0 else None
    except Exception:  # noqa: BLE001 - NoSuchProcess, AccessDenied, a pid or time that is no number
        return None


def _same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def job_process(folder: str | os.PathLike, status: dict | None):
    """The live process working on ``folder`` that ``status`` names (pid and start time), or None.

    Only the job runner started for this folder, or a process holding the folder's run lock (a
    training run from the CLI or a notebook), counts: any other process, however its pid got into
    the file, is not the job's.
    """
    status = status or {}
    proc = _process(status.get("pid"), status.get("pid_started"))
    if proc is None:
        return None
    folder = Path(folder)
    try:
        cmdline = proc.cmdline()
        if RUNNER_MODULE in cmdline and cmdline.index(RUNNER_MODULE) > 0 and cmdline[cmdline.index(RUNNER_MODULE) - 1] == "-m":
            target = cmdline[cmdline.index(RUNNER_MODULE) + 1:]
            if len(target) == 1 and _same_path(Path(proc.cwd()) / target[0], folder):
                return proc
        lock = lock_path(folder)
        if lock.exists() and any(_same_path(f.path, lock) for f in proc.open_files()):
            return proc
    except Exception:  # noqa: BLE001 - it ended meanwhile, or it is not ours to read
        return None
    return None


def read_status(folder: str | os.PathLike) -> dict | None:
    """``status.json`` as every surface must see it: a queued/running/stopping job whose process is
    gone, or whose pid now belongs to another process, reads as ``failed`` ("process vanished"); an
    unreadable file reads ``failed`` with ``unreadable`` set (see :func:`workbench.artifacts.read_manifest`)."""
    folder = Path(folder)
    status = _read(folder)
    if status is None:
        return None
    if status is _UNREADABLE:
        return {"state": "failed", "unreadable": True, "vanished": True, "error_type": "UnreadableStatus",
                "error": f"{folder / 'status.json'} is unreadable (not a workbench status); no process is known "
                         "to be working on this folder"}
    if "progress" not in status and status.get("total_steps"):
        # training reports steps; every job reads the same progress fields (done, total, unit, ETA)
        status["progress"] = {"stage": status.get("phase") or "training", "done": status.get("step") or 0,
                              "total": status["total_steps"], "unit": "step", "message": "",
                              "eta_s": status.get("eta_s")}
    if status.get("state") in ACTIVE_STATES and not process_alive(status.get("pid"), status.get("pid_started")):
        status = {
            **status,
            "state": "failed",
            "vanished": True,
            "error": f"process vanished: pid {status.get('pid')} ended without reporting "
                     f"(last state {status.get('state')}, updated {status.get('updated')})",
            "error_type": "ProcessVanished",
        }
    return status


def status_fraction(status: dict) -> float:
    """How far a job is, 0..1, from what :func:`read_status` returns (training steps or stage progress);
    a finished job is 1."""
    if status.get("state") == "finished":
        return 1.0
    progress = status.get("progress") or {}
    done, total = progress.get("done"), progress.get("total")
    if not total and status.get("total_steps"):
        done, total = status.get("step"), status["total_steps"]
    return min(1.0, float(done or 0) / float(total)) if total else 0.0


def duration_text(seconds: float | None) -> str:
    """Seconds as a person reads them: ``45 s``, ``3 min 20 s``, ``2 h 5 min``; ``n/a`` for None."""
    if seconds is None:
        return "n/a"
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def eta_text(status: dict) -> str | None:
    """``about 3 min 20 s left`` for a running job that knows its remaining time; None otherwise (a queued,
    stopping or ended job has no time left to show)."""
    if status.get("state") != "running":
        return None
    eta = status.get("eta_s")
    if eta is None:
        eta = (status.get("progress") or {}).get("eta_s")
    return None if eta is None else f"about {duration_text(eta)} left"


def mark_failed(folder: str | os.PathLike, error: BaseException) -> None:
    write_status(
        folder,
        "failed",
        error=str(error) or type(error).__name__,
        error_type=type(error).__name__,
        traceback=traceback.format_exc(limit=8),
    )
