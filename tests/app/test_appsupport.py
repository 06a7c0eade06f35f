"""The app's safety rules, tested without Streamlit: uploads, pickers, paths, models, the server command."""

from __future__ import annotations

import json
import os

import pytest

from workbench.appsupport import (
    AppSettings,
    app_environment,
    check_model_spec,
    config_diff,
    find_phrase,
    host_warning,
    list_files,
    resolve_inside,
    sanitize_filename,
    save_upload,
    span_from_words,
    streamlit_command,
    word_spans,
)
from workbench.errors import WorkbenchError


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "data").mkdir()
    return AppSettings(workspace=str(tmp_path / "ws"), data_dirs=(str(tmp_path / "data"),), max_upload_mb=1)


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
    from workbench.appsupport import sample_data_dir

    files = list_files(settings.file_roots(), suffixes=(".jsonl", ".txt"))
    assert [p.name for p in files if sample_data_dir() not in p.parents] == ["a.jsonl", "b.txt.gz"]
    assert any(p.name == "domain_corpus.jsonl" for p in files)  # the bundled sample, read only


def test_models_only_from_registry_or_local_folders_under_roots(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    assert check_model_spec("tiny-llama", settings) == "tiny-llama"
    with pytest.raises(WorkbenchError, match="Hub id"):
        check_model_spec("HuggingFaceTB/SmolLM2-135M", settings)
    with pytest.raises(WorkbenchError, match="outside the folders"):
        check_model_spec("/etc", settings)
    folder = settings.workspace_root / "models" / "mine"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert check_model_spec(str(folder), settings) == str(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text("{}")
    with pytest.raises(WorkbenchError, match="outside the folders"):
        check_model_spec(str(elsewhere), settings)
    (folder / "config.json").write_text(json.dumps({"auto_map": {"AutoModelForCausalLM": "modeling_x.X"}}))
    with pytest.raises(WorkbenchError, match="trust_remote_code"):
        check_model_spec(str(folder), settings)
    allowed = AppSettings(workspace=settings.workspace, model_dirs=(str(elsewhere),))
    assert check_model_spec(str(elsewhere), allowed) == str(elsewhere)


def test_streamlit_command_is_local_headless_private_and_capped(settings):
    cmd = streamlit_command(settings)
    opts = dict(zip(cmd[5::2], cmd[6::2]))
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app/Home.py")
    assert opts["--server.address"] == "127.0.0.1"
    assert opts["--browser.gatherUsageStats"] == "false"
    assert opts["--server.enableXsrfProtection"] == "true"
    assert opts["--server.headless"] == "true"
    assert opts["--server.maxUploadSize"] == "1"
    assert host_warning("127.0.0.1") is None and host_warning("localhost") is None
    assert "reachable from other machines" in host_warning("0.0.0.0")


def test_settings_travel_through_the_environment(settings):
    env = app_environment(settings, environ={})
    again = AppSettings.from_env(env)
    assert again == settings
    assert AppSettings.from_env({"WORKBENCH_WORKSPACE": "/tmp/w"}).workspace == "/tmp/w"
    with pytest.raises(WorkbenchError, match="port"):
        AppSettings(port=0)


def test_spans_from_picked_words_and_typed_phrases():
    text = "The pump runs at 40 bar.\nIt  never stops."
    words = word_spans(text)
    assert words[3] == (14, 16, "at")
    start, end = span_from_words(text, [4, 3])
    assert text[start:end] == "at 40"
    start, end = find_phrase(text, "bar. It never")
    assert text[start:end] == "bar.\nIt  never"
    with pytest.raises(WorkbenchError, match="does not appear"):
        find_phrase(text, "150 bar")
    with pytest.raises(WorkbenchError, match="no words picked"):
        span_from_words(text, [])


def test_config_diff_lists_only_keys_that_differ():
    rows = config_diff({
        "a": {"learning_rate": 1e-4, "lora": {"r": 8}, "seed": 1, "name": "a"},
        "b": {"learning_rate": 2e-4, "lora": {"r": 8}, "seed": 1, "name": "b", "replay": "sample"},
    })
    assert rows == [
        {"key": "learning_rate", "a": 1e-4, "b": 2e-4},
        {"key": "replay", "a": None, "b": "sample"},
    ]


def test_cli_app_prints_a_local_command(tmp_path, capsys):
    from workbench.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["app", "--workspace", str(tmp_path), "--print-command", "--max-upload-mb", "5"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--server.address 127.0.0.1" in out and "--server.maxUploadSize 5" in out


def test_sigterm_to_workbench_app_stops_the_streamlit_server_too(tmp_path):
    """A service manager or a test fixture stops ``workbench app`` with SIGTERM: the Streamlit child
    must go with it, not keep serving the port as an orphan."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    import psutil

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "workbench.cli", "app", "--workspace", str(tmp_path / "ws"),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True)
    children = []
    try:
        deadline = time.time() + 90
        while not children and time.time() < deadline and process.poll() is None:
            children = psutil.Process(process.pid).children(recursive=True)
            time.sleep(0.2)
        assert children, "workbench app started no server"
        while time.time() < deadline:  # the server is up: SIGTERM now reaches the installed handler
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        process.terminate()
        assert process.wait(timeout=20) is not None
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"streamlit left running: {[p.pid for p in alive]}"
    finally:
        for child in children:
            if child.is_running():
                child.kill()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_config_fields_cover_train_config_with_docs_choices_and_nested_keys():
    from workbench.appsupport import config_fields, form_overrides
    from workbench.config import apply_overrides
    from workbench.training.config import TrainConfig

    config = TrainConfig(model="tiny-llama")
    specs = {s.key: s for s in config_fields(config, skip=("out",))}
    assert "out" not in specs
    assert specs["lora.r"].kind == "int" and specs["lora.r"].default == 16
    assert specs["quant"].kind == "choice" and specs["quant"].choices == ("nf4", "none")
    assert specs["learning_rate"].doc.startswith("Peak learning rate of the LoRA parameters")
    assert specs["replay"].kind == "optional-str" and specs["replay"].default == ""
    assert specs["stop_on_forgetting"].kind == "bool"
    # learning_rate defaults to null (scaled to the model): an empty box keeps that, a number overrides it
    assert specs["learning_rate"].kind == "optional-str" and specs["learning_rate"].default == ""
    overrides = form_overrides(list(specs.values()), {"lora.r": 8, "replay": "  ", "learning_rate": "", "name": "x"})
    assert overrides == {"lora.r": 8, "name": "x"}
    assert apply_overrides(config, overrides).lora.r == 8
    overrides = form_overrides(list(specs.values()), {"learning_rate": " 2e-4 "})
    assert apply_overrides(config, overrides).learning_rate == 2e-4


def test_checked_train_config_keeps_inputs_under_roots(settings, tmp_path, monkeypatch):
    from workbench.appsupport import checked_train_config

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    (tmp_path / "data" / "law.jsonl").write_text('{"text": "x"}\n')
    config = checked_train_config(settings, None, {
        "model": "tiny-llama", "data": str(tmp_path / "data" / "law.jsonl"), "name": "my run/1", "lora.r": 4,
    })
    assert config.data == str(tmp_path / "data" / "law.jsonl") and config.name == "my-run-1" and config.lora.r == 4
    default = checked_train_config(settings, "smollm2-135m-cpu", {})
    assert default.data.endswith("domain_corpus.jsonl")  # the bundled sample is readable
    with pytest.raises(WorkbenchError, match="outside the folders"):
        checked_train_config(settings, None, {"model": "tiny-llama", "data": "/etc/passwd"})
    with pytest.raises(WorkbenchError, match="'..'"):
        checked_train_config(settings, None, {"model": "tiny-llama", "general_eval": "../../x.txt"})
    with pytest.raises(WorkbenchError, match="run folder"):
        checked_train_config(settings, None, {"model": "tiny-llama", "out": "/tmp/elsewhere"})
    with pytest.raises(WorkbenchError, match="Hub id"):
        checked_train_config(settings, None, {"model": "evil/model"})


def test_config_fields_of_curation_turn_lists_into_comma_text_and_back():
    from workbench.appsupport import config_fields, form_overrides
    from workbench.config import apply_overrides
    from workbench.corpus.config import CurateConfig

    config = CurateConfig(paths=["a.jsonl"])
    specs = config_fields(config, skip=("paths",))
    by_key = {s.key: s for s in specs}
    assert by_key["languages"].kind == "list" and by_key["languages"].default == "en"
    assert "drop_documents" not in by_key  # mappings come from the library, not a text box
    assert form_overrides(specs, {"languages": "en"}) == {}
    overrides = form_overrides(specs, {"languages": "en, de", "dedup.threshold": 0.9})
    assert overrides == {"languages": ["en", "de"], "dedup.threshold": 0.9}
    assert apply_overrides(config, overrides).languages == ["en", "de"]
    assert form_overrides(specs, {"languages": " "}) == {"languages": None}  # optional list: keep every language
