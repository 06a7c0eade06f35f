"""Which models the app may load (``workbench.appsupport.models``)."""

from __future__ import annotations

import json

import pytest

from workbench.appsupport import AppSettings, check_model_spec
from workbench.errors import WorkbenchError


def test_models_only_from_registry_or_local_folders_under_roots(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    assert check_model_spec("tiny-llama", settings) == "tiny-llama"
    with pytest.raises(WorkbenchError, match="Hub id"):
        check_model_spec("HuggingFaceTB/SmolLM2-135M", settings)
    with pytest.raises(WorkbenchError, match="outside the folders"):
        check_model_spec("/etc", settings)
    folder = settings.workspace_root / "models" / "mine"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert check_model_spec(str(folder), settings) == str(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text("{}")
    with pytest.raises(WorkbenchError, match="outside the folders"):
        check_model_spec(str(elsewhere), settings)
    (folder / "config.json").write_text(json.dumps({"auto_map": {"AutoModelForCausalLM": "modeling_x.X"}}))
    with pytest.raises(WorkbenchError, match="trust_remote_code"):
        check_model_spec(str(folder), settings)
    allowed = AppSettings(workspace=settings.workspace, model_dirs=(str(elsewhere),))
    assert check_model_spec(str(elsewhere), allowed) == str(elsewhere)
