"""A run's settings as an Axolotl config: the hand-off for teams that train with Axolotl.

``axolotl_config(run)`` reads a run's ``run.json`` (its resolved config, steps and runtime) and returns
the equivalent Axolotl YAML keys: the base model, 4-bit QLoRA or LoRA, the LoRA shape and targets,
packing to the run's block size, the snapshot's train/eval files as completion datasets, the learning
rate, schedule and warm-up, the batch shape and the number of steps, and FSDP when the run sharded.
The workbench's corpus tools, comparison and review then work around the Axolotl run:
``workbench compare --adapter OUTPUT_DIR`` scores the adapter Axolotl writes.

Keys follow Axolotl's config schema (``axolotl.utils.schemas.config.AxolotlInputConfig``; checked
against axolotl 0.19.0). What Axolotl has no key for is said in the YAML's header comment.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.errors import WorkbenchError

AXOLOTL_FILE = "axolotl.yaml"


def _base_model(card: dict) -> str:
    """The Hub id of the base where the workbench knows it (a registry name), else the spec as given."""
    from workbench.models.registry import REGISTRY

    spec = card["config"]["model"]
    entry = REGISTRY.get(spec)
    return entry.hf_id if entry is not None and entry.hf_id else spec


def _dataset(path: str, text_field: str) -> dict:
    # a JSONL file of documents: Axolotl's completion format trains on the whole text of each
    return {"path": str(path), "ds_type": "json", "type": "completion", "field": text_field}


def _data_files(config: dict) -> tuple[Path, Path | None]:
    """The training file and the held-out domain file of a run (a snapshot's train/eval split, or the file given)."""
    from workbench.documents.texts import resolve_training_data

    train = Path(resolve_training_data(config["data"])[0])
    if config.get("domain_eval"):
        return train, Path(config["domain_eval"])
    held_out = Path(config["data"]) / "eval.jsonl"
    return train, held_out if held_out.is_file() else None


def axolotl_config(run: str | os.PathLike) -> tuple[dict, list[str]]:
    """The Axolotl config equivalent to run ``run``, and the settings it cannot carry over (in words).

    Raises a user error when ``run`` is not a run folder."""
    from workbench.runs import read_run_card
    from workbench.training.fsdp import fsdp_config, is_sharded

    run = Path(run)
    card = read_run_card(run)
    config = card["config"]
    resolved = card.get("resolved") or {}
    runtime = card.get("runtime") or {}
    lora = config.get("lora") or {}
    targets = str(lora.get("target_modules", "all-linear"))
    nf4 = config.get("quant", "nf4") == "nf4"
    train_file, eval_file = _data_files(config)
    learning_rate = config.get("learning_rate") or resolved.get("learning_rate")
    out: dict = {
        "base_model": _base_model(card),
        "load_in_4bit": nf4,
        "adapter": "qlora" if nf4 else "lora",
        "lora_r": lora.get("r", 16),
        "lora_alpha": lora.get("alpha", 32),
        "lora_dropout": lora.get("dropout", 0.05),
        **({"lora_target_linear": True} if targets == "all-linear"
           else {"lora_target_modules": [t.strip() for t in targets.split(",") if t.strip()]}),
        "sequence_len": config["block_size"],
        "sample_packing": True,  # the workbench packs documents into full blocks
        "pad_to_sequence_len": True,
        # packed documents attend only within themselves, as in the workbench (Axolotl needs a packing-aware backend)
        "attn_implementation": "flash_attention_2",
        "datasets": [_dataset(train_file, config.get("text_field", "text"))],
        **({"test_datasets": [{**_dataset(eval_file, config.get("text_field", "text")), "split": "train"}]}
           if eval_file is not None else {}),
        "micro_batch_size": config["micro_batch_size"],
        "gradient_accumulation_steps": config["grad_accum"],
        **({"max_steps": card["steps"]} if card.get("steps") else {}),
        "learning_rate": learning_rate,
        "lr_scheduler": config.get("lr_scheduler", "cosine"),
        **({"warmup_steps": resolved["warmup_steps"]} if "warmup_steps" in resolved
           else {"warmup_ratio": config.get("warmup_ratio", 0.05)}),
        "weight_decay": config.get("weight_decay", 0.0),
        "max_grad_norm": config.get("max_grad_norm", 1.0),
        "optimizer": runtime.get("optimizer") or ("paged_adamw_8bit" if nf4 else "adamw_torch"),
        "gradient_checkpointing": bool(runtime.get("checkpointing", True)),
        "bf16": "auto",
        "seed": config.get("seed", 42),
        "output_dir": f"./outputs/{run.name}",
        "save_safetensors": True,
    }
    if config.get("train_embeddings"):
        out["lora_modules_to_save"] = ["embed_tokens", "lm_head"]
        out["embedding_lr_scale"] = config.get("embedding_lr_ratio", 0.1)
    sharding = config.get("sharding", "none")
    if is_sharded(sharding):
        fsdp = fsdp_config(sharding)
        out["fsdp_version"] = fsdp["version"]
        out["fsdp_config"] = {
            "offload_params": fsdp["cpu_offload"],
            "cpu_ram_efficient_loading": fsdp["cpu_ram_efficient_loading"],
            "auto_wrap_policy": fsdp["auto_wrap_policy"],
            "state_dict_type": fsdp["state_dict_type"],
            "reshard_after_forward": fsdp["reshard_after_forward"],
        }
    dropped = []
    if float(config.get("replay_ratio") or 0) > 0:
        dropped.append(f"replay ({config['replay_ratio']:.0%} of blocks from {config.get('replay')}): add it to "
                       "datasets; Axolotl mixes datasets by concatenation, not by a ratio")
    if config.get("new_tokens"):
        dropped.append(f"new tokens from the glossary {config['new_tokens']}: list them under 'tokens'")
    if float(config.get("eval_every") or 0) > 0:
        dropped.append("in-training evaluation of general text (the forgetting monitor): run workbench compare after")
    return out, dropped


def export_axolotl(run: str | os.PathLike, out: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
    """Write ``RUN``'s Axolotl config to ``out`` (default ``RUN/export/axolotl.yaml``); returns the file."""
    import yaml

    from workbench.io import atomic_write_text

    config, dropped = axolotl_config(run)
    path = Path(out) if out else Path(run) / "export" / AXOLOTL_FILE
    if path.exists() and not overwrite:
        raise WorkbenchError(f"{path} already exists.", "choose another {field}, or overwrite it.", field="out")
    header = [f"# Axolotl config equivalent to the workbench run {Path(run).name} (its run.json)."]
    header += [f"# not carried over: {line}" for line in dropped]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(header) + "\n" + yaml.safe_dump(config, sort_keys=False))
    return path


def read_export(path: str | os.PathLike) -> dict:
    """An exported Axolotl YAML as a dict (for checks and the app)."""
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


__all__ = ["axolotl_config", "export_axolotl", "read_export", "AXOLOTL_FILE"]
