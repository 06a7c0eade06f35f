"""The profile lists the documents it flagged (quality, PII, language, duplicates) with ids, extracts and reasons."""

import json

from planted import change_words, sample_docs, write_jsonl

from workbench.corpus.config import CorpusConfig
from workbench.corpus.profile import profile_corpus

FRENCH = ("La warfarine reste l'anticoagulant oral le plus étudié, et son comportement clinique ne se comprend "
          "qu'une fois son mécanisme connu. Le médicament inhibe la vitamine K époxyde réductase, l'enzyme qui "
          "régénère la vitamine K réduite après chaque cycle de carboxylation. Les patients âgés reçoivent une dose "
          "initiale plus faible et une surveillance plus fréquente de leur rapport normalisé international.")


def planted_flags_corpus() -> list[dict]:
    """Sample documents plus one of each flag: an email far into the text, French, repeated lines, a near copy
    (the first two built on documents not otherwise in the corpus, so they duplicate nothing)."""
    import random

    sample = sample_docs()
    docs = [{"id": d["id"], "text": d["text"]} for d in sample[:30]]
    docs.append({"id": "has-email", "text": sample[40]["text"] + " Questions about this protocol go to the ward "
                 "pharmacist at anna.berg@example.org before the next round."})
    docs.append({"id": "in-french", "text": FRENCH})
    docs.append({"id": "repeated-lines", "text": "\n".join(["Take one tablet every morning with water."] * 8
                                                           + [sample[41]["text"]])})
    docs.append({"id": "near-copy", "text": change_words(docs[9]["text"], 0.02, random.Random(0))})
    return docs


def test_profile_lists_flagged_documents_worst_first_with_reasons(tmp_path, tiny_model, tiny_tokenizer):
    docs = planted_flags_corpus()
    corpus = write_jsonl(tmp_path / "docs.jsonl", docs)
    out = tmp_path / "profile"
    profile = profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), out, num_proc=1,
                             progress=False, tokenizer=tiny_tokenizer)
    on_disk = json.loads((out / "profile.json").read_text())
    assert on_disk["flagged"] == profile["flagged"] and on_disk["flagged_total"] == profile["flagged_total"]

    flagged = {d["id"]: d for d in profile["flagged"]}
    assert set(flagged) == {"has-email", "in-french", "repeated-lines", "near-copy"}
    assert profile["flagged_total"] == 4
    assert profile["flagged_by_reason"] == {"pii": 1, "quality": 1, "language": 1, "near_duplicate": 1,
                                            "exact_duplicate": 0}
    assert flagged["has-email"]["reasons"] == {"pii": {"email": 1}}
    assert flagged["has-email"]["flags"] == ["PII: email (1)"]
    # the email lies past the opening: the extract is a window around it, and its span points into the document
    start, end = flagged["has-email"]["span"]
    text = next(d["text"] for d in docs if d["id"] == "has-email")
    assert start > 0 and "anna.berg@example.org" in flagged["has-email"]["text"] == text[start:end]
    assert end - start <= 300
    assert flagged["in-french"]["reasons"] == {"language": "fr"}
    assert flagged["in-french"]["flags"] == ["language fr, not the main en"]
    assert flagged["repeated-lines"]["reasons"] == {"quality": ["repeated_lines"]}
    assert flagged["near-copy"]["reasons"] == {"near_duplicate_of": docs[9]["id"]}
    assert flagged["near-copy"]["flags"] == [f"near duplicate of {docs[9]['id']}"]
    # worst first: PII, then content problems (quality, language), then the duplicate
    order = [d["id"] for d in profile["flagged"]]
    assert order[0] == "has-email" and order[-1] == "near-copy"
    assert [d["score"] for d in profile["flagged"]] == sorted((d["score"] for d in profile["flagged"]), reverse=True)


def test_flagged_list_is_bounded_and_counts_all(tmp_path, tiny_model, tiny_tokenizer):
    docs = planted_flags_corpus()
    docs += [dict(docs[k], id=f"exact-{k}") for k in range(3)]  # three exact copies
    corpus = write_jsonl(tmp_path / "docs.jsonl", docs)
    profile = profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model), max_flagged=2), None,
                             num_proc=1, progress=False, tokenizer=tiny_tokenizer)
    assert profile["flagged_total"] == 7 and profile["flagged_by_reason"]["exact_duplicate"] == 3
    assert [d["id"] for d in profile["flagged"]][:1] == ["has-email"] and len(profile["flagged"]) == 2
    copies = profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), None, num_proc=1,
                            progress=False, tokenizer=tiny_tokenizer)["flagged"]
    exact = {d["id"]: d["reasons"] for d in copies if d["id"].startswith("exact-")}
    assert exact == {f"exact-{k}": {"exact_duplicate_of": docs[k]["id"]} for k in range(3)}


def test_max_flagged_cannot_be_negative():
    import pytest

    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="max_flagged"):
        CorpusConfig(paths=["x"], max_flagged=-1)
