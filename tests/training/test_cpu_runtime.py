"""A CPU run records the threads and precision it ran with: fp32 by default, bf16 autocast when asked for and the CPU has it."""

from __future__ import annotations

import pytest

from workbench.io import read_json, read_jsonl
from workbench.models.runtime import PRECISION_ENV, THREADS_ENV, cpu_has_bf16
from workbench.training.config import TrainConfig
from workbench.workflows import train


def _run(tiny_model, tmp_path, workspace, name):
    config = TrainConfig(model=str(tiny_model), max_tokens=1024, block_size=64, micro_batch_size=4, eval_every=0,
                         learning_rate=5e-3, out=str(tmp_path / name))
    run = train(config, workspace, progress=False)
    losses = [r["loss"] for r in read_jsonl(run / "metrics.jsonl") if r.get("type") == "train"]
    return read_json(run / "run.json"), losses


@pytest.mark.skipif(not cpu_has_bf16(), reason="the CPU has no bf16 matmul instructions (avx512_bf16/amx_bf16)")
def test_a_cpu_run_trains_in_fp32_by_default_and_in_bf16_when_asked(tiny_model, tmp_path, workspace, monkeypatch):
    import torch

    threads = torch.get_num_threads()
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.setenv(THREADS_ENV, "1")
    try:
        card, fp32_losses = _run(tiny_model, tmp_path, workspace, "fp32")
        assert card["runtime"]["precision"] == "fp32" and card["runtime"]["threads"] == 1  # the default
        assert card["runtime"]["dataloader_workers"] == 0
        assert torch.get_num_threads() == 1
        monkeypatch.setenv(PRECISION_ENV, "auto")
        card, bf16_losses = _run(tiny_model, tmp_path, workspace, "bf16")
        assert card["runtime"]["precision"] == "bf16"
    finally:
        torch.set_num_threads(threads)
    assert len(bf16_losses) == len(fp32_losses) > 1
    assert bf16_losses != fp32_losses  # the matmuls really ran in bf16
    assert bf16_losses[0] == pytest.approx(fp32_losses[0], rel=1e-2)
