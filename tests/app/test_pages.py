"""Every page of the app under ``streamlit.testing.v1.AppTest``: happy paths and bad input."""

from __future__ import annotations

import pytest
from app_helpers import errors_of, no_exceptions, page_test

PAGES = ["overview", "corpus", "train", "compare", "review"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_an_empty_workspace(app_settings, name):
    at = page_test(name)
    no_exceptions(at)
    assert at.title[0].value == name.capitalize()
    assert not errors_of(at)


def stale_run(root, name="crashed"):
    """A run whose process died without a word: status.json still says running, its pid is gone."""
    from workbench.io import write_json

    folder = root / "runs" / name
    folder.mkdir(parents=True)
    write_json(folder / "status.json", {"state": "running", "pid": 2**22 + 12345, "pid_started": 1.0,
                                        "started": "2026-01-01T00:00:00+00:00", "updated": "2026-01-01T00:01:00+00:00"})
    return folder


def _table_text(at) -> str:
    return "\n".join(df.value.to_csv() for df in at.dataframe)


def test_overview_lists_every_artifact_with_state(made_settings):
    at = page_test("overview")
    no_exceptions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Corpora": "1", "Snapshots": "1", "Runs": "1", "Comparisons": "1", "Running jobs": "0"}
    table = _table_text(at)
    assert "tiny" in table and "finished" in table and "best_domain_ppl" in table


def test_overview_shows_a_stale_running_job_as_failed(made_settings):
    stale_run(made_settings.workspace_root)
    at = page_test("overview")
    no_exceptions(at)
    assert any("failed" in w.value and "process vanished" in w.value for w in at.warning)
    assert {m.label: m.value for m in at.metric}["Running jobs"] == "0"


# --- Corpus -----------------------------------------------------------------------------------


def test_corpus_upload_lands_in_workspace_and_is_selected(made_settings):
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value(("law.jsonl", b'{"text": "a statute"}\n', "application/json"))
    at.run()
    no_exceptions(at)
    saved = made_settings.workspace_root / "uploads" / "law.jsonl"
    assert saved.read_bytes() == b'{"text": "a statute"}\n'
    assert str(saved) in at.multiselect(key="corpus_files").value
    assert not errors_of(at)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.jsonl", b"", "is empty"),
        ("archive.gz", b"\x1f\x8b", "not a file type"),
        ("big.txt", b"x" * (1024 * 1024 + 10), "over the 1 MB limit"),
    ],
)
def test_corpus_bad_uploads_show_one_line_and_write_nothing(made_settings, name, data, message):
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    no_exceptions(at)
    assert any(message in e for e in errors_of(at)), errors_of(at)
    uploads = made_settings.workspace_root / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_corpus_upload_of_another_type_is_refused(made_settings):
    """The uploader's type list stops it in the browser; should one get through, the library refuses it."""
    at = page_test("corpus")
    assert "exe" not in at.file_uploader(key="corpus_upload").allowed_type
    at.file_uploader(key="corpus_upload").set_value(("tool.exe", b"MZ", "application/octet-stream"))
    at.run()
    no_exceptions(at)
    assert not (made_settings.workspace_root / "uploads").exists()


def test_corpus_traversal_file_name_is_sanitised(made_settings, tmp_path):
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value(("../../../evil.jsonl", b'{"text": "x"}\n', "application/json"))
    at.run()
    no_exceptions(at)
    assert (made_settings.workspace_root / "uploads" / "evil.jsonl").exists()
    assert not (tmp_path / "evil.jsonl").exists() and not (made_settings.workspace_root / "evil.jsonl").exists()


@pytest.mark.parametrize("typed", ["../../etc/passwd", "/etc/passwd"])
def test_corpus_typed_path_outside_the_roots_is_refused(made_settings, typed):
    at = page_test("corpus")
    at.text_input(key="corpus_typed").set_value(typed)
    at.run()
    no_exceptions(at)
    assert any("Fix:" in e and typed in e for e in errors_of(at)), errors_of(at)
    assert at.button(key="corpus_profile").disabled


def test_corpus_shows_the_profile_readiness_and_figures(made_settings):
    at = page_test("corpus")
    no_exceptions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "128" and metrics["Readiness"] == "too small"
    assert len(at.get("plotly_chart")) == 1  # figures in lazy tabs: only the open one is drawn
    assert at.tabs[0].label == "Length"


