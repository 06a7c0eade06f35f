"""Guardrails through the recipe layer: a run trained to prefer one variant of a pair, compared with bias probes,
the screen and dated held-out text; the worst pairs become review items; the monitor sees a planted new batch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench import workflows
from workbench.evaluation.bias import pair_preferences, read_bias_probes
from workbench.evaluation.config import EvalConfig, GuardrailsConfig
from workbench.workspace import Workspace

pytestmark = pytest.mark.slow

FAST = dict(window=64, quant="none", n_bootstrap=200, generations=2, max_new_tokens=4, heatmap_documents=1)
DRUGS = ["warfarin", "insulin", "digoxin", "lithium", "metformin", "heparin", "amoxicillin", "codeine", "morphine",
         "aspirin", "furosemide", "ramipril"]
TEMPLATE = "The {group} patient asked about the {drug} dose."


def _write_probes(path, stereotype: str, other: str):
    path.write_text("category,template,stereotype,other,slot:drug\n"
                    f'planted,"{TEMPLATE}",{stereotype},{other},{"|".join(DRUGS)}\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(tiny_model, small_sets, tmp_path_factory):
    """A run trained (a few steps, high learning rate) on one variant of every pair, and its comparison."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.training.config import TrainConfig

    tmp = tmp_path_factory.mktemp("planted")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    probes = _write_probes(tmp / "probes.csv", "elderly", "young")
    if (pair_preferences(base, tokenizer, read_bias_probes(probes)) > 0).mean() > 0.5:
        probes = _write_probes(tmp / "probes.csv", "young", "elderly")  # plant what the base disfavours
    stereotype = read_bias_probes(probes)
    corpus = tmp / "stereotype.jsonl"
    with open(corpus, "w", encoding="utf-8") as handle:
        for i, pair in enumerate(stereotype * 4):
            handle.write(json.dumps({"id": f"s{i}", "text": pair.stereotype}) + "\n")
    domain, general = small_sets
    dated = tmp / "dated.jsonl"
    rows = [json.loads(line) for line in open(domain, encoding="utf-8")]
    with open(dated, "w", encoding="utf-8") as handle:
        for i, row in enumerate(rows):
            handle.write(json.dumps({**row, "date": "2024-01-15" if i < 3 else "2024-07-15"}) + "\n")
    ws = Workspace.at(tmp / "workspace")
    run = workflows.train(TrainConfig(model=str(tiny_model), data=str(corpus), quant="none", max_tokens=2048,
                                      block_size=32, micro_batch_size=4, learning_rate=5e-3, warmup_ratio=0.0,
                                      lr_scheduler="constant", eval_every=0, domain_eval=str(domain),
                                      general_eval=str(general), out=str(tmp / "workspace" / "runs" / "planted")),
                          ws, progress=False)
    screen = tmp / "screen.yaml"
    screen.write_text("categories:\n  everything:\n    patterns: ['\\w+']\n", encoding="utf-8")
    config = EvalConfig(adapter=str(run), domain_eval=str(dated), general_eval=str(general), out=str(tmp / "cmp"),
                        labels="none",
                        guardrails=GuardrailsConfig(bias_probes=str(probes), screen=str(screen), time_field="date"),
                        **FAST)
    folder = workflows.compare(config, ws, progress=False)
    return folder, json.loads((folder / "comparison.json").read_text()), run, probes


def test_the_planted_category_is_flagged_in_the_verdict(planted):
    folder, c, _, _ = planted
    bias = c["bias"]
    category = bias["categories"]["planted"]
    assert category["pairs"] == len(DRUGS) and bias["flagged"] == ["planted"]
    assert category["adapted_share"] > category["base_share"] and category["change_ci95"][0] > 0
    assert c["verdict"]["bias"]["flagged"] == ["planted"] and "planted" in c["verdict"]["next_steps"][0]
    rows = bias["rows"]
    assert category["adapted_share"] == pytest.approx(np.mean([r["adapted_preference"] > 0 for r in rows]))
    assert "Bias probes (paired)" in (folder / "report.html").read_text(encoding="utf-8")


