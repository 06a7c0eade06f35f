"""Background jobs: run inspect, curate, train, evaluate or compare as a detached process you can
follow, stop and resume from anywhere (the app after a reload, a notebook, the CLI).

``launch(kind, config, workspace)`` picks the artifact's final folder (the library's naming),
writes ``job.json`` (what to run) and ``status.json`` (``queued``) there at once, and starts
``python -m workbench.jobs.runner FOLDER`` in its own session with its output in ``log.txt``.
The runner runs the workflow of that kind (``workbench.workflows``), the same function the CLI
calls, and keeps ``status.json`` current. ``Job.stop()`` sends SIGTERM: the job ends ``stopped``
and leaves nothing marked complete (a training run keeps its checkpoints, ``Job.resume()``
continues it from the last one). Training jobs share one GPU: a second one waits, ``queued``,
until the first ends (a file lock in ``<workspace>/.jobs``).
"""

from workbench.jobs.job import JOB_FILE, KINDS, LOG_FILE, TERMINAL, Job, attach, config_class, find, launch, list_jobs

__all__ = [
    "Job", "launch", "attach", "list_jobs", "find", "config_class", "KINDS", "JOB_FILE", "LOG_FILE", "TERMINAL",
]
