"""Export a run: its LoRA adapter as a standalone peft folder, or merged into the base weights."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import read_json, write_json
from workbench.runcard import make_run_card


def export_run(run: str | os.PathLike, out: str | os.PathLike | None = None, merge: bool = False, overwrite: bool = False) -> Path:
    """Write ``RUN``'s adapter (default) or a merged full-precision model folder to ``out``.

    Merging loads the base in full precision, not 4-bit: folding LoRA deltas into quantized
    weights would round them away. The merged folder loads with plain ``from_pretrained``.
    """
    from workbench.io import atomic_directory
    from workbench.runs import adapter_dir

    run = Path(run)
    if not (run / "run.json").exists():
        raise WorkbenchError(f"{run} is not a run folder (no run.json).", "pass a folder under workspace/runs/.")
    card = read_json(run / "run.json")
    source = adapter_dir(run)
    out = Path(out) if out else run / "export" / ("merged" if merge else "adapter")
    with atomic_directory(out, overwrite=overwrite) as tmp:
        if not merge:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
        else:
            _merge(card["config"]["model"], source, tmp)
        write_json(tmp / "workbench_export.json", make_run_card(
            "export", {"run": str(run), "merge": merge}, seed=card.get("seed"),
            inputs={"adapter": source}, source_run=card.get("config"),
        ))
    return out


def _merge(model_spec: str, adapter: Path, out: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.models.load import resolve_model

    resolved = resolve_model(model_spec)
    base = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=torch.float32, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    if len(tokenizer) != base.get_input_embeddings().weight.shape[0]:
        base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
