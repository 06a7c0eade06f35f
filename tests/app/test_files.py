"""Which files a browser may read or write (``workbench.appsupport.files``): uploads, pickers, typed paths."""

from __future__ import annotations

import os

import pytest

from workbench.appsupport import list_files, resolve_inside, sample_data_dir, sanitize_filename, save_upload
from workbench.errors import WorkbenchError


def test_upload_lands_under_workspace_with_sanitised_name(settings, tmp_path):
    path = save_upload(settings, "../../etc/passwd.jsonl", b'{"text": "x"}\n')
    assert path.parent == settings.workspace_root / "uploads"
    assert path.name == "passwd.jsonl"
    assert not (tmp_path / "etc").exists()
    windows = save_upload(settings, "..\\..\\evil name!.txt", b"hello")
    assert windows.name == "evil_name.txt" and windows.parent == path.parent


def test_upload_same_content_once_different_content_never_overwrites(settings):
    first = save_upload(settings, "a.txt", b"one")
    assert save_upload(settings, "a.txt", b"one") == first
    second = save_upload(settings, "a.txt", b"two")
    assert second.name == "a-2.txt" and first.read_bytes() == b"one"
    gz = save_upload(settings, "c.jsonl.gz", b"\x1f\x8b...")
    assert save_upload(settings, "c.jsonl.gz", b"other").name == "c-2.jsonl.gz" and gz.exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.jsonl", b"", "is empty"),
        ("tool.exe", b"MZ", "not a file type"),
        ("big.txt", b"x" * (1024 * 1024 + 1), "over the 1 MB limit"),
        ("...", b"x", "no usable characters"),
        ("../..", b"x", "no usable characters"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_written(settings, name, data, message):
    with pytest.raises(WorkbenchError, match=message):
        save_upload(settings, name, data)
    uploads = settings.workspace_root / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_upload_folder_linked_out_of_workspace_is_refused(settings, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, settings.workspace_root / "uploads")
    with pytest.raises(WorkbenchError, match="outside the workspace"):
        save_upload(settings, "a.txt", b"x")
    assert not any(outside.iterdir())


def test_sanitize_keeps_plain_names_and_drops_hidden_dots():
    assert sanitize_filename("corpus-2024_v1.jsonl") == "corpus-2024_v1.jsonl"
    assert sanitize_filename(".bashrc.txt") == "bashrc.txt"
    assert sanitize_filename("a/../../b.md") == "b.md"
    assert len(sanitize_filename("x" * 500 + ".jsonl")) <= 120
    assert sanitize_filename("x" * 500 + ".jsonl").endswith(".jsonl")


def test_resolve_inside_refuses_traversal_absolute_and_symlinks(settings, tmp_path):
    roots = settings.file_roots()
    (settings.workspace_root / "ok.txt").write_text("x")
    assert resolve_inside("ok.txt", roots) == settings.workspace_root / "ok.txt"
    assert resolve_inside(str(tmp_path / "data"), roots) == tmp_path / "data"
    with pytest.raises(WorkbenchError, match="'..'"):
        resolve_inside("../data/x.txt", roots)
    with pytest.raises(WorkbenchError, match="outside the folders"):
        resolve_inside("/etc/passwd", roots)
    os.symlink("/etc", settings.workspace_root / "link")
    with pytest.raises(WorkbenchError, match="outside the folders"):
        resolve_inside("link/passwd", roots)
    with pytest.raises(WorkbenchError, match="empty"):
        resolve_inside("  ", roots)


def test_list_files_only_under_roots_skipping_links_out_and_hidden(settings, tmp_path):
    ws = settings.workspace_root
    (ws / "corpora").mkdir()
    (ws / "corpora" / "a.jsonl").write_text("{}")
    (ws / "notes.exe").write_text("x")
    (ws / ".hidden.txt").write_text("x")
    (tmp_path / "data" / "b.txt.gz").write_bytes(b"x")
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    os.symlink(secret, ws / "leak.txt")
    files = list_files(settings.file_roots(), suffixes=(".jsonl", ".txt"))
    assert [p.name for p in files if sample_data_dir() not in p.parents] == ["a.jsonl", "b.txt.gz"]
    assert any(p.name == "domain_corpus.jsonl" for p in files)  # the bundled sample, read only


def test_pickers_list_corpus_files_never_the_workspaces_own_bookkeeping(settings):
    """A job's ``job.json``, ``status.json``, ``log.txt`` and a run's metrics are no corpus files: the
    pickers list uploads, data folders and a snapshot's split files only."""
    ws = settings.workspace_root
    for kind, name, files in (("runs", "r1", ["job.json", "status.json", "log.txt", "metrics.jsonl", "run.json"]),
                              ("corpora", "c1", ["job.json", "status.json", "log.txt", "profile.json", "artifact.json"]),
                              ("snapshots", "s1", ["job.json", "status.json", "log.txt", "manifest.json", "train.jsonl",
                                                   "eval.jsonl", "artifact.json"])):
        folder = ws / kind / name
        folder.mkdir(parents=True)
        for file in files:
            (folder / file).write_text("{}")
    (ws / "runs" / "r1" / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (ws / "runs" / "r1" / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (ws / "uploads").mkdir()
    (ws / "uploads" / "opinions.jsonl").write_text("{}")
    files = [p for p in list_files(settings.file_roots(), suffixes=(".jsonl", ".json", ".txt"))
             if sample_data_dir() not in p.parents]
    assert sorted(str(p.relative_to(ws)) for p in files if ws in p.parents) == [
        "snapshots/s1/eval.jsonl", "snapshots/s1/train.jsonl", "uploads/opinions.jsonl"]
