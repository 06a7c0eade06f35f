"""The documents table and the word view in a reader's words: titles, the change first, whole words coloured."""

import math

import numpy as np
import pytest

from workbench.evaluation.tables import COLUMNS, document_table
from workbench.evaluation.tokendiff import document_tokens, render_html, title, word_rows


def test_a_documents_title_is_its_heading_or_its_first_line():
    assert title("# Osteogenesis imperfecta type 2\n\nA rare disorder of the bones.") == "Osteogenesis imperfecta type 2"
    assert title("Smith v. Jones, 512 U.S. 218 (1994)\nOpinion of the court.") == "Smith v. Jones, 512 U.S. 218 (1994)"
    long = "word " * 40
    assert title(long).endswith("…") and len(title(long)) <= 82


def test_the_table_puts_the_change_first_sorts_by_it_and_searches_titles():
    rows = [
        {"set": "domain", "id": "medquad-26", "title": "Aicardi-Goutieres syndrome", "tokens": 300,
         "delta_nll": math.log(0.8), "base_token_ppl": 10.0, "adapted_token_ppl": 8.0},
        {"set": "domain", "id": "medquad-3", "title": "Osteogenesis imperfecta", "tokens": 120,
         "delta_nll": math.log(1.1), "base_token_ppl": 10.0, "adapted_token_ppl": 11.0},
        {"set": "general", "id": "gen-1", "extract": "The river runs to the sea …", "tokens": 90,
         "delta_nll": 0.0, "base_token_ppl": 5.0, "adapted_token_ppl": 5.0},
    ]
    table = document_table(rows)
    assert list(table[0]) == list(COLUMNS) and COLUMNS[0] == "change %"
    # exp(delta) - 1 per document, most worsened first
    assert [r["change %"] for r in table] == [10.0, 0.0, -20.0]
    assert [r["document"] for r in table] == ["Osteogenesis imperfecta", "The river runs to the sea …",
                                              "Aicardi-Goutieres syndrome"]
    assert [r["id"] for r in document_table(rows, "aicardi")] == ["medquad-26"]
    assert [r["id"] for r in document_table(rows, "RIVER")] == ["gen-1"]
    assert [r["change %"] for r in document_table(rows, worst_first=False)] == [-20.0, 0.0, 10.0]


@pytest.fixture(scope="module")
def byte_tokenizer(tmp_path_factory):
    from workbench.models.tiny import build_tiny_tokenizer

    return build_tiny_tokenizer(tmp_path_factory.mktemp("tok"))


def test_whole_words_are_coloured_with_their_characters_intact(byte_tokenizer):
    text = "Aicardi–Goutières syndrome ≥ 2 €; café\nosteogenesis type 2 “quoted”"
    n = len(byte_tokenizer(text, add_special_tokens=False)["input_ids"])
    base, adapted = np.linspace(1, 2, n), np.linspace(2, 1, n)
    tokens = document_tokens(byte_tokenizer, text, base, adapted)
    words = word_rows(tokens)
    assert "".join(w["text"] for w in words) == text  # nothing dropped, nothing mangled
    shown = [w["text"] for w in words if not w.get("space")]
    assert shown == ["Aicardi–Goutières", "syndrome", "≥", "2", "€;", "café", "osteogenesis", "type", "2", "“quoted”"]
    # every token counted once; a word's numbers are the sums over its tokens
    assert sum(w["tokens"] for w in words if not w.get("space")) == n
    assert sum(w["delta"] for w in words if not w.get("space")) == pytest.approx(float((adapted - base).sum()))
    assert sum(w["base"] for w in words if not w.get("space")) == pytest.approx(float(base.sum()))
    html = render_html(tokens)
    for word in ("Aicardi–Goutières</span>", "≥</span>", "“quoted”</span>", "osteogenesis</span>"):
        assert word in html
    for mangled in ("Ġ", "Ċ", "â€", "Ã"):
        assert mangled not in html
    assert 'title="osteogenesis: base ' in html and "nats, adapted" in html
