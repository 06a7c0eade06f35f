"""Background jobs on the tiny model: launch, follow and finish each kind; stop and resume training
to the same adapter as an uninterrupted run; a second training job queues; a killed job reads failed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from workbench import jobs
from workbench.errors import WorkbenchError
from workbench.io import read_json
from workbench.workspace import Workspace

pytestmark = pytest.mark.usefixtures("job_env")  # jobs in the tiny model's cache, reaped after each test


def _corpus(path, n=40):
    """``n`` English documents from the sample corpus (repeated, with a numbered suffix, past 128)."""
    sample = Path(__file__).resolve().parents[1] / "sample_data"
    with open(sample / "domain_corpus.jsonl", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle if line.strip()]
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            text = texts[i % len(texts)] + ("" if i < len(texts) else f" (copy {i})")
            handle.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    return path


def _wait_for(predicate, timeout=240, what="condition"):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _train_config(tiny_model, data, name, **kw):
    from workbench.training.config import TrainConfig

    base = dict(model=str(tiny_model), data=str(data), max_tokens=16384, block_size=64, micro_batch_size=4,
                eval_every=0.125, eval_max_tokens=128, learning_rate=5e-3, name=name)
    base.update(kw)
    return TrainConfig(**base)


def test_corpus_jobs_launch_follow_and_finish(tmp_path, tiny_model):
    from workbench.corpus.config import CorpusConfig, CurateConfig

    ws = Workspace(tmp_path / "ws")
    corpus = _corpus(tmp_path / "harbour.jsonl")
    inspect = jobs.launch("inspect", CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), ws, num_proc=1)
    # status.json is in the final folder from the first second
    assert inspect.folder == ws.folder("corpora", "harbour")
    assert inspect.status()["state"] in ("queued", "running")
    assert (inspect.folder / "job.json").exists()
    curate = jobs.launch("curate", CurateConfig(paths=[str(corpus)], eval_fraction=0.2), ws, num_proc=1)
    assert curate.folder == ws.folder("snapshots", "harbour")
    assert inspect.wait(240)["state"] == "finished", inspect.logs()
    assert curate.wait(240)["state"] == "finished", curate.logs()
    assert read_json(inspect.folder / "profile.json")["documents"] == 40
    assert ws.corpora()[0].state == "finished" and ws.corpora()[0].documents == 40
    assert ws.snapshots()[0].train_documents > 0
    # the job's own files survive the atomic rename of the artifact
    assert {"status.json", "job.json", "log.txt", "artifact.json"} <= {p.name for p in curate.folder.iterdir()}
    assert "curate job" in curate.logs() and "finished" in curate.logs()
    # re-attach after a reload; list the workspace's jobs
    again = jobs.attach(inspect.folder)
    assert again.kind == "inspect" and again.status()["state"] == "finished"
    assert {j.name for j in jobs.list_jobs(ws)} == {"harbour"} and len(jobs.list_jobs(ws)) == 2
    with pytest.raises(WorkbenchError, match="already exists"):
        jobs.launch("inspect", CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), ws)
    # overwrite a finished job's artifact: same folder, rebuilt
    rerun = jobs.launch("curate", CurateConfig(paths=[str(corpus)], eval_fraction=0.2), ws, overwrite=True, num_proc=1)
    assert rerun.wait(240)["state"] == "finished", rerun.logs()


def test_stopped_corpus_job_leaves_nothing_complete(tmp_path, tiny_model):
    from workbench.corpus.config import CorpusConfig

    ws = Workspace(tmp_path / "ws")
    corpus = _corpus(tmp_path / "big.jsonl", n=600)
    job = jobs.launch("inspect", CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), ws, num_proc=1)
    _wait_for(lambda: job.status().get("phase") == "profiling", what="profiling to start")
    job.stop()
    final = job.wait(60)
    assert final["state"] == "stopped" and "stopped" in final["error"], job.logs()
    assert not (job.folder / "profile.json").exists() and not (job.folder / "artifact.json").exists()
    assert not list(ws.folder("corpora").glob(".tmp-*"))  # the half-built folder is gone
    [summary] = ws.corpora()
    assert summary.state == "stopped" and not summary.complete
    assert job.status()["progress"]["unit"] == "document"
    again = job.resume()  # a corpus job starts again from its recorded config
    assert again.wait(240)["state"] == "finished", again.logs()
    assert ws.corpora()[0].documents == 600 and ws.corpora()[0].complete


def test_killed_job_reads_failed_everywhere(tmp_path, tiny_model, capsys):
    from workbench.cli import main
    from workbench.corpus.config import CorpusConfig

    ws = Workspace(tmp_path / "ws")
    corpus = _corpus(tmp_path / "big.jsonl", n=400)
    job = jobs.launch("inspect", CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), ws, num_proc=1)
    _wait_for(lambda: job.status().get("pid") != os.getpid() and job.status()["state"] == "running",
              what="the runner to report")
    os.kill(job.status()["pid"], signal.SIGKILL)
    _wait_for(lambda: job.status()["state"] == "failed", timeout=30, what="the vanished state")
    assert job.status()["error"].startswith("process vanished")
    assert ws.corpora()[0].state == "failed" and not ws.corpora()[0].complete
    main(["jobs", "list", "-w", str(ws.root)])
    assert "failed" in capsys.readouterr().out


@pytest.mark.slow
def test_training_queue_stop_resume_and_compare(tmp_path, tiny_model, sample_dir, capsys):
    """Two training jobs: the second waits for the first; stopped mid-run and resumed, it ends with the
    same adapter as the uninterrupted first. Then a compare job on the result."""
    import fcntl

    from safetensors.torch import load_file

    from workbench.cli import main
    from workbench.evaluation.config import EvalConfig

    ws = Workspace(tmp_path / "ws")
    data = sample_dir / "domain_corpus.jsonl"
    # another training job holds the GPU (the workspace's training lock): both new jobs must queue
    (ws.root / ".jobs").mkdir(parents=True)
    gpu = open(ws.root / ".jobs" / "train.lock", "a+")
    fcntl.flock(gpu, fcntl.LOCK_EX)
    reference = jobs.launch("train", _train_config(tiny_model, data, "reference"), ws)
    stopped = jobs.launch("train", _train_config(tiny_model, data, "stopped"), ws)
    assert reference.folder == ws.folder("runs", "reference") and stopped.status()["state"] == "queued"
    for job in (reference, stopped):
        _wait_for(lambda job=job: job.status().get("phase") == "waiting for the GPU", what=f"{job.name} to queue")
    fcntl.flock(gpu, fcntl.LOCK_UN)
    gpu.close()
    # one at a time: while one trains, the other waits
    _wait_for(lambda: not {reference.status().get("phase"), stopped.status().get("phase")} <= {"waiting for the GPU"},
              what="one job to take the GPU")
    phases = {reference.status().get("phase"), stopped.status().get("phase")}
    assert "waiting for the GPU" in phases or any(j.status()["state"] in jobs.TERMINAL for j in (reference, stopped))

    _wait_for(lambda: (stopped.folder / "checkpoints" / "checkpoint-16" / "trainer_state.json").exists()
              or stopped.status()["state"] in jobs.TERMINAL, timeout=600, what="a checkpoint")
    main(["jobs", "stop", "stopped", "-w", str(ws.root)])
    assert "stopped: stopped" in capsys.readouterr().out
    status = stopped.status()
    assert status["state"] == "stopped", stopped.logs()
    assert not (stopped.folder / "adapter").exists()  # nothing marked complete
    assert ws.run("stopped").manifest().complete is False

    main(["jobs", "resume", "stopped", "-w", str(ws.root)])
    assert reference.wait(600)["state"] == "finished", reference.logs()
    final = stopped.wait(600)
    assert final["state"] == "finished" and "error" not in final and final["attempt"] == 2, stopped.logs()
    a = load_file(str(reference.folder / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(stopped.folder / "adapter" / "adapter_model.safetensors"))
    import torch

    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-4), key
    steps = [m["step"] for m in read_json_lines(stopped.folder / "metrics.jsonl") if m["type"] == "eval"]
    assert steps == sorted(set(steps))
    main(["jobs", "logs", "stopped", "-w", str(ws.root), "--tail", "3"])
    assert "finished" in capsys.readouterr().out

    domain = _corpus(tmp_path / "dom.jsonl", n=5)
    compare = jobs.launch("compare", EvalConfig(adapter=str(reference.folder), domain_eval=str(domain),
                                                general_eval=str(domain), window=64, generations=0), ws)
    assert compare.folder.parent == ws.folder("comparisons")
    assert compare.wait(300)["state"] == "finished", compare.logs()
    [summary] = ws.comparisons()
    assert summary.complete and summary.domain_ppl_change_pct is not None
    assert (compare.folder / "comparison.json").exists() and (compare.folder / "log.txt").exists()


def read_json_lines(path):
    from workbench.io import read_jsonl

    return read_jsonl(path)


def test_unknown_kind_and_job_are_user_errors(tmp_path):
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkbenchError, match="unknown job kind 'dance'"):
        jobs.launch("dance", {}, ws)
    with pytest.raises(WorkbenchError, match="no job named 'x'"):
        jobs.find("x", ws)


def test_a_job_that_cannot_start_reads_failed_not_queued_forever(tmp_path, monkeypatch):
    """The launcher writes 'queued' under its own pid first; if the runner process cannot be started,
    the job must not stay queued under a pid that lives on (an app server, a notebook kernel)."""
    import subprocess

    from workbench.corpus.config import CorpusConfig

    def no_process(*args, **kwargs):
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkbenchError, match="could not start the inspect job"):
        jobs.launch("inspect", CorpusConfig(paths=[str(_corpus(tmp_path / "c.jsonl", n=2))]), ws)
    [job] = jobs.list_jobs(ws)
    assert job.status()["state"] == "failed" and "Cannot allocate memory" in job.status()["error"]


def test_resume_of_a_cli_run_outside_the_workspace_uses_its_folder_and_the_workspace(tmp_path, tiny_model, sample_dir,
                                                                                    monkeypatch):
    """``workbench train --out ELSEWHERE -w WS`` records no workspace: resuming it takes its GPU turn in WS
    (not in whatever folder lies two levels above ELSEWHERE), and a run without a checkpoint is trained
    again in its own folder, even one named by time or by an ``out`` relative to another directory."""
    from workbench.cli import main

    ws = Workspace(tmp_path / "ws")
    elsewhere = tmp_path / "outside" / "runs-here"
    monkeypatch.chdir(tmp_path)
    main(["train", "--model", str(tiny_model), "--data", str(sample_dir / "domain_corpus.jsonl"),
          "--out", "outside/runs-here/cli-run", "--max-tokens", "512", "--preset", "none",
          "--set", "block_size=64", "--set", "micro_batch_size=4", "--set", "eval_every=0.5",
          "--set", "eval_max_tokens=128", "-w", str(ws.root)])
    run = elsewhere / "cli-run"
    assert read_json(run / "run.json")["config"]["out"] == "outside/runs-here/cli-run"
    # forget the checkpoints: resuming now trains the run again from its recorded config
    import shutil

    shutil.rmtree(run / "checkpoints")
    (run / "adapter" / "adapter_config.json").unlink()
    from workbench.status import write_status

    write_status(run, "stopped", error="stopped by the user")
    monkeypatch.chdir(tmp_path / "outside")  # another working directory: the relative out must not move the run
    job = jobs.find(str(run), ws.root).resume()
    assert job.folder == run and job.spec()["workspace"] == str(ws.root)
    assert job.spec()["config"]["out"] == str(run)
    final = job.wait(300)
    assert final["state"] == "finished" and final["attempt"] == 2, job.logs()
    assert (run / "adapter" / "adapter_config.json").exists()
    assert (ws.root / ".jobs" / "train.holder").read_text() == str(run)  # its turn on the workspace's GPU
    assert not (tmp_path / "outside" / ".jobs").exists() and not (tmp_path / ".jobs").exists()
    assert not (tmp_path / "outside" / "outside").exists()  # nothing built beside, from the relative out
    # beside it, a moment after "finished": the run's lock (.cli-run.lock) and the earlier run set aside
    # until the new one is complete (cli-run.replaced-STAMP); nothing else
    assert [p.name for p in elsewhere.iterdir() if not p.name.startswith(".") and ".replaced-" not in p.name] == ["cli-run"]


# --- states that are true --------------------------------------------------------------------------


def test_a_stop_asked_for_stays_stopping_until_the_job_ends_and_an_ended_job_has_no_eta(tmp_path):
    """Training writes progress (``running``) after a stop was asked for: the state stays ``stopping``
    (no flicker back to running), then ``stopped`` keeps no ETA; the next attempt starts fresh."""
    from workbench.status import eta_text, read_status, recorded_status, write_status

    write_status(tmp_path, "running", phase="training", step=3, total_steps=8, eta_s=200)
    assert eta_text(read_status(tmp_path)) == "about 3 min 20 s left"
    write_status(tmp_path, "stopping", phase="saving a checkpoint", step=3)
    write_status(tmp_path, "running", phase="evaluating", step=4)
    write_status(tmp_path, "running", phase="training", step=4, total_steps=8, eta_s=150)
    status = recorded_status(tmp_path)
    assert (status["state"], status["phase"], status["step"]) == ("stopping", "training", 4)
    assert eta_text(status) is None
    write_status(tmp_path, "stopped", phase="stopped", step=4)
    status = recorded_status(tmp_path)
    assert status["state"] == "stopped" and "eta_s" not in status and eta_text(status) is None
    write_status(tmp_path, "queued", phase="starting")  # resumed: a new attempt, running again
    write_status(tmp_path, "running", phase="training", step=4, total_steps=8)
    assert recorded_status(tmp_path)["state"] == "running"


def test_a_stage_job_that_ends_keeps_no_eta_in_its_progress(tmp_path):
    from workbench.progress import ProgressEvent, StatusProgress
    from workbench.status import recorded_status, write_status

    live = StatusProgress(tmp_path, every=0.0)
    live(ProgressEvent("scoring", 0, 100, "token"))
    time.sleep(0.05)
    live(ProgressEvent("scoring", 10, 100, "token"))
    assert recorded_status(tmp_path)["progress"]["eta_s"] is not None
    write_status(tmp_path, "stopped", error="stopped by the user")
    status = recorded_status(tmp_path)
    assert "eta_s" not in status["progress"] and status["progress"]["done"] == 10


def test_launch_names_the_artifact_as_asked(tmp_path, tiny_model):
    """A snapshot can be named (``snapshots/NAME``) instead of after its first file; a name that is no
    folder name is refused naming the setting."""
    from workbench.corpus.config import CurateConfig

    corpus = _corpus(tmp_path / "opinions.jsonl")
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkbenchError) as refused:
        jobs.launch("curate", CurateConfig(paths=[str(corpus)]), ws, name="my corpus/v1")
    assert refused.value.field == "name" and "my-corpus-v1" in str(refused.value)
    job = jobs.launch("curate", CurateConfig(paths=[str(corpus)], min_words=5), ws, name="court-v1")
    assert job.folder == (ws.root / "snapshots" / "court-v1").absolute()
    assert job.wait(timeout=300)["state"] == "finished", job.logs(tail=20)
    assert [s.name for s in ws.snapshots()] == ["court-v1"]
