"""The base's scores kept between comparisons: read back on a second comparison, re-scored when an input changes."""

from __future__ import annotations

import json

import numpy as np

from workbench.evaluation.config import EvalConfig
from workbench.evaluation.scorecache import ScoreCache, base_key, tokenizer_digest

FAST = dict(window=64, quant="none", n_bootstrap=200, generations=0, heatmap_documents=1, labels="none")


def _compare(tiny_run, domain, general, workspace, out, **changes):
    from workbench.workflows import evaluation

    config = EvalConfig(adapter=str(tiny_run), domain_eval=str(domain), general_eval=str(general), out=str(out),
                        **{**FAST, **changes})
    folder = evaluation.compare(config, workspace, progress=False)
    return json.loads((folder / "comparison.json").read_text())


def _without_card(comparison: dict) -> dict:
    return {k: v for k, v in comparison.items() if k != "card"}


def test_a_second_comparison_reads_the_base_back_and_gives_the_same_numbers(tiny_run, small_sets, workspace, tmp_path,
                                                                              make_docs):
    from workbench.workflows.evaluation import base_scores_folder

    domain, general = small_sets
    first = _compare(tiny_run, domain, general, workspace, tmp_path / "first")
    assert first["card"]["runtime"]["base_scores"] == {"domain": "scored", "general": "scored"}
    assert len(list(base_scores_folder(workspace).glob("*.npz"))) == 2
    second = _compare(tiny_run, domain, general, workspace, tmp_path / "second")
    assert second["card"]["runtime"]["base_scores"] == {"domain": "cached", "general": "cached"}
    assert _without_card(second) == _without_card(first)  # every number identical; only the card's times differ
    assert second["card"]["runtime"]["threads"] >= 1 and second["card"]["runtime"]["precision"] in ("bf16", "fp32")

    # one changed document: that set is scored again, the other read back
    texts = [json.loads(line)["text"] for line in domain.read_text().splitlines()]
    changed = make_docs(tmp_path / "domain-changed.jsonl", texts[:-1] + [texts[-1] + " One more sentence."], "dom")
    third = _compare(tiny_run, changed, general, workspace, tmp_path / "third")
    assert third["card"]["runtime"]["base_scores"] == {"domain": "scored", "general": "cached"}
    assert third["base"]["general"] == first["base"]["general"]
    assert third["base"]["domain"]["tokens"] > first["base"]["domain"]["tokens"]

    # another window: both scored again
    fourth = _compare(tiny_run, domain, general, workspace, tmp_path / "fourth", window=48)
    assert fourth["card"]["runtime"]["base_scores"] == {"domain": "scored", "general": "scored"}


def test_every_input_of_the_base_scores_is_in_the_key(tiny_model, sample_dir):
    import copy

    import torch
    from transformers import AutoModelForCausalLM

    from workbench.models.load import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    tokenizer = load_tokenizer(tiny_model)
    texts = ["The patient was given a dose.", "A second document."]
    config = EvalConfig(window=64)

    def key(model=model, tokenizer=tokenizer, texts=texts, config=config, weights="a" * 64, quant="none",
            precision="fp32", vocab_limit=None):
        return base_key(model, tokenizer, texts, config, weights, quant, precision, vocab_limit)

    reference = key()
    assert key() == reference  # the same inputs, the same key
    grown = copy.deepcopy(tokenizer)
    grown.add_tokens(["nephrotoxicity"])
    changed = {
        "weights": key(weights="b" * 64),
        "quantization": key(quant="nf4"),
        "tokenizer": key(tokenizer=grown),
        "window": key(config=EvalConfig(window=32, stride=32)),
        "stride": key(config=EvalConfig(window=64, stride=16)),
        "batch size": key(config=EvalConfig(window=64, batch_size=2)),
        "precision": key(precision="bf16"),
        "dtype": key(model=AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16)),
        "temperatures": key(config=EvalConfig(window=64, temperature_scaling=True)),
        "a document's text": key(texts=[texts[0], texts[1] + "!"]),
        "the documents' order": key(texts=texts[::-1]),
        "the vocabulary limit": key(vocab_limit=100),
    }
    for what, value in changed.items():
        assert value != reference, what
    assert len(set(changed.values())) == len(changed)
    assert tokenizer_digest(grown) != tokenizer_digest(tokenizer)
    assert key(weights=None) is None  # weights of unknown hash: never cached


def test_the_cache_gives_back_exactly_what_was_stored(tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from workbench.evaluation.perplexity import score_documents
    from workbench.models.load import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    tokenizer = load_tokenizer(tiny_model)
    scored = score_documents(model, tokenizer, ["First text of a few words.", "Second, longer text " * 5],
                             window=32, progress=False, temperatures=(0.5, 1.0, 2.0))
    cache = ScoreCache(tmp_path / "cache")
    assert cache.get("k") is None
    cache.put("k", scored)
    back = cache.get("k")
    assert back.temperatures == scored.temperatures and len(back.documents) == 2
    for a, b in zip(scored.documents, back.documents):
        for name in ("nll", "top1_prob", "top1_correct", "sum_p2", "target_prob", "token_ids",
                     "nll_by_temperature", "top1_prob_by_temperature"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        assert (a.n_bytes, a.n_words) == (b.n_bytes, b.n_words)
    assert back.token_ppl == scored.token_ppl
    cache.path("k").write_bytes(b"not a zip file")  # damaged: scored again, never an error
    assert cache.get("k") is None
    assert not list((tmp_path / "cache").glob(".*tmp*"))


def test_a_comparison_without_the_cache_writes_none(tiny_run, small_sets, workspace, tmp_path):
    from workbench.workflows import evaluation

    domain, general = small_sets
    config = EvalConfig(adapter=str(tiny_run), domain_eval=str(domain), general_eval=str(general),
                        out=str(tmp_path / "c"), **FAST)
    folder = evaluation.compare(config, workspace, progress=False, cache_base_scores=False)
    card = json.loads((folder / "comparison.json").read_text())["card"]
    assert card["runtime"]["base_scores"] == {"domain": "scored", "general": "scored"}
    assert not evaluation.base_scores_folder(workspace).exists()
