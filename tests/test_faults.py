"""Faults, hostile files and careless hands: a status naming another process, names that leave the
workspace, garbage status and manifest files, two resumes at once, a replaced snapshot. Each case
ends in a clear refusal (exit 2, one line naming the problem and the fix) or in the state the
folder's own files say, with nothing of the user's lost and nothing outside the workspace touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from cli_helpers import assert_one_line_error, run_cli

from workbench import jobs, workflows
from workbench.artifacts import write_manifest
from workbench.errors import WorkbenchError
from workbench.io import read_json, sha256_file, write_json
from workbench.runcard import hash_inputs
from workbench.status import read_status, write_status
from workbench.workspace import MAX_NAME, Workspace, check_name

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("job_env")  # jobs in the tiny model's cache, reaped after each test


@pytest.fixture
def bystander():
    """An unrelated live process (``sleep 60``), killed after the test."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def corpus(path: Path, n: int = 30, tag: str = "") -> Path:
    sample = REPO / "sample_data" / "domain_corpus.jsonl"
    texts = [json.loads(line)["text"] for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"d{i}", "text": f"{texts[i % len(texts)]} {tag} (copy {i})"}) + "\n")
    return path


def fake_job(ws: Workspace, name: str, kind: str = "train", **status) -> Path:
    """A job folder as ``jobs.launch`` leaves it (job.json, status.json), its status as given."""
    folder = ws.folder("runs" if kind == "train" else "corpora", name)
    folder.mkdir(parents=True)
    write_json(folder / "job.json", {"kind": kind, "config": {}, "workspace": str(ws.root)})
    write_json(folder / "status.json", {"updated": "2026-01-01T00:00:00+00:00", **status})
    return folder


# ------------------------------------------------------------------------------------------
# jobs stop signals only the job's own process


@pytest.mark.parametrize("with_start_time", [True, False], ids=["pid-and-start-time", "pid-only"])
def test_stop_refuses_a_status_naming_an_unrelated_process(tmp_path, capsys, bystander, with_start_time):
    ws = Workspace(tmp_path / "ws")
    started = psutil.Process(bystander.pid).create_time()
    folder = fake_job(ws, "edited", state="running", pid=bystander.pid,
                      **({"pid_started": started} if with_start_time else {}))
    code, _, err = run_cli(capsys, "jobs", "stop", "edited", "-w", ws.root)
    line = assert_one_line_error(code, err, "process", "gone", str(bystander.pid), "nothing was signalled")
    assert "resume" in line
    time.sleep(0.2)
    assert bystander.poll() is None  # still running: no signal reached it
    assert read_status(folder)["state"] == "failed"  # and the job reads as what it is
    # a second stop has nothing to do and says so without waiting
    code, out, _ = run_cli(capsys, "jobs", "stop", "edited", "-w", ws.root)
    assert code == 0 and "failed" in out and bystander.poll() is None


