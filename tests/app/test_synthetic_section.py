"""The Corpus page's synthetic-text section: audit the bundled synthetic cases against a snapshot, read the verdict."""

from __future__ import annotations

from app_helpers import errors_of, no_exceptions, page_test


def test_corpus_page_audits_synthetic_text_and_shows_the_findings(made_settings):
    at = page_test("corpus")
    no_exceptions(at)
    files = at.multiselect(key="synthetic_files").options
    cases = next(f for f in files if f.endswith("synthetic_cases.jsonl"))
    at.selectbox(key="corpus_model").set_value("tiny-llama")
    at.multiselect(key="synthetic_files").set_value([cases])
    at.selectbox(key="synthetic_real").set_value("domain")
    at.text_input(key="synthetic_source").set_value("templates")
    at.button(key="synthetic_submit").click()
    at.run(timeout=180)
    no_exceptions(at)
    assert not errors_of(at)
    assert any("Audited into synthetic_cases" in s.value for s in at.success)
    audit = made_settings.workspace_root / "synthetic" / "synthetic_cases" / "audit.json"
    assert audit.is_file()
    table = "\n".join(df.value.to_csv() for df in at.dataframe)
    for check in ("distance", "leakage", "novelty", "domain", "flagged"):
        assert check in table
    assert any("synthetic_cases" in m.value and "documents" in m.value for m in at.markdown)
