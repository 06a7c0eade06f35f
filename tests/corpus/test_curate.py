import json

import pytest
from planted import near_duplicate_corpus, sample_docs, write_jsonl

from workbench.corpus.config import CurateConfig
from workbench.corpus.curate import curate_corpus, load_manifest
from workbench.documents.texts import read_snapshot, resolve_training_data
from workbench.errors import WorkbenchError

PII = " Contact the author at jane.roe@example.org or (555) 123-4567."


@pytest.fixture(scope="module")
def planted_corpus(tmp_path_factory):
    docs, planted = near_duplicate_corpus(n_word=8, n_header=8)
    docs.append(dict(docs[2], id="exact-copy"))
    docs.append({"id": "short", "text": "Too short to keep."})
    docs.append({"id": "spam", "text": "\n".join(["Buy cheap pills online today, best prices guaranteed"] * 40)})
    docs.append({"id": "german", "text": " ".join(["Der Patient erhielt eine niedrige Dosis des Medikaments und "
                                                   "wurde engmaschig überwacht, weil die Nierenfunktion schwach war."] * 4)})
    docs[5] = dict(docs[5], text=docs[5]["text"] + PII)
    path = write_jsonl(tmp_path_factory.mktemp("curate") / "corpus.jsonl", docs)
    return path, docs, planted


def test_snapshot_removes_planted_problems_and_is_readable_by_training(tmp_path, planted_corpus):
    path, docs, planted = planted_corpus
    out = tmp_path / "snap"
    manifest = curate_corpus(CurateConfig(paths=[str(path)]), out, num_proc=1, progress=False)
    removed = manifest["counts"]["removed"]
    assert removed["exact_duplicate"] == 1
    assert removed["near_duplicate"] == len(planted)
    assert removed["too_short"] == 1 and removed["quality"] == 1 and removed["language"] == 1
    assert manifest["complete"] is True and load_manifest(out)["content_hash"] == manifest["content_hash"]
    train, evals = read_snapshot(out, "train"), read_snapshot(out, "eval")
    assert len(train) == manifest["counts"]["train"] and len(evals) == manifest["counts"]["eval"] > 0
    kept_ids = {d.id for d in train + evals}
    assert not kept_ids & {"exact-copy", "short", "spam", "german"}
    assert not kept_ids & {docs[j]["id"] for _, j in planted}
    assert all(docs[i]["id"] in kept_ids for i, _ in planted)  # one document kept per cluster
    redacted = next(d for d in train + evals if d.id == docs[5]["id"])
    assert "[EMAIL]" in redacted.text and "[PHONE]" in redacted.text and "jane.roe" not in redacted.text
    assert manifest["pii_redacted"]["email"] == 1
    assert resolve_training_data(out) == (out / "train.jsonl", out / "eval.jsonl")
    assert manifest["inputs"][0]["sha256"] and manifest["config"]["dedup"]["threshold"] == 0.8
    assert (out / "build.json").exists() and not list(tmp_path.glob(".tmp-*"))


def test_same_inputs_and_config_rebuild_byte_identical_snapshot(tmp_path, planted_corpus):
    path = planted_corpus[0]
    config = CurateConfig(paths=[str(path)])
    curate_corpus(config, tmp_path / "a", num_proc=1, progress=False)
    curate_corpus(config, tmp_path / "b", num_proc=2, progress=False)
    for name in ("manifest.json", "train.jsonl", "eval.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = curate_corpus(CurateConfig(paths=[str(path)], eval_fraction=0.3), tmp_path / "c", num_proc=1, progress=False)
    assert other["content_hash"] != json.loads((tmp_path / "a" / "manifest.json").read_text())["content_hash"]


def test_leakage_between_train_and_eval_is_removed(tmp_path):
    docs = sample_docs()[:40]
    evals = sample_docs()[40:50]
    leaked = {"id": "leaky", "text": " ".join(evals[2]["text"].split()[:180]) + " Extra closing remarks about dosing."}
    corpus = write_jsonl(tmp_path / "train.jsonl", docs + [leaked])
    eval_file = write_jsonl(tmp_path / "eval.jsonl", evals)
    manifest = curate_corpus(CurateConfig(paths=[str(corpus)], eval_paths=[str(eval_file)]), tmp_path / "snap",
                             num_proc=1, progress=False)
    assert manifest["counts"]["removed"]["leakage"] == 1
    assert [(p["train_id"], p["eval_id"]) for p in manifest["leakage_pairs"]] == [("leaky", evals[2]["id"])]
    assert manifest["counts"]["train"] == 40 and manifest["counts"]["eval"] == 10
    assert "leaky" not in {d.id for d in read_snapshot(tmp_path / "snap", "train")}


def test_failed_build_leaves_no_snapshot(tmp_path, planted_corpus):
    out = tmp_path / "snap"
    with pytest.raises(WorkbenchError, match="training documents survive"):
        curate_corpus(CurateConfig(paths=[str(planted_corpus[0])], min_words=50_000, max_words=60_000), out,
                      num_proc=1, progress=False)
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))
