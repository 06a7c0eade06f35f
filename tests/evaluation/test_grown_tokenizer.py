"""Comparing a run that added domain tokens: the base is scored with its own tokenizer, per word.

The adapter of such a run brings a grown tokenizer whose new rows the base never learned; scoring the
base with it (as compare once did) made the base look worse and the gain larger than it is.
"""

import json
import math

import pytest

from workbench.evaluation.compare import compare, run_evaluate
from workbench.evaluation.config import EvalConfig
from workbench.training.config import TrainConfig
from workbench.workflows import train

FAST = dict(window=64, quant="none", n_bootstrap=200, generations=1, max_new_tokens=4, heatmap_documents=1,
            device="cpu")


@pytest.fixture(scope="module")
def grown(tiny_model, small_sets, sample_dir, tmp_path_factory):
    from workbench.workspace import Workspace

    tmp = tmp_path_factory.mktemp("grown")
    run = train(TrainConfig(model=str(tiny_model), max_tokens=2048, block_size=64, micro_batch_size=4, eval_every=0.5,
                            eval_max_tokens=128,
                            learning_rate=5e-3, new_tokens=str(sample_dir / "glossary.csv"), new_tokens_max=20,
                            out=str(tmp / "run")), Workspace(tmp / "ws"), progress=False)
    domain, general = small_sets
    out = tmp / "comparison"
    compare(EvalConfig(adapter=str(run), domain_eval=str(domain), general_eval=str(general),
                       probes=str(sample_dir / "probes.csv"), glossary=str(sample_dir / "glossary.csv"), out=str(out),
                       **FAST), progress=False)
    return run, out, json.loads((out / "comparison.json").read_text())


def test_the_base_side_is_the_base_model_with_its_own_tokenizer(grown, tiny_model, small_sets):
    run, _, c = grown
    card = json.loads((run / "run.json").read_text())
    for name, path in zip(("domain", "general"), small_sets):
        alone = run_evaluate(EvalConfig(model=str(tiny_model), data=str(path), glossary=None, probes=None, **FAST),
                             progress=False).data["metrics"]
        # the same numbers as the base evaluated on its own: not the base read through new, untrained rows
        assert c["base"][name]["tokens"] == alone["tokens"]
        assert c["base"][name]["token_ppl"] == pytest.approx(alone["token_ppl"], rel=1e-4)
        assert c["adapted"][name]["tokens"] <= c["base"][name]["tokens"]
    assert c["adapted"]["domain"]["tokens"] < c["base"]["domain"]["tokens"]  # glossary terms are one token now
    assert c["tokenizer"] == {"grown": True, "added_tokens": card["data"]["new_tokens"], "compared_per": "word"}
    assert card["data"]["new_tokens"] > 0


def test_the_change_is_per_word_and_said_so(grown):
    _, out, c = grown
    for name in ("domain", "general"):
        d = c["delta"][name]
        assert d["unit"] == "word"
        ratio = c["adapted"][name]["word_ppl"] / c["base"][name]["word_ppl"]
        assert d["ppl_change_pct"] == pytest.approx(100 * (ratio - 1), rel=1e-6, abs=1e-9)
        assert c["verdict"][name]["unit"] == "word"
    assert "word perplexity" in c["verdict"]["domain"]["sentence"]
    assert any("added" in w and "per word" in w for w in c["warnings"])
    assert c["terms"]["domain"] == {} and c["terms"]["general"] == {}  # token-aligned views are left out, said
    rows = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    assert rows and all(r["nll_per"] == "word" for r in rows)
    for r in rows:
        assert r["delta_nll"] == pytest.approx(r["adapted_nll"] - r["base_nll"])
        assert math.isfinite(r["base_nll"]) and r["adapted_tokens"] <= r["base_tokens"]
    report = (out / "report.html").read_text()
    assert "word perplexity change %" in report and "nats/word" in report


def test_probes_and_generations_of_the_base_use_its_own_tokenizer(grown, tiny_model, sample_dir):
    from workbench.evaluation.probes import read_probes, score_probes
    from workbench.models.load import load_model

    _, _, c = grown
    model, tokenizer, _ = load_model(str(tiny_model), quant="none", device="cpu")
    probes = read_probes(sample_dir / "probes.csv")
    alone = score_probes(model, tokenizer, probes)
    assert [r["base_logprob"] for r in c["probes"]["rows"]] == pytest.approx([p["logprob"] for p in alone], rel=1e-4)
    assert c["generations"] and all(isinstance(g["base"], str) for g in c["generations"])


def test_the_curve_users_watch_is_per_word_against_the_base(grown):
    from workbench.io import read_jsonl

    run, _, c = grown
    evals = [r for r in read_jsonl(run / "metrics.jsonl") if r.get("type") == "eval"]
    assert len(evals) >= 2 and all(r["ppl_unit"] == "word" for r in evals)
    assert c["training_curve"]["points"][0]["step"] == 0


def test_in_training_base_evaluation_of_a_grown_run_is_the_base_per_word(tiny_model, small_sets, sample_dir):
    import copy

    from workbench.evaluation.perplexity import score_documents
    from workbench.io import read_glossary, read_jsonl
    from workbench.models.load import load_model
    from workbench.training.embeddings import add_new_tokens, select_new_tokens
    from workbench.training.heldout import HeldOutEvaluator

    model, tokenizer, _ = load_model(str(tiny_model), quant="none", device="cpu")
    texts = [r["text"] for r in read_jsonl(small_sets[0])]
    expected = score_documents(model, tokenizer, texts, window=64, progress=False).word_ppl
    base_tokenizer = copy.deepcopy(tokenizer)
    add_new_tokens(model, tokenizer, select_new_tokens(tokenizer, read_glossary(sample_dir / "glossary.csv"), limit=20))
    evaluator = HeldOutEvaluator(tokenizer, {"domain": texts}, max_tokens=10**6, window=64, dequantize="off",
                                 scorer=score_documents, base_tokenizer=base_tokenizer)
    base = evaluator(model, base=True)
    assert base["ppl_unit"] == "word" and base["domain_ppl"] == pytest.approx(expected, rel=1e-5)
    grown = evaluator(model)  # the grown tokenizer, through the freshly initialised rows
    assert grown["ppl_unit"] == "word" and grown["domain_ppl"] != pytest.approx(expected, rel=1e-3)
