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


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_runs_replay_text_is_checked_against_both_held_out_sets(tmp_path, sample_dir):
    import random

    from planted import change_words

    from workbench.evaluation.verdict import build_verdict

    general_path, domain_path = sample_dir / "general_eval.jsonl", sample_dir / "domain_eval.jsonl"
    general, domain = _jsonl(general_path), _jsonl(domain_path)
    replayed = _jsonl(sample_dir / "general_replay.jsonl")[:8]
    # a replay file holding a lightly edited copy of one general held-out document
    copy = {"id": "copied", "text": change_words(general[4]["text"], 0.02, random.Random(0))}
    replay = write_jsonl(tmp_path / "replay.jsonl", replayed + [copy])
    train = write_jsonl(tmp_path / "train.jsonl", sample_docs()[:20])
    card = {"config": {"data": str(train), "replay": str(replay), "replay_ratio": 0.1},
            "inputs": {"replay": {"path": str(replay), "sha256": "0" * 64}}}
    cache: dict = {}
    report, warning = run_leakage(card, "general", general_path, [d["id"] for d in general],
                                  [d["text"] for d in general], cache=cache)
    assert report["pairs"] == []  # the domain data near-copies no general document: the replay text does
    assert [(p["train_id"], p["eval_id"]) for p in report["replay"]["pairs"]] == [("copied", general[4]["id"])]
    assert report["replay"]["path"] == str(replay) and report["replay"]["pairs"][0]["jaccard"] >= 0.5
    assert f"{general[4]['id']} ~ copied" in warning and str(replay) in warning and "understated" in warning
    domain_report, domain_warning = run_leakage(card, "domain", domain_path, [d["id"] for d in domain],
                                                [d["text"] for d in domain], cache=cache)
    assert domain_report["replay"]["pairs"] == [] and domain_warning is None
    assert len(cache) == 2  # the domain data and the replay text, each read and hashed once

    verdict = build_verdict(
        {side: {s: {"ece": 0.05, "documents": 24, "tokens": 20_000} for s in ("domain", "general")}
         for side in ("base", "adapted")},
        {"domain": {"ppl_change_pct": -12.0, "ppl_ratio_ci95": [0.85, 0.91], "significant": True},
         "general": {"ppl_change_pct": 1.0, "ppl_ratio_ci95": [0.99, 1.03], "significant": False}},
        leakage={"domain": domain_report, "general": report})
    assert verdict["general"]["replayed_documents"] == 1 and "understates forgetting" in verdict["headline"]
    assert verdict["next_steps"][0].startswith("Measure forgetting on general text the run did not train on")
    assert not any("keep this run" in s for s in verdict["next_steps"]) and verdict["leakage_documents"] == {}


def test_replay_sample_is_the_bundled_replay_text_and_older_cards_replayed_the_general_set(tmp_path, sample_dir):
    general_path = sample_dir / "general_eval.jsonl"
    general = _jsonl(general_path)
    ids, texts = [d["id"] for d in general], [d["text"] for d in general]
    train = write_jsonl(tmp_path / "train.jsonl", sample_docs()[:20])
    config = {"data": str(train), "replay": "sample", "replay_ratio": 0.1}
    bundled = sample_dir / "general_replay.jsonl"
    report, warning = run_leakage({"config": config, "inputs": {"replay": {"path": str(bundled)}}}, "general",
                                  general_path, ids, texts)
    assert Path(report["replay"]["path"]).name == "general_replay.jsonl" and report["replay"]["pairs"] == []
    assert warning is None
    # a card with no replay input trained 'sample' on general_eval.jsonl itself: every document is a copy
    report, warning = run_leakage({"config": config, "inputs": {"replay": None}}, "general", general_path, ids, texts)
    assert Path(report["replay"]["path"]).name == "general_eval.jsonl" and report["replay"]["max_overlap"] == 1.0
    assert sorted(f["id"] for f in report["replay"]["flagged"]) == sorted(ids) and "understated" in warning
    no_replay, _ = run_leakage({"config": {**config, "replay_ratio": 0.0}}, "general", general_path, ids, texts)
    assert no_replay["replay"] is None
