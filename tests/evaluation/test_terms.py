"""Term changes: content words only, glossary then domain terms first, intervals, examples in context."""

import numpy as np
import pytest

from workbench.evaluation.tokendiff import MIN_INTERVAL_COUNT, extract, term_changes, token_spans

TEXTS = [
    "The patient with the renal impairment took warfarin and the dose of warfarin was halved with care.",
    "With the INR high, the warfarin dose and the heparin bridge were reviewed and the clearance was measured.",
    "The clearance and the dose were checked with the team, and warfarin was restarted with the heparin stopped.",
    "Warfarin and heparin: the clearance, the dose and the INR were charted with the nurse and the pharmacist.",
]
CHANGE = {"the": -2.0, "and": -1.5, "with": -1.5, "warfarin": -0.8, "heparin": -0.6, "clearance": -0.3, "dose": 0.5}


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def _scores(tokenizer, texts):
    """Base NLL 3 everywhere; adapted NLL changed on the tokens of the words in CHANGE."""
    base, adapted = [], []
    for text in texts:
        spans = token_spans(tokenizer, text)
        b = np.full(len(spans), 3.0)
        a = b.copy()
        for k, (start, end) in enumerate(spans.tolist()):
            piece = text[start:end].strip(" .,:").lower()
            for word, change in CHANGE.items():
                if piece and piece in word and word in text[max(0, start - 12) : end + 12].lower():
                    a[k] = 3.0 + change
        base.append(b)
        adapted.append(a)
    return base, adapted


def test_function_words_never_listed_and_glossary_then_domain_terms_lead(tokenizer):
    base, adapted = _scores(tokenizer, TEXTS)
    terms = term_changes(tokenizer, TEXTS, base, adapted, glossary=["heparin"], domain_terms=["clearance"],
                         ids=[f"d{i}" for i in range(len(TEXTS))])
    listed = {r["term"].lower() for key in ("gained", "lost") for r in terms[key]}
    assert not {"the", "and", "with", "was", "were"} & listed  # the largest raw changes, but function words
    gained = terms["gained"]
    assert [r["kind"] for r in gained[:2]] == ["glossary", "domain"]
    assert gained[0]["term"] == "heparin" and gained[1]["term"] == "clearance"
    assert "warfarin" in [r["term"] for r in gained if r["kind"] == "word"]
    assert terms["glossary"][0]["term"] == "heparin" and terms["domain_terms"][0]["term"] == "clearance"
    assert [r["term"] for r in terms["lost"]] == ["dose"]


def test_rows_carry_count_change_interval_and_an_example_in_context(tokenizer):
    base, adapted = _scores(tokenizer, TEXTS)
    terms = term_changes(tokenizer, TEXTS, base, adapted, ids=[f"d{i}" for i in range(len(TEXTS))])
    warfarin = next(r for r in terms["gained"] if r["term"] == "warfarin")
    assert warfarin["count"] == 5 >= MIN_INTERVAL_COUNT and warfarin["documents"] == 4
    assert warfarin["delta"] < 0 and warfarin["ci95"][0] <= warfarin["delta"] <= warfarin["ci95"][1]
    assert "[warfarin]" in warfarin["example"].lower() and warfarin["example_id"] in {"d0", "d1", "d2", "d3"}
    heparin = next(r for r in terms["gained"] if r["term"] == "heparin")
    assert heparin["count"] == 3 and heparin["ci95"] is None  # too few occurrences: the report says how many are needed
    assert terms["min_count_for_interval"] == MIN_INTERVAL_COUNT


def test_extract_is_short_and_cut_at_a_word():
    text = "Warfarin   dosing in renal impairment.\n" + "word " * 100
    short = extract(text, 60)
    assert short.startswith("Warfarin dosing in renal impairment. word") and short.endswith("…") and len(short) <= 62


def test_profile_terms_come_from_a_profile_file_or_folder(tmp_path):
    import json

    from workbench.errors import WorkbenchError
    from workbench.evaluation.tokendiff import profile_terms

    (tmp_path / "profile.json").write_text(json.dumps({"domain": {"top_terms": [{"term": "warfarin"}, {"term": "inr"}]}}))
    assert profile_terms(str(tmp_path)) == profile_terms(str(tmp_path / "profile.json")) == ["warfarin", "inr"]
    with pytest.raises(WorkbenchError, match="does not exist"):
        profile_terms(str(tmp_path / "nope.json"))
