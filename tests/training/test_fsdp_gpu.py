"""QLoRA sharded with FSDP2 on the visible GPUs (one GPU still checks the wiring): the tiny model in 4-bit
with its weights stored in the compute dtype, trained as one process per GPU, stopped, resumed from the
sharded checkpoint and saved as a plain adapter. Run by ``benchmarks/gpu_session.sh fsdp``."""

import os
import signal
import subprocess
import sys
import time

import pytest

from workbench.io import read_json, read_jsonl

pytestmark = pytest.mark.gpu

ARGS = ["--max-tokens", "8192", "--quant", "nf4", "--sharding", "fsdp", "--set", "block_size=64",
        "--set", "micro_batch_size=4", "--set", "eval_every=0.25", "--set", "eval_max_tokens=128",
        "--set", "learning_rate=5e-3"]


def _env(tiny_home):
    return {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def test_four_bit_sharded_run_stops_resumes_and_saves_an_adapter(tiny_model, tiny_home, tmp_path):
    import torch

    gpus = torch.cuda.device_count()
    run = tmp_path / "qlora-fsdp"
    cmd = [sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), "--out", str(run),
           "--gpus", str(gpus), *ARGS]
    proc = subprocess.Popen(cmd, env=_env(tiny_home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 400
    while not any(run.glob("checkpoints/checkpoint-*/checkpoint_manifest.json")):
        assert proc.poll() is None, proc.stderr.read()[-4000:]
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    status = read_json(run / "status.json")
    if status["state"] == "stopped":  # else it finished before the stop landed: still a sharded run to check
        assert (run / "checkpoints" / f"checkpoint-{status['step']}" / "pytorch_model_fsdp_0").is_dir(), err[-4000:]
        resumed = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(run)],
                                 env=_env(tiny_home), capture_output=True, text=True, timeout=600)
        assert resumed.returncode == 0, resumed.stderr[-4000:]
    card = read_json(run / "run.json")
    assert card["state"] == "finished", err[-4000:]
    assert card["processes"] == gpus and card["quant_storage"] == "bfloat16"
    losses = [r["loss"] for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "train"]
    assert len(losses) == card["steps"] and losses[-1] < losses[0]
    from safetensors.torch import load_file

    adapter = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    assert adapter and all(torch.isfinite(t).all() for t in adapter.values())
    assert any((t != 0).any() for key, t in adapter.items() if "lora_B" in key)
    print(f"4-bit FSDP on {gpus} GPU(s): {card['steps']} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
          f"{card.get('tokens_per_s')} tokens/s, peak {card.get('peak_memory_mb')} MB")
