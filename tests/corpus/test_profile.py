import json

from planted import near_duplicate_corpus, write_jsonl

from workbench.corpus.config import CorpusConfig
from workbench.corpus.profile import profile_corpus

KEYS = ("documents", "words", "bytes", "tokens", "tokens_per_word", "split_word_share", "exact_duplicate_rate",
        "near_duplicate_rate", "readiness")


def test_profile_of_planted_corpus(tmp_path, tiny_model, tiny_tokenizer, sample_dir):
    docs, planted = near_duplicate_corpus(n_word=6, n_header=6)
    docs += [dict(docs[0], id="exact-copy-1"), dict(docs[1], id="exact-copy-2", text=docs[1]["text"].upper())]
    docs.append({"id": "pii", "text": "Write to jane.roe@example.org or call (555) 123-4567 about the dose."})
    corpus = write_jsonl(tmp_path / "corpus" / "docs.jsonl", docs)
    (tmp_path / "corpus" / "junk.bin").write_bytes(b"\x00\x00binary")
    out = tmp_path / "profile"
    config = CorpusConfig(paths=[str(corpus.parent)], model=str(tiny_model), glossary=str(sample_dir / "glossary.csv"))
    profile = profile_corpus(config, out, num_proc=1, progress=False, tokenizer=tiny_tokenizer)

    on_disk = json.loads((out / "profile.json").read_text())
    assert on_disk["complete"] is True and all(k in on_disk for k in KEYS)
    n = len(docs)
    assert profile["documents"] == n
    assert profile["exact_duplicate_documents"] == 2
    assert profile["near_duplicate_documents"] == len(planted)
    assert abs(profile["near_duplicate_rate"] - len(planted) / n) < 1e-6
    assert profile["tokens"] == sum(len(tiny_tokenizer(d["text"], add_special_tokens=False)["input_ids"]) for d in docs)
    assert profile["tokens_per_word"] > 1 and 0 < profile["split_word_share"] < 1
    assert profile["pii"]["email"] == 1 and profile["pii"]["phone"] == 1 and profile["documents_with_pii"] == 1
    assert [s["path"].endswith("junk.bin") for s in profile["skipped_files"]] == [True]
    warfarin = next(g for g in profile["glossary"] if g["term"] == "warfarin")
    assert warfarin["tokens"] == len(warfarin["pieces"]) >= 1 and "".join(warfarin["pieces"]).strip() == "warfarin"
    assert profile["languages"]["en"] > 0.9
    assert profile["domain"]["jensen_shannon"] > 0.1 and profile["domain"]["top_terms"]
    assert profile["readiness"]["verdict"] == "too_small"
    assert len(profile["heaps"]["points"]) > 5 and 0 < profile["heaps"]["beta"] < 1

    page = (out / "report.html").read_text()
    assert page.count("* plotly.js v") == 1  # the library inlined exactly once
    assert page.count("Plotly.newPlot") >= 6
    assert "<script src=" not in page  # self-contained: nothing fetched from the network
    assert "Readiness: too_small" in page and "warfarin" in page
