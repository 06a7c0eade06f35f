"""Report pieces: 'None found' instead of empty charts or tables, the token view, explanations."""

from workbench.evaluation import plots
from workbench.evaluation.explain import METRICS, explain
from workbench.evaluation.report import _table, _terms_section
from workbench.evaluation.tokendiff import render_documents


def _doc(title, deltas):
    return {"title": title, "tokens": [{"text": f" w{i}", "base": 3.0, "adapted": 3.0 + d, "delta": d}
                                       for i, d in enumerate(deltas)]}


def test_empty_findings_read_none_found():
    assert "None found" in _table([], [("term", "term")])
    section = _terms_section("domain", {"glossary": [], "gained": [], "lost": [], "min_count_for_interval": 5})
    assert section.count("None found") == 2 and "None</" not in section
    assert "None found" in render_documents([])
    empty = plots.token_view([])
    assert plots.is_empty(empty) and empty.layout.annotations[0].text == "None found"


def test_term_rows_say_how_many_occurrences_an_interval_needs():
    row = {"term": "heparin", "kind": "glossary", "count": 2, "documents": 1, "delta": -0.4, "ci95": None,
           "example": "the [heparin] bridge"}
    html = _terms_section("domain", {"glossary": [row], "gained": [row], "lost": [], "min_count_for_interval": 5})
    assert "needs 5+ occurrences" in html and "the [heparin] bridge" in html


def test_token_view_wraps_one_document_at_a_time_with_a_selector_and_legend():
    docs = [_doc("d1: most improved #1", [-1.0] * 60), _doc("g1: most worsened #1", [0.5] * 10)]
    fig = plots.token_view(docs, width=40)
    assert [t.visible for t in fig.data] == [True, False]
    first = fig.data[0]
    assert max(first.y) >= 5  # 60 tokens of 3 characters on 40-character lines: wrapped over several lines
    assert all(b + x <= 40 for b, x in zip(first.base, first.x))
    assert first.marker.colorscale and first.marker.cmid == 0 and first.marker.showscale is not False
    assert "more expected" in " ".join(first.marker.colorbar.ticktext)
    assert "change %{customdata[2]:+.2f}" in first.hovertemplate
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["d1: most improved #1", "g1: most worsened #1"]
    assert buttons[1].args[0]["visible"] == [False, True]
    html = render_documents(docs)
    assert html.count("<option") == 2 and html.count('class="tokendoc"') == 2 and "display:none" in html
    assert 'title="w0: base 3.00 nats, adapted 2.00, change -1.00 (1 token)"' in html


def test_every_headline_metric_has_a_plain_sentence_and_figures_carry_it():
    for key in ("token_ppl", "word_ppl", "bits_per_byte", "ece", "mce", "brier", "nll_per_token", "ppl_change_pct"):
        assert explain(key).endswith(".") and len(explain(key).split()) >= 8, key
    assert len(METRICS) >= 20
    fig = plots.perplexity_bars({"base": {"domain": {"token_ppl": 10.0, "token_ppl_ci95": [9.0, 11.0]}}})
    assert "familiar" in fig.data[0].hovertemplate
