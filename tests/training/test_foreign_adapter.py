"""An adapter trained outside the workbench (Axolotl's output folder: adapter_config.json and the weights, no
run.json) is compared with its base: the base comes from the adapter's own config."""

from __future__ import annotations

import json
import shutil

import pytest

from workbench.errors import WorkbenchError


def _docs(path, texts):
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def _texts(sample_dir, name, n=6, chars=500):
    lines = (sample_dir / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"][:chars] for line in lines if line.strip()][:n]


@pytest.mark.slow
def test_compare_takes_an_adapter_folder_without_a_run_card(tiny_model, sample_dir, tmp_path):
    from workbench.evaluation.config import EvalConfig
    from workbench.training.config import TrainConfig
    from workbench.workflows import compare, train
    from workbench.workspace import Workspace

    ws = Workspace.at(tmp_path / "ws")
    run = train(TrainConfig(model=str(tiny_model), quant="none", max_tokens=1024, block_size=64, micro_batch_size=4,
                            eval_every=0.0, out=str(tmp_path / "run"), preset="none"), ws, progress=False)
    foreign = tmp_path / "axolotl-out"  # what Axolotl's output_dir holds: the peft files alone
    foreign.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.copy(run / "adapter" / name, foreign / name)
    assert json.loads((foreign / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_model)
    domain = _docs(tmp_path / "domain.jsonl", _texts(sample_dir, "domain_eval.jsonl"))
    general = _docs(tmp_path / "general.jsonl", _texts(sample_dir, "general_eval.jsonl"))
    out = compare(EvalConfig(adapter=str(foreign), domain_eval=str(domain), general_eval=str(general), quant="none",
                             window=64, n_bootstrap=100, generations=0, heatmap_documents=1,
                             out=str(tmp_path / "cmp")), ws, progress=False)
    result = json.loads((out / "comparison.json").read_text())
    assert result["complete"] is True and result["base_model"] == str(tiny_model)
    assert result["adapted"]["domain"]["tokens"] == result["base"]["domain"]["tokens"] > 0

    (foreign / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))  # names no base
    with pytest.raises(WorkbenchError) as err:
        compare(EvalConfig(adapter=str(foreign), domain_eval=str(domain), general_eval=str(general), quant="none",
                           out=str(tmp_path / "cmp2")), ws, progress=False)
    assert err.value.field == "model"
