"""One leakage definition: compare finds exactly the pairs curate removes, and names them."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))

from planted import sample_docs, write_jsonl  # noqa: E402

from workbench.corpus.config import CurateConfig  # noqa: E402
from workbench.corpus.curate import curate_corpus  # noqa: E402
from workbench.evaluation.leakage import check_leakage, run_leakage  # noqa: E402


def test_compare_flags_exactly_the_pairs_curate_removes(tmp_path):
    docs = sample_docs()[:40]
    evals = sample_docs()[40:50]
    leaked = {"id": "leaky", "text": " ".join(evals[2]["text"].split()[:180]) + " Extra closing remarks about dosing."}
    # an eval document holding the opening of a long training document: a 13-gram overlap check called this leakage,
    # but its Jaccard with the whole document is far below the threshold, so curate keeps both
    evals.append({"id": "excerpt", "text": docs[0]["text"][:400]})
    corpus = write_jsonl(tmp_path / "train.jsonl", docs + [leaked])
    eval_file = write_jsonl(tmp_path / "eval.jsonl", evals)
    manifest = curate_corpus(CurateConfig(paths=[str(corpus)], eval_paths=[str(eval_file)]), tmp_path / "snap",
                             num_proc=1, progress=False)
    curated = [(p["train_id"], p["eval_id"]) for p in manifest["leakage_pairs"]]
    train = docs + [leaked]
    report = check_leakage([d["id"] for d in train], [d["text"] for d in train], [d["id"] for d in evals],
                           [d["text"] for d in evals], threshold=0.5)
    assert [(p["train_id"], p["eval_id"]) for p in report["pairs"]] == curated == [("leaky", evals[2]["id"])]
    assert report["method"] == "minhash_jaccard" and report["flagged"][0]["id"] == evals[2]["id"]
    assert 0.5 <= report["max_overlap"] <= 1.0


def _snapshot(folder: Path, train: list[dict], evals: list[dict]) -> Path:
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", train)
    write_jsonl(folder / "eval.jsonl", evals)
    (folder / "manifest.json").write_text(json.dumps({"kind": "snapshot", "complete": True, "inputs": [],
                                                      "config": {"leakage_threshold": 0.5, "dedup": {"shingle_size": 5}}}))
    return folder


def test_warning_names_the_pairs_and_whether_they_came_from_the_users_split(tmp_path):
    docs = sample_docs()
    train, evals = docs[:30], docs[30:36]
    copy = dict(evals[1], id="copied", text=evals[1]["text"].replace(".", ";", 2))
    snapshot = _snapshot(tmp_path / "snap", train + [copy], evals)
    card = {"config": {"data": str(snapshot)}}
    ids, texts = [d["id"] for d in evals], [d["text"] for d in evals]

    report, warning = run_leakage(card, "domain", snapshot / "eval.jsonl", ids, texts)
    assert report["own_split"] is True and report["pairs"][0]["train_id"] == "copied"
    assert f"{evals[1]['id']} ~ copied" in warning and "your own snapshot split" in warning and "curate --overwrite" in warning

    outside = write_jsonl(tmp_path / "mine.jsonl", evals)
    cache: dict = {}  # one comparison checks two sets: the training text is read and hashed once
    report, warning = run_leakage(card, "domain", outside, ids, texts, cache=cache)
    again, _ = run_leakage(card, "general", outside, ids, texts, cache=cache)
    assert len(cache) == 1 and again["pairs"] == report["pairs"]
    assert report["own_split"] is False and "not the run's own eval split" in warning
    assert f"workbench curate CORPUS --eval {outside}" in warning  # the flag curate really has

    clean = [d for d in evals if d["id"] != evals[1]["id"]]
    report, warning = run_leakage(card, "domain", outside, [d["id"] for d in clean], [d["text"] for d in clean])
    assert report["pairs"] == [] and report["max_overlap"] == 0.0 and warning is None
    assert run_leakage({"config": {}}, "domain", outside, ids, texts) == (None, None)  # training text unknown


def test_old_configs_with_leakage_ngram_still_load_and_are_told_it_is_ignored():
    import pytest

    from workbench.evaluation.config import EvalConfig

    with pytest.warns(UserWarning, match="leakage_ngram is ignored"):
        EvalConfig(leakage_ngram=13)
