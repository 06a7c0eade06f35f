"""The real QLoRA path (bitsandbytes NF4 on the CPU + peft LoRA + Trainer) on the tiny model."""

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl
from workbench.training.config import TrainConfig, check_replay_apart
from workbench.workflows import train


def _config(tiny_model, tmp_path, **kw):
    base = dict(
        model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.25,
        eval_max_tokens=256, learning_rate=5e-3, out=str(tmp_path / "run"),
    )
    base.update(kw)
    return TrainConfig(**base)


def test_qlora_run_writes_adapter_metrics_and_cards(tiny_model, tmp_path, workspace):
    run = train(_config(tiny_model, tmp_path, replay="sample", replay_ratio=0.25), workspace, progress=False)
    card = read_json(run / "run.json")
    assert card["state"] == "finished" and card["seed"] == 42
    assert card["config"]["quant"] == "nf4" and card["versions"]["bitsandbytes"]
    assert card["model"]["weights_sha256"] and card["inputs"]["data"]["sha256"]
    # every text the run trained on is hashed, the bundled replay text (not the general held-out set) included
    replay = card["inputs"]["replay"]
    assert Path(replay["path"]).name == "general_replay.jsonl"
    assert replay["sha256"] == hashlib.sha256(Path(replay["path"]).read_bytes()).hexdigest()
    assert 0.9 < card["data"]["packing_efficiency"] <= 1.0
    assert card["tokens_seen"] == 4096 and card["tokens_per_s"] > 0
    # the pre-launch estimate is recorded beside what the run measured
    import torch

    assert (card["plan"]["gpu"] != "cpu") if torch.cuda.is_available() else (card["plan"]["gpu"] == "cpu")
    assert card["plan_vs_measured"]["tokens_per_s"]["measured"] == card["tokens_per_s"]
    assert card["plan_vs_measured"]["tokens_per_s"]["ratio"] > 0
    metrics = read_jsonl(run / "metrics.jsonl")
    evals = [m for m in metrics if m["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 4, 8, 12, 16]  # base + every 25%
    assert all(e["domain_ppl"] > 1 and e["general_ppl"] > 1 for e in evals)
    assert evals[-1]["domain_ppl"] < evals[0]["domain_ppl"]  # it learned something
    train_rows = [m for m in metrics if m["type"] == "train"]
    assert len(train_rows) == 16 and all({"loss", "lr", "tokens_per_s"} <= set(r) for r in train_rows)
    # every checkpoint carries its own run card; of the 4 written, the last and the best are kept
    ckpts = sorted((run / "checkpoints").glob("checkpoint-*"))
    assert 1 <= len(ckpts) <= 2 and (run / "checkpoints" / "checkpoint-16").exists()
    for ckpt in ckpts:
        ck = read_json(ckpt / "run.json")
        assert ck["state"] == "checkpoint" and ck["config"] == card["config"]
    # the adapter is a plain peft folder
    from peft import PeftConfig

    assert PeftConfig.from_pretrained(str(run / "adapter")).r == 16
    assert read_json(run / "status.json")["state"] == "finished"


def test_existing_run_is_not_overwritten(tiny_model, tmp_path, workspace):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("precious")
    with pytest.raises(WorkbenchError, match="--overwrite"):
        train(_config(tiny_model, tmp_path), workspace, progress=False)
    assert (tmp_path / "run" / "keep.txt").read_text() == "precious"


def test_bad_inputs_stop_with_clear_messages(tiny_model, tmp_path, workspace):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(WorkbenchError, match="holds no documents"):
        train(_config(tiny_model, tmp_path, data=str(empty)), workspace, progress=False)
    with pytest.raises(WorkbenchError, match="does not exist"):
        train(_config(tiny_model, tmp_path, replay=str(tmp_path / "nope.jsonl"), replay_ratio=0.1, out=str(tmp_path / "r2")),
              workspace, progress=False)
    with pytest.raises(WorkbenchError, match="larger than the model's context"):
        train(_config(tiny_model, tmp_path, block_size=4096, out=str(tmp_path / "r3")), workspace, progress=False)
    status = json.loads((tmp_path / "r3" / "status.json").read_text())
    assert status["state"] == "failed" and "context" in status["error"]


def test_replay_text_that_copies_the_general_held_out_set_is_refused_before_the_run(tiny_model, tmp_path, workspace,
                                                                                     sample_dir):
    import random

    general = read_jsonl(sample_dir / "general_eval.jsonl")
    words = general[6]["text"].split()
    rng = random.Random(0)
    for i in rng.sample(range(len(words)), 6):  # a lightly edited copy of one held-out document
        words[i] = "lantern"
    replay = tmp_path / "replay.jsonl"
    rows = read_jsonl(sample_dir / "general_replay.jsonl")[:5] + [{"id": "edited", "text": " ".join(words)}]
    replay.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = _config(tiny_model, tmp_path, replay=str(replay), replay_ratio=0.1)
    with pytest.raises(WorkbenchError) as raised:
        train(config, workspace, progress=False)
    error = raised.value
    assert error.field == "replay" and str(replay) in error.message and "general_eval.jsonl" in error.message
    assert f"{general[6]['id']} ~ edited" in error.message and "near-copies 1 document(s)" in error.message
    assert "\n" not in error.one_line() and "another general set" in error.fix
    assert not (tmp_path / "run").exists()  # refused before the run folder, so before the model loads
    # the same replay text is accepted when forgetting is measured on another general set
    other = tmp_path / "other_general.jsonl"
    other.write_text("".join(json.dumps(r) + "\n" for r in read_jsonl(sample_dir / "general_replay.jsonl")[10:]))
    check_replay_apart(dataclasses.replace(config, general_eval=str(other)))


def test_trained_embedding_copies_are_fp32_on_a_half_precision_base(tiny_model):
    """Without the fp32 upcast (upcast_unquantized: false, or quant none on a GPU) the base stays
    bf16; every trained parameter (LoRA, embedding copies) is still fp32 for the optimizer."""
    import torch
    from transformers import AutoModelForCausalLM

    from workbench.training.lora import add_lora

    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16)
    config = TrainConfig(model=str(tiny_model), quant="none", train_embeddings=True, upcast_unquantized=False)
    model = add_lora(base, config, "cpu")
    trained = {n: p.dtype for n, p in model.named_parameters() if p.requires_grad}
    assert any("modules_to_save" in n for n in trained)
    assert set(trained.values()) == {torch.float32}