# --- Train ------------------------------------------------------------------------------------


def test_train_shows_the_plan_and_the_runs_curves(made_settings):
    at = page_test("train")
    no_exceptions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fits"] == "yes" and metrics["Peak memory"].endswith("GiB")
    assert at.selectbox(key="train_view_run").value == "tiny"
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # plan memory, training curves, perplexity curves (+ overlay)
    assert any("config" in m.value.lower() for m in at.markdown)


def test_train_unknown_run_in_the_address_is_a_warning(made_settings):
    from app_helpers import HOME_SCRIPT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HOME_SCRIPT), default_timeout=60)
    at.run()
    at.switch_page("pages/train.py")
    at.query_params["run"] = "no-such-run"
    at.run()
    no_exceptions(at)
    assert any("no run named 'no-such-run'" in w.value for w in at.warning)
    assert at.selectbox(key="train_view_run").value == "tiny"


def test_train_stale_running_job_reads_failed_and_offers_resume(made_settings):
    stale_run(made_settings.workspace_root)
    at = page_test("train")
    at.selectbox(key="train_view_run").set_value("crashed")
    at.run()
    no_exceptions(at)
    assert any("process vanished" in e for e in errors_of(at))
    assert at.button(key="resume_crashed")
    assert not [b for b in at.button if b.key == "stop_crashed"]


def test_train_bad_model_folder_is_refused_before_launch(made_settings):
    at = page_test("train")
    at.text_input(key="adv_replay").set_value("../../etc/passwd")
    at.run()
    no_exceptions(at)
    assert any("goes up with '..'" in e for e in errors_of(at))
    assert not [b for b in at.button if b.key == "train_launch"]


# --- Compare ----------------------------------------------------------------------------------


def test_compare_shows_intervals_and_makes_review_items(made_settings):
    at = page_test("compare")
    no_exceptions(at)
    labels = [m.label for m in at.metric]
    assert "domain perplexity" in labels and "general perplexity" in labels
    assert any("predicts domain text" in s.value for s in at.success)  # the verdict
    assert len(at.get("plotly_chart")) == 2  # the open tab only: perplexity and bits per byte
    at.button(key="compare_items").click()
    at.run()
    no_exceptions(at)
    assert any("new review items" in s.value for s in at.success)
    from workbench.review.store import LabelStore

    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert any(item.kind == "pair" for item in store.items())


def test_compare_path_outside_the_roots_is_refused(made_settings):
    at = page_test("compare")
    at.text_input(key="compare_base").set_value("/etc")
    at.button(key="compare_launch").click()
    at.run()
    no_exceptions(at)
    assert any("outside the folders" in e for e in errors_of(at))
    assert len(list((made_settings.workspace_root / "comparisons").iterdir())) == 1


# --- Review -----------------------------------------------------------------------------------


def _review_items(settings, n=3):
    from workbench.review.store import LabelStore

    with LabelStore(settings.workspace_root / "labels.db") as store:
        store.add_items([{"prompt": f"Question {i}", "output": f"The dose is {i} mg daily for adults."}
                         for i in range(n)])


def _review_at(annotator="ana"):
    from app_helpers import HOME_SCRIPT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HOME_SCRIPT), default_timeout=60)
    at.run()
    at.switch_page("pages/review.py")
    at.query_params["annotator"] = annotator
    at.run()
    return at


def test_review_without_items_says_where_they_come_from(made_settings):
    at = page_test("review")
    no_exceptions(at)
    assert any("Compare page" in i.value for i in at.info)


def test_review_labels_a_span_by_phrase_and_submits(made_settings):
    from workbench.review.store import LabelStore

    _review_items(made_settings)
    at = _review_at()
    no_exceptions(at)
    assert at.text_input(key="review_annotator").value == "ana"
    item_key = next(t.key for t in at.text_input if t.key.startswith("phrase_"))
    at.text_input(key=item_key).set_value("mg daily")
    at.button(key="cat_2").click()
    at.run()
    at.button(key="review_submit").click()
    at.run()
    no_exceptions(at)
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        [label] = store.labels(annotator="ana")
        [verdict] = store.verdicts(annotator="ana")
    assert label.text == "mg daily" and label.category == store.taxonomy().categories[1]
    assert verdict.verdict == "errors"
    assert "1 of 3 items done" in at.get("progress")[0].proto.text


