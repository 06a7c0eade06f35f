"""Curation in memory: ``run_curate`` returns a :class:`CurationResult` and writes nothing; ``write()``
gives exactly the files ``curate_corpus`` writes; token counts where a tokenizer is known."""

import json

import pytest
from planted import near_duplicate_corpus, write_jsonl

from workbench.corpus.config import CurateConfig
from workbench.corpus.curate import CurationResult, curate_corpus, run_curate
from workbench.errors import WorkbenchError
from workbench.figures import figures_of
from workbench.io import read_json, read_jsonl
from workbench.workspace import Workspace

PII = " Write to jane.roe@example.org for the protocol."


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    docs, _ = near_duplicate_corpus(n_word=6, n_header=6)
    docs.append(dict(docs[1], id="exact-copy"))
    docs.append({"id": "short", "text": "Too short."})
    docs[3] = dict(docs[3], text=docs[3]["text"] + PII)
    return write_jsonl(tmp_path_factory.mktemp("mem") / "corpus.jsonl", docs)


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_result_in_memory_equals_what_is_written_and_nothing_is_written_before(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray relative write would land here
    ws = Workspace(tmp_path / "ws")
    config = CurateConfig(paths=[str(corpus)], eval_fraction=0.2)
    result = run_curate(config, num_proc=1, progress=False, out=ws.folder("snapshots", "mem"))
    assert isinstance(result, CurationResult) and _tree(tmp_path) == []  # nothing written
    assert ws.snapshots() == []
    # the funnel and the split, in memory
    assert result.removed["exact_duplicate"] == 1 and result.removed["too_short"] == 1
    assert result.removed["near_duplicate"] > 0
    assert result.counts["train"] == result.train.num_rows and result.counts["eval"] == result.eval.num_rows > 0
    assert result.counts["input_documents"] == sum(result.removed.values()) + result.train.num_rows + result.eval.num_rows
    assert any("[EMAIL]" in d["text"] for d in result.documents("train") + result.documents("eval"))
    assert result.sizes["train_words"] > result.sizes["eval_words"] > 0 and result.sizes["train_tokens"] is None
    funnel = result.figures()["removal_funnel"].data[0]
    assert list(funnel.x)[0] == result.counts["input_documents"]
    assert _tree(tmp_path) == []  # looking at it writes nothing either

    folder = result.write()
    assert folder == ws.folder("snapshots", "mem")
    assert read_jsonl(folder / "train.jsonl") == result.documents("train")
    assert read_jsonl(folder / "eval.jsonl") == result.documents("eval")
    assert read_json(folder / "manifest.json") == result.manifest
    assert read_json(folder / "build.json") == result.build
    [summary] = ws.snapshots()
    assert summary.complete and summary.train_documents == result.counts["train"]
    assert summary.train_words == result.sizes["train_words"] and summary.size_unit == "words"
    assert figures_of(ws.snapshot("mem"))["removal_funnel"].to_json() == result.figures()["removal_funnel"].to_json()

    # curate_corpus (what the CLI and the jobs call) writes the very same files, keys included
    again = curate_corpus(config, tmp_path / "again", num_proc=1, progress=False)
    assert again == result.manifest
    for name in ("manifest.json", "train.jsonl", "eval.jsonl"):
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes(), name
    artifact = read_json(folder / "artifact.json")
    assert artifact["headline"]["train_words"] == result.sizes["train_words"]
    assert set(read_json(tmp_path / "again" / "artifact.json")["headline"]) == set(artifact["headline"])


def test_write_refuses_documents_changed_after_curation(tmp_path, corpus):
    result = run_curate(CurateConfig(paths=[str(corpus)], eval_fraction=0.2), num_proc=1, progress=False)
    with pytest.raises(WorkbenchError, match="no snapshot folder"):
        result.write()
    result.train = result.train.slice(1)  # a document dropped by hand: the manifest no longer describes it
    with pytest.raises(WorkbenchError, match="hash"):
        result.write(tmp_path / "snap")
    assert not (tmp_path / "snap").exists() and not list(tmp_path.glob(".tmp-*"))


def test_tokens_are_counted_with_the_model_tokenizer(tmp_path, corpus, tiny_model, tiny_tokenizer):
    ws = Workspace(tmp_path / "ws")
    config = CurateConfig(paths=[str(corpus)], eval_fraction=0.2, model=str(tiny_model))
    manifest = curate_corpus(config, ws.folder("snapshots", "tok"), num_proc=1, progress=False)
    sizes = manifest["sizes"]
    for split in ("train", "eval"):
        texts = [d["text"] for d in read_jsonl(ws.folder("snapshots", "tok") / f"{split}.jsonl")]
        expected = sum(len(tiny_tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
        assert sizes[f"{split}_tokens"] == expected > 0  # of the text as written (PII redacted)
    assert sizes["tokenizer"] == str(tiny_model)
    [summary] = ws.snapshots()
    assert summary.train_tokens == sizes["train_tokens"] and summary.eval_tokens == sizes["eval_tokens"]
    assert summary.size_unit == "tokens" and f"{sizes['train_tokens']:,}" in summary.size_text()
    assert "tokens" in summary.size_text() and summary.train_words == sizes["train_words"]
    # a tokenizer already loaded counts the same (and names itself); without one, the words say so
    in_memory = run_curate(CurateConfig(paths=[str(corpus)], eval_fraction=0.2), num_proc=1, progress=False,
                           tokenizer=tiny_tokenizer)
    assert in_memory.sizes["train_tokens"] == sizes["train_tokens"] and in_memory.sizes["tokenizer"]
    plain = curate_corpus(CurateConfig(paths=[str(corpus)], eval_fraction=0.2), ws.folder("snapshots", "words"),
                          num_proc=1, progress=False)
    assert plain["sizes"]["train_tokens"] is None and plain["sizes"]["tokenizer"] is None
    words = next(s for s in ws.snapshots() if s.name == "words")
    assert words.train_tokens is None and words.size_unit == "words"
    assert words.size_text() == f"train {words.train_words:,} / eval {words.eval_words:,} words"
    # the token count is recorded, not part of the content: the documents are the same
    assert plain["content_hash"] == manifest["content_hash"]
    assert json.loads(json.dumps(manifest["config"]))["model"] == str(tiny_model)
