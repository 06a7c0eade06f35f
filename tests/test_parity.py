"""One recipe layer: the same choices train and compare the same way from every face.

The choices: a model other than the default, with its own shipped preset (a local folder named
Qwen2.5-0.5B, as a team keeps a downloaded model), a few overrides, the training data and a budget;
then a comparison of a run on chosen held-out files with a few settings. Each face (the CLI,
``jobs.launch``, the app's form functions, the notebook helpers) is driven the way a user drives it,
and what would reach the trainer and the comparison is compared. The slow test trains the tiny model
from every face and compares the run cards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench import workflows
from workbench.config import from_dict, to_dict
from workbench.evaluation.config import EvalConfig
from workbench.training.config import TrainConfig


def _settings(config) -> dict:
    """What a face resolved, without the parts each face names its own way (the run's name and folder)."""
    data = to_dict(config)
    for key in ("name", "out"):
        data.pop(key, None)
    return data


@pytest.fixture
def choices(tmp_path):
    """A workspace, a local model folder named after a model with a preset, training data, held-out sets."""
    ws = tmp_path / "ws"
    model = ws / "models" / "Qwen2.5-0.5B"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}))
    data = ws / "corpus.jsonl"
    data.write_text("".join(json.dumps({"text": f"renal dosing note {i}."}) + "\n" for i in range(4)))
    domain, general = ws / "domain.jsonl", ws / "general.jsonl"
    for path in (domain, general):
        path.write_text(json.dumps({"text": "held out"}) + "\n")
    return {"ws": ws, "model": str(model), "data": str(data), "domain": str(domain), "general": str(general)}


class _Captured(Exception):
    """Stops a face right where it hands its settings to the recipe layer."""


def _cli(monkeypatch, argv: list[str], workflow: str):
    from workbench.cli import main

    seen = []

    def capture(config, *args, **kwargs):
        seen.append(config)
        raise _Captured

    monkeypatch.setattr(workflows, workflow, capture)
    with pytest.raises(_Captured):
        main(argv)
    return seen[0]


def _launched(monkeypatch, kind: str, config, ws):
    import workbench.jobs.job as job_module
    from workbench import jobs

    seen = []
    monkeypatch.setattr(job_module, "_start", lambda folder, spec, workspace=None: seen.append(spec))
    jobs.launch(kind, config, ws)
    return from_dict(TrainConfig if kind == "train" else EvalConfig, seen[0]["config"])


def test_every_face_resolves_the_same_training_settings(monkeypatch, choices):
    from workbench import notebook as nb
    from workbench.appsupport import AppSettings, train_config_from_form

    c = choices
    reference = workflows.train_config(model=c["model"], overrides={"lora.r": 8}, data=c["data"], max_tokens=4096,
                                       learning_rate=5e-4)
    assert reference.preset == "qwen2.5-0.5b" and reference.block_size == 2048  # the model's own preset, not SmolLM2's
    faces = {
        "cli": _cli(monkeypatch, ["train", "--model", c["model"], "--data", c["data"], "--max-tokens", "4096",
                                  "--set", "lora.r=8", "--set", "learning_rate=5e-4", "--name", "parity",
                                  "--workspace", str(c["ws"])], "train"),
        # a partial config, as a Python user writes it: the model's preset comes from the recipe layer
        "jobs.launch": _launched(monkeypatch, "train", from_dict(TrainConfig, {
            "model": c["model"], "data": c["data"], "max_tokens": 4096, "learning_rate": 5e-4, "name": "parity",
            "lora": {"r": 8}}), c["ws"]),
        "app": train_config_from_form(AppSettings(workspace=str(c["ws"])), c["model"], None, {
            "data": c["data"], "max_tokens": 4096, "lora.r": 8, "learning_rate": "5e-4", "name": "parity"}),  # a text box
        "notebook": nb.TrainSettings(c["model"], lora_r=8, max_tokens=4096).config(
            data=c["data"], learning_rate=5e-4, name="parity"),
    }
    for face, config in faces.items():
        assert _settings(config) == _settings(reference), face


