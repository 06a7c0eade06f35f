"""Every page of the app under ``streamlit.testing.v1.AppTest``: happy paths and bad input."""

from __future__ import annotations

import re

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
    assert "tiny" in table and "finished" in table and "Best domain perplexity" in table
    # the artifact keys are words, the numbers carry their units
    assert not any(key in table for key in ("eta_s", "best_domain_ppl", "domain_ppl_change_pct", "None"))
    comparisons = at.dataframe[3].value
    assert list(comparisons.columns) == ["Name", "State", "Created", "Domain perplexity change",
                                         "General perplexity change"]
    assert re.fullmatch(r"[+-]\d+\.\d% \(95% CI [+-]\d+\.\d% to [+-]\d+\.\d%\)",
                        comparisons["Domain perplexity change"][0])
    runs = at.dataframe[2].value
    assert runs["Progress"][0].endswith(" steps") and runs["Time left"][0] == "–"  # a finished run has no time left


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
    """The library refuses a type the readers do not read, in one line naming the types it takes."""
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value(("tool.exe", b"MZ", "application/octet-stream"))
    at.run()
    no_exceptions(at)
    [error] = errors_of(at)
    assert "tool.exe' is not a file type" in error and ".jsonl" in error
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
    assert at.tabs[0].label == "Document length"
    labels = [t.label for t in at.tabs]
    assert "PII" in labels and "Vocabulary" not in labels and "Vocabulary growth" in labels  # titled as people write them


def test_corpus_drop_decision_reaches_curation_through_the_label_store(made_settings, sample_dir, monkeypatch):
    """A reviewer's drop is written to the workspace's label store; Curate launches with that store as
    its labels (the job exports the drop list), and the curated snapshot lacks the document."""
    import json

    from workbench import workflows
    from workbench.corpus.config import CorpusConfig
    from workbench.review.store import LabelStore

    docs = [json.loads(line) for line in (sample_dir / "domain_corpus.jsonl").read_text().splitlines()[:30]]
    docs.append({"id": "has-email", "text": docs[0]["text"].replace(".", ". Write to anna.berg@example.org.", 1)})
    corpus = made_settings.workspace_root / "uploads" / "planted.jsonl"
    corpus.parent.mkdir()
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs))
    workflows.inspect(CorpusConfig(paths=[str(corpus)], model="tiny-llama"), made_settings.workspace_root,
                      num_proc=1, progress=False)
    calls = launched(monkeypatch)
    at = page_test("corpus")
    at.selectbox(key="corpus_view_select").set_value("planted")
    at.run()
    at.text_input(key="corpus_annotator").set_value("ana")
    at.run()
    no_exceptions(at)
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        [item] = [i for i in store.items("document") if i.source.get("doc_id") == "has-email"]
    at.button(key=f"drop_{item.id}").click()
    at.run()
    no_exceptions(at)
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert [v.verdict for v in store.verdicts(item_id=item.id, annotator="ana")] == ["drop"]
    at.multiselect(key="corpus_files").set_value([str(corpus)])
    at.selectbox(key="corpus_model").set_value("tiny-llama")
    at.run()
    at.button(key="curate_submit").click()
    at.run()
    no_exceptions(at)
    [call] = calls
    assert call.kind == "curate" and call.options["labels"] == "workspace"
    assert call.config.drop_list is None and call.config.drop_documents is None  # no drops carried in memory
    snapshot = workflows.curate(call.config, made_settings.workspace_root, labels=call.options["labels"],
                                num_proc=1, progress=False)
    kept = [json.loads(line)["id"] for name in ("train.jsonl", "eval.jsonl")
            for line in (snapshot / name).read_text().splitlines()]
    assert "has-email" not in kept and len(kept) > 0


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


def test_train_path_outside_the_roots_is_refused_naming_its_form_field(made_settings):
    at = page_test("train")
    at.text_input(key="adv_replay").set_value("../../etc/passwd")
    at.run()
    no_exceptions(at)
    label = at.text_input(key="adv_replay").label
    assert label == "General text replayed against forgetting"  # the field's doc, as the form shows it
    [error] = errors_of(at)
    assert error.startswith(f"the {label} '../../etc/passwd' goes up with '..'.") and "Fix:" in error
    assert not [b for b in at.button if b.key == "train_launch"]


