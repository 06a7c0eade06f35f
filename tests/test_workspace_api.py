"""The workspace API on a workspace made by the tiny model: listings, handles, manifests, status."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from workbench.artifacts import read_manifest
from workbench.errors import WorkbenchError
from workbench.figures import figures_of
from workbench.io import read_json, write_json
from workbench.progress import ProgressEvent, StatusProgress, TqdmProgress, combine
from workbench.status import read_status, write_status
from workbench.workspace import (
    ComparisonSummary,
    CorpusSummary,
    RunSummary,
    SnapshotSummary,
    Workspace,
)


def _docs(path, n, words=40, prefix="d"):
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            text = " ".join(f"{prefix}{i}w{j} harbour tide" for j in range(words))
            handle.write(json.dumps({"id": f"{prefix}{i}", "text": text}) + "\n")
    return path


@pytest.fixture(scope="module")
def made(tiny_model, tmp_path_factory, sample_dir):
    """A workspace with a corpus profile, a snapshot, a finished run and a comparison, all tiny."""
    from workbench.corpus.config import CorpusConfig, CurateConfig
    from workbench.corpus.curate import curate_corpus
    from workbench.corpus.profile import profile_corpus
    from workbench.evaluation.compare import compare
    from workbench.evaluation.config import EvalConfig
    from workbench.training.config import TrainConfig
    from workbench.workflows import train

    root = tmp_path_factory.mktemp("ws")
    ws = Workspace.at(root / "workspace")
    corpus = sample_dir / "domain_corpus.jsonl"
    events: list[ProgressEvent] = []
    profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), ws.folder("corpora", "domain"),
                   num_proc=1, progress=False, on_progress=events.append)
    curate_corpus(CurateConfig(paths=[str(corpus)], eval_fraction=0.2), ws.folder("snapshots", "domain"),
                  num_proc=1, progress=False, on_progress=events.append)
    run = train(TrainConfig(model=str(tiny_model), data=str(ws.folder("snapshots", "domain")), max_tokens=2048,
                            block_size=64, micro_batch_size=4, eval_every=0.5, eval_max_tokens=128, name="tiny"),
                ws, progress=False, on_progress=events.append)
    domain = _docs(root / "domain.jsonl", 5, prefix="dom")
    general = _docs(root / "general.jsonl", 5, prefix="gen")
    compare(EvalConfig(adapter=str(run), domain_eval=str(domain), general_eval=str(general), window=64,
                       generations=0, n_bootstrap=100), ws, progress=False, on_progress=events.append)
    return ws, events


def test_listings_are_typed_with_headline_numbers(made):
    ws, _ = made
    [corpus] = ws.corpora()
    assert isinstance(corpus, CorpusSummary) and corpus.name == "domain" and corpus.kind == "corpus"
    assert corpus.state == "finished" and corpus.complete and corpus.created
    assert corpus.documents == 128 and corpus.tokens > corpus.documents and corpus.readiness
    [snap] = ws.snapshots()
    assert isinstance(snap, SnapshotSummary) and snap.state == "finished"
    assert snap.train_documents + snap.eval_documents <= 128 and snap.eval_documents > 0
    assert snap.train_words > snap.eval_words > 0
    [run] = ws.runs()
    assert isinstance(run, RunSummary) and run.name == "tiny" and run.state == "finished"
    assert run.step == run.total_steps == 8 and run.tokens_seen == 2048 and run.tokens_per_s > 0
    assert run.best_domain_ppl > 1 and run.general_ppl_change_pct is not None and run.eta_s is None
    [comparison] = ws.comparisons()
    assert isinstance(comparison, ComparisonSummary) and comparison.kind == "comparison"
    lo, hi = comparison.domain_ppl_change_ci95
    assert lo <= comparison.domain_ppl_change_pct <= hi and comparison.general_ppl_change_ci95


def test_every_workflow_reports_progress(made, tiny_model):
    from transformers import AutoTokenizer

    ws, events = made
    stages = {e.stage for e in events}
    assert {"profiling", "curating", "writing snapshot", "training", "scoring"} <= stages
    training = [e for e in events if e.stage == "training"]
    assert training[-1].done == training[-1].total == 8 and training[-1].unit == "step"
    # scoring counts tokens: every document's own tokens, scored once by the base and once by the adapted model
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = [json.loads(line)["text"] for name in ("domain.jsonl", "general.jsonl")
             for line in (ws.root.parent / name).read_text().splitlines()]
    expected = 2 * sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    scoring = [e for e in events if e.stage == "scoring" and e.unit == "tokens"]
    assert scoring[-1].done == scoring[-1].total == expected
    assert [e.done for e in scoring] == sorted(e.done for e in scoring)  # never goes back


def test_handles_card_status_metrics_checkpoints_figures(made):
    ws, _ = made
    run = ws.run("tiny")
    card = run.card()
    assert card["seed"] == 42 and card["config"]["max_tokens"] == 2048 and card["versions"]["torch"]
    assert "commit" in card and card["hardware"]["cpu_count"] and card["inputs"]["data"]["sha256"]
    assert run.status()["state"] == "finished"
    assert run.status()["progress"] == {"stage": "done", "done": 8, "total": 8, "unit": "step", "message": "",
                                        "eta_s": run.status().get("eta_s")}
    rows, offset = run.metrics()
    assert offset == (run.folder / "metrics.jsonl").stat().st_size
    assert [r["step"] for r in rows if r["type"] == "eval"] == [0, 4, 8]
    assert run.metrics(since=offset) == ([], offset)
    # a line being written is not returned until it is complete
    with open(run.folder / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"type": "train", "step": 9')
    assert run.metrics(since=offset) == ([], offset)
    with open(run.folder / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write(', "loss": 1.0}\n{"type": "train", "step": 10}\n')
    new, offset2 = run.metrics(since=offset)
    assert [r["step"] for r in new] == [9, 10] and offset2 > offset
    steps = [c["step"] for c in run.checkpoints()]  # the run keeps its last and best checkpoints
    assert steps == sorted(steps) and steps[-1] == 8 and all(c["resumable"] for c in run.checkpoints())
    figures = figures_of(run)
    assert {"training", "perplexity"} <= set(figures)
    assert figures["perplexity"].layout.shapes  # the forgetting threshold line
    assert "removal_funnel" in figures_of(ws.snapshot("domain"))
    assert "length" in figures_of(ws.corpus("domain"))
    comparison = ws.comparison(ws.comparisons()[0].name)
    assert "perplexity" in figures_of(comparison)
    assert comparison.card()["config"]["window"] == 64


def test_metrics_follower_is_told_when_a_resumed_run_rewrote_the_file(tmp_path):
    """A resumed run trims metrics.jsonl to its checkpoint and appends again: a follower's old offset
    may then land inside a line. It gets ``([], 0)`` (start over), never half a line or a parse error."""
    from workbench.io import write_jsonl
    from workbench.workspace import Artifact

    run = Artifact(tmp_path)
    write_jsonl(tmp_path / "metrics.jsonl", [{"type": "train", "step": s, "loss": 2.0} for s in range(1, 4)])
    rows, offset = run.metrics()
    assert [r["step"] for r in rows] == [1, 2, 3]
    # trimmed to step 1, then steps 2.. again with longer lines: the old offset is now mid-line
    write_jsonl(tmp_path / "metrics.jsonl", [{"type": "train", "step": 1, "loss": 2.0}]
                + [{"type": "train", "step": s, "loss": 1.5, "lr": 0.001, "note": "resumed"} for s in range(2, 5)])
    assert (tmp_path / "metrics.jsonl").read_bytes()[offset - 1:offset] != b"\n"
    assert run.metrics(since=offset) == ([], 0)
    rows, offset = run.metrics(since=0)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    # shorter than the old offset: also a fresh start
    write_jsonl(tmp_path / "metrics.jsonl", [{"type": "train", "step": 1, "loss": 2.0}])
    assert run.metrics(since=offset) == ([], 0)


def test_unknown_name_names_what_exists(made):
    ws, _ = made
    assert Workspace(str(ws.root)) == ws and Workspace(ws.root).runs()[0].name == "tiny"
    with pytest.raises(WorkbenchError, match="no run named 'nope'.*use one of: tiny"):
        ws.run("nope")
    with pytest.raises(WorkbenchError, match="no corpus named"):
        ws.corpus("../runs")


def test_every_kind_has_the_same_manifest_fields(made):
    ws, _ = made
    for folder in [ws.folder("corpora", "domain"), ws.folder("snapshots", "domain"), ws.folder("runs", "tiny"),
                   ws.list("comparisons")[0]]:
        data = read_json(folder / "artifact.json")
        assert set(data) == {"format", "kind", "state", "complete", "created", "card", "headline"}
        assert {"config", "seed", "versions", "commit", "hardware", "inputs"} <= set(data["card"])
        assert data["complete"] is True and data["state"] == "finished"


def test_old_folders_without_artifact_json_are_understood(made, tmp_path):
    import shutil

    ws, _ = made
    old = Workspace.at(tmp_path / "old")
    for kind, name in (("corpora", "domain"), ("snapshots", "domain"), ("runs", "tiny")):
        shutil.copytree(ws.folder(kind, name), old.folder(kind, name))
        (old.folder(kind, name) / "artifact.json").unlink()
    shutil.copytree(ws.list("comparisons")[0], old.folder("comparisons", "c"))
    (old.folder("comparisons", "c") / "artifact.json").unlink()
    new_listing = [ws.corpora()[0], ws.snapshots()[0], ws.runs()[0]]
    old_listing = [old.corpora()[0], old.snapshots()[0], old.runs()[0]]
    for legacy in old_listing:
        assert legacy.state == "finished" and legacy.complete, legacy
    assert old_listing[0].documents == new_listing[0].documents
    assert old_listing[1].train_documents == new_listing[1].train_documents
    assert old_listing[2].best_domain_ppl == new_listing[2].best_domain_ppl
    assert old.comparisons()[0].domain_ppl_change_pct == ws.comparisons()[0].domain_ppl_change_pct
    m = read_manifest(old.folder("snapshots", "domain"))
    assert m.card["hardware"] and m.card["inputs"] and m.format is None


# ------------------------------------------------------------------------------------------
# status semantics


def test_status_transitions_and_restart_clears_the_old_error(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    write_status(folder, "queued")
    assert read_status(folder)["state"] == "queued"
    write_status(folder, "running", step=1)
    write_status(folder, "running", step=2)
    s = read_status(folder)
    assert s["state"] == "running" and s["step"] == 2 and s["pid"] == os.getpid() and s["pid_started"]
    write_status(folder, "stopping")
    write_status(folder, "stopped", error="stopped by the user")
    assert read_status(folder)["state"] == "stopped"
    write_status(folder, "running")  # resumed
    s = read_status(folder)
    assert s["state"] == "running" and "error" not in s and s["attempt"] == 2
    write_status(folder, "failed", error="boom", traceback="...")
    assert read_status(folder)["error"] == "boom"
    write_status(folder, "queued")  # restarted
    assert "error" not in read_status(folder) and "traceback" not in read_status(folder)
    write_status(folder, "running")
    write_status(folder, "finished")
    assert read_status(folder)["state"] == "finished"


def test_a_stop_request_after_the_job_ended_keeps_its_final_state(tmp_path):
    """``Job.stop`` writes ``stopping`` just before its SIGTERM; a job that finished in between stays
    finished (not reopened as a vanished, failed attempt 2)."""
    write_status(tmp_path, "running")
    write_status(tmp_path, "finished")
    write_status(tmp_path, "stopping")
    status = read_status(tmp_path)
    assert status["state"] == "finished" and "attempt" not in status and "error" not in status


def test_status_fraction_reads_steps_or_stage_progress(tmp_path):
    """The one progress fraction the app's bar and the notebook's bar show."""
    from workbench.status import status_fraction

    write_status(tmp_path, "running", step=3, total_steps=12)  # training reports steps
    assert status_fraction(read_status(tmp_path)) == 0.25
    assert status_fraction({"state": "running", "progress": {"done": 30, "total": 40, "unit": "document"}}) == 0.75
    assert status_fraction({"state": "queued"}) == 0.0
    assert status_fraction({"state": "finished", "progress": {"done": 3, "total": 40}}) == 1.0


def test_only_rank_zero_writes_status(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    write_status(tmp_path, "running")
    assert not (tmp_path / "status.json").exists()


def test_running_status_of_a_vanished_process_reads_failed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    write_status(tmp_path, "running", pid=proc.pid)
    status = read_status(tmp_path)
    assert status["state"] == "failed" and status["error"].startswith("process vanished")
    # a pid that is alive but belongs to another process (start time differs): also vanished
    data = read_json(tmp_path / "status.json")
    write_json(tmp_path / "status.json", {**data, "pid": os.getpid(), "pid_started": data["pid_started"] or 1.0})
    assert read_status(tmp_path)["state"] == "failed"
    # the same process: running
    write_status(tmp_path, "running")
    assert read_status(tmp_path)["state"] == "running"
    # and every surface sees it: the listing and the handle
    ws = Workspace.at(tmp_path / "ws")
    run = ws.folder("runs", "r")
    run.mkdir(parents=True)
    write_status(run, "running", pid=proc.pid)
    [summary] = ws.runs()
    assert summary.state == "failed" and "vanished" in summary.error
    assert ws.run("r").status()["state"] == "failed"


def test_progress_adapters(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    write_status(folder, "running")
    seen = []
    listener = combine(StatusProgress(folder, every=0), seen.append, None)
    listener(ProgressEvent("training", 3, 10, "step", "loss 2.0"))
    status = read_status(folder)
    assert status["state"] == "running" and status["progress"]["done"] == 3 and status["progress"]["total"] == 10
    assert status["phase"] == "training" and seen[0].fraction == 0.3
    bars = TqdmProgress()
    bars(ProgressEvent("reading", 1, 2, "MB"))
    bars(ProgressEvent("reading", 2, 2, "MB"))
    assert not bars._bars  # a finished stage closes its bar


def test_comparison_result_in_memory_then_written(made, tmp_path):
    from workbench.evaluation.compare import run_compare
    from workbench.evaluation.config import EvalConfig

    ws, _ = made
    before = ws.list("comparisons")
    domain = _docs(tmp_path / "domain.jsonl", 5, prefix="dom")
    config = EvalConfig(adapter=str(ws.run("tiny").folder), domain_eval=str(domain), general_eval=str(domain),
                        window=64, generations=0, n_bootstrap=100)
    result = run_compare(config, ws, progress=False)
    assert ws.list("comparisons") == before and not result.out.exists()  # nothing written
    assert result.kind == "comparison" and result.delta["domain"]["ppl_change_pct"] is not None
    assert "perplexity" in result.figures and result.documents
    folder = result.write()
    written = read_json(folder / "comparison.json")
    assert written["complete"] and written["delta"]["domain"]["ppl_change_pct"] == result.delta["domain"]["ppl_change_pct"]
    assert ws.comparison(folder.name).summary().domain_ppl_change_pct == written["delta"]["domain"]["ppl_change_pct"]


def test_report_does_not_import_compare():
    """compare -> report only: the JSON helper lives in workbench.io (no import loop)."""
    import inspect

    import workbench.evaluation.report as report

    assert "workbench.evaluation.compare" not in inspect.getsource(report)


def test_evaluation_does_not_import_training():
    """Stages talk through the run folder (workbench.runs) and the models layer (workbench.models.heads)."""
    import ast
    from pathlib import Path

    import workbench.evaluation as evaluation

    offenders = []
    for path in Path(evaluation.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench.training"):
                offenders.append(f"{path.name}: {node.module}")
    assert not offenders, offenders


def test_one_weights_digest_for_run_cards_and_compare(tiny_model):
    from workbench.runs import weights_sha256

    digest = weights_sha256(tiny_model)
    assert digest and len(digest) == 64 and "{" not in digest


def test_trainer_and_plan_share_one_runtime_decision(made):
    """The run card records the runtime the trainer used; its plan made the same decisions."""
    ws, _ = made
    card = read_json(ws.run("tiny").folder / "run.json")
    runtime = card["runtime"]
    assert {k: runtime[k] for k in ("device", "checkpointing", "optimizer", "chunked_loss")} == {
        "device": "cpu", "checkpointing": False, "optimizer": "adamw_torch", "chunked_loss": True}
    assert runtime["precision"] == "fp32" and runtime["threads"] >= 1  # training on the CPU stays fp32 by default
    assert card["plan"]["checkpointing"] == runtime["checkpointing"] and card["plan"]["optimizer"] == runtime["optimizer"]
    from workbench.models.runtime import resolve_runtime

    gpu = resolve_runtime("cuda", "nf4", model_type="mistral")
    assert gpu.checkpointing and gpu.optimizer == "paged_adamw_8bit" and gpu.chunked_loss
    assert not resolve_runtime("cuda", train_embeddings=True).chunked_loss
    assert not resolve_runtime("cpu", model_type="gemma2").chunked_loss


def test_profile_in_memory_then_written(tiny_model, tmp_path, sample_dir):
    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus, write_profile

    profile = profile_corpus(CorpusConfig(paths=[str(sample_dir / "domain_eval.jsonl")], model=str(tiny_model)),
                             num_proc=1, progress=False)
    ws = Workspace(tmp_path / "ws")
    assert ws.corpora() == [] and profile["documents"] == 24
    write_profile(profile, ws.folder("corpora", "eval"))
    [summary] = ws.corpora()
    assert summary.documents == 24 and summary.complete and read_json(summary.folder / "profile.json") == profile
    assert ws.corpus("eval").card()["inputs"]


def test_folder_naming_lives_in_the_library(tmp_path):
    from workbench.corpus.config import CurateConfig
    from workbench.evaluation.config import EvalConfig
    from workbench.training.config import TrainConfig

    ws = Workspace(tmp_path / "ws")
    assert ws.folder_for("snapshots", CurateConfig(paths=["/data/law.jsonl.gz"])) == ws.folder("snapshots", "law")
    assert ws.folder_for("runs", TrainConfig(name="v1")) == ws.folder("runs", "v1")
    assert ws.folder_for("runs", TrainConfig(model="some/Model-1B")).name.startswith("Model-1B-")
    first = ws.folder_for("comparisons", EvalConfig(adapter=str(tmp_path / "runs" / "v1")))
    assert first.name == "compare-v1"
    first.mkdir(parents=True)
    assert ws.folder_for("comparisons", EvalConfig(adapter=str(tmp_path / "runs" / "v1"))).name == "compare-v1-2"
    assert ws.folder_for("comparisons", EvalConfig(model="tiny", data="/x/held.jsonl")).name == "eval-tiny-held"
    assert ws.folder_for("runs", TrainConfig(out=str(tmp_path / "here"))) == tmp_path / "here"


def test_figures_of_an_artifact_come_from_the_registry_of_its_kind(made, monkeypatch):
    """The workspace draws nothing (tests/test_layering.py keeps it below the stages); figures per
    artifact kind live in workbench.figures, for a handle or a folder alike."""
    from workbench import figures

    ws, _ = made
    snapshot = ws.snapshot("domain")
    assert snapshot.record()["kind"] == "snapshot" and ws.run("tiny").record()["config"]
    assert set(figures_of(snapshot.folder)) == set(figures_of(snapshot)) == {"removal_funnel"}
    assert set(figures_of(ws.run("tiny"))) == {"training", "perplexity"}
    # another builder registered for a kind is what every surface draws
    monkeypatch.setitem(figures._BUILDERS, "snapshot", lambda artifact: {"sizes": artifact.record()["counts"]})
    assert figures_of(snapshot) == {"sizes": snapshot.record()["counts"]}
