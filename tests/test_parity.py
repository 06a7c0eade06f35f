"""One recipe layer: the same choices resolve to the same settings from every face.

The choices: a model other than the default (with its own shipped preset), a few overrides, the
training data and a budget; then a comparison of the run with a capped evaluation. Each face (the
CLI, ``jobs.launch``, the app's form function, the notebook helpers) is driven the way a user drives
it, and the settings that would reach the trainer / the comparison are compared. A slow test trains
the tiny model through the CLI, ``jobs.launch`` and the notebook helper and compares the run cards.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from workbench import workflows
from workbench.config import to_dict
from workbench.training.config import TrainConfig

MODEL = "Qwen/Qwen2.5-0.5B"  # not the default model; its own preset is qwen2.5-0.5b
CHOICES = {"max_tokens": 4096, "lora.r": 8, "learning_rate": 5e-4}


def _settings(config) -> dict:
    """What a face resolved, without the parts each face names its own way (the run's name and folder)."""
    data = to_dict(config)
    for key in ("name", "out"):
        data.pop(key, None)
    return data


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"text": f"renal dosing note {i}."}) + "\n" for i in range(4)))
    return path


@pytest.fixture
def reference(data_file):
    """The settings the recipe layer resolves for the choices: every face must arrive here."""
    config = workflows.train_config(model=MODEL, overrides={"lora.r": 8}, data=str(data_file), max_tokens=4096,
                                    learning_rate=5e-4)
    assert config.preset == "qwen2.5-0.5b" and config.block_size == 2048  # the model's own preset, not SmolLM2's
    return _settings(config)


def _cli_train_settings(monkeypatch, data_file, tmp_path) -> dict:
    from workbench.cli import main

    seen = []
    monkeypatch.setattr(workflows, "train", lambda config, *a, **k: seen.append(config) or tmp_path / "run")
    try:
        main(["train", "--model", MODEL, "--data", str(data_file), "--max-tokens", "4096", "--set", "lora.r=8",
              "--set", "learning_rate=5e-4", "--name", "parity", "--workspace", str(tmp_path / "ws")])
    except SystemExit as done:
        assert done.code in (0, None)
    assert len(seen) == 1
    return _settings(seen[0])


def _jobs_train_settings(monkeypatch, data_file, tmp_path) -> dict:
    import workbench.jobs.job as job_module
    from workbench import jobs

    seen = []
    monkeypatch.setattr(job_module, "_start", lambda folder, spec, workspace=None: seen.append(spec))
    # a partial config, as a Python user writes it: the model's preset comes from the recipe layer
    partial = TrainConfig(model=MODEL, data=str(data_file), max_tokens=4096, learning_rate=5e-4, name="parity")
    partial = dataclasses.replace(partial, lora=dataclasses.replace(partial.lora, r=8))
    jobs.launch("train", partial, tmp_path / "ws")
    return _settings(TrainConfig(**{**seen[0]["config"], "lora": TrainConfig().lora.__class__(**seen[0]["config"]["lora"])}))


def _notebook_train_settings(data_file) -> dict:
    from workbench import notebook as nb

    settings = nb.TrainSettings(MODEL, lora_r=8, max_tokens=4096)
    return _settings(settings.config(data=str(data_file), learning_rate=5e-4, name="parity"))


def test_every_face_resolves_the_same_training_settings(monkeypatch, data_file, tmp_path, reference):
    faces = {
        "cli": _cli_train_settings(monkeypatch, data_file, tmp_path),
        "jobs.launch": _jobs_train_settings(monkeypatch, data_file, tmp_path),
        "notebook": _notebook_train_settings(data_file),
    }
    for face, settings in faces.items():
        assert settings == reference, face
