"""A data order chosen in any face (CLI flags or YAML, jobs, the app's form, a notebook) reaches the trainer
as the same settings, and ``workbench plan --config`` shows the stages."""

from __future__ import annotations

import json

import pytest
import yaml

from workbench import workflows
from workbench.config import from_dict, to_dict
from workbench.training.config import TrainConfig, general_to_domain


class _Captured(Exception):
    """Stops a face where it hands its settings to the recipe layer."""


def _cli(monkeypatch, argv):
    from workbench.cli import main

    seen = []

    def capture(config, *args, **kwargs):
        seen.append(config)
        raise _Captured

    monkeypatch.setattr(workflows, "train", capture)
    with pytest.raises(_Captured):
        main(argv)
    return seen[0]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"text": f"renal dosing note {i}."}) + "\n" for i in range(4)))
    return str(path)


def test_easy_to_hard_from_every_face_is_the_same_config(monkeypatch, data, tmp_path):
    from workbench import notebook as nb
    from workbench.appsupport import AppSettings, train_config_from_form

    reference = workflows.train_config(data=data, max_tokens=4096,
                                       overrides={"curriculum.order": "easy_to_hard", "curriculum.signal": "mtld"})
    assert reference.curriculum.order == "easy_to_hard" and reference.curriculum.signal == "mtld"
    faces = {
        "cli": _cli(monkeypatch, ["train", "--data", data, "--max-tokens", "4096", "--order", "easy_to_hard",
                                  "--order-signal", "mtld", "--workspace", str(tmp_path / "ws")]),
        "app": train_config_from_form(AppSettings(workspace=str(tmp_path / "ws"), data_dirs=(str(tmp_path),)),
                                      reference.model, None, {"data": data, "max_tokens": 4096,
                                                              "curriculum.order": "easy_to_hard",
                                                              "curriculum.signal": "mtld"}),
        "notebook": nb.TrainSettings(max_tokens=4096).config(data=data, **nb.curriculum("easy_to_hard", "mtld")),
    }
    for face, config in faces.items():
        assert to_dict(config) == to_dict(reference), face


def test_stages_from_yaml_the_app_table_and_a_notebook_agree(monkeypatch, data, tmp_path):
    from workbench import notebook as nb
    from workbench.app.sections.curriculum import stage_rows
    from workbench.appsupport import AppSettings, train_config_from_form

    stages = [to_dict(s) for s in general_to_domain()]
    config_file = tmp_path / "staged.yaml"
    config_file.write_text(yaml.safe_dump({"curriculum": {"order": "stages", "stages": stages}}))
    reference = workflows.train_config(data=data, max_tokens=8192, config_file=config_file)
    assert [s.name for s in reference.curriculum.stages] == ["general-heavy", "mostly domain", "domain only"]
    table = [dict(row, extra=None) for row in stages] + [{"name": None, "tokens": None}]  # an empty row added
    faces = {
        "cli": _cli(monkeypatch, ["train", "--data", data, "--max-tokens", "8192", "--config", str(config_file),
                                  "--workspace", str(tmp_path / "ws")]),
        "app": train_config_from_form(AppSettings(workspace=str(tmp_path / "ws"), data_dirs=(str(tmp_path),)),
                                      reference.model, None, {"data": data, "max_tokens": 8192,
                                                              "curriculum.order": "stages",
                                                              "curriculum.stages": stage_rows(table)}),
        "notebook": nb.TrainSettings(max_tokens=8192).config(data=data, **nb.curriculum("stages")),
    }
    for face, config in faces.items():
        assert to_dict(config) == to_dict(reference), face
    # a job carries the stages through its spec unchanged
    import workbench.jobs.job as job_module
    from workbench import jobs

    seen = []
    monkeypatch.setattr(job_module, "_start", lambda folder, spec, workspace=None: seen.append(spec))
    jobs.launch("train", reference, tmp_path / "ws")
    assert from_dict(TrainConfig, seen[0]["config"]).curriculum == reference.curriculum


def test_plan_shows_the_stages_of_a_training_yaml(tmp_path, capsys):
    from workbench.cli import main

    config_file = tmp_path / "staged.yaml"
    config_file.write_text(yaml.safe_dump({"max_tokens": 16384, "curriculum": {
        "order": "stages", "stages": [to_dict(s) for s in general_to_domain()]}}))
    try:
        main(["plan", "--config", str(config_file), "--gpu", "cpu"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out
    # the bundled SmolLM2 CPU preset: 16384 tokens in steps of 2048 -> 8 steps, 30% / 40% / 30%
    assert "data order: 3 stages over 8 steps" in out
    assert "general-heavy    steps 1-2 (4,096 tokens), replay 50%" in out
    assert "domain only      steps 7-8 (4,096 tokens), replay 0%" in out


def test_a_stages_order_without_stages_is_refused_from_the_cli(tmp_path, capsys):
    from workbench.cli import main

    with pytest.raises(SystemExit) as done:
        main(["train", "--order", "stages", "--workspace", str(tmp_path / "ws")])
    assert done.value.code != 0
    assert "no stages are given" in capsys.readouterr().err
