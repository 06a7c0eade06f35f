"""The sample data parses, meets its sizes, and held-out text does not leak from training."""

import csv
import json
import re

import pytest

RUN = 12  # a shared run of this many words counts as leakage


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _words(text):
    return re.findall(r"\w+", text.lower())


def _runs(text, n=RUN):
    w = _words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def _paragraphs(text):
    return {" ".join(p.split()) for p in text.split("\n\n") if len(p.split()) >= 5}


@pytest.fixture(scope="module")
def data(sample_dir):
    names = ("domain_corpus", "domain_eval", "general_eval", "general_replay")
    return {name: _jsonl(sample_dir / f"{name}.jsonl") for name in names}


def test_files_parse_and_meet_sizes(data):
    for name, docs in data.items():
        assert all(set(d) == {"id", "title", "text"} and d["text"].strip() and d["title"].strip() for d in docs), name
    words = {name: sum(len(d["text"].split()) for d in docs) for name, docs in data.items()}
    assert len(data["domain_corpus"]) >= 100 and words["domain_corpus"] >= 25_000
    assert words["domain_eval"] >= 5_000 and words["general_eval"] >= 5_000 and words["general_replay"] >= 5_000
    ids = [d["id"] for docs in data.values() for d in docs]
    assert len(ids) == len(set(ids)), "document ids must be unique across files"


def test_glossary_and_probes(sample_dir, data):
    with open(sample_dir / "glossary.csv", encoding="utf-8", newline="") as handle:
        glossary = list(csv.DictReader(handle))
    with open(sample_dir / "probes.csv", encoding="utf-8", newline="") as handle:
        probes = list(csv.DictReader(handle))
    assert len(glossary) >= 100 and set(glossary[0]) == {"term", "definition", "category"}
    corpus = " ".join(d["text"] for d in data["domain_corpus"]).lower()
    assert all(row["term"].lower() in corpus for row in glossary)
    assert len(probes) >= 40 and set(probes[0]) == {"prompt", "expected", "source_id"}
    ids = {d["id"] for d in data["domain_corpus"]}
    assert all(p["prompt"].strip() and p["expected"].strip() and p["source_id"] in ids for p in probes)


@pytest.mark.parametrize("held_out", ["domain_eval", "general_eval"])
def test_held_out_text_does_not_leak_from_training(data, held_out):
    train_runs = set().union(*(_runs(d["text"]) for d in data["domain_corpus"]))
    train_paragraphs = set().union(*(_paragraphs(d["text"]) for d in data["domain_corpus"]))
    for doc in data[held_out]:
        shared = _runs(doc["text"]) & train_runs
        assert not shared, f"{doc['id']} shares a {RUN}-word run with training: {' '.join(next(iter(shared)))}"
        assert not (_paragraphs(doc["text"]) & train_paragraphs), f"{doc['id']} repeats a training paragraph"


@pytest.mark.parametrize("held_out", ["domain_eval", "general_eval"])
def test_replay_text_is_apart_from_the_held_out_sets(data, held_out):
    """What 'replay: sample' trains on shares no paragraph or 12-word run with either held-out set."""
    held_runs = set().union(*(_runs(d["text"]) for d in data[held_out]))
    held_paragraphs = set().union(*(_paragraphs(d["text"]) for d in data[held_out]))
    for doc in data["general_replay"]:
        shared = _runs(doc["text"]) & held_runs
        assert not shared, f"{doc['id']} shares a {RUN}-word run with {held_out}: {' '.join(next(iter(shared)))}"
        assert not (_paragraphs(doc["text"]) & held_paragraphs), f"{doc['id']} repeats a {held_out} paragraph"
    held_titles = {d["title"].lower() for d in data[held_out]}
    assert not held_titles & {d["title"].lower() for d in data["general_replay"]}


def test_replay_text_has_no_near_copy_of_the_general_set(data):
    """The leakage definition of curate and compare (word-shingle Jaccard) finds no pair either."""
    from workbench.evaluation.leakage import check_leakage

    replay, general = data["general_replay"], data["general_eval"]
    report = check_leakage([d["id"] for d in replay], [d["text"] for d in replay],
                           [d["id"] for d in general], [d["text"] for d in general], threshold=0.5)
    assert report["pairs"] == [] and report["max_overlap"] == 0.0


def test_leakage_check_would_catch_a_copied_sentence(data):
    """The check above can fail: a planted copy of a training sentence is caught."""
    sentence = data["domain_corpus"][0]["text"].split(". ")[1]
    train_runs = set().union(*(_runs(d["text"]) for d in data["domain_corpus"]))
    assert _runs("An unrelated opening. " + sentence) & train_runs


def test_count_script_matches(sample_dir, data):
    import importlib.util

    spec = importlib.util.spec_from_file_location("count", sample_dir / "count.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts = module.counts()
    assert counts["domain_corpus.jsonl"]["documents"] == len(data["domain_corpus"])
    readme = (sample_dir / "README.md").read_text()
    for name, row in counts.items():
        for value in row.values():
            assert f"{value:,}" in readme, f"README's count for {name} is stale: run python sample_data/count.py"
