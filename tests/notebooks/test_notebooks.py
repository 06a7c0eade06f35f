"""The guided notebooks: committed clean, and executed top to bottom in a fresh kernel (small mode)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "workbench" / "notebooks").glob("0*.ipynb"))
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


def small_mode_kernel(monkeypatch, workspace: Path, tiny_home: Path) -> None:
    """The environment the notebooks' kernels inherit: small mode, this workspace, the tiny model's cache."""
    monkeypatch.setenv("WORKBENCH_SMALL", "1")
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace))
    monkeypatch.setenv("WORKBENCH_HOME", str(tiny_home))
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def with_parameters(path: Path, **values):
    """The notebook with ``values`` set in a cell right after its parameters cell (as papermill injects them)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))
    return nb


def planted_corpus(folder: Path) -> list[str]:
    """The bundled sample corpus and a file of documents the profile flags: one with personal data, and an
    exact duplicate of a sample document under another id."""
    sample = REPO / "workbench" / "sample_data" / "domain_corpus.jsonl"
    first = json.loads(sample.read_text(encoding="utf-8").splitlines()[0])
    planted = folder / "planted.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": "planted-pii", "text": first["text"].replace(".", ". Call Dr Smith on 555-123-4567 or write to "
                                                                      "j.smith@example.org.", 1)},
            {"id": "planted-copy", "text": first["text"]}]
    planted.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return [str(sample), str(planted)]


@pytest.mark.slow
@pytest.mark.notebooks
def test_notebooks_run_top_to_bottom_in_small_mode(tmp_path, tiny_home, monkeypatch):
    """Each notebook runs unattended in a fresh kernel with WORKBENCH_SMALL=1 and leaves its artifacts."""
    import nbformat
    from nbclient import NotebookClient

    workspace = tmp_path / "workspace"
    small_mode_kernel(monkeypatch, workspace, tiny_home)
    corpus = planted_corpus(tmp_path / "corpus")
    try:
        for path in NOTEBOOKS:
            nb = with_parameters(path, CORPUS=corpus) if path.name.startswith("01") else nbformat.read(path, as_version=4)
            client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                    resources={"metadata": {"path": str(tmp_path)}})
            client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
            nbformat.write(nb, tmp_path / path.name)  # executed copy, for a person to open after a failure
    finally:  # the notebooks launch detached jobs: a failed cell must not leave one running
        _end_jobs(workspace)

    from workbench.io import read_jsonl
    from workbench.review.store import LabelStore
    from workbench.workspace import Workspace

    ws = Workspace(workspace)
    profile = json.loads((workspace / "corpora" / "my-corpus" / "profile.json").read_text())
    assert profile["documents"] > 0 and profile["tokens"] > 0
    manifest = json.loads((workspace / "snapshots" / "my-corpus" / "manifest.json").read_text())
    assert manifest["counts"]["train"] > 0 and manifest["counts"]["eval"] > 0
    # notebook 1's keep/drop decisions went through the label store: every toggle starts at keep, so
    # unattended nothing is dropped; the planted personal data is replaced, its document kept
    with LabelStore(workspace / "labels.db") as store:
        documents = {i.id: i.source["doc_id"] for i in store.items(kind="document")}
        verdicts = {documents[v.item_id]: v.verdict for v in store.verdicts() if v.item_id in documents}
    assert "planted-pii" in verdicts and set(verdicts.values()) == {"keep"}
    assert not manifest["config"].get("drop_documents") and manifest["config"]["pii_types"] == ["email", "phone"]
    assert not manifest["counts"]["removed"].get("expert_drop")  # no document left on a decision nobody made
    kept = [row["text"] for split in ("train", "eval")
            for row in read_jsonl(workspace / "snapshots" / "my-corpus" / f"{split}.jsonl")]
    assert len(kept) > 100 and not any("j.smith@example.org" in text for text in kept)
    run = ws.run("my-corpus")
    assert run.status()["state"] == "finished"
    assert (run.folder / "adapter" / "adapter_config.json").exists()
    rows, _ = run.metrics()
    assert any(r.get("type") == "eval" for r in rows)
    # notebook 2: the curves are one output redrawn in place; the stop lands halfway and is resumed
    train_nb = nbformat.read(tmp_path / "02_continued_pretraining.ipynb", as_version=4)
    launch = next(c for c in train_nb.cells if "jobs.launch" in c.source)
    figures = [o for o in launch.outputs if "application/vnd.plotly.v1+json" in o.get("data", {})
               or "curves appear" in o.get("data", {}).get("text/html", "")]
    assert len(figures) == 1 and "application/vnd.plotly.v1+json" in figures[0]["data"]
    resumed = next(c for c in train_nb.cells if "stop_then_resume" in c.source)
    said = "".join(o.get("text", "") for o in resumed.outputs)
    total = run.status()["total_steps"]
    assert f"stopped at step {-(-total // 2)} of {total}" in said or f"of {total}, checkpoint saved" in said, said
    comparisons = ws.comparisons()
    assert comparisons and (comparisons[0].folder / "comparison.json").exists()
    # notebook 3 said how long before it compared, capped the held-out sets as set up, and showed the verdict's limits
    record = json.loads((comparisons[0].folder / "comparison.json").read_text())
    assert record["card"]["config"]["eval_docs"] == 6 and record["delta"]["domain"]["documents"] <= 6
    executed = json.dumps([c.get("outputs") for c in nbformat.read(tmp_path / "03_compare_models.ipynb",
                                                                     as_version=4).cells if c.cell_type == "code"])
    assert "will take about" in executed and "on this machine" in executed
    assert "not that what it writes is true" in executed and "n/a%" not in executed
    # notebook 4: the comparison's items reach the team's store unlabelled; the made-up annotators
    # label in the demonstration store, which queues the comparison's items only
    with LabelStore(workspace / "labels.db") as team:
        assert team.items(kind="pair") and not team.labels()
        assert not {"ana", "ben"} & set(team.progress()["annotators"])
    with LabelStore(workspace / "review-demo" / "labels.db") as demo:
        assert {"ana", "ben"} <= set(demo.progress()["annotators"])
        assert demo.labels(), "the review notebook recorded no error span"
        assert not demo.items(kind="document")  # notebook 1's corpus documents are not queued here
    assert (workspace / "review-demo" / "corrections.jsonl").exists()


@pytest.mark.slow
@pytest.mark.notebooks
def test_a_mistyped_name_stops_the_notebook_with_one_line(tmp_path, tiny_home, monkeypatch):
    """A NAME the workspace does not hold fails its cell with one line naming the parameter and the runs
    there, never comparing another run instead."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    workspace = tmp_path / "workspace"
    (workspace / "runs" / "my-corpus").mkdir(parents=True)
    small_mode_kernel(monkeypatch, workspace, tiny_home)
    nb = with_parameters(REPO / "workbench" / "notebooks" / "03_compare_models.ipynb", NAME="my-corpsu")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "WorkbenchError"
    assert errors[0].traceback == [f"error: no run named 'my-corpsu' in {workspace / 'runs'}. "
                                   "Fix: set NAME in the parameters cell to one of: my-corpus (None: the newest)."]
    assert not (workspace / "comparisons").exists()


def _end_jobs(workspace: Path) -> None:
    import signal

    from workbench import jobs
    from workbench.status import TERMINAL_STATES

    if not workspace.exists():
        return
    for job in jobs.list_jobs(workspace):
        pid = job.status().get("pid")
        if job.state not in TERMINAL_STATES and pid:
            try:
                os.killpg(int(pid), signal.SIGKILL)  # the runner leads its own session
            except (ProcessLookupError, PermissionError):
                pass