def test_every_face_resolves_the_same_comparison(monkeypatch, choices, tmp_path):
    from workbench import notebook as nb
    from workbench.appsupport import AppSettings, compare_config_from_form

    c = choices
    run = c["ws"] / "runs" / "parity"
    run.mkdir(parents=True)
    values = {"window": 256, "generations": 2}
    reference = workflows.eval_config(adapter=str(run), domain_eval=c["domain"], general_eval=c["general"], **values)
    assert reference.stride == 128  # the stride follows the chosen window on every face
    setup = nb.Setup(workspace=__import__("workbench.workspace", fromlist=["Workspace"]).Workspace(c["ws"]),
                     model=c["model"], small=False, corpus=[c["data"]], reference=c["general"],
                     domain_eval=c["domain"], glossary=None, probes=None, max_tokens=4096, eval_docs=None)
    faces = {
        "cli": _cli(monkeypatch, ["compare", "--adapted", str(run), "--domain-eval", c["domain"], "--general-eval",
                                  c["general"], "--window", "256", "--generations", "2", "--workspace", str(c["ws"])],
                    "plan_comparison"),  # the CLI plans (time estimate, quick check) before it compares
        "jobs.launch": _launched(monkeypatch, "compare", EvalConfig(
            adapter=str(run), domain_eval=c["domain"], general_eval=c["general"], **values), c["ws"]),
        "app": compare_config_from_form(AppSettings(workspace=str(c["ws"])), str(run), None, c["domain"], c["general"],
                                        **values),
        "notebook": nb.compare_config(setup, __import__("workbench.workspace", fromlist=["Artifact"]).Artifact(run),
                                      domain_eval=c["domain"], general_eval=c["general"], **values),
    }
    for face, config in faces.items():
        assert _settings(config) == _settings(reference), face


@pytest.mark.slow
def test_runs_trained_from_every_face_carry_the_same_settings(tiny_model, tmp_path):
    """The tiny model trained from the CLI, a launched job, the app's form and the notebook helper: the run
    cards record the same resolved settings (the model has no preset, so each face resolves 'none')."""
    from workbench import jobs
    from workbench import notebook as nb
    from workbench.appsupport import AppSettings, train_config_from_form
    from workbench.cli import main

    ws = tmp_path / "ws"
    data = ws / "corpus.jsonl"
    ws.mkdir()
    data.write_text("".join(json.dumps({"text": f"Renal dosing of drug {i} follows clearance. " * 8}) + "\n"
                            for i in range(12)))
    model = str(tiny_model)
    common = {"max_tokens": 1024, "block_size": 64, "micro_batch_size": 2, "grad_accum": 1, "eval_every": 0.0}
    try:
        main(["train", "--model", model, "--data", str(data), "--name", "cli", "--workspace", str(ws), "--max-tokens",
              "1024", "--set", "block_size=64", "--set", "micro_batch_size=2", "--set", "grad_accum=1",
              "--set", "eval_every=0", "--set", "lora.r=4"])
    except SystemExit as done:
        assert done.code in (0, None)
    launched = jobs.launch("train", from_dict(TrainConfig, {"model": model, "data": str(data), "name": "job",
                                                            "lora": {"r": 4}, **common}), ws)
    app = train_config_from_form(AppSettings(workspace=str(ws), model_dirs=(str(Path(model).parent),)), model, None,
                                 {"data": str(data), "name": "app", "lora.r": 4, **common})
    workflows.train(app, ws, progress=False)
    notebook = nb.TrainSettings(model, lora_r=4, max_tokens=1024).config(
        data=str(data), name="notebook", **{k: v for k, v in common.items() if k != "max_tokens"})
    workflows.train(notebook, ws, progress=False)
    assert launched.wait(timeout=600)["state"] == "finished", launched.logs()
    cards = {name: json.loads((ws / "runs" / name / "run.json").read_text()) for name in ("cli", "job", "app", "notebook")}
    settings = {name: _settings(from_dict(TrainConfig, card["config"])) for name, card in cards.items()}
    assert settings["cli"]["preset"] == "none" and settings["cli"]["lora"]["r"] == 4
    for name in ("job", "app", "notebook"):
        assert settings[name] == settings["cli"], name
    assert len({card["inputs"]["data"]["sha256"] if isinstance(card["inputs"]["data"], dict) else
                json.dumps(card["inputs"]["data"]) for card in cards.values()}) == 1