def launched(monkeypatch) -> list:
    """Capture what the pages hand ``jobs.launch`` instead of starting a process."""
    from types import SimpleNamespace

    from workbench import jobs

    calls = []

    def launch(kind, config, workspace=None, **options):
        calls.append(SimpleNamespace(kind=kind, config=config, options=options))
        return SimpleNamespace(name="captured", folder=None)

    monkeypatch.setattr(jobs, "launch", launch)
    return calls


def test_train_with_qwen_picked_launches_the_qwen_preset(made_settings, tiny_model, monkeypatch):
    """The model is chosen first and brings its own preset, as ``workbench train --model`` does."""
    import shutil

    import yaml

    from workbench import workflows
    from workbench.config import to_dict
    from workbench.training.config import PRESETS

    folder = made_settings.workspace_root / "models" / "Qwen2.5-0.5B"  # a local Qwen folder (tiny weights)
    shutil.copytree(tiny_model, folder)
    calls = launched(monkeypatch)
    at = page_test("train")
    assert at.selectbox(key="train_preset").value == "smollm2-135m-cpu"  # the default model's own
    at.selectbox(key="train_model").set_value(str(folder))
    at.run()
    no_exceptions(at)
    qwen = yaml.safe_load((PRESETS / "qwen2.5-0.5b.yaml").read_text(encoding="utf-8"))
    assert at.selectbox(key="train_preset").value == "qwen2.5-0.5b"
    assert at.number_input(key="adv_block_size").value == qwen["block_size"] == 2048  # the form refilled
    assert at.number_input(key="train_max_tokens").value == qwen["max_tokens"]
    at.number_input(key="train_max_tokens").set_value(4096)
    at.run()
    at.button(key="train_launch").click()
    at.run()
    no_exceptions(at)
    [call] = calls
    config = call.config
    assert call.kind == "train" and config.model == str(folder) and config.preset == "qwen2.5-0.5b"
    assert (config.learning_rate, config.block_size, config.micro_batch_size, config.grad_accum, config.lora.r) == (
        qwen["learning_rate"], qwen["block_size"], qwen["micro_batch_size"], qwen["grad_accum"], qwen["lora"]["r"])
    assert config.max_tokens == 4096
    # what the CLI resolves for the same choices: workbench train --model FOLDER --data DATA --max-tokens 4096
    cli = workflows.train_config(str(folder), None, data=config.data, max_tokens=4096)
    assert to_dict(config) == to_dict(cli)


def test_train_another_model_refills_the_form_from_its_own_preset(made_settings):
    at = page_test("train")
    assert at.text_input(key="adv_learning_rate").value == "0.001"  # smollm2-135m-cpu
    at.selectbox(key="train_model").set_value("tiny-llama")
    at.run()
    no_exceptions(at)
    assert at.selectbox(key="train_preset").value == "none"  # no preset is made for it: the plain defaults
    assert at.text_input(key="adv_learning_rate").value == ""  # default: scaled to the model
    assert at.number_input(key="train_max_tokens").value == 50_000


def test_train_preset_made_for_another_model_shows_the_librarys_refusal(made_settings):
    at = page_test("train")
    at.selectbox(key="train_preset").set_value("qwen2.5-0.5b")
    at.run()
    no_exceptions(at)
    [error] = errors_of(at)
    assert "Preset 'qwen2.5-0.5b' is made for Qwen/Qwen2.5-0.5B, not for smollm2-135m" in error  # the form's label
    assert "the preset made for smollm2-135m ('smollm2-135m-cpu')" in error.split("Fix:", 1)[1]
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


