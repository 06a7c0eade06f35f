"""``workbench glossary`` and the train flags for knowledge from a glossary, through the real entry point."""

from __future__ import annotations

import json

from test_cli_safety import assert_one_line_error, run_cli

from workbench.documents.glossary import read_knowledge
from workbench.io import read_jsonl
from workbench.training.knowledge import render_knowledge


def test_glossary_prints_its_plan_and_renders_the_training_text(capsys, sample_dir, tmp_path):
    out_file = tmp_path / "knowledge.jsonl"
    code, out, err = run_cli(capsys, "glossary", sample_dir / "ontology.yaml", "--share", "0.1", "--max-tokens", "8192",
                             "--json", "--render", out_file)
    assert code == 0, err
    plan = json.loads(out[: out.rindex("}") + 1])
    assert (plan["terms"], plan["documents"], plan["knowledge_tokens"], plan["cloze_probes"]) == (20, 20, 819, 20)
    assert plan["relations"] == {"broader": 10, "synonyms": 4, "related": 26}
    assert [r["text"] for r in read_jsonl(out_file)] == render_knowledge(read_knowledge(sample_dir / "ontology.yaml"))
    assert f"wrote 20 documents to {out_file}" in out


def test_a_bad_glossary_is_one_line_naming_its_line(capsys, tmp_path):
    bad = tmp_path / "g.yaml"
    bad.write_text("- term: warfarin\n- definiton: typo\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "glossary", bad)
    assert_one_line_error(code, err, str(bad), "line 2", "definiton")


def test_train_refuses_a_glossary_share_without_a_glossary(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--glossary-share", "0.2", "--max-tokens", "1024", "-w", tmp_path / "ws")
    assert_one_line_error(code, err, "knowledge.text_share is set", "knowledge.glossary")
    assert not (tmp_path / "ws" / "runs").exists() or not any((tmp_path / "ws" / "runs").iterdir())
