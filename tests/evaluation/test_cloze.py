"""Cloze probes from a glossary's definitions: which candidates a probe ranks, the scores pinned against a
plain forward pass, the paired summary and interval, and the comparison's keys and verdict line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from workbench.documents.glossary import Concept, read_knowledge
from workbench.evaluation.cloze import CUE, cloze_probes, compare_cloze, mask_term, score_cloze


def test_the_term_and_its_synonyms_are_masked_in_the_definition():
    assert mask_term("Warfarin (coumadin) is dosed by INR; warfarins differ.", ["warfarin", "coumadin"]) == \
        "this term (this term) is dosed by INR; warfarins differ."


def test_candidates_are_related_then_siblings_then_random_terms(sample_dir):
    concepts = read_knowledge(sample_dir / "ontology.yaml")
    probes = {p.term: p for p in cloze_probes(concepts, n_candidates=6, seed=3)}
    assert len(probes) == 20  # every term has a definition
    apixaban = probes["apixaban"]
    assert apixaban.candidates[0] == "apixaban" and apixaban.kinds[0] == "term"
    # its related term and its broader term, then its siblings under 'direct oral anticoagulant'
    assert set(apixaban.candidates[1:3]) == {"andexanet alfa", "direct oral anticoagulant"}
    assert set(apixaban.candidates[3:5]) == {"rivaroxaban", "dabigatran"}
    assert apixaban.kinds[1:5] == ("related", "related", "sibling", "sibling") and apixaban.kinds[5] == "random"
    assert len(set(apixaban.candidates)) == 6
    assert apixaban.prompt.endswith(f". {CUE}") and "apixaban" not in apixaban.prompt.lower()
    # a synonym is a right answer, never a distractor
    assert "DOAC" not in probes["direct oral anticoagulant"].candidates
    # the sample glossary's category groups siblings; a limit spreads the probes over the glossary
    sample = cloze_probes(read_knowledge(sample_dir / "glossary.csv"), n_candidates=4, limit=10)
    assert len(sample) == 10 and sample[0].term == "amiodarone" and sample[-1].term != sample[8].term
    assert sample[0].kinds[1:] == ("sibling",) * 3


def _logprob(model, tokenizer, prompt: str, completion: str) -> float:
    """log P(completion | prompt) by one plain forward pass, BOS first."""
    import torch

    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt + " " + completion, add_special_tokens=False)["input_ids"]
    assert full[: len(prompt_ids)] == prompt_ids
    ids = torch.tensor([[tokenizer.bos_token_id, *full]])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].double(), -1)
    return sum(float(logp[i, ids[0, i + 1]]) for i in range(len(prompt_ids), len(full)))


def test_scores_are_pointwise_mutual_information_of_each_candidate(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    concepts = [Concept("warfarin", "An oral anticoagulant followed with the INR.", related=("heparin",)),
                Concept("heparin", "An injected anticoagulant."), Concept("insulin", "A hormone lowering glucose.")]
    probes = cloze_probes(concepts, n_candidates=3)
    (scored, *_) = score_cloze(model, tokenizer, probes, batch_size=2)
    probe = probes[0]
    expected = [_logprob(model, tokenizer, probe.prompt, f"{c}.") - _logprob(model, tokenizer, CUE, f"{c}.")
                for c in probe.candidates]
    assert scored["scores"] == pytest.approx(expected, abs=2e-4)
    softmax = np.array(expected) - np.logaddexp.reduce(expected)
    assert scored["logprob"] == pytest.approx(softmax[0], abs=2e-4)
    assert scored["rank"] == 1 + sum(e > expected[0] for e in expected[1:])


def test_the_paired_summary_counts_terms_and_takes_a_t_interval_over_probes():
    probes = cloze_probes([Concept(f"t{i}", f"definition {i}") for i in range(7)], n_candidates=3)
    base = [{"logprob": -1.0, "rank": 2}] * 7
    changes = [0.5, 0.2, -0.1, 0.0, 0.3, 0.4, 0.1]
    adapted = [{"logprob": -1.0 + c, "rank": 1 if c > 0.25 else 2} for c in changes]
    result = compare_cloze(probes, base, adapted)
    s = result["summary"]
    assert (s["probes"], s["better"], s["worse"], s["same"]) == (7, 5, 1, 1)
    assert s["base_top1"] == 0 and s["adapted_top1"] == 3
    mean, se = np.mean(changes), stats.sem(changes)
    half = stats.t.ppf(0.975, 6) * se
    assert s["mean_logprob_change"] == pytest.approx(mean)
    assert s["ci95"] == pytest.approx([mean - half, mean + half])
    assert s["significant"] is bool(mean - half > 0)
    sentence = result["verdict"]["sentence"]
    assert "adapted knows 5 of 7 terms better than base and 1 worse" in sentence
    assert f"{mean:+.2f} nats" in sentence and result["rows"][0]["logprob_change"] == pytest.approx(0.5)
    few = compare_cloze(probes[:3], base[:3], adapted[:3])
    assert few["verdict"]["status"] == "too_few" and not few["summary"]["significant"]


def test_a_comparison_reports_the_cloze_probes_of_the_runs_glossary(tiny_model, small_sets, sample_dir, tmp_path,
                                                                      workspace):
    from workbench.training.config import TrainConfig
    from workbench.workflows import compare, eval_config, train

    domain, general = small_sets
    run = train(TrainConfig(model=str(tiny_model), max_tokens=1024, block_size=64, micro_batch_size=4, eval_every=0.0,
                            learning_rate=5e-3, out=str(tmp_path / "run"), domain_eval=str(domain),
                            general_eval=str(general),
                            knowledge={"glossary": str(sample_dir / "ontology.yaml"), "text_share": 0.5}),
                workspace, progress=False)
    out = compare(eval_config(adapter=str(run), domain_eval=str(domain), general_eval=str(general), window=64,
                              quant="none", n_bootstrap=200, generations=0, heatmap_documents=1, cloze_candidates=4,
                              out=str(tmp_path / "cmp")), workspace, progress=False)
    c = json.loads((out / "comparison.json").read_text())
    cloze = c["cloze"]
    assert cloze["summary"]["probes"] == 20 and len(cloze["rows"]) == 20  # the run's ontology, not the sample glossary
    assert all(len(r["candidates"]) == 4 for r in cloze["rows"])
    s = cloze["summary"]
    assert s["better"] + s["worse"] + s["same"] == 20
    changes = [r["adapted_logprob"] - r["base_logprob"] for r in cloze["rows"]]
    assert s["mean_logprob_change"] == pytest.approx(float(np.mean(changes)))
    assert c["verdict"]["cloze"]["sentence"].startswith(f"Glossary cloze: adapted knows {s['better']} of 20 terms")
    assert math.isfinite(s["ci95"][0])
    assert "Glossary cloze" in (out / "report.html").read_text()