def test_review_labels_two_errors_and_submits_them_with_the_verdict(made_settings):
    from workbench.review.store import LabelStore

    _review_items(made_settings)
    at = _review_at()
    no_exceptions(at)
    assert at.text_input(key="review_annotator").value == "ana"
    assert at.segmented_control(key="review_severity").options == ["minor", "major", "critical"]
    assert at.segmented_control(key="review_severity").value is None  # never assumed
    item_key = next(t.key for t in at.text_input if t.key.startswith("phrase_"))
    at.text_input(key=item_key).set_value("mg daily")
    at.button(key="cat_2").click()
    at.run()
    at.segmented_control(key="review_severity").set_value("major")
    at.run()
    at.button(key="review_add").click()  # kept on the form, written with the verdict
    at.run()
    no_exceptions(at)
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert store.labels(annotator="ana") == []
    assert at.segmented_control(key="review_severity").value is None
    at.button(key="cat_1").click()  # a second error: the whole output
    at.run()
    at.segmented_control(key="review_severity").set_value("minor")
    at.run()
    at.button(key="review_submit").click()
    at.run()
    no_exceptions(at)
    assert not errors_of(at)
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        labels = sorted(store.labels(annotator="ana"), key=lambda label: label.severity)
        [verdict] = store.verdicts(annotator="ana")
        categories = store.taxonomy().categories
    assert [(label.category, label.severity, label.start is None) for label in labels] == [
        (categories[1], "major", False), (categories[0], "minor", True)]
    assert labels[0].text == "mg daily" and verdict.verdict == "errors"
    assert "1 of 3 items done" in at.get("progress")[0].proto.text


def test_review_error_without_severity_is_the_librarys_refusal_and_nothing_written(made_settings):
    from workbench.review.store import LabelStore

    _review_items(made_settings)
    at = _review_at()
    item_key = next(t.key for t in at.text_input if t.key.startswith("phrase_"))
    at.text_input(key=item_key).set_value("mg daily")
    at.button(key="cat_2").click()
    at.run()
    at.button(key="review_submit").click()
    at.run()
    no_exceptions(at)
    assert errors_of(at) == ["not saved: the error has no severity. Fix: choose a severity (minor, major, critical)."]
    with LabelStore(made_settings.workspace_root / "labels.db") as store:
        assert store.labels(annotator="ana") == [] and store.verdicts(annotator="ana") == []
    assert "0 of 3 items done" in at.get("progress")[0].proto.text


def test_review_phrase_not_in_the_output_is_an_error_and_nothing_written(made_settings):
    from workbench.review.store import LabelStore

    _review_items(made_settings)
    at = _review_at()
    item_key = next(t.key for t in at.text_input if t.key.startswith("phrase_"))
    at.text_input(key=item_key).set_value("150 bar")
    at.button(key="cat_1").click()
    at.run()
    at.segmented_control(key="review_severity").set_value("minor")
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
    status = jobs.attach(new[0]).wait(timeout=600)
    assert status["state"] == "finished", jobs.attach(new[0]).logs(tail=20)
    at.run()
    assert at.selectbox(key="compare_view_select").value == new[0].name
    assert "domain perplexity" in [m.label for m in at.metric]


def test_compare_one_run_against_another(made_settings, monkeypatch):
    """The Compare page offers the other runs of the workspace beside the base model; picking one launches a
    run-against-run comparison (EvalConfig.against names that run's folder)."""
    import shutil

    from workbench import jobs

    runs = made_settings.workspace_root / "runs"
    first = next(p for p in runs.iterdir() if (p / "run.json").exists())
    shutil.copytree(first, runs / "second-run", symlinks=True)
    launched = []
    from types import SimpleNamespace

    monkeypatch.setattr(jobs, "launch", lambda kind, config, ws, **kw: launched.append((kind, config))
                        or SimpleNamespace(name="compare-second"))
    at = page_test("compare")
    at.selectbox(key="compare_run").set_value(first.name)
    assert at.selectbox(key="compare_against").options == ["the base model", "second-run"]
    at.selectbox(key="compare_against").set_value("second-run")
    at.button(key="compare_launch").click()
    at.run()
    kind, config = launched[0]
    assert kind == "compare" and config.against == str(runs / "second-run") and config.adapter == str(first)
