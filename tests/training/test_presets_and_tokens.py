import dataclasses

import pytest

from workbench.config import from_dict, load_yaml
from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl
from workbench.training.config import (
    PRESETS,
    TrainConfig,
    check_replay_apart,
    list_presets,
    replay_file,
)
from workbench.workflows import train, train_config


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_loads(preset):
    cfg = train_config(preset=preset)
    assert isinstance(cfg, TrainConfig)
    assert cfg.preset == preset  # recorded in the run card
    assert from_dict(TrainConfig, load_yaml(PRESETS / f"{preset}.yaml")) == dataclasses.replace(cfg, preset=None)


def test_presets_cover_the_promised_models():
    names = set(list_presets())
    assert {"smollm2-135m-cpu", "qwen2.5-0.5b", "llama-3.2-1b", "llama-3.1-8b-24gb", "mistral-7b-24gb"} <= names


def test_presets_that_replay_use_the_replay_text_apart_from_the_general_held_out_set(sample_dir):
    replaying = {p for p in list_presets() if train_config(preset=p).replay_ratio > 0}
    assert replaying == {"llama-3.1-8b-24gb", "mistral-7b-24gb"}
    for preset in replaying:
        cfg = train_config(preset=preset, data=str(sample_dir / "domain_corpus.jsonl"))
        assert cfg.replay == "sample" and replay_file(cfg) == sample_dir.resolve() / "general_replay.jsonl"
        check_replay_apart(cfg)  # its replay text near-copies nothing of the default general held-out set


def test_preset_then_flags_then_overrides():
    cfg = train_config(preset="llama-3.1-8b-24gb", overrides=["lora.r=8"], max_tokens=1000)
    assert cfg.micro_batch_size == 1 and cfg.max_tokens == 1000 and cfg.lora.r == 8


def test_unknown_preset_and_unknown_preset_key(tmp_path):
    with pytest.raises(WorkbenchError, match="unknown preset 'nope'"):
        train_config(preset="nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("micro_batch: 4\n")
    with pytest.raises(WorkbenchError, match="unknown config key 'micro_batch'"):
        train_config(config_file=bad)


def _cfg(tiny_model, tmp_path, name, **kw):
    base = dict(model=str(tiny_model), max_tokens=2048, block_size=64, micro_batch_size=4, eval_every=0.5,
                eval_max_tokens=128, learning_rate=5e-3, out=str(tmp_path / name))
    base.update(kw)
    return TrainConfig(**base)


def test_new_glossary_tokens_train_and_reload_with_their_vocabulary(tiny_model, tmp_path, workspace, sample_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.io import read_glossary
    from workbench.training.embeddings import select_new_tokens

    base_tok = AutoTokenizer.from_pretrained(tiny_model)
    expected = select_new_tokens(base_tok, read_glossary(sample_dir / "glossary.csv"), limit=20)
    assert expected, "the tiny tokenizer fragments glossary terms"
    run = train(_cfg(tiny_model, tmp_path, "tok", new_tokens=str(sample_dir / "glossary.csv"), new_tokens_max=20),
                workspace, progress=False)
    card = read_json(run / "run.json")
    assert card["data"]["new_tokens"] == len(expected)
    tok = AutoTokenizer.from_pretrained(run / "adapter")
    assert len(tok) == len(base_tok) + len(expected)
    assert len(tok(" " + expected[0], add_special_tokens=False)["input_ids"]) <= 2  # now one token (+ space)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    base.resize_token_embeddings(len(tok))
    model = PeftModel.from_pretrained(base, run / "adapter")
    assert model.get_input_embeddings().weight.shape[0] == len(tok)
    # the adapter holds only the new rows, not a copy of the whole embedding matrix
    from safetensors import safe_open

    with safe_open(str(run / "adapter" / "adapter_model.safetensors"), "pt") as f:
        shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
    assert not any(s[0] == len(tok) for k, s in shapes.items() if "embed" in k)
    ids = tok(" " + expected[0], return_tensors="pt")
    with torch.no_grad():
        assert torch.isfinite(model(**ids).logits).all()
    # the evaluation loader grows the base by itself and uses the adapter's tokenizer
    from workbench.evaluation.adapted import load_with_adapter

    loaded, loaded_tok = load_with_adapter(str(tiny_model), run, quant="none", device="cpu")
    assert len(loaded_tok) == len(tok) and loaded.get_input_embeddings().weight.shape[0] == len(tok)
    with torch.no_grad():
        assert torch.allclose(loaded(**ids).logits, model(**ids).logits, atol=1e-5)


def test_train_embeddings_uses_its_own_smaller_learning_rate(tiny_model, tmp_path, workspace):
    from workbench.training.lora import embedding_param_groups

    run = train(_cfg(tiny_model, tmp_path, "emb", train_embeddings=True, quant="none", embedding_lr_ratio=0.1),
                workspace, progress=False)
    from peft import PeftConfig

    assert set(PeftConfig.from_pretrained(str(run / "adapter")).modules_to_save) >= {"embed_tokens"}
    # build the groups on a fresh peft model and check the rates
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                           LoraConfig(target_modules="all-linear", modules_to_save=["embed_tokens", "lm_head"]))
    groups = embedding_param_groups(model, 1e-3, 0.1, 0.0)
    assert groups[0]["lr"] == 1e-3 and groups[1]["lr"] == pytest.approx(1e-4) and groups[1]["params"]


def test_forgetting_guard_warns_and_stops(tmp_path):
    """The guard compares each evaluation with the base (step 0) and stops when asked."""
    from transformers import TrainerControl, TrainerState

    from workbench.training.callbacks import WorkbenchCallback

    general = iter([20.0, 20.5, 23.0])  # +2.5%, then +15% over the base
    callback = WorkbenchCallback(
        run_dir=tmp_path, card={}, evaluator=lambda model: {"domain_ppl": 30.0, "general_ppl": next(general)},
        tokens_per_step=64, eval_steps=2, progress=False, forgetting_threshold_pct=10.0, stop_on_forgetting=True,
    )
    state, control = TrainerState(), TrainerControl()
    state.max_steps, state.is_world_process_zero = 10, True
    callback.on_train_begin(None, state, control, model=None)  # base evaluation
    for step in (1, 2):
        state.global_step = step
        callback.on_step_end(None, state, control, model=None)
    assert not control.should_training_stop
    state.global_step = 4
    with pytest.warns(UserWarning, match="forgetting guard"):
        callback.on_step_end(None, state, control, model=None)
    assert control.should_training_stop and callback.stopped_for_forgetting
    metrics = read_jsonl(tmp_path / "metrics.jsonl")
    evals = [m for m in metrics if m["type"] == "eval"]
    assert [e["general_change_pct"] for e in evals] == [0.0, 2.5, 15.0]
    assert [e["forgetting"] for e in evals] == [False, False, True]
    assert any(m["type"] == "warning" and "general perplexity" in m["message"] for m in metrics)
    assert callback.final_card(seconds=1.0)["stopped_for_forgetting"] is True


def test_repeat_a_run_from_its_folder(tmp_path):
    from workbench.config import to_dict
    from workbench.io import write_json

    original = TrainConfig(max_tokens=1234, learning_rate=3e-4, out=str(tmp_path / "a"), name="a")
    write_json(tmp_path / "a" / "run.json", {"config": to_dict(original)})
    again = train_config(from_run=tmp_path / "a", out=str(tmp_path / "b"))
    assert again.max_tokens == 1234 and again.learning_rate == 3e-4 and again.out == str(tmp_path / "b")
    with pytest.raises(WorkbenchError, match="not a run folder"):
        train_config(from_run=tmp_path)
