"""Resume after SIGKILL reproduces the uninterrupted run; torchrun trains one shared adapter."""

import os
import shutil
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


def _adapter(path):
    from safetensors.torch import load_file

    return load_file(str(path / "adapter" / "adapter_model.safetensors"))


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(tiny_model, tiny_home, tmp_path):
    env = _env(tiny_home)
    train = [sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), *ARGS]
    reference = tmp_path / "reference"
    subprocess.run([*train, "--out", str(reference)], env=env, check=True, capture_output=True, timeout=600)

    run = tmp_path / "killed"
    proc = subprocess.Popen([*train, "--out", str(run)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run / "checkpoints" / "checkpoint-8" / "trainer_state.json").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "adapter").exists()  # it really died mid-run
    status = read_json(run / "status.json")
    assert status["state"] == "running"  # a killed process cannot update its status: the app sees a stale pid

    resumed = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(run)],
                             env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = _adapter(reference), _adapter(run)
    assert a.keys() == b.keys()
    import torch

    for key in a:
        assert torch.equal(a[key], b[key]), (key, (a[key] - b[key]).abs().max().item())  # exact, not close
    # the metrics log is continuous: every eval step once, in order
    steps = [m["step"] for m in read_jsonl(run / "metrics.jsonl") if m["type"] == "eval"]
    assert steps == sorted(set(steps)) and steps[-1] == read_json(run / "run.json")["steps"]
    assert read_json(run / "run.json")["state"] == "finished"


@pytest.mark.slow
def test_torchrun_two_processes_train_one_shared_adapter(tiny_model, tiny_home, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun ships with torch"
    run = tmp_path / "ddp"
    import socket

    with socket.socket() as probe:  # a free port, so parallel CI jobs do not collide
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", port, "-m", "workbench.cli", "train",
         "--model", str(tiny_model), "--out", str(run), "--quant", "none", *ARGS],
        env=_env(tiny_home), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [read_json(run / "ranks" / f"rank-{r}.json") for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["adapter_sha256"] == ranks[1]["adapter_sha256"]  # one shared adapter
    assert read_json(run / "status.json")["pid"] == ranks[0]["pid"] != ranks[1]["pid"]  # rank 0 writes the status
    card = read_json(run / "run.json")
    # the budget is split across ranks: each optimizer step consumes 2 x micro-batch blocks
    assert card["tokens_per_step"] == 2 * 64 * 4 and card["steps"] == 8192 // (2 * 64 * 4)
