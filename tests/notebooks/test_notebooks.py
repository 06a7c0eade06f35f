"""The guided notebooks: committed clean, and executed top to bottom in a fresh kernel (small mode)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))
EXPECTED = ["01_inspect_corpus.ipynb", "02_continued_pretraining.ipynb", "03_compare_models.ipynb",
            "04_review_errors.ipynb"]


def test_the_four_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_a_parameters_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path.name}: code cells {dirty} hold outputs; clear them before committing"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), f"{path.name}: first code cell is not tagged 'parameters'"
    assert "WORKSPACE" in "".join(code[0]["source"])
    # thin cells: a long cell is a sign the library lacks a function
    longest = max(len("".join(c["source"]).splitlines()) for c in code[1:])
    assert longest <= 12, f"{path.name}: a code cell has {longest} lines; move the logic into workbench"
    # every step is explained
    assert sum(c["cell_type"] == "markdown" for c in nb["cells"]) >= len(code) // 2


@pytest.mark.slow
@pytest.mark.notebooks
def test_notebooks_run_top_to_bottom_in_small_mode(tmp_path, tiny_home, monkeypatch):
    """Each notebook runs unattended in a fresh kernel with WORKBENCH_SMALL=1 and leaves its artifacts."""
    import nbformat
    from nbclient import NotebookClient

    workspace = tmp_path / "workspace"
    monkeypatch.setenv("WORKBENCH_SMALL", "1")
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace))
    monkeypatch.setenv("WORKBENCH_HOME", str(tiny_home))
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    try:
        for path in NOTEBOOKS:
            nb = nbformat.read(path, as_version=4)
            client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                    resources={"metadata": {"path": str(tmp_path)}})
            client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
            nbformat.write(nb, tmp_path / path.name)  # executed copy, for a person to open after a failure
    finally:  # the notebooks launch detached jobs: a failed cell must not leave one running
        _end_jobs(workspace)

    from workbench.review.store import LabelStore
    from workbench.workspace import Workspace

    ws = Workspace(workspace)
    profile = json.loads((workspace / "corpora" / "my-corpus" / "profile.json").read_text())
    assert profile["documents"] > 0 and profile["tokens"] > 0
    manifest = json.loads((workspace / "snapshots" / "my-corpus" / "manifest.json").read_text())
    assert manifest["counts"]["train"] > 0 and manifest["counts"]["eval"] > 0
    run = ws.run("my-corpus")
    assert run.status()["state"] == "finished"
    assert (run.folder / "adapter" / "adapter_config.json").exists()
    rows, _ = run.metrics()
    assert any(r.get("type") == "eval" for r in rows)
    comparisons = ws.comparisons()
    assert comparisons and (comparisons[0].folder / "comparison.json").exists()
    store = LabelStore(workspace / "labels.db")
    annotators = store.progress()["annotators"]
    assert {"ana", "ben"} <= set(annotators)
    assert store.labels(), "the review notebook recorded no error span"
    assert (workspace / "corrections.jsonl").exists()


def _end_jobs(workspace: Path) -> None:
    import signal

    from workbench import jobs

    if not workspace.exists():
        return
    for job in jobs.list_jobs(workspace):
        pid = job.status().get("pid")
        if job.state not in jobs.TERMINAL and pid:
            try:
                os.killpg(int(pid), signal.SIGKILL)  # the runner leads its own session
            except (ProcessLookupError, PermissionError):
                pass
