"""``workbench jobs``: list, logs, stop, resume (thin calls into ``workbench.jobs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench import jobs
from workbench.cli.options import WORKSPACE

JobArg = typer.Argument(..., help="Job name (its artifact folder name) or folder path.")


def _line(job) -> str:
    status = job.status()
    progress = status.get("progress") or {}
    where = ""
    if status.get("total_steps"):
        where = f"step {status.get('step', 0)}/{status['total_steps']}"
    elif progress.get("total"):
        where = f"{progress.get('stage')} {progress.get('done', 0):g}/{progress['total']:g} {progress.get('unit', '')}"
    eta = status.get("eta_s") or progress.get("eta_s")
    extra = f"  ETA {int(eta)}s" if eta and status["state"] == "running" else ""
    error = f"  {status.get('error')}" if status["state"] in ("failed", "stopped") and status.get("error") else ""
    gpus = f"  {job.gpus} GPUs" if job.kind == "train" and job.gpus > 1 else ""
    return f"{job.name:<28} {job.kind:<9} {status['state']:<9} {where}{extra}{gpus}{error}  {job.folder}"


def list_jobs(workspace: Optional[Path] = WORKSPACE) -> None:
    """Jobs of the workspace, newest first: name, kind, state, progress, folder."""
    found = jobs.list_jobs(workspace)
    if not found:
        typer.echo("no jobs yet")
    for job in found:
        typer.echo(_line(job))


def logs(
    job: str = JobArg,
    tail: Optional[int] = typer.Option(None, help="Only the last N lines."),
    workspace: Optional[Path] = WORKSPACE,
) -> None:
    """Print a job's log."""
    typer.echo(jobs.find(job, workspace).logs(tail=tail), nl=False)


def stop(job: str = JobArg, wait: bool = typer.Option(True, help="Wait until it has stopped."),
                 workspace: Optional[Path] = WORKSPACE) -> None:
    """Stop a job gracefully (training checkpoints first); resume it later with 'workbench jobs resume'."""
    handle = jobs.find(job, workspace)
    handle.stop()
    status = handle.wait() if wait else handle.status()
    typer.echo(f"{handle.name}: {status['state']}")


def resume(job: str = JobArg, workspace: Optional[Path] = WORKSPACE) -> None:
    """Start a stopped or failed job again (training continues from its last checkpoint)."""
    handle = jobs.find(job, workspace).resume()
    typer.echo(f"{handle.name}: {handle.status()['state']}  (follow: workbench jobs logs {handle.folder})")

