"""Kinds of personal data are chosen per project: URLs and docket numbers in court opinions are
citations, not personal data, unless a project says so; nothing is dropped for PII, only replaced."""

from __future__ import annotations

import json

from planted import write_jsonl

from workbench.corpus.config import DEFAULT_PII_TYPES, CorpusConfig, CurateConfig
from workbench.corpus.curate import run_curate
from workbench.corpus.profile import profile_corpus

OPINION = ("The court of appeals reviewed the judgment de novo and affirmed the order of the district court in "
           "every respect, holding that the statute of limitations had run before the complaint was filed. ")
CITATION = "See docket No. 2019004512 and the opinion at https://www.courtlistener.com/opinion/4512/smith-v-jones/ ."
EMAIL = "Counsel may write to clerk.smith@example.org with questions."


def _opinions(tmp_path):
    docs = [{"id": f"op-{i}", "text": OPINION * 3 + f"Case {i}. "} for i in range(6)]
    docs.append({"id": "cites", "text": OPINION * 3 + CITATION})
    docs.append({"id": "writes", "text": OPINION * 3 + EMAIL})
    return write_jsonl(tmp_path / "opinions.jsonl", docs)


def test_the_default_kinds_leave_urls_and_docket_numbers_alone(tmp_path, tiny_model, tiny_tokenizer):
    assert DEFAULT_PII_TYPES == ("email", "phone")
    corpus = _opinions(tmp_path)
    profile = profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), tmp_path / "profile",
                             num_proc=1, progress=False, tokenizer=tiny_tokenizer)
    assert profile["pii_types"] == ["email", "phone"]
    assert profile["pii"] == {"email": 1, "phone": 0} and profile["documents_with_pii"] == 1
    pii_flagged = [f["id"] for f in profile["flagged"] if "pii" in f["reasons"]]
    assert pii_flagged == ["writes"]  # the citing opinion is no personal-data case

    result = run_curate(CurateConfig(paths=[str(corpus)], min_words=5, languages=None, near_dedup=False,
                                     eval_fraction=0.0), num_proc=1, progress=False)
    texts = {d["id"]: d["text"] for d in result.documents("train")}
    assert len(texts) == 8  # nothing dropped for personal data
    assert CITATION in texts["cites"] and "[URL]" not in texts["cites"] and "[ID]" not in texts["cites"]
    assert "[EMAIL]" in texts["writes"] and "clerk.smith@example.org" not in texts["writes"]
    assert result.manifest["pii_redacted"] == {"email": 1, "phone": 0}


def test_a_project_that_counts_urls_and_ids_flags_and_replaces_them(tmp_path, tiny_model, tiny_tokenizer):
    corpus = _opinions(tmp_path)
    kinds = ["email", "url", "id_number"]
    profile = profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model), pii_types=kinds),
                             tmp_path / "profile", num_proc=1, progress=False, tokenizer=tiny_tokenizer)
    assert profile["pii"] == {"url": 1, "email": 1, "id_number": 1}
    assert sorted(f["id"] for f in profile["flagged"] if "pii" in f["reasons"]) == ["cites", "writes"]
    result = run_curate(CurateConfig(paths=[str(corpus)], min_words=5, languages=None, near_dedup=False,
                                     eval_fraction=0.0, pii_types=kinds), num_proc=1, progress=False)
    cites = next(d["text"] for d in result.documents("train") if d["id"] == "cites")
    assert "[URL]" in cites and "[ID]" in cites and "courtlistener" not in cites
    assert json.loads(json.dumps(result.manifest["pii_redacted"])) == {"email": 1, "url": 1, "id_number": 1}