def test_stop_signals_a_training_process_holding_the_run_lock(tmp_path, capsys):
    """A training run from the CLI or a notebook holds the run folder's lock: that process is the job's."""
    ws = Workspace(tmp_path / "ws")
    folder = ws.folder("runs", "cli-run")
    folder.mkdir(parents=True)
    write_json(folder / "run.json", {"config": {"name": "cli-run"}})
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from workbench.runlock import folder_lock
        from workbench.status import write_status
        with folder_lock({str(folder)!r}, "train"):
            write_status({str(folder)!r}, "running", phase="training")
            time.sleep(120)
    """)], env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.time() + 60
        while (read_status(folder) or {}).get("state") != "running":
            assert time.time() < deadline and holder.poll() is None, "the holder did not report"
            time.sleep(0.1)
        code, out, err = run_cli(capsys, "jobs", "stop", "cli-run", "--no-wait", "-w", ws.root)
        assert code == 0, err
        assert holder.wait(30) == -signal.SIGTERM  # the run's own process got the stop
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------------------------
# one name rule


def test_check_name_is_the_slug_rule():
    assert check_name("runs", "law-qlora_2.v1") == "law-qlora_2.v1"
    for bad, slug in [("../../escaped", "escaped"), ("a/b", "a-b"), (".hidden", "hidden"), ("my run", "my-run"),
                      ("a\x00b", "a-b"), ("..", "artifact")]:
        with pytest.raises(WorkbenchError) as caught:
            check_name("runs", bad, field="name")
        assert caught.value.field == "name" and f"use '{slug}'" in caught.value.fix
    with pytest.raises(WorkbenchError, match=f"300 characters long, over {MAX_NAME}"):
        check_name("runs", "x" * 300)


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "x" * 300])
def test_cli_train_refuses_a_name_outside_the_rule(tmp_path, capsys, tiny_model, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    ws = tmp_path / "deep" / "ws"
    data = corpus(tmp_path / "leases.jsonl")
    code, _, err = run_cli(capsys, "train", "--model", tiny_model, "--data", data, "--name", name,
                           "--max-tokens", "2048", "-w", ws)
    assert_one_line_error(code, err, "name", "'escaped'" if "escaped" in name else "'a-b'" if "/" in name else "300 characters")
    # nothing written outside the workspace, nor a nested run inside it
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "deep" / "escaped").exists()
    assert not (ws / "runs" / "a").exists()
    assert jobs.list_jobs(ws) == [] and Workspace(ws).runs() == []


def test_launch_and_workspace_folders_refuse_a_name_outside_the_rule(tmp_path, tiny_model):
    from workbench.training.config import TrainConfig

    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkbenchError, match="use 'a-b'") as caught:
        jobs.launch("train", TrainConfig(model=str(tiny_model), data="sample", name="a/b"), ws)
    assert caught.value.field == "name"
    assert not ws.folder("runs").exists() or not any(ws.folder("runs").iterdir())
    with pytest.raises(WorkbenchError, match="use 'escaped'"):
        ws.folder("snapshots", "../../escaped")
    with pytest.raises(WorkbenchError, match="no run named"):  # a lookup by such a name finds nothing
        ws.run("../runs")
    # a folder an earlier release made under a name outside the rule is still read, never written anew
    (ws.root / "runs" / "old run").mkdir(parents=True)
    write_json(ws.root / "runs" / "old run" / "run.json", {"config": {"name": "old run"}, "state": "finished"})
    assert ws.run("old run").folder == ws.root / "runs" / "old run"
    with pytest.raises(WorkbenchError, match="use 'old-run'"):
        ws.folder_for("runs", TrainConfig(model=str(tiny_model), name="old run"))
    # names the library derives follow the rule themselves
    folder = ws.folder_for("snapshots", type("C", (), {"paths": ["/data/My Uploads/leases 2024.jsonl"], "out": None})())
    assert folder.name == "leases-2024"


# ------------------------------------------------------------------------------------------
# status.json, artifact.json and metrics.jsonl that cannot be read


def finished_run(ws: Workspace, name: str) -> Path:
    folder = ws.folder("runs", name)
    (folder / "adapter").mkdir(parents=True)
    write_json(folder / "run.json", {"config": {"name": name}, "state": "finished", "steps": 4, "step": 4})
    write_manifest(folder, "run", card={"config": {"name": name}}, state="finished", complete=True)
    return folder


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[1, 2]", b'{"state": "dancing"}'], ids=["empty", "torn", "list", "state"])
def test_unreadable_status_is_decided_by_the_folder_files(tmp_path, capsys, garbage):
    ws = Workspace(tmp_path / "ws")
    done = finished_run(ws, "done")
    killed = ws.folder("runs", "killed")
    killed.mkdir(parents=True)
    write_json(killed / "run.json", {"config": {"name": "killed"}})
    write_manifest(killed, "run", card={"config": {"name": "killed"}}, state="running", complete=False)
    (done / "status.json").write_bytes(garbage)
    (killed / "status.json").write_bytes(garbage)
    states = {s.name: s.state for s in ws.runs()}
    assert states == {"done": "finished", "killed": "failed"}
    assert jobs.find("done", ws).status()["state"] == "finished"
    killed_status = jobs.find("killed", ws).status()
    assert killed_status["state"] == "failed" and "unreadable" in killed_status["error"]
    code, out, _ = run_cli(capsys, "jobs", "list", "-w", ws.root)
    assert code == 0 and "queued" not in out and "running" not in out
    started = time.time()
    code, out, _ = run_cli(capsys, "jobs", "stop", "done", "-w", ws.root)  # returns at once: nothing runs
    assert code == 0 and "done: finished" in out and time.time() - started < 10


def test_a_corrupt_manifest_is_listed_and_marked_and_the_others_still_show(tmp_path):
    ws = Workspace(tmp_path / "ws")
    finished_run(ws, "good")
    bad = finished_run(ws, "bad")
    (bad / "artifact.json").write_text('{"kind": "run", "state": "fini')
    weird = finished_run(ws, "weird")
    write_json(weird / "artifact.json", {"kind": "run", "state": "finished", "complete": True, "headline": [1, 2]})
    runs = {s.name: s for s in ws.runs()}
    assert runs["good"].state == "finished" and runs["good"].complete
    for name in ("bad", "weird"):
        assert runs[name].state == "failed" and not runs[name].complete
        assert "artifact.json" in runs[name].error and "unreadable" in runs[name].error
    comparison = ws.folder("comparisons", "compare-x")
    comparison.mkdir(parents=True)
    (comparison / "artifact.json").write_bytes(b"\x00\xff")
    [summary] = ws.comparisons()
    assert summary.state == "failed" and "unreadable" in summary.error


def test_a_garbage_metrics_line_leaves_the_other_rows(tmp_path):
    ws = Workspace(tmp_path / "ws")
    folder = finished_run(ws, "r")
    rows = [{"type": "train", "step": 1, "loss": 3.0}, {"type": "train", "step": 2, "loss": 2.5}]
    (folder / "metrics.jsonl").write_text(
        json.dumps(rows[0]) + "\n" + "garbage here\n" + "[1]\n" + json.dumps(rows[1]) + "\n", encoding="utf-8")
    run = ws.run("r")
    got, offset = run.metrics()
    assert got == rows and offset == (folder / "metrics.jsonl").stat().st_size
    assert run.skipped_metrics == ["garbage here", "[1]"]


def test_a_failed_replacement_leaves_the_complete_artifact_finished(tmp_path):
    """A curate launched with overwrite that fails writes ``failed`` into the folder of the complete
    snapshot it meant to replace: the snapshot is intact, and reads finished."""
    from workbench.corpus.config import CurateConfig

    ws = Workspace(tmp_path / "ws")
    source = corpus(tmp_path / "leases.jsonl")
    folder = workflows.curate(CurateConfig(paths=[str(source)], eval_fraction=0.2), ws, num_proc=1, progress=False)
    train = (folder / "train.jsonl").read_bytes()
    job = jobs.launch("curate", CurateConfig(paths=[str(source)], min_documents=10**5), ws, overwrite=True, num_proc=1)
    assert job.wait(240)["state"] == "failed", job.logs()
    [snapshot] = ws.snapshots()
    assert snapshot.state == "finished" and snapshot.complete and snapshot.train_documents
    assert (folder / "train.jsonl").read_bytes() == train


# ------------------------------------------------------------------------------------------
# one runner per job


def stopped_inspect_job(ws: Workspace, tmp_path: Path, tiny_model) -> Path:
    from workbench.config import to_dict
    from workbench.corpus.config import CorpusConfig

    config = CorpusConfig(paths=[str(corpus(tmp_path / "harbour.jsonl", n=20))], model=str(tiny_model))
    folder = ws.folder("corpora", "harbour")
    folder.mkdir(parents=True)
    write_json(folder / "job.json", {"kind": "inspect", "config": to_dict(config), "workspace": str(ws.root),
                                     "num_proc": 1, "resume": False, "overwrite": False})
    write_status(folder, "stopped", kind="inspect", error="stopped by the user")
    return folder


def test_two_resumes_at_once_start_one_runner(tmp_path, tiny_model):
    ws = Workspace(tmp_path / "ws")
    folder = stopped_inspect_job(ws, tmp_path, tiny_model)
    command = [sys.executable, "-c", "from workbench.cli import main; main()", "jobs", "resume", "harbour",
               "-w", str(ws.root)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    both = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(p.wait(120), *p.communicate()) for p in both]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    [refused] = [err for code, _, err in results if code == 2]
    assert "Traceback" not in refused and "resumed or running already" in refused
    job = jobs.attach(folder)
    assert job.wait(240)["state"] == "finished", job.logs()
    assert job.logs().count("inspect job in") == 1  # one runner ran
    assert read_json(folder / "profile.json")["documents"] == 20


def test_a_runner_started_after_the_stop_does_nothing(tmp_path, tiny_model):
    """The user's stop is final: a runner that starts late (a second resume, a slow start) finds the
    job stopped and leaves it so."""
    ws = Workspace(tmp_path / "ws")
    folder = stopped_inspect_job(ws, tmp_path, tiny_model)
    before = read_json(folder / "status.json")
    done = subprocess.run([sys.executable, "-m", "workbench.jobs.runner", str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert done.returncode == 0 and "not started" in done.stdout, done
    assert read_json(folder / "status.json") == before
    assert not (folder / "profile.json").exists()


# ------------------------------------------------------------------------------------------
# a comparison scores the held-out split the run trained beside


def test_compare_refuses_a_snapshot_replaced_since_the_run(tmp_path):
    from workbench.corpus.config import CurateConfig
    from workbench.evaluation.config import EvalConfig

    ws = Workspace(tmp_path / "ws")
    (tmp_path / "a").mkdir()
    first = corpus(tmp_path / "a" / "leases.jsonl", tag="first")
    snapshot = workflows.curate(CurateConfig(paths=[str(first)], eval_fraction=0.2), ws, num_proc=1, progress=False)
    run = ws.folder("runs", "r")
    (run / "adapter").mkdir(parents=True)
    # what the trainer records: its config and the sha256 of the snapshot's train split
    write_json(run / "run.json", {"config": {"data": str(snapshot)},
                                  "inputs": hash_inputs({"data": snapshot / "train.jsonl"})})
    config = EvalConfig(adapter=str(run))
    workflows.check_trained_snapshot(config)  # the snapshot as trained on: nothing to say
    # the same name curated again from other input replaces the snapshot
    (tmp_path / "b").mkdir()
    other = corpus(tmp_path / "b" / "leases.jsonl", tag="second")
    workflows.curate(CurateConfig(paths=[str(other)], eval_fraction=0.2), ws, num_proc=1, progress=False,
                     overwrite=True)
    assert sha256_file(snapshot / "train.jsonl") != read_json(run / "run.json")["inputs"]["data"]["sha256"]
    with pytest.raises(WorkbenchError, match="replaced since") as caught:
        workflows.compare(config, ws, progress=False)
    assert caught.value.field == "domain_eval" and str(snapshot) in str(caught.value)
    assert not ws.folder("comparisons").exists()
    # an explicit held-out file is the user's choice
    workflows.check_trained_snapshot(EvalConfig(adapter=str(run), domain_eval=str(snapshot / "eval.jsonl")))
