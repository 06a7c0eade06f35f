"""A run whose adapter weights file was deleted: one line saying so, whether the run is named by a
relative or an absolute path (a local path is never looked up on the Hugging Face Hub)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_without_weights(tiny_run, tmp_path):
    run = tmp_path / "runs" / "damaged"
    shutil.copytree(tiny_run, run)
    (run / "adapter" / "adapter_model.safetensors").unlink()
    return run


@pytest.mark.parametrize("relative", [True, False])
def test_compare_names_the_missing_weights_file(run_without_weights, tiny_home, small_sets, tmp_path, relative):
    domain, general = small_sets
    adapted = "runs/damaged" if relative else str(run_without_weights)
    env = {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "workbench.cli", "compare", "--adapted", adapted, "--domain-eval",
                             str(domain), "--general-eval", str(general), "--out", str(tmp_path / "comparison")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    expected = (f"error: adapter {run_without_weights / 'adapter'} has no weights file "
                "(adapter_model.safetensors or adapter_model.bin): it was deleted or never written.")
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    assert "Hub" not in result.stderr and "does not fit" not in result.stderr
    assert not (tmp_path / "comparison").exists()


def test_the_check_comes_before_the_base_model_loads(run_without_weights, monkeypatch):
    from workbench.evaluation.adapted import load_with_adapter

    def no_loading(*args, **kwargs):
        raise AssertionError("the base model was loaded")

    monkeypatch.setattr("workbench.models.load.load_model", no_loading)
    with pytest.raises(WorkbenchError, match="has no weights file"):
        load_with_adapter("tiny-llama", run_without_weights)


def test_a_relative_adapter_path_loads_as_a_local_folder(tiny_run, tiny_model, tmp_path, monkeypatch):
    from workbench.evaluation.adapted import load_with_adapter

    shutil.copytree(tiny_run, tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    model, _ = load_with_adapter(str(tiny_model), "run", quant="none")
    assert Path(model.peft_config["default"].base_model_name_or_path or "").name == "tiny-llama"
    assert any("lora_A" in name for name, _ in model.named_parameters())
