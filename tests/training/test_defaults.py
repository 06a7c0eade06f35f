"""Defaults resolved from the model and the budget (workbench/training/defaults.py)."""

from __future__ import annotations

import pytest

from workbench.errors import WorkbenchError
from workbench.io import read_json
from workbench.training.config import TrainConfig, preset_for_model
from workbench.training.defaults import learning_rate_for
from workbench.workflows import train_config


def test_learning_rate_grows_as_the_model_shrinks():
    assert learning_rate_for(135e6) == pytest.approx(9.7e-4)    # SmolLM2-135M: about the preset's 1e-3
    assert learning_rate_for(1e5) == pytest.approx(1e-3)        # clipped at the top
    assert learning_rate_for(8.0e9) == pytest.approx(1.9e-4)    # LoRA's customary rate for 7-8B
    assert learning_rate_for(70e9) == pytest.approx(1e-4)       # clipped at the bottom
    sizes = [0.5e9, 1.2e9, 3e9, 7e9]
    rates = [learning_rate_for(n) for n in sizes]
    assert rates == sorted(rates, reverse=True) and rates[-1] == pytest.approx(2e-4)


@pytest.mark.parametrize("model,preset", [
    ("smollm2-135m", "smollm2-135m-cpu"), ("Qwen/Qwen2.5-0.5B", "qwen2.5-0.5b"),
    ("meta-llama/Llama-3.2-1B", "llama-3.2-1b"), ("mistralai/Mistral-7B-v0.3", "mistral-7b-24gb"),
    ("tiny-llama", None), ("/models/my-own-model", None), (None, None),
])
def test_the_preset_made_for_a_model(model, preset):
    assert preset_for_model(model) == preset


def test_naming_only_the_model_picks_its_preset():
    config = train_config(model="smollm2-135m", data="x.jsonl")
    assert config.preset == "smollm2-135m-cpu" and config.learning_rate == pytest.approx(1e-3)
    default = train_config(data="x.jsonl")  # the default model is smollm2-135m too
    assert default.preset == "smollm2-135m-cpu"
    plain = train_config(preset="none", model="smollm2-135m", data="x.jsonl")
    assert plain.preset == "none" and plain.learning_rate is None  # resolved from the model's size at launch
    mine = train_config(model="smollm2-135m", learning_rate=3e-4, block_size=128)
    assert mine.learning_rate == pytest.approx(3e-4) and mine.block_size == 128  # the user's values win
    with pytest.raises(WorkbenchError) as refused:  # a preset made for another model: refused, naming both
        train_config(preset="llama-3.2-1b", model="smollm2-135m")
    assert "meta-llama/Llama-3.2-1B" in str(refused.value) and "smollm2-135m" in str(refused.value)
    assert refused.value.field == "preset"


def test_a_run_records_the_resolved_learning_rate_and_why(tiny_model, tmp_path, workspace):
    from workbench.workflows import train

    config = TrainConfig(model=str(tiny_model), data=str(tmp_path / "d.jsonl"), max_tokens=256, block_size=32,
                         micro_batch_size=2, eval_every=0.0, quant="none", out=str(tmp_path / "run"))
    assert config.learning_rate is None
    (tmp_path / "d.jsonl").write_text("\n".join('{"text": "the dose of warfarin is adjusted to the INR"}' for _ in range(20)))
    run = train(config, workspace, progress=False)
    card = read_json(run / "run.json")
    assert card["config"]["learning_rate"] == pytest.approx(1e-3)  # a tiny model: the top of the range
    assert "model's size" in card["resolved"]["learning_rate_reason"]
    assert card["resolved"]["first_step_lr"] <= 1e-3
    lrs = [r["lr"] for r in map(__import__("json").loads, (run / "metrics.jsonl").read_text().splitlines())
           if r.get("type") == "train"]
    assert max(lrs) == pytest.approx(1e-3, rel=1e-6)


def test_in_training_samples_spread_over_the_whole_held_out_set(tiny_model):
    from transformers import AutoTokenizer

    from workbench.training.data import cap_texts

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = [f"document {i} " + " ".join(f"word{i}x{j}" for j in range(120)) for i in range(20)]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert cap_texts(tokenizer, texts, sum(lengths)) == texts  # the whole set fits: all of it
    sample = cap_texts(tokenizer, texts, 1280, position="middle")
    used = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in sample)
    assert 1280 * 0.9 <= used <= 1280 + len(sample)  # about the budget (decode/encode may shift a token)
    assert len(sample) == 20  # every document contributes, not the first ones only
    assert "word0x60" in sample[0] and "word19x60" in sample[-1]  # spans from the middle of first and last
    few = cap_texts(tokenizer, texts, 256, position="middle")  # a small budget: 4 documents evenly spaced, 64 tokens each
    assert len(few) == 4 and "word19x" in few[-1] and "word6x" in few[1]


def test_whole_and_start_samples_keep_documents_from_their_start(tiny_model):
    from transformers import AutoTokenizer

    from workbench.training.data import _spread_order, cap_texts

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = [f"document {i} " + " ".join(f"word{i}x{j}" for j in range(120)) for i in range(20)]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    order = _spread_order(len(texts))
    assert sorted(order) == list(range(20)) and order[:4] == [0, 10, 5, 15]  # every prefix spreads over the set
    budget = lengths[0] + lengths[10] + 100
    whole = cap_texts(tokenizer, texts, budget, position="whole")
    # documents 0 and 10 whole, then the first 100 tokens of document 5, in set order
    assert whole[0] == texts[0] and whole[2] == texts[10]
    assert whole[1].startswith("document 5") and whole[1] != texts[5]
    used = sum(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in whole)
    assert budget - 3 <= used <= budget + 3
    start = cap_texts(tokenizer, texts, 1280, position="start")
    assert len(start) == 20 and all(p.startswith(f"document {i}") for i, p in enumerate(start))
    with pytest.raises(ValueError, match="position"):
        cap_texts(tokenizer, texts, 1280, position="end")


def test_in_training_evaluation_scores_whole_documents_by_default(tiny_model):
    from transformers import AutoTokenizer

    from workbench.training.config import TrainConfig
    from workbench.training.heldout import HeldOutEvaluator

    assert TrainConfig().eval_sample == "whole"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = [f"document {i} " + " ".join(f"word{i}x{j}" for j in range(120)) for i in range(20)]
    n = sum(len(tokenizer(texts[i], add_special_tokens=False)["input_ids"]) for i in (0, 10))
    evaluator = HeldOutEvaluator(tokenizer, {"domain": texts}, max_tokens=n, window=64, scorer=None)
    assert evaluator.sets["domain"] == [texts[0], texts[10]]  # two whole documents, spread through the set
    spans = HeldOutEvaluator(tokenizer, {"domain": texts}, max_tokens=n, window=64, scorer=None, sample="middle")
    assert len(spans.sets["domain"]) > 2 and texts[0] not in spans.sets["domain"]
