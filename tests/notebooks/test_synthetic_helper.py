"""The notebook helper that audits synthetic text: the recipe layer's audit, shown as a table, returned as a dict."""

from __future__ import annotations

import pytest

from workbench import notebook as nb
from workbench import workflows
from workbench.corpus.config import CurateConfig
from workbench.errors import WorkbenchError


def test_synthetic_audit_helper_audits_against_the_newest_snapshot(tiny_home, tmp_path, sample_dir, monkeypatch):
    setup = nb.setup(tmp_path / "ws", small=True)
    shown: list[str] = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(getattr(obj, "data", str(obj))))
    with pytest.raises(WorkbenchError, match="no snapshot"):
        nb.synthetic_audit(setup, [sample_dir / "synthetic_cases.jsonl"])
    workflows.curate(CurateConfig(paths=[str(sample_dir / "domain_corpus.jsonl")],
                                  eval_paths=[str(sample_dir / "domain_eval.jsonl")]), setup.workspace, progress=False)
    audit = nb.synthetic_audit(setup, [sample_dir / "synthetic_cases.jsonl"], source="templates", review_sample=5)
    assert audit["verdict"]["passed"] is True and audit["documents"] == 60
    assert audit["sources"] == ["templates"] and audit["config"]["model"] == "tiny-llama"
    assert audit["real"]["snapshot"].endswith("snapshots/domain_corpus")
    assert audit["folder"] == str(setup.workspace.root / "synthetic" / "synthetic_cases")
    assert "passed the audit" in shown[-1] and "| distance |" in shown[-1] and "--synthetic" in shown[-1]
