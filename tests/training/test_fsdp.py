"""Sharded training on the CPU: two gloo ranks train the tiny model with FSDP2 (weights, gradients and AdamW
states split between them) to the same loss curve and adapter as one process, rank 0 alone writes, and a
stopped sharded run resumes from its sharded checkpoint to the uninterrupted run's adapter.

Tolerance: one process trains each step's 8 blocks as one micro-batch, the two ranks 4 each and average their
gradients, so sums run in another order; measured, the losses agree to 1e-6 and the adapters to 3e-5 (of
weights up to 0.14). The test holds them to 1e-4. LoRA dropout is off: its masks are drawn per process.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl

ARGS = ["--max-tokens", "4096", "--quant", "none", "--set", "block_size=64", "--set", "eval_every=0.5",
        "--set", "eval_max_tokens=128", "--set", "learning_rate=5e-3", "--set", "lora.dropout=0"]
SHARDED = ["--gpus", "2", "--sharding", "fsdp", "--set", "micro_batch_size=4"]
TOLERANCE = 1e-4


def _env(tiny_home):
    return {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1"}


def _train(tiny_model, tiny_home, out, *extra):
    cmd = [sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), "--out", str(out), *ARGS, *extra]
    proc = subprocess.run(cmd, env=_env(tiny_home), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _adapter(run):
    from safetensors.torch import load_file

    return load_file(str(run / "adapter" / "adapter_model.safetensors"))


def _losses(run):
    return [(r["step"], r["loss"]) for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "train"]


@pytest.fixture(scope="module")
def one_process(tiny_model, tiny_home, tmp_path_factory):
    """The reference: one process, 8 blocks per micro-batch (8 steps)."""
    return _train(tiny_model, tiny_home, tmp_path_factory.mktemp("fsdp") / "one", "--set", "micro_batch_size=8")


@pytest.fixture(scope="module")
def sharded(tiny_model, tiny_home, tmp_path_factory):
    """The same run as two sharded ranks of 4 blocks each (``workbench train --gpus 2 --sharding fsdp``)."""
    return _train(tiny_model, tiny_home, tmp_path_factory.mktemp("fsdp") / "sharded", *SHARDED)


@pytest.mark.slow
def test_two_sharded_ranks_train_as_one_process(one_process, sharded):
    import torch

    one, two = _losses(one_process), _losses(sharded)
    assert [s for s, _ in one] == [s for s, _ in two] == list(range(1, 9))
    for (step, a), (_, b) in zip(one, two):
        assert abs(a - b) < TOLERANCE, (step, a, b)
    evals = [[r["domain_ppl"] for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "eval"]
             for run in (one_process, sharded)]
    assert len(evals[1]) == 3 and evals[1] == pytest.approx(evals[0], rel=TOLERANCE)  # every rank scores, rank 0 writes
    a, b = _adapter(one_process), _adapter(sharded)
    assert a.keys() == b.keys() and a  # a plain peft adapter, gathered from the shards
    for key in a:
        assert torch.allclose(a[key], b[key], atol=TOLERANCE, rtol=0), (key, (a[key] - b[key]).abs().max().item())
    assert any((a[key] != 0).any() for key in a if "lora_B" in key)  # it trained


@pytest.mark.slow
def test_a_sharded_run_is_recorded_by_rank_zero(sharded):
    import yaml

    card = read_json(sharded / "run.json")
    assert card["state"] == "finished" and card["processes"] == 2 and card["config"]["sharding"] == "fsdp"
    assert card["tokens_per_step"] == 2 * 4 * 64 and card["steps"] == 8
    ranks = [read_json(sharded / "ranks" / f"rank-{r}.json") for r in (0, 1)]
    assert ranks[0]["adapter_sha256"] == ranks[1]["adapter_sha256"]  # both gathered the same whole adapter
    assert read_json(sharded / "status.json")["pid"] == ranks[0]["pid"] != ranks[1]["pid"]
    steps = [r["step"] for r in read_jsonl(sharded / "metrics.jsonl") if r["type"] == "train"]
    assert steps == sorted(set(steps))  # one writer: no line twice
    checkpoint = sharded / "checkpoints" / "checkpoint-8"
    assert (checkpoint / "pytorch_model_fsdp_0").is_dir() and (checkpoint / "optimizer_0").is_dir()  # each rank's shard
    assert {p.name for p in checkpoint.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    launch = yaml.safe_load((sharded / "accelerate_config.yaml").read_text())
    assert launch["distributed_type"] == "FSDP" and launch["num_processes"] == 2
    assert launch["fsdp_config"]["fsdp_version"] == 2 and launch["fsdp_config"]["fsdp_state_dict_type"] == "SHARDED_STATE_DICT"


@pytest.mark.slow
def test_a_stopped_sharded_run_resumes_to_the_uninterrupted_adapter(tiny_model, tiny_home, tmp_path, sharded):
    import torch

    run = tmp_path / "stopped"
    cmd = [sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), "--out", str(run), *ARGS, *SHARDED]
    proc = subprocess.Popen(cmd, env=_env(tiny_home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while not (run / "checkpoints" / "checkpoint-4" / "checkpoint_manifest.json").exists():
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)  # to the launcher: torchrun passes it on, rank 0 checkpoints and records it
    proc.communicate(timeout=300)
    assert proc.returncode != 0
    status = read_json(run / "status.json")
    assert status["state"] == "stopped" and not (run / "adapter").exists()
    stopped_at = status["step"]
    assert 4 <= stopped_at < 8 and (run / "checkpoints" / f"checkpoint-{stopped_at}" / "pytorch_model_fsdp_0").is_dir()

    # no --gpus: a resumed run starts as many processes as it started with (run.json's processes)
    resumed = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(run)],
                             env=_env(tiny_home), capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_json(run / "run.json")["state"] == "finished"
    a, b = _adapter(sharded), _adapter(run)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6, rtol=0), (key, (a[key] - b[key]).abs().max().item())
    (steps, losses), (reference_steps, reference_losses) = (zip(*_losses(r)) for r in (run, sharded))
    assert steps == reference_steps and losses == pytest.approx(reference_losses, abs=1e-6)


def test_sharding_needs_a_launch_of_processes(tiny_model, workspace, monkeypatch):
    from workbench.training.config import TrainConfig
    from workbench.workflows import train

    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with pytest.raises(WorkbenchError) as err:
        train(TrainConfig(model=str(tiny_model), sharding="fsdp", preset="none"), workspace, progress=False)
    assert err.value.field == "sharding" and "--gpus" in err.value.fix
    assert not any((workspace.root / "runs").glob("*/run.json"))  # refused before a run folder or a model


def test_a_resumed_run_needs_the_processes_it_started_with(tmp_path, monkeypatch):
    from workbench.training.config import TrainConfig
    from workbench.training.trainer import check_processes

    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(WorkbenchError) as err:
        check_processes(TrainConfig(), started_with=2, run_dir=tmp_path)
    assert "started as 2 process(es) and is resumed as 1" in str(err.value) and "2 GPU(s)" in err.value.fix
    check_processes(TrainConfig(), started_with=1, run_dir=tmp_path)


def test_the_launch_command_runs_one_process_per_gpu():
    from workbench.training.fsdp import launch_command

    cmd = launch_command(4, ["--resume", "runs/x"])
    assert os.path.basename(cmd[0]) == "torchrun" and cmd[cmd.index("--nproc_per_node") + 1] == "4"
    assert cmd[-4:] == ["workbench.cli", "train", "--resume", "runs/x"] and "--standalone" in cmd
    with pytest.raises(WorkbenchError) as err:
        launch_command(0, [])
    assert err.value.field == "gpus"


def test_a_resume_on_another_gpu_count_is_refused_before_any_process_starts(tmp_path):
    from workbench.config import to_dict
    from workbench.training.config import TrainConfig
    from workbench.workflows import train_on_gpus

    run = tmp_path / "runs" / "two"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(
        {"kind": "run", "config": to_dict(TrainConfig(sharding="fsdp", preset="none")), "processes": 2}))
    with pytest.raises(WorkbenchError) as err:
        train_on_gpus(None, tmp_path / "ws", gpus=3, resume=run)
    assert err.value.field == "gpus" and "started as 2 process(es)" in str(err.value)
    assert sorted(p.name for p in run.iterdir()) == ["run.json"]  # nothing launched, nothing written
