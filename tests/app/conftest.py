"""Fixtures of the app tests: AppTest on a prepared workspace, and one shared app server plus
headless Chromium for the browser tests (marker ``browser``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOME_SCRIPT = REPO / "workbench" / "app" / "Home.py"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
INSTALL_HINT = (
    "Debian's chromium is missing: run 'make system-deps' (or 'sudo apt-get install chromium'); "
    "never 'playwright install'"
)


def chromium_path() -> str | None:
    for candidate in (os.environ.get("WORKBENCH_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(tmp_path):
    """App settings on an empty workspace and one data folder, for the library tests (no app running)."""
    from workbench.appsupport import AppSettings

    (tmp_path / "ws").mkdir()
    (tmp_path / "data").mkdir()
    return AppSettings(workspace=str(tmp_path / "ws"), data_dirs=(str(tmp_path / "data"),), max_upload_mb=1)


@pytest.fixture
def app_settings(tmp_path, monkeypatch, tiny_home):
    """An empty workspace wired into the app through the settings env var."""
    from workbench.appsupport import SETTINGS_ENV, AppSettings

    data = tmp_path / "data"
    data.mkdir()
    settings = AppSettings(workspace=str(tmp_path / "workspace"), data_dirs=(str(data),), max_upload_mb=1,
                           refresh_seconds=0.5)
    settings.workspace_root.mkdir()
    monkeypatch.setenv(SETTINGS_ENV, settings.to_env())
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(settings.workspace_root))
    return settings


# --- browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where page screenshots go: $WORKBENCH_APP_SCREENSHOTS, else pytest's tmp dir."""
    folder = os.environ.get("WORKBENCH_APP_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, made_template):
    """One ``workbench app`` process for the whole browser session, on a copy of the made workspace
    with three review items."""
    from workbench.review.store import LabelStore

    workspace = tmp_path_factory.mktemp("app") / "workspace"
    shutil.copytree(made_template, workspace, symlinks=True)
    with LabelStore(workspace / "labels.db") as store:
        store.add_items([{"prompt": f"Question {i}", "output": f"The dose is {i} mg daily for adults."}
                         for i in range(3)])
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    log = open(workspace.parent / f"app-{port}.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "app", "--workspace", str(workspace), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            log.close()
            raise RuntimeError(f"workbench app did not start: {Path(log.name).read_text()[-2000:]}")
        time.sleep(0.3)
    yield {"url": url, "workspace": workspace, "process": process, "log": Path(log.name)}
    # the whole session (workbench app and its streamlit child), never an orphaned server
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
    log.close()
    # jobs launched from the pages run in their own sessions: end any a failed test left running
    from workbench import jobs
    from workbench.status import TERMINAL_STATES

    for job in jobs.list_jobs(workspace):
        pid = job.status().get("pid")
        if job.state not in TERMINAL_STATES and pid:
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium; without it the browser tests fail with the install hint in CI
    (env CI set) and skip elsewhere."""
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    page = context.new_page()
    yield page
    context.close()


# --- a workspace with one of everything -------------------------------------------------------


@pytest.fixture(scope="session")
def made_template(tiny_model, tmp_path_factory, sample_dir):
    """A workspace made by the tiny model, built once: a corpus profile, a snapshot, a finished run
    ('tiny') and a comparison with two generations. Tests copy it (``made_settings``)."""
    from workbench.corpus.config import CorpusConfig, CurateConfig
    from workbench.corpus.curate import curate_corpus
    from workbench.corpus.profile import profile_corpus
    from workbench.evaluation.compare import compare
    from workbench.evaluation.config import EvalConfig
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    root = tmp_path_factory.mktemp("made")
    ws = Workspace.at(root / "workspace")
    corpus = sample_dir / "domain_corpus.jsonl"
    profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), ws.folder("corpora", "domain"),
                   num_proc=1, progress=False)
    curate_corpus(CurateConfig(paths=[str(corpus)], eval_fraction=0.2), ws.folder("snapshots", "domain"),
                  num_proc=1, progress=False)
    run = train(TrainConfig(model="tiny-llama", data=str(ws.folder("snapshots", "domain")), max_tokens=2048,
                            block_size=64, micro_batch_size=4, eval_every=0.5, eval_max_tokens=128, name="tiny"),
                ws, progress=False)
    compare(EvalConfig(adapter=str(run), domain_eval=str(sample_dir / "domain_eval.jsonl"),
                       general_eval=str(sample_dir / "general_eval.jsonl"), window=64,
                       generations=2, max_new_tokens=12, n_bootstrap=100), ws, progress=False)
    return ws.root


@pytest.fixture
def made_settings(made_template, tmp_path, monkeypatch):
    """App settings on a fresh copy of the made workspace."""
    from workbench.appsupport import SETTINGS_ENV, AppSettings

    target = tmp_path / "workspace"
    shutil.copytree(made_template, target, symlinks=True)
    settings = AppSettings(workspace=str(target), max_upload_mb=1, refresh_seconds=0.5)
    monkeypatch.setenv(SETTINGS_ENV, settings.to_env())
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(target))
    return settings
