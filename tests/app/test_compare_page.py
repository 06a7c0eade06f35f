"""The Compare page: the time a comparison will take before launch, the verdict's limits, documents by title,
the word view, and a stopped comparison that says so."""

from __future__ import annotations

import json

from app_helpers import no_exceptions, page_test


def test_the_time_it_will_take_is_shown_before_launch(made_settings):
    at = page_test("compare")
    no_exceptions(at)
    assert at.radio(key="compare_scope").value == "Quick check"  # the tests' machine is a CPU
    said = [i.value for i in at.info if "will take about" in i.value]
    assert len(said) == 1 and "on this machine (cpu" in said[0] and "tokens to score at" in said[0]
    assert "measured now" in said[0] or "measured by the comparison" in said[0]
    at.radio(key="compare_scope").set_value("Full comparison")
    at.run()
    no_exceptions(at)
    assert any(i.value.startswith("The comparison will take about") for i in at.info)


def test_the_verdict_says_what_perplexity_cannot_and_documents_go_by_title(made_settings):
    at = page_test("compare")
    assert any("not that what it writes is true" in i.value for i in at.info)
    at.session_state["compare_tab"] = "Documents"
    at.run()
    no_exceptions(at)
    # the documents table (the verdict above it may show the glossary's cloze table too)
    table = next(d.value for d in at.dataframe if "document" in d.value.columns)
    assert list(table.columns)[:2] == ["change %", "document"]
    changes = list(table["change %"])
    assert changes == sorted(changes, reverse=True)  # most worsened first
    folder = made_settings.workspace_root / "comparisons" / "compare-tiny"
    rows = [json.loads(line) for line in (folder / "documents.jsonl").read_text().splitlines()]
    title = rows[0]["title"]
    assert title and not title.startswith(rows[0]["id"])
    at.text_input(key="compare_doc_search").set_value(title[:20])
    at.run()
    assert title in list(next(d.value for d in at.dataframe if "document" in d.value.columns)["document"])


def test_the_token_view_colours_whole_words_with_their_numbers_on_hover(made_settings):
    at = page_test("compare")
    at.session_state["compare_tab"] = "Tokens"
    at.run()
    no_exceptions(at)
    (view,) = at.html
    assert "nats, adapted" in view.value and 'title="' in view.value
    for mangled in ("Ġ", "Ċ", "â€"):
        assert mangled not in view.value


def test_a_stopped_comparison_says_it_has_no_results(made_settings):
    from workbench.status import write_status

    folder = made_settings.workspace_root / "comparisons" / "compare-stopped"
    folder.mkdir()
    write_status(folder, "stopped", error="stopped by the user")
    at = page_test("compare")
    at.selectbox(key="compare_view_select").set_value("compare-stopped")
    at.run()
    no_exceptions(at)
    assert any("stopped before it finished" in w.value for w in at.warning)
