"""Domain-term ranking when the domain corpus is much larger than the reference (planted counts)."""

from collections import Counter

from workbench.corpus.domain import log_odds_terms

FILLER = ["people", "called", "time", "year", "world", "water", "house", "city", "school", "family"]


def _corpora():
    """A 1.1M-word domain corpus and a 20k-word reference sharing general words at equal rates, plus planted terms."""
    domain, reference = Counter(), Counter()
    for k, word in enumerate(FILLER):
        domain[word] = 20_000 + 1000 * k
        reference[word] = round((20_000 + 1000 * k) * 20_000 / 1_100_000)
    domain.update({"people": 12_000, "called": 9_000})  # general words somewhat more frequent in the domain
    domain.update({f"filler{i}": 5 for i in range(100_000)})  # a long tail of rare words, both sides
    reference.update({f"filler{i}": 1 for i in range(0, 100_000, 10)})
    # domain-only terms with known counts (never in the reference)
    planted = {"thalassemia": 6732, "hemoglobin": 2500, "autosomal": 900}
    domain.update(planted)
    domain["genotypic"] = 4  # domain-only but rare: shrunk, not listed above the frequent ones
    return domain, reference, planted


def test_frequent_domain_only_terms_rank_first_against_a_small_reference():
    domain, reference, planted = _corpora()
    assert sum(domain.values()) > 50 * sum(reference.values())
    terms = log_odds_terms(domain, reference, top=10, min_count=3)
    ranked = [t["term"] for t in terms]
    assert ranked[:3] == sorted(planted, key=planted.get, reverse=True), ranked
    by_term = {t["term"]: t for t in terms}
    assert by_term["thalassemia"]["count"] == 6732 and by_term["thalassemia"]["reference_count"] == 0
    assert by_term["thalassemia"]["log_odds_lower"] > by_term["people"]["log_odds_lower"] > 0
    assert "genotypic" not in ranked[:5]


def test_equal_sizes_still_shrink_rare_words():
    domain = Counter({"the": 1000, "warfarin": 40, "rareword": 3, "common": 200})
    reference = Counter({"the": 1000, "common": 200, "other": 43})
    ranked = [t["term"] for t in log_odds_terms(domain, reference, min_count=3)]
    assert ranked[0] == "warfarin" and ranked.index("rareword") > ranked.index("warfarin")
