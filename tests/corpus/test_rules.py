import numpy as np
import pytest
from planted import sample_docs

from workbench.corpus.config import CurateConfig, QualityConfig
from workbench.corpus.domain import heaps_fit, jensen_shannon, log_odds_terms, readiness, word_counts
from workbench.corpus.language import identify
from workbench.corpus.pii import pii_counts, redact
from workbench.corpus.quality import failed_rule, quality_signals
from workbench.documents.words import words
from workbench.errors import WorkbenchError

PII_TEXT = ("Contact Dr. Jane Roe at jane.roe@example-hospital.org or +44 20 7946 0958, (555) 123-4567. "
            "Patient SSN 123-45-6789, MRN 0012345678. Guidance at https://example.org/warfarin?dose=5.")


def test_pii_found_where_planted_and_redacted_to_typed_placeholders():
    counts = pii_counts(PII_TEXT)
    assert counts == {"url": 1, "email": 1, "id_number": 2, "phone": 2}
    text, found = redact(PII_TEXT)
    assert found == counts
    assert "[EMAIL]" in text and "[PHONE]" in text and "[ID]" in text and "[URL]" in text
    assert "jane.roe" not in text and "7946" not in text and "6789" not in text


def test_no_pii_in_clinical_text_with_doses_dates_and_ranges():
    for doc in sample_docs():
        assert sum(pii_counts(doc["text"]).values()) == 0, doc["id"]
    assert sum(pii_counts("INR 2.0-3.0, 10-20 mg, 2019-2020, 1,000,000 units, 0.5 mg/kg, 37.5 C").values()) == 0


def test_quality_rules_flag_bad_documents_and_pass_good_ones():
    config = QualityConfig()
    good = sample_docs()[0]["text"]
    assert failed_rule(quality_signals(good, words(good)), config) is None
    spam = "\n".join(["Buy now! Best offer!"] * 10)
    assert failed_rule(quality_signals(spam, words(spam)), config) == "repeated_lines"
    numbers = " ".join(str(i) for i in range(300))
    assert failed_rule(quality_signals(numbers, words(numbers)), config) in {"short_words", "alpha_share"}
    hashtags = " ".join(f"#tag{i} word" for i in range(50))
    assert failed_rule(quality_signals(hashtags, words(hashtags)), config) == "symbol_ratio"


def test_language_identification_ships_offline():
    assert identify(sample_docs()[0]["text"])[0] == "en"
    lang, prob = identify("Der Patient erhielt eine niedrige Dosis des Medikaments und wurde engmaschig überwacht.")
    assert lang == "de" and prob > 0.5
    assert identify("1234 5678") == ("und", 0.0)


def test_divergence_and_domain_terms():
    domain = word_counts(d["text"] for d in sample_docs())
    assert jensen_shannon(domain, domain) == pytest.approx(0.0, abs=1e-12)
    general = word_counts(["the cat sat on the mat and the dog ran in the park"] * 20)
    assert 0.5 < jensen_shannon(domain, general) <= 1.0
    terms = [t["term"] for t in log_odds_terms(domain, general, top=20)]
    assert "warfarin" in terms or "dose" in terms
    assert not {"the", "and", "is", "of"} & set(terms)


def test_heaps_fit_recovers_known_law():
    n = np.geomspace(1000, 1e6, 50)
    fit = heaps_fit(n, 30 * n**0.55)
    assert fit["beta"] == pytest.approx(0.55, abs=1e-6) and fit["K"] == pytest.approx(30, rel=1e-4)


def test_readiness_verdicts():
    heaps = {"K": 30.0, "beta": 0.55}
    small = readiness(100_000, 1.3, 77_000, 6000, heaps, 0.0, 0.0)
    assert small["verdict"] == "too_small" and any("retrieval" in r for r in small["recommendations"])
    mid = readiness(5_000_000, 1.3, 3_800_000, 120_000, heaps, 0.2, 0.0)
    assert mid["verdict"] == "ready" and any("deduplicate" in r for r in mid["recommendations"])
    assert mid["vocabulary_at_saturation"] > mid["vocabulary_at_floor"]
    # duplicates do not count towards the floor
    assert readiness(600_000, 1.3, 460_000, 20_000, heaps, 0.5, 0.0)["verdict"] == "too_small"
    assert readiness(60_000_000, 1.3, 46_000_000, 900_000, heaps, 0.0, 0.0)["verdict"] == "saturated"


def test_curate_config_rejects_contradictions():
    with pytest.raises(WorkbenchError, match="min_words.*max_words"):
        CurateConfig(min_words=100, max_words=10)
    with pytest.raises(WorkbenchError, match="eval_fraction"):
        CurateConfig(eval_fraction=1.0)
    with pytest.raises(WorkbenchError, match="languages"):
        CurateConfig(languages=[])
    with pytest.raises(WorkbenchError, match="PII type"):
        CurateConfig(pii_types=["address"])
    with pytest.raises(WorkbenchError, match="min_mean_word_length"):
        QualityConfig(min_mean_word_length=12)
