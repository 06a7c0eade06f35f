"""Difficulty signals: MTLD, Flesch reading ease and compression ratio pinned against hand-worked values,
and their distributions in the corpus profile, its figures and its report."""

import json
import zlib

import pytest
from planted import write_jsonl

from workbench.corpus.config import CorpusConfig
from workbench.corpus.plots import all_figures, difficulty_distributions
from workbench.corpus.profile import profile_corpus
from workbench.documents.difficulty import (
    compression_ratio,
    difficulty,
    easy_to_hard,
    flesch_reading_ease,
    mtld,
    syllables,
)


def test_mtld_as_worked_by_hand():
    # forward: a(1/1) b(2/2) a(2/3=.667 <= .72: factor 1, reset) c(1/1) d(2/2) -> remainder TTR 1, partial 0
    #   factors 1, MTLD 5 / 1 = 5
    # backward: d c a b a: d(1) c(1) a(1) b(1) a(4/5=.8) -> remainder TTR .8, partial (1-.8)/(1-.72) = 0.714285...
    #   MTLD 5 / 0.714285... = 7.0
    assert mtld("a b a c d".split()) == pytest.approx((5.0 + 7.0) / 2)
    # one word repeated: TTR 1, then 1/2 -> a factor every two words, both ways: 6 words / 3 factors = 2
    assert mtld(["x"] * 6) == pytest.approx(2.0)
    assert mtld([]) == 0.0
    assert mtld("every word here differs".split()) == 4.0  # no factor at all: its length


def test_flesch_reading_ease_as_worked_by_hand():
    assert [syllables(w) for w in ("cat", "table", "make", "beautiful", "rhythm", "queue")] == [1, 2, 1, 3, 1, 1]
    # 6 words, 1 sentence, 6 syllables: 206.835 - 1.015 * 6 - 84.6 * 1
    assert flesch_reading_ease("The cat sat on the mat.") == pytest.approx(206.835 - 1.015 * 6 - 84.6)
    # two sentences of 2 words; syllables: beautiful 3, rhythm 1, cats 1, sleep 1 = 6 over 4 words
    assert flesch_reading_ease("Beautiful rhythm. Cats sleep!") == pytest.approx(206.835 - 1.015 * 2 - 84.6 * 6 / 4)
    assert flesch_reading_ease("") == 0.0


def test_compression_ratio_and_the_easy_to_hard_order():
    text = "abc " * 50
    assert compression_ratio(text) == pytest.approx(200 / len(zlib.compress(text.encode(), 6)))
    assert compression_ratio("") == 0.0
    easy = "the dog ran. the dog ran. the dog ran. the dog ran."
    hard = ("Pharmacokinetic heterogeneity complicates anticoagulant titration considerably; renal clearance, hepatic "
            "metabolism and polymorphic cytochrome isoenzymes modulate plasma exposure.")
    medium = "A dog ran in the park and then it sat down by the old tree."
    texts = [hard, easy, medium]
    for signal in ("compression", "mtld", "readability"):
        scores = difficulty(texts, signal)
        assert scores[1] < scores[0], signal  # the repetitive plain text is easier than the technical one
    assert easy_to_hard(texts, "readability") == [1, 2, 0]


def test_profile_holds_difficulty_distributions_and_older_profiles_still_draw(tmp_path, tiny_model, tiny_tokenizer):
    texts = ["the dog ran. " * 20, "A dog ran in the park and then it sat down by the old tree.",
             "Pharmacokinetic heterogeneity complicates anticoagulant titration considerably."]
    corpus = write_jsonl(tmp_path / "docs.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(texts)])
    out = tmp_path / "profile"
    profile = profile_corpus(CorpusConfig(paths=[str(corpus)], model=str(tiny_model)), out, num_proc=1,
                             progress=False, tokenizer=tiny_tokenizer)
    signals = json.loads((out / "profile.json").read_text())["difficulty"]["signals"]
    assert set(signals) == {"compression", "mtld", "readability"}
    assert signals["compression"]["max"] == pytest.approx(compression_ratio(texts[0]))
    assert signals["mtld"]["min"] == pytest.approx(mtld(("the dog ran " * 20).split()))
    assert signals["readability"]["median"] == pytest.approx(flesch_reading_ease(texts[1]))
    assert sum(profile["difficulty"]["histograms"]["mtld"]["counts"]) == 3
    figure = difficulty_distributions(profile)
    assert len(figure.data) == 3 and sum(sum(bar.y) for bar in figure.data) == 9
    assert "<h2>Difficulty</h2>" in (out / "report.html").read_text()
    older = {k: v for k, v in profile.items() if k != "difficulty"}  # a profile written before the signals
    assert "difficulty" not in all_figures(older) and "length" in all_figures(older)
