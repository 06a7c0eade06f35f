"""Empty corpus findings read "None found" instead of bars of zero on -100%..100% axes."""

from workbench.corpus import plots
from workbench.corpus.report import _fmt


def test_zero_findings_are_none_found_figures():
    profile = {"exact_duplicate_rate": 0.0, "near_duplicate_rate": 0.0, "near_duplicate_threshold": 0.8,
               "quality": {"failing_by_rule": {"symbol_ratio": 0.0}, "failing_share": 0.0},
               "pii": {"email": 0, "phone": 0}, "documents_with_pii": 0}
    for fig in (plots.duplicates(profile), plots.quality_failures(profile), plots.pii_counts(profile)):
        assert not fig.data and fig.layout.annotations[0].text == "None found"
    profile["pii"]["email"] = 2
    assert plots.pii_counts(profile).data


def test_missing_numbers_are_not_shown_as_none():
    assert _fmt(None) == "–" and _fmt(3) == "3" and _fmt(0.5) == "0.500"


def test_domain_terms_chart_draws_the_ranking_measure():
    profile = {"domain": {"jensen_shannon": 0.4, "top_terms": [
        {"term": "thalassemia", "count": 6732, "reference_count": 0, "log_odds": 2.4, "log_odds_lower": 1.95, "z": 8.5},
        {"term": "people", "count": 32000, "reference_count": 364, "log_odds": 0.45, "log_odds_lower": 0.37, "z": 9.2}]}}
    fig = plots.domain_terms(profile)
    assert list(fig.data[0].x) == [0.37, 1.95] and "lower end" in fig.layout.xaxis.title.text
    del profile["domain"]["top_terms"][0]["log_odds_lower"]  # a profile written before the new ranking
    assert list(plots.domain_terms(profile).data[0].x) == [9.2, 8.5]
