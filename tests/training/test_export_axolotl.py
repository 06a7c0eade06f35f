"""`workbench export-config --format axolotl RUN`: the run's settings as Axolotl keys, checked against the
keys and types Axolotl's config schema declares (axolotl 0.19.0, ``axolotl.utils.schemas``)."""

import pytest
import yaml

from workbench.config import to_dict
from workbench.errors import WorkbenchError
from workbench.io import write_json
from workbench.runcard import make_run_card
from workbench.training.config import LoraSettings, TrainConfig
from workbench.training.export_axolotl import axolotl_config, export_axolotl

# The top-level keys this export writes, as axolotl 0.19.0's AxolotlInputConfig declares them
# (utils/schemas/{model,peft,config,training}.py), with the Python types its fields accept.
AXOLOTL_KEYS = {
    "base_model": str, "load_in_4bit": bool, "adapter": str, "lora_r": int, "lora_alpha": int, "lora_dropout": float,
    "lora_target_linear": bool, "lora_target_modules": list, "lora_modules_to_save": list, "sequence_len": int,
    "sample_packing": bool, "pad_to_sequence_len": bool, "attn_implementation": str, "datasets": list,
    "test_datasets": list, "micro_batch_size": int, "gradient_accumulation_steps": int, "max_steps": int,
    "learning_rate": float, "lr_scheduler": str, "warmup_steps": int, "warmup_ratio": float, "weight_decay": float,
    "max_grad_norm": float, "optimizer": str, "gradient_checkpointing": bool, "bf16": str, "seed": int,
    "output_dir": str, "save_safetensors": bool, "embedding_lr_scale": float, "fsdp_version": int, "fsdp_config": dict,
}
DATASET_KEYS = {"path", "ds_type", "type", "field", "split"}  # SFTDataset
FSDP_KEYS = {"offload_params", "cpu_ram_efficient_loading", "auto_wrap_policy", "state_dict_type",
             "reshard_after_forward"}  # FSDPConfig


def _run(tmp_path, **settings):
    """A run folder with the run card the trainer writes (its config, steps, resolved and runtime entries)."""
    config = TrainConfig(**settings)
    run = tmp_path / "runs" / "handoff"
    run.mkdir(parents=True)
    write_json(run / "run.json", make_run_card("run", config, seed=config.seed, steps=40,
                                               resolved={"warmup_steps": 2, "learning_rate": 2e-4},
                                               runtime={"optimizer": "paged_adamw_8bit", "checkpointing": True}))
    return run, config


def _check_schema(out: dict) -> None:
    for key, value in out.items():
        assert key in AXOLOTL_KEYS, key
        assert isinstance(value, AXOLOTL_KEYS[key]) or (AXOLOTL_KEYS[key] is float and isinstance(value, int)), key
    for dataset in out["datasets"] + out.get("test_datasets", []):
        assert set(dataset) <= DATASET_KEYS and dataset["type"] == "completion"
    assert set(out.get("fsdp_config", {})) <= FSDP_KEYS


def test_a_qlora_run_on_a_snapshot_becomes_an_axolotl_qlora_config(tmp_path, sample_dir):
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "train.jsonl").write_text((sample_dir / "domain_corpus.jsonl").read_text())
    (snapshot / "eval.jsonl").write_text((sample_dir / "domain_corpus.jsonl").read_text())
    run, config = _run(tmp_path, model="smollm2-135m", data=str(snapshot), block_size=512, micro_batch_size=2,
                       grad_accum=8, learning_rate=3e-4, lora=LoraSettings(r=8, alpha=16, dropout=0.1))
    out, dropped = axolotl_config(run)
    _check_schema(out)
    assert out["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # the registry name's Hub id
    assert (out["adapter"], out["load_in_4bit"]) == ("qlora", True)
    assert (out["lora_r"], out["lora_alpha"], out["lora_dropout"], out["lora_target_linear"]) == (8, 16, 0.1, True)
    assert (out["sequence_len"], out["sample_packing"]) == (512, True)
    assert (out["micro_batch_size"], out["gradient_accumulation_steps"], out["max_steps"]) == (2, 8, 40)
    assert (out["learning_rate"], out["lr_scheduler"], out["warmup_steps"]) == (3e-4, "cosine", 2)
    assert out["datasets"] == [{"path": str(snapshot / "train.jsonl"), "ds_type": "json", "type": "completion",
                                "field": "text"}]
    assert out["test_datasets"][0]["path"] == str(snapshot / "eval.jsonl")
    assert "fsdp_config" not in out and out["optimizer"] == "paged_adamw_8bit"
    assert any("forgetting" in line for line in dropped)


def test_a_sharded_lora_run_with_embeddings_and_replay(tmp_path, sample_dir):
    run, _ = _run(tmp_path, model="tiny-llama", data=str(sample_dir / "domain_corpus.jsonl"), quant="none",
                  sharding="fsdp_offload", train_embeddings=True, embedding_lr_ratio=0.2, replay_ratio=0.1,
                  lora=LoraSettings(target_modules="q_proj,v_proj"), eval_every=0.0)
    out, dropped = axolotl_config(run)
    _check_schema(out)
    assert (out["adapter"], out["load_in_4bit"]) == ("lora", False)
    assert out["lora_target_modules"] == ["q_proj", "v_proj"] and "lora_target_linear" not in out
    assert out["lora_modules_to_save"] == ["embed_tokens", "lm_head"] and out["embedding_lr_scale"] == 0.2
    assert out["fsdp_version"] == 2
    assert out["fsdp_config"] == {"offload_params": True, "cpu_ram_efficient_loading": True,
                                  "auto_wrap_policy": "TRANSFORMER_BASED_WRAP", "state_dict_type": "SHARDED_STATE_DICT",
                                  "reshard_after_forward": True}
    assert "test_datasets" not in out  # a corpus file has no held-out split beside it
    assert [line.split(" ")[0] for line in dropped] == ["replay"]


def test_export_config_command_writes_the_yaml_once(tmp_path, sample_dir, capsys):
    from workbench.cli import main

    run, config = _run(tmp_path, model="tiny-llama", data=str(sample_dir / "domain_corpus.jsonl"))
    main(["export-config", "--format", "axolotl", str(run)])
    path = run / "export" / "axolotl.yaml"
    assert capsys.readouterr().out.strip() == str(path)
    text = path.read_text()
    assert text.startswith("# Axolotl config equivalent to the workbench run handoff")
    assert yaml.safe_load(text) == axolotl_config(run)[0]
    assert to_dict(config)["lora"]["r"] == yaml.safe_load(text)["lora_r"]
    with pytest.raises(WorkbenchError) as err:
        export_axolotl(run)
    assert err.value.field == "out" and "already exists" in str(err.value)
    with pytest.raises(SystemExit) as code:
        main(["export-config", "--format", "deepspeed", str(run)])
    assert code.value.code == 2 and "unknown config format 'deepspeed'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export-config", str(tmp_path)])  # not a run folder
    assert "is not a run folder" in capsys.readouterr().err
