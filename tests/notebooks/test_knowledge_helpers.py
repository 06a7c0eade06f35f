"""The notebook helpers for knowledge from a glossary: the glossary plan and a comparison's cloze table."""

from __future__ import annotations

import json
from types import SimpleNamespace

from workbench import notebook as nb
from workbench.documents.glossary import read_knowledge
from workbench.evaluation.cloze import cloze_probes, compare_cloze


def test_glossary_summary_shows_the_plan_and_cloze_probes(sample_dir, monkeypatch):
    shown = []
    monkeypatch.setattr(nb, "_markdown", shown.append)
    nb.glossary_summary(sample_dir / "ontology.yaml", text_share=0.1, max_tokens=16384)
    (text,) = shown
    assert text.startswith(f"{sample_dir / 'ontology.yaml'}: 20 terms, 20 with a definition, 10 broader, 4 synonyms")
    assert "about 1,638 of the run's 16,384 training tokens" in text
    assert "anticoagulant: A drug that slows blood clotting" in text and "- cloze: *" in text


def test_cloze_table_puts_the_terms_lost_first(sample_dir, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(nb, "_markdown", shown.append)
    probes = cloze_probes(read_knowledge(sample_dir / "ontology.yaml"), n_candidates=3)[:6]
    base = [{"logprob": -1.0, "rank": 2}] * 6
    adapted = [{"logprob": -1.0 + c, "rank": 1} for c in (0.3, -0.2, 0.1, 0.4, -0.5, 0.2)]
    (tmp_path / "comparison.json").write_text(json.dumps({"cloze": compare_cloze(probes, base, adapted)}))
    table = nb.cloze_table(SimpleNamespace(folder=tmp_path))
    assert shown[0].startswith("Glossary cloze: adapted knows 4 of 6 terms better than base and 2 worse")
    assert list(table["term"])[:2] == [probes[4].term, probes[1].term]
    assert list(table["logprob_change"]) == sorted(table["logprob_change"])
    (tmp_path / "comparison.json").write_text(json.dumps({"cloze": None}))
    assert nb.cloze_table(SimpleNamespace(folder=tmp_path)).empty and "No cloze probes" in shown[-1]
