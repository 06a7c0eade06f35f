"""The pages against hostile files and careless hands: uploads through planted links or with a NUL in
their name, a snapshot replaced only by choice, and pages that keep working around a corrupt
``artifact.json`` or a garbage line of ``metrics.jsonl``."""

from __future__ import annotations

import os
import shutil

import pytest
from app_helpers import errors_of, no_exceptions, page_test

from workbench.io import write_json


def test_an_upload_never_writes_through_a_planted_link(made_settings, tmp_path):
    """A link at the upload's temporary name (``uploads/.NAME.part``) or at its final name points at a
    file of the user's outside the workspace: the file stays as it was."""
    precious = tmp_path / "bashrc"
    precious.write_text("export PATH=mine\n")
    uploads = made_settings.workspace_root / "uploads"
    uploads.mkdir()
    os.symlink(precious, uploads / ".law.jsonl.part")
    os.symlink(precious, uploads / "statute.jsonl")
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value(("law.jsonl", b'{"text": "a statute"}\n', "application/json"))
    at.run()
    no_exceptions(at)
    assert (uploads / "law.jsonl").read_bytes() == b'{"text": "a statute"}\n' and not (uploads / "law.jsonl").is_symlink()
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value(("statute.jsonl", b'{"text": "x"}\n', "application/json"))
    at.run()
    no_exceptions(at)
    [error] = errors_of(at)
    assert "statute.jsonl is a symbolic link" in error and "Fix:" in error
    assert precious.read_text() == "export PATH=mine\n"
    assert sorted(p.name for p in uploads.iterdir()) == [".law.jsonl.part", "law.jsonl", "statute.jsonl"]


@pytest.mark.parametrize("name", ["law\x00.jsonl", "law\n.jsonl"])
def test_an_upload_name_with_a_control_character_is_one_line(made_settings, name):
    at = page_test("corpus")
    at.file_uploader(key="corpus_upload").set_value((name, b'{"text": "a statute"}\n', "application/json"))
    at.run()
    no_exceptions(at)
    [error] = errors_of(at)
    assert "control characters" in error and "Fix:" in error and "\n" not in error
    assert not (made_settings.workspace_root / "uploads").exists() or not any(
        (made_settings.workspace_root / "uploads").iterdir())


def test_curate_replaces_a_snapshot_only_when_chosen(made_settings, sample_dir):
    """Curating files whose name matches an existing snapshot is refused until the page's replace box is
    ticked; then the old snapshot stays until the new one is complete."""
    from workbench import jobs

    root = made_settings.workspace_root
    snapshot = root / "snapshots" / "domain"
    train = (snapshot / "train.jsonl").read_bytes()
    uploads = root / "uploads"
    uploads.mkdir()
    shutil.copy(sample_dir / "domain_corpus.jsonl", uploads / "domain.jsonl")
    at = page_test("corpus")
    at.text_input(key="corpus_typed").set_value(str(uploads / "domain.jsonl"))
    at.run()
    at.button(key="curate_submit").click()
    at.run()
    no_exceptions(at)
    [error] = errors_of(at)
    assert "already exists" in error and "Replace the snapshot of the same name" in error
    assert not (snapshot / "job.json").exists() and (snapshot / "train.jsonl").read_bytes() == train
    at.checkbox(key="curate_replace").check()
    at.number_input(key="curate_min_words").set_value(30)
    at.button(key="curate_submit").click()
    at.run()
    no_exceptions(at)
    assert not errors_of(at)
    job = jobs.attach(snapshot)
    assert job.wait(timeout=300)["state"] == "finished", job.logs(tail=20)
    assert job.spec()["config"]["min_words"] == 30 and job.spec()["overwrite"] is True


def broken_run(root, name="broken"):
    folder = root / "runs" / name
    folder.mkdir(parents=True)
    (folder / "artifact.json").write_text('{"kind": "run", "state": "fin')
    write_json(folder / "run.json", {"config": {"name": name}})
    return folder


def test_train_page_survives_a_corrupt_artifact_and_a_garbage_metrics_line(made_settings):
    root = made_settings.workspace_root
    broken_run(root)
    with open(root / "runs" / "tiny" / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write("this is no json\n")
    at = page_test("train")
    no_exceptions(at)
    at.selectbox(key="train_view_run").set_value("tiny")
    at.run()
    no_exceptions(at)
    assert set(at.selectbox(key="train_view_run").options) == {"broken", "tiny"}
    at.selectbox(key="train_view_run").set_value("broken")
    at.run()
    no_exceptions(at)
    assert any("artifact.json" in e and "unreadable" in e for e in errors_of(at) + [w.value for w in at.warning])


def test_compare_and_overview_survive_a_corrupt_artifact(made_settings):
    root = made_settings.workspace_root
    broken = root / "comparisons" / "compare-broken"
    broken.mkdir()
    (broken / "artifact.json").write_bytes(b"\x00\xff garbage")
    broken_run(root)
    for page in ("compare", "overview"):
        at = page_test(page)
        no_exceptions(at)
    at = page_test("compare")
    names = at.selectbox(key="compare_view_select").options
    assert set(names) == {"compare-broken", "compare-tiny"}
    at.selectbox(key="compare_view_select").set_value("compare-tiny")
    at.run()
    no_exceptions(at)
    assert "domain perplexity" in [m.label for m in at.metric]
    at.selectbox(key="compare_view_select").set_value("compare-broken")
    at.run()
    no_exceptions(at)
    assert any("unreadable" in e for e in errors_of(at) + [w.value for w in at.warning])
