"""Graceful stop (SIGTERM/SIGINT), one process per run folder, resume of a finished run, wall time."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from workbench.io import read_json, read_jsonl

ARGS = ["--max-tokens", "8192", "--set", "block_size=64", "--set", "micro_batch_size=4", "--set", "eval_every=0.125",
        "--set", "eval_max_tokens=128", "--set", "learning_rate=5e-3"]


def _env(tiny_home):
    return {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def _train_cmd(tiny_model, out):
    return [sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), *ARGS, "--out", str(out)]


def _adapter(run):
    from safetensors.torch import load_file

    return load_file(str(run / "adapter" / "adapter_model.safetensors"))


def _wait_for_first_train_row(proc, run, timeout=300):
    deadline = time.time() + timeout
    while True:
        assert proc.poll() is None, "training ended before it could be stopped"
        assert time.time() < deadline, "no train metrics row in time"
        if (run / "metrics.jsonl").exists() and any(r.get("type") == "train" for r in _rows(run)):
            return
        time.sleep(0.05)


def _rows(run):
    try:
        return read_jsonl(run / "metrics.jsonl")
    except Exception:  # noqa: BLE001 - a line being appended
        return []


@pytest.fixture(scope="module")
def reference_run(tiny_model, tiny_home, tmp_path_factory):
    """One uninterrupted run with the test's arguments (finished)."""
    run = tmp_path_factory.mktemp("reference") / "run"
    proc = subprocess.run(_train_cmd(tiny_model, run), env=_env(tiny_home), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run


@pytest.mark.slow
def test_sigterm_checkpoints_stops_and_resume_is_exact(tiny_model, tiny_home, tmp_path, reference_run):
    run = tmp_path / "stopped"
    proc = subprocess.Popen(_train_cmd(tiny_model, run), env=_env(tiny_home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_first_train_row(proc, run)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    match = re.fullmatch(rf"stopped at step (\d+); resume with: workbench train --resume {re.escape(str(run))}", last)
    assert match, last
    step = int(match.group(1))
    steps = read_json(reference_run / "run.json")["steps"]
    assert 1 <= step < steps
    assert (run / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").exists()
    assert not (run / "adapter").exists()  # stopped is not finished
    status, card = read_json(run / "status.json"), read_json(run / "run.json")
    assert status["state"] == "stopped" and status["step"] == step and status["signal"] == "SIGTERM"
    assert card["state"] == "stopped" and card["step"] == step
    assert read_json(run / "artifact.json")["complete"] is False
    # as if a later attempt had failed: the resumed run must not carry that error into "finished"
    from workbench.status import mark_failed

    try:
        raise RuntimeError("an earlier attempt failed")
    except RuntimeError as exc:
        mark_failed(run, exc)
    assert read_json(run / "status.json")["traceback"]

    resumed = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(run)],
                             env=_env(tiny_home), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = _adapter(reference_run), _adapter(run)
    assert a.keys() == b.keys()
    import torch

    for key in a:
        assert torch.equal(a[key], b[key]), (key, (a[key] - b[key]).abs().max().item())
    card = read_json(run / "run.json")
    assert card["state"] == "finished" and card["step"] == steps
    # the wall time counts both segments: 0 -> step (stopped) and step -> the end (resumed)
    segments = card["segments"]
    assert [(s["from_step"], s["to_step"]) for s in segments] == [(0, step), (step, steps)]
    assert card["wall_seconds"] == pytest.approx(sum(s["wall_seconds"] for s in segments), abs=0.11)
    assert card["wall_seconds"] > segments[-1]["wall_seconds"] > 0
    status = read_json(run / "status.json")
    assert status["state"] == "finished" and not {"error", "traceback", "signal", "message"} & status.keys()
    train_steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "train"]
    assert train_steps == list(range(1, steps + 1))  # every step once, in order


@pytest.mark.slow
def test_sigint_stops_with_130_and_the_resume_line(tiny_model, tiny_home, tmp_path):
    run = tmp_path / "interrupted"
    proc = subprocess.Popen(_train_cmd(tiny_model, run), env=_env(tiny_home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_first_train_row(proc, run)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr[-2000:]
    assert re.fullmatch(r"stopped at step \d+; resume with: workbench train --resume .+", stderr.strip().splitlines()[-1])
    assert read_json(run / "status.json")["state"] == "stopped" and read_json(run / "run.json")["state"] == "stopped"


@pytest.mark.slow
def test_second_train_into_the_same_folder_is_refused(tiny_model, tiny_home, tmp_path):
    run = tmp_path / "busy"
    # a longer budget (the last --max-tokens given counts): the tiny run trains 32 steps in about a second,
    # and this one must still be training while three more commands start and are refused
    first = subprocess.Popen([*_train_cmd(tiny_model, run), "--max-tokens", "65536"], env=_env(tiny_home),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_first_train_row(first, run)
        for extra in ([], ["--overwrite"]):
            second = subprocess.run([*_train_cmd(tiny_model, run), *extra], env=_env(tiny_home), capture_output=True,
                                    text=True, timeout=300)
            assert second.returncode == 2, second.stderr
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1 and "in use" in lines[0] and f"pid {first.pid}" in lines[0], lines
        resume = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(run)],
                                env=_env(tiny_home), capture_output=True, text=True, timeout=300)
        assert resume.returncode == 2 and f"pid {first.pid}" in resume.stderr
        assert first.poll() is None  # the first run is untouched and still training
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=300)
    assert first.returncode == 143
    train_steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "train"]
    assert train_steps == sorted(set(train_steps))  # one writer: no duplicated, interleaved rows


@pytest.mark.slow
def test_resume_of_a_finished_run_changes_nothing(tiny_home, reference_run):
    files = [p for p in sorted(reference_run.rglob("*")) if p.is_file()]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(reference_run)],
                          env=_env(tiny_home), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "already finished" in proc.stdout and str(reference_run) in proc.stdout
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before
    assert [p for p in sorted(reference_run.rglob("*")) if p.is_file()] == files


def test_folder_lock_names_its_holder_and_is_freed_when_the_holder_dies(tmp_path):
    from workbench.runlock import FolderInUse, folder_lock, lock_path

    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom workbench.runlock import folder_lock\n"
        f"with folder_lock({str(run)!r}):\n    print('held', flush=True)\n    time.sleep(600)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderInUse) as busy:
            with folder_lock(run):
                pass
        assert f"pid {holder.pid}" in busy.value.one_line() and str(run) in busy.value.one_line()
    finally:
        holder.kill()  # SIGKILL: no cleanup runs, the operating system drops the lock
        holder.wait()
    with folder_lock(run):
        assert lock_path(run) == tmp_path / ".run.lock" and not run.exists()  # beside the folder, not in it
