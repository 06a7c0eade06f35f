"""A plain drop list (JSONL of document id and reason) given to curate directly, without a label store."""

import json

import pytest
from planted import sample_docs, write_jsonl

from workbench.corpus.config import CurateConfig
from workbench.corpus.curate import curate_corpus, read_drop_list
from workbench.errors import WorkbenchError


def _corpus(tmp_path):
    docs = sample_docs()[:12]
    return write_jsonl(tmp_path / "corpus.jsonl", docs), docs


def _config(path, **values):
    return CurateConfig(paths=[str(path)], languages=None, min_words=1, quality_filter=False, exact_dedup=False,
                        near_dedup=False, leakage_threshold=1.0, **values)


def test_a_drop_list_file_drops_its_documents_with_their_reasons(tmp_path):
    path, docs = _corpus(tmp_path)
    drops = tmp_path / "drops.jsonl"
    drops.write_text(json.dumps({"id": docs[3]["id"], "reason": "verbatim copy"}) + "\n"
                     + json.dumps({"id": docs[7]["id"]}) + "\n"
                     + json.dumps({"id": "not-in-the-corpus", "reason": "gone already"}) + "\n")
    out = tmp_path / "snap"
    manifest = curate_corpus(_config(path, drop_list=str(drops)), out, num_proc=1, progress=False)
    assert manifest["counts"]["removed"]["expert_drop"] == 2
    assert manifest["expert_drops"] == [{"id": docs[3]["id"], "reason": "verbatim copy"},
                                        {"id": docs[7]["id"], "reason": "dropped by the drop list"}]
    kept = {json.loads(x)["id"] for f in ("train.jsonl", "eval.jsonl") for x in (out / f).read_text().splitlines()}
    assert kept == {d["id"] for d in docs} - {docs[3]["id"], docs[7]["id"]}
    # the manifest records the list resolved, so the snapshot says what was dropped without the file
    assert manifest["config"]["drop_list"] == str(drops)
    assert manifest["config"]["drop_documents"][docs[3]["id"]] == "verbatim copy"
    again = curate_corpus(_config(path, drop_list=str(drops)), tmp_path / "again", num_proc=1, progress=False)
    assert (tmp_path / "again" / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()
    assert again["content_hash"] == manifest["content_hash"]


def test_drop_documents_given_inline_win_over_the_drop_list(tmp_path):
    path, docs = _corpus(tmp_path)
    drops = tmp_path / "drops.jsonl"
    drops.write_text(json.dumps({"id": docs[3]["id"], "reason": "from the file"}) + "\n")
    config = _config(path, drop_list=str(drops), drop_documents={docs[3]["id"]: "inline", docs[4]["id"]: "inline too"})
    manifest = curate_corpus(config, tmp_path / "snap", num_proc=1, progress=False)
    assert {d["id"]: d["reason"] for d in manifest["expert_drops"]} == {docs[3]["id"]: "inline", docs[4]["id"]: "inline too"}


def test_an_empty_drop_list_drops_nothing(tmp_path):
    path, docs = _corpus(tmp_path)
    (tmp_path / "drops.jsonl").write_text("")
    assert read_drop_list(tmp_path / "drops.jsonl") == {}
    manifest = curate_corpus(_config(path, drop_list=str(tmp_path / "drops.jsonl")), tmp_path / "snap", num_proc=1,
                             progress=False)
    assert "expert_drop" not in manifest["counts"]["removed"] and "expert_drops" not in manifest


@pytest.mark.parametrize("line, field", [('{"reason": "no id"}', "id"), ('{"id": ["a"]}', "id"),
                                         ('{"id": "a", "reason": 3}', "reason")])
def test_a_malformed_drop_list_names_the_line_and_field_before_anything_is_read(tmp_path, line, field):
    path, _ = _corpus(tmp_path)
    drops = tmp_path / "drops.jsonl"
    drops.write_text('{"id": "ok"}\n' + line + "\n")
    with pytest.raises(WorkbenchError, match=f"line 2: field '{field}'"):
        curate_corpus(_config(path, drop_list=str(drops)), tmp_path / "snap", num_proc=1, progress=False)
    assert not (tmp_path / "snap").exists()
    with pytest.raises(WorkbenchError, match="does not exist"):
        read_drop_list(tmp_path / "missing.jsonl")
