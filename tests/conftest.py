"""Shared fixtures: an isolated cache and workspace, and the tiny random model (never the real one)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


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


@pytest.fixture(scope="session")
def real_model_home() -> Path:
    """The user's real cache (the default model is fetched there once and reused by CI)."""
    from workbench.models.fetch import workbench_home

    return workbench_home()
