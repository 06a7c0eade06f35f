"""Shared fixtures: an isolated cache and workspace, and the tiny random model (never the real one)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# the user's cache, where the default model is fetched once and reused (CI included)
USER_HOME = Path(os.environ.get("WORKBENCH_HOME", Path.home() / ".cache" / "workbench")).expanduser()


@pytest.fixture
def job_env(tiny_home, monkeypatch):
    """Jobs inherit this environment (the tiny model's cache, offline, one thread each on shared cores); a
    failed assertion leaves no detached job or its workers running after the test."""
    import signal

    from workbench.jobs import job

    monkeypatch.setenv("WORKBENCH_HOME", str(tiny_home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    for child in list(job._children):
        if child.poll() is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
    job._children.clear()


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory) -> Path:
    """A WORKBENCH_HOME for the whole session holding the tiny model (built once, ~5 s)."""
    home = tmp_path_factory.mktemp("workbench-home")
    previous = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(home)
    from workbench.models.fetch import fetch_model

    fetch_model("tiny-llama", quiet=True)
    yield home
    if previous is None:
        os.environ.pop("WORKBENCH_HOME", None)
    else:
        os.environ["WORKBENCH_HOME"] = previous


@pytest.fixture(scope="session")
def tiny_model(tiny_home) -> Path:
    """Folder of the tiny random Llama (safetensors + byte-level BPE tokenizer)."""
    return tiny_home / "models" / "tiny-llama"


@pytest.fixture
def workspace(tmp_path):
    from workbench.workspace import Workspace

    return Workspace.at(tmp_path / "workspace")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def real_model_home(monkeypatch) -> Path:
    """Point WORKBENCH_HOME at the user's cache for this test: the default model is fetched
    there once (about a minute) and reused by later runs and CI."""
    monkeypatch.setenv("WORKBENCH_HOME", str(USER_HOME))
    return USER_HOME


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` skip cleanly where torch sees no CUDA device."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in gpu_items:
        item.add_marker(skip)
