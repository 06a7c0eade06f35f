"""Review items from a comparison are counted per group before they are made: generation pairs,
repetitive generations, the most-regressed documents and missed probes, each empty group with its reason.
The comparison folder here is written by hand, so every count is known."""

from __future__ import annotations

import json

import pytest

from workbench import workflows
from workbench.review.config import ItemsConfig
from workbench.review.items import comparison_preview, items_from_comparison


def write_comparison(folder, sets: dict, documents: list[dict], generations: list[dict], probes: list[dict] | None):
    folder.mkdir(parents=True)
    result = {"complete": True, "base_model": "base-model", "adapter": "runs/r/adapter", "sets": sets,
              "text_unit": "auto", "generations": generations}
    if probes is not None:
        result["probes"] = {"rows": probes}
    (folder / "comparison.json").write_text(json.dumps(result), encoding="utf-8")
    (folder / "documents.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    return folder


@pytest.fixture
def folder(tmp_path):
    domain = tmp_path / "domain.jsonl"
    domain.write_text("".join(json.dumps({"id": f"d{i}", "text": f"domain text {i} about warfarin"}) + "\n"
                              for i in range(3)), encoding="utf-8")
    general = tmp_path / "general.txt"  # a plain text file: one document, read as the corpus readers read it
    general.write_text("A general paragraph about the weather and the sea.\n", encoding="utf-8")
    documents = [{"set": "domain", "id": "d0", "delta_nll": -0.2}, {"set": "domain", "id": "d1", "delta_nll": 0.3},
                 {"set": "domain", "id": "d2", "delta_nll": 0.1}, {"set": "general", "id": "general-0", "delta_nll": 0.5}]
    generations = [{"prompt": "domain text 0", "base": "b0", "adapted": "a0"},
                   {"prompt": "domain text 1", "base": "b1", "adapted": "a1 a1 a1 a1", "adapted_repetitive": True,
                    "adapted_repetition": 0.75},
                   {"prompt": "domain text 2", "base": "b2", "adapted": "a2"}]
    probes = [{"prompt": "Warfarin is a", "expected": "anticoagulant", "base_rank": 1, "adapted_rank": 3},
              {"prompt": "Heparin is", "expected": "injected", "base_rank": 2, "adapted_rank": 1}]
    return write_comparison(tmp_path / "comparisons" / "c1", {"domain": str(domain), "general": str(general)},
                            documents, generations, probes)


def test_every_group_is_counted_before_anything_is_made(folder, tmp_path):
    preview = workflows.review_items_preview(folder, tmp_path / "ws", ItemsConfig(regressed_documents=2))
    assert preview["counts"] == {"generation": 2, "repetitive generation": 1, "regressed document": 2,
                                 "missed probe": 1}
    assert preview["new"] == preview["counts"] and preview["empty"] == {}
    assert (preview["total"], preview["new_total"]) == (6, 6)
    assert not (tmp_path / "ws" / "labels.db").exists()  # a preview writes nothing
    made = workflows.review_items(folder, tmp_path / "ws", ItemsConfig(regressed_documents=2))
    assert made["added"] == 6 and made["groups"] == preview["counts"]
    again = workflows.review_items_preview(folder, tmp_path / "ws", ItemsConfig(regressed_documents=2))
    assert again["new_total"] == 0 and again["total"] == 6


def test_the_most_regressed_documents_come_from_any_corpus_format(folder):
    items = items_from_comparison(folder, ItemsConfig(regressed_documents=2, generations=False, probes=False))
    assert [(i.source["set"], i.source["doc_id"], i.outputs[0]["text"]) for i in items] == [
        ("general", "general-0", "A general paragraph about the weather and the sea."),
        ("domain", "d1", "domain text 1 about warfarin")]
    assert [i.meta["group"] for i in items] == ["regressed document"] * 2


def test_an_empty_group_says_why(tmp_path):
    domain = tmp_path / "d.jsonl"
    domain.write_text(json.dumps({"id": "d0", "text": "t"}) + "\n", encoding="utf-8")
    folder = write_comparison(tmp_path / "c", {"domain": str(domain)}, [{"set": "domain", "id": "d0", "delta_nll": -1}],
                              [{"prompt": "t", "base": "b", "adapted": "a"}], None)
    preview = comparison_preview(folder)
    assert preview["counts"] == {"generation": 1, "repetitive generation": 0, "regressed document": 0,
                                 "missed probe": 0}
    assert preview["empty"] == {
        "repetitive generation": "no continuation repeats itself",
        "regressed document": "the adapted model is no worse than the base model on any document",
        "missed probe": "the comparison has no probes"}