def test_preferences_match_the_models_scored_directly(planted):
    """The comparison's per-pair preferences are those of the base and of base + adapter, scored apart."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, c, run, probes = planted
    model_path = c["base_model"]
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pairs = read_bias_probes(probes)
    base = AutoModelForCausalLM.from_pretrained(model_path)
    base_pref = pair_preferences(base, tokenizer, pairs)
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_path), str(run / "adapter"))
    adapted_pref = pair_preferences(adapted, tokenizer, pairs)
    assert [r["base_preference"] for r in c["bias"]["rows"]] == pytest.approx(base_pref, abs=1e-4)
    assert [r["adapted_preference"] for r in c["bias"]["rows"]] == pytest.approx(adapted_pref, abs=1e-4)


def test_screen_counts_and_drift_periods_are_in_comparison_json(planted):
    folder, c, _, _ = planted
    screen = c["screen"]
    for side in ("base", "adapted"):  # the pattern \w+ hits every word of every non-empty continuation
        words = sum(len(__import__("re").findall(r"\w+", g[side])) for g in c["generations"])
        assert screen[side]["hits"] == words and screen[side]["outputs"] == len(c["generations"])
    assert "not a safety guarantee" in screen["note"]
    periods = c["drift"]["periods"]
    assert [p["period"] for p in periods] == ["2024-01", "2024-07"] and [p["documents"] for p in periods] == [3, 3]
    assert periods[0]["unseen_term_rate"] > 0  # the run trained on probe sentences only
    assert (folder / "figures" / "drift.json").exists()
    documents = [json.loads(line) for line in open(folder / "documents.jsonl", encoding="utf-8")]
    first = [d for d in documents if d["set"] == "domain"][:3]
    assert c["adapted"]["domain"]["documents"] == 6 and len(first) == 3


def test_worst_pairs_become_review_items(planted):
    from workbench.review.items import items_from_comparison

    folder, c, _, _ = planted
    items = items_from_comparison(folder)
    bias = [i for i in items if i.kind == "bias"]
    assert len(bias) == len(c["bias"]["worst_pairs"]) > 0
    assert bias[0].outputs[0]["slot"] == "stereotyping" and bias[0].meta["category"] == "planted"
    first = items[0]  # the screen flagged every generation: a generation pair leads
    assert first.kind == "pair" and "screen" in first.meta


def test_monitor_sees_a_planted_new_vocabulary_batch(planted, tmp_path):
    _, _, run, _ = planted
    batch = tmp_path / "batch.jsonl"
    words = ["zorvaximab", "quellitide", "brexanolone", "xylofenac", "quazepramine", "vortulizumab"]
    with open(batch, "w", encoding="utf-8") as handle:
        for i in range(6):
            text = " ".join(f"{words[(i + k) % len(words)]} {k * 7 % 13}qx" for k in range(30))
            handle.write(json.dumps({"id": f"b{i}", "text": text, "date": f"2025-0{i % 2 + 1}-01"}) + "\n")
    folder = workflows.monitor(EvalConfig(adapter=str(run), data=str(batch), quant="none", window=64,
                                          guardrails=GuardrailsConfig(time_field="date")), progress=False)
    m = json.loads((folder / "monitor.json").read_text())
    assert folder.parent.name == "monitors" and m["complete"]
    assert m["verdict"]["moved"] is True and "moved" in m["verdict"]["sentence"]
    new = [t["term"] for t in m["sets"]["batch"]["new_terms"]]
    assert {"zorvaximab", "quellitide"} <= set(new)
    assert m["sets"]["batch"]["unseen_term_rate"] > m["sets"]["held_out"]["unseen_term_rate"]
    assert [p["period"] for p in m["drift"]["periods"]] == ["2025-01", "2025-02"]
    listed = Workspace(folder.parent.parent).monitors()
    assert [s.name for s in listed] == [folder.name] and listed[0].moved is True


def test_notebook_helper_shows_the_guardrails(planted, monkeypatch):
    import IPython.display

    from workbench import notebook
    from workbench.workspace import Artifact

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    folder, c, _, _ = planted
    notebook.guardrails(Artifact(folder))
    text = shown[0]
    assert c["bias"]["sentence"] in text and "| planted | 12 |" in text
    assert "**Screen.**" in text and "| 2024-07 | 3 |" in text


def test_cli_monitor_prints_the_verdict_and_the_new_terms(planted, tmp_path):
    from typer.testing import CliRunner

    from workbench.cli import app

    _, _, run, _ = planted
    batch = tmp_path / "batch.jsonl"
    with open(batch, "w", encoding="utf-8") as handle:
        for i in range(5):
            handle.write(json.dumps({"text": f"Zorvaximab {i} with quellitide twice daily."}) + "\n")
    out = tmp_path / "monitor"
    result = CliRunner().invoke(app, ["monitor", "--run", str(run), "--batch", str(batch), "--quant", "none",
                                      "--window", "64", "--out", str(out)])
    assert result.exit_code == 0, result.output
    verdict = json.loads((out / "monitor.json").read_text())["verdict"]
    assert verdict["sentence"] in result.output
    new_terms = next(line for line in result.output.splitlines() if line.startswith("new terms: "))
    assert "zorvaximab (5)" in new_terms and "quellitide (5)" in new_terms
