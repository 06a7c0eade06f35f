"""How the app starts: its settings (handed to the Streamlit process in an environment variable)
and the ``streamlit run`` command line, bound to 127.0.0.1 unless told otherwise, with usage
statistics off and XSRF protection on."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.samples import SAMPLE_DATA

__all__ = ["AppSettings", "OPTION_HELP", "SETTINGS_ENV", "LOCAL_HOSTS", "APP_DIR", "host_warning",
           "streamlit_command", "app_environment", "run_app"]

SETTINGS_ENV = "WORKBENCH_APP_SETTINGS"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
APP_DIR = Path(__file__).resolve().parents[1] / "app"


@dataclass(frozen=True)
class AppSettings:
    """How ``workbench app`` was started; handed to the Streamlit process as JSON in an env var."""

    workspace: str = "workspace"
    """Workspace folder the app reads and writes."""
    data_dirs: tuple[str, ...] = ()
    """Extra folders whose corpus files the pickers may list (read only)."""
    model_dirs: tuple[str, ...] = ()
    """Extra folders holding local models the app may load (read only)."""
    max_upload_mb: int = 200
    """Largest upload accepted, in MB (also passed to Streamlit as server.maxUploadSize)."""
    host: str = "127.0.0.1"
    """Address the server binds to."""
    port: int = 8501
    """Port the server listens on."""
    refresh_seconds: float = 2.0
    """How often live views (training curves, job progress) poll for new rows."""

    def __post_init__(self) -> None:
        if self.max_upload_mb < 1:
            raise WorkbenchError(f"max_upload_mb is {self.max_upload_mb}.", "use at least 1 (MB).")
        if not 0 < self.port < 65536:
            raise WorkbenchError(f"port {self.port} is out of range.", "use a port between 1 and 65535, e.g. 8501.")
        if self.refresh_seconds < 0.5:
            raise WorkbenchError(f"refresh_seconds is {self.refresh_seconds}.", "use 0.5 seconds or more.")

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls, environ: dict | None = None) -> AppSettings:
        """Settings of the running app: the env var set by ``workbench app``, else defaults
        (workspace from ``$WORKBENCH_WORKSPACE``), so ``streamlit run workbench/app/Home.py`` also works."""
        environ = os.environ if environ is None else environ
        raw = environ.get(SETTINGS_ENV)
        if not raw:
            return cls(workspace=environ.get("WORKBENCH_WORKSPACE", "workspace"))
        data = json.loads(raw)
        for key in ("data_dirs", "model_dirs"):
            data[key] = tuple(data.get(key) or ())
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def workspace_root(self) -> Path:
        return Path(self.workspace).expanduser().resolve()

    def file_roots(self) -> list[Path]:
        """Folders the file pickers may list: the workspace first, then the data folders, then the
        bundled sample data (read only)."""
        extra = [Path(d).expanduser().resolve() for d in self.data_dirs]
        return _unique([self.workspace_root, *extra, SAMPLE_DATA.resolve()])

    def model_roots(self) -> list[Path]:
        """Folders local models may come from: the model cache, the file roots, the model folders."""
        from workbench.models.fetch import models_dir

        extra = [Path(d).expanduser().resolve() for d in self.model_dirs]
        return _unique([models_dir().expanduser().resolve(), *self.file_roots(), *extra])


OPTION_HELP = {
    # the ``workbench app --help`` line of each AppSettings field it takes as a flag (workbench/cli/options.py)
    "port": "Port to listen on.",
    "host": "Address to bind; anything but localhost prints a warning.",
    "data_dirs": "Extra folder the file pickers may list (repeatable).",
    "model_dirs": "Extra folder of local models (repeatable).",
    "max_upload_mb": "Largest upload accepted, in MB.",
}


def _unique(paths: list[Path]) -> list[Path]:
    seen: list[Path] = []
    for path in paths:
        if path not in seen:
            seen.append(path)
    return seen


# --- the server command -----------------------------------------------------------------------


def host_warning(host: str) -> str | None:
    if host in LOCAL_HOSTS:
        return None
    return (
        f"warning: the app will listen on {host}, reachable from other machines. It has no login: anyone who "
        "can reach this port can read the workspace and launch training. Use --host 127.0.0.1 and an SSH tunnel "
        "unless this network is trusted."
    )


def streamlit_command(settings: AppSettings, python: str | None = None, script: Path | None = None) -> list[str]:
    """The ``streamlit run`` command line for ``workbench app``: headless, bound to the settings'
    host (127.0.0.1 by default), usage statistics off, XSRF protection on, uploads capped."""
    script = script or (APP_DIR / "Home.py")
    if not script.is_file():
        raise WorkbenchError(f"the app's entry script {script} is missing.", "reinstall workbench from the repository.")
    return [
        python or sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", settings.host,
        "--server.port", str(settings.port),
        "--server.headless", "true",
        "--server.enableXsrfProtection", "true",
        "--server.enableCORS", "true",
        "--server.maxUploadSize", str(settings.max_upload_mb),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]


def app_environment(settings: AppSettings, environ: dict | None = None) -> dict:
    """Environment of the server process: the settings, the workspace, telemetry off."""
    env = dict(os.environ if environ is None else environ)
    env[SETTINGS_ENV] = settings.to_env()
    env["WORKBENCH_WORKSPACE"] = str(settings.workspace_root)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def run_app(settings: AppSettings, print_only: bool = False, echo=print) -> int:
    """Run the Streamlit server in the foreground until Ctrl+C; return its exit code."""
    import shlex
    import subprocess

    command = streamlit_command(settings)
    if print_only:
        echo(shlex.join(command))
        return 0
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise WorkbenchError("streamlit is not installed.", "pip install 'workbench[app]' (streamlit>=1.52).") from None
    warning = host_warning(settings.host)
    if warning:
        echo(warning)
    settings.workspace_root.mkdir(parents=True, exist_ok=True)
    echo(f"workbench app: http://{settings.host}:{settings.port}  (workspace {settings.workspace_root}; Ctrl+C stops)")
    import signal

    def _stop(signum, frame):  # noqa: ARG001 - SIGTERM (a service manager, a test) stops the server too
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; never orphan the server
        raise KeyboardInterrupt

    process = subprocess.Popen(command, env=app_environment(settings))
    previous = signal.signal(signal.SIGTERM, _stop) if _in_main_thread() else None
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _in_main_thread() -> bool:
    """Signal handlers can only be installed from the main thread."""
    import threading

    return threading.current_thread() is threading.main_thread()