def test_review_phrase_not_in_the_output_is_an_error_and_nothing_written(made_settings):
    from workbench.review.store import LabelStore

    _review_items(made_settings)
    at = _review_at()
    item_key = next(t.key for t in at.text_input if t.key.startswith("phrase_"))
    at.text_input(key=item_key).set_value("150 bar")
    at.button(key="cat_1").click()
    at.run()
    at.button(key="review_submit").click()
    at.run()
    no_exceptions(at)
    assert any("does not appear" in e for e in errors_of(at))
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert store.labels(annotator="ana") == [] and store.verdicts(annotator="ana") == []


def test_review_skip_then_undo_and_no_error_submit(made_settings):
    from workbench.review.store import LabelStore

    _review_items(made_settings, n=2)
    at = _review_at()
    at.button(key="review_skip").click()
    at.run()
    at.button(key="review_undo").click()
    at.run()
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert store.verdicts(annotator="ana") == []
    at.button(key="review_submit").click()
    at.run()
    no_exceptions(at)
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert [v.verdict for v in store.verdicts(annotator="ana")] == ["no_error"]


def test_review_keeps_the_annotator_name_across_pages(made_settings):
    _review_items(made_settings)
    at = page_test("review")
    at.text_input(key="review_annotator").set_value("lee")
    at.run()
    assert at.query_params["annotator"] == "lee"
    at.query_params.clear()  # the sidebar links drop the address's parameters
    at.switch_page("pages/overview.py")
    at.run()
    at.switch_page("pages/review.py")
    at.run()
    no_exceptions(at)
    assert at.text_input(key="review_annotator").value == "lee"
    assert "0 of 3 items done" in at.get("progress")[0].proto.text


# --- jobs launched from the pages --------------------------------------------------------------


def test_corpus_profiles_and_curates_as_background_jobs(made_settings, sample_dir):
    from workbench import jobs

    at = page_test("corpus")
    sample = str((sample_dir / "domain_corpus.jsonl").resolve())
    at.multiselect(key="corpus_files").set_value([sample])
    at.run()
    at.selectbox(key="corpus_model").set_value("tiny-llama")
    at.button(key="corpus_profile").click()
    at.run()
    no_exceptions(at)
    profile = jobs.attach(made_settings.workspace_root / "corpora" / "domain_corpus")
    assert profile.wait(timeout=300)["state"] == "finished", profile.logs(tail=20)
    at.run()
    assert at.selectbox(key="corpus_view_select").value == "domain_corpus"
    assert {m.label: m.value for m in at.metric}["Documents"] == "128"
    at.number_input(key="curate_min_words").set_value(30)
    at.button(key="curate_submit").click()
    at.run()
    no_exceptions(at)
    [message] = [s.value for s in at.success if "Curating into snapshot" in s.value]
    snapshot = jobs.attach(made_settings.workspace_root / "snapshots" / message.split()[-1].rstrip("."))
    assert snapshot.wait(timeout=300)["state"] == "finished", snapshot.logs(tail=20)
    assert snapshot.spec()["config"]["min_words"] == 30
    # counted in the tokenizer chosen for the profile: the page says tokens, not words
    assert snapshot.spec()["config"]["model"] == "tiny-llama"
    from workbench.workspace import summarize

    summary = summarize(snapshot.folder)
    assert summary.train_tokens > 0 and summary.tokenizer == "tiny-llama"
    at.run()
    no_exceptions(at)
    assert any(summary.size_text() in m.value for m in at.markdown), [m.value for m in at.markdown]


def test_compare_runs_as_a_background_job(made_settings):
    from workbench import jobs

    at = page_test("compare")
    at.number_input(key="compare_generations").set_value(0)
    at.number_input(key="compare_window").set_value(64)
    at.button(key="compare_launch").click()
    at.run()
    no_exceptions(at)
    new = [p for p in (made_settings.workspace_root / "comparisons").iterdir() if p.name != "compare-tiny"]
    assert len(new) == 1
    status = jobs.attach(new[0]).wait(timeout=300)
    assert status["state"] == "finished", jobs.attach(new[0]).logs(tail=20)
    at.run()
    assert at.selectbox(key="compare_view_select").value == new[0].name
    assert "domain perplexity" in [m.label for m in at.metric]
