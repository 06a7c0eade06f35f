"""Bad input a new user gives the CLI: exit 2, one line naming the file or field and the fix, no
traceback, and nothing of the user's lost. Every case runs the real ``workbench`` entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, run_cli

from workbench.errors import WorkbenchError
from workbench.io import atomic_directory, check_output_folder, is_artifact

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def user_folder(tmp_path) -> Path:
    """A folder of the user's own documents (not a workbench artifact)."""
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("my only copy\n")
    (folder / "notes").mkdir()
    (folder / "notes" / "a.md").write_text("notes\n")
    return folder


def user_files_intact(folder: Path) -> bool:
    return (folder / "thesis.txt").read_text() == "my only copy\n" and (folder / "notes" / "a.md").exists()


def corpus(tmp_path: Path, n: int = 8) -> Path:
    path = tmp_path / "corpus.jsonl"
    words = "the clerk filed the motion before the court on the morning of the hearing".split()
    with open(path, "w") as handle:
        for i in range(n):
            text = " ".join(words[(i + j) % len(words)] for j in range(40 + 5 * i))
            handle.write(json.dumps({"text": f"document {i}: {text}"}) + "\n")
    return path


# ---- --overwrite never deletes the user's files --------------------------------------------------


def test_curate_overwrite_refuses_a_folder_of_user_files(capsys, tmp_path, user_folder):
    code, _, err = run_cli(capsys, "curate", corpus(tmp_path), "--out", user_folder, "--overwrite", "--num-proc", "1")
    line = assert_one_line_error(code, err, str(user_folder), "did not make")
    assert "give --out a new or empty folder" in line
    assert user_files_intact(user_folder)
    assert sorted(p.name for p in user_folder.iterdir()) == ["notes", "thesis.txt"]


def test_inspect_overwrite_refuses_a_folder_of_user_files(capsys, tmp_path, user_folder, tiny_model):
    code, _, err = run_cli(capsys, "inspect", corpus(tmp_path), "--model", tiny_model, "--out", user_folder,
                           "--overwrite", "--num-proc", "1")
    assert_one_line_error(code, err, str(user_folder))
    assert user_files_intact(user_folder)


def test_train_overwrite_with_an_invalid_setting_keeps_the_users_files(capsys, tmp_path, user_folder, tiny_model):
    code, _, err = run_cli(capsys, "train", "--model", tiny_model, "--data", corpus(tmp_path), "--out", user_folder,
                           "--overwrite", "--set", "lora.r=0", "--max-tokens", "1024")
    assert_one_line_error(code, err, "lora.r is 0", "16")
    assert user_files_intact(user_folder)
    # a valid setting is refused too: the folder is not workbench's
    code, _, err = run_cli(capsys, "train", "--model", tiny_model, "--data", corpus(tmp_path), "--out", user_folder,
                           "--overwrite", "--max-tokens", "1024")
    assert_one_line_error(code, err, str(user_folder), "did not make")
    assert user_files_intact(user_folder)
    assert not list(tmp_path.glob("my-documents.*"))


@pytest.mark.parametrize("setting, key", [("lora.r=0", "lora.r"), ("lora.alpha=0", "lora.alpha"),
                                          ("lora.dropout=1.5", "lora.dropout"), ("warmup_ratio=2", "warmup_ratio"),
                                          ("max_grad_norm=0", "max_grad_norm")])
def test_invalid_settings_fail_before_any_run_folder(capsys, tmp_path, tiny_model, setting, key):
    out = tmp_path / "runs" / "new-run"
    code, _, err = run_cli(capsys, "train", "--model", tiny_model, "--out", out, "--set", setting)
    assert_one_line_error(code, err, key)
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_train_overwrite_replaces_an_earlier_run_only_once_the_new_one_finished(tmp_path, tiny_model):
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    out = tmp_path / "runs" / "r"
    out.mkdir(parents=True)
    (out / "run.json").write_text(json.dumps({"kind": "run", "config": {}, "state": "finished"}))
    (out / "marker-of-the-old-run").write_text("old")
    assert is_artifact(out)

    # the new run fails after its folder exists (block_size beyond the tiny model's context):
    # the earlier run is kept whole beside it
    bad = TrainConfig(model=str(tiny_model), data=str(corpus(tmp_path)), max_tokens=4096, block_size=2048,
                      micro_batch_size=1, eval_every=0, out=str(out))
    with pytest.raises(WorkbenchError, match="block_size"):
        train(bad, Workspace.at(tmp_path / "ws"), overwrite=True, progress=False)
    kept = list(out.parent.glob("r.replaced-*"))
    assert len(kept) == 1 and (kept[0] / "marker-of-the-old-run").read_text() == "old"
    assert json.loads((out / "status.json").read_text())["state"] == "failed"

    good = TrainConfig(model=str(tiny_model), data=str(corpus(tmp_path)), max_tokens=1024, block_size=64,
                       micro_batch_size=4, eval_every=0, out=str(out))
    train(good, Workspace.at(tmp_path / "ws"), overwrite=True, progress=False)
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert not (out / "marker-of-the-old-run").exists()
    # the failed attempt (a workbench run) was replaced once the new run finished; the first run is still kept
    assert list(out.parent.glob("r.replaced-*")) == kept
    assert (kept[0] / "marker-of-the-old-run").read_text() == "old"


def test_a_background_job_never_writes_into_a_folder_of_user_files(tmp_path, user_folder, tiny_model):
    from workbench.jobs import launch
    from workbench.training.config import TrainConfig

    config = TrainConfig(model=str(tiny_model), out=str(user_folder))
    with pytest.raises(WorkbenchError, match="did not make"):
        launch("train", config, tmp_path / "ws", overwrite=True)
    assert sorted(p.name for p in user_folder.iterdir()) == ["notes", "thesis.txt"]
    assert user_files_intact(user_folder)


def test_atomic_directory_replaces_an_artifact_only_when_the_new_one_is_complete(tmp_path, user_folder):
    out = tmp_path / "snap"
    with atomic_directory(out) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"kind": "snapshot", "complete": True}))
        (tmp / "train.jsonl").write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_directory(out, overwrite=True) as tmp:
            (tmp / "train.jsonl").write_text("half\n")
            raise RuntimeError("crash while building")
    assert (out / "train.jsonl").read_text() == "old\n"
    with atomic_directory(out, overwrite=True) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"kind": "snapshot", "complete": True}))
        (tmp / "train.jsonl").write_text("new\n")
    assert (out / "train.jsonl").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-documents", "snap"]
    with pytest.raises(WorkbenchError, match="did not make"):
        with atomic_directory(user_folder, overwrite=True):
            pass
    assert user_files_intact(user_folder)


def test_a_file_named_like_a_manifest_does_not_make_an_artifact(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "manifest.json").write_text('["my", "list"]')
    (folder / "status.json").write_text("not json")
    assert not is_artifact(folder)
    with pytest.raises(WorkbenchError, match="did not make"):
        check_output_folder(folder, overwrite=True)
    check_output_folder(tmp_path / "empty-is-fine", overwrite=False)


# ---- checked before the work ---------------------------------------------------------------------


def test_existing_out_is_reported_before_the_model_loads(capsys, tmp_path):
    existing = tmp_path / "profile"
    existing.mkdir()
    (existing / "x").write_text("x")
    # a model that does not exist would fail first if the corpus or model were touched before --out
    code, _, err = run_cli(capsys, "inspect", corpus(tmp_path), "--model", tmp_path / "no-such-model",
                           "--out", existing)
    assert_one_line_error(code, err, str(existing), "--overwrite")
    code, _, err = run_cli(capsys, "curate", tmp_path / "no-such-corpus.jsonl", "--out", existing)
    assert_one_line_error(code, err, str(existing), "--overwrite")


def test_missing_replay_file_is_reported_before_the_run_folder(capsys, tmp_path, tiny_model):
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "--model", tiny_model, "--out", out, "--replay", tmp_path / "nope.jsonl",
                           "--replay-ratio", "0.1")
    assert_one_line_error(code, err, "nope.jsonl", "--replay")
    assert not out.exists()
    code, _, err = run_cli(capsys, "train", "--model", tiny_model, "--out", out, "--data", tmp_path / "none.jsonl")
    assert_one_line_error(code, err, "none.jsonl", "--data")
    assert not out.exists()


def test_missing_evaluation_files_are_reported_before_the_model_loads(capsys, tmp_path, tiny_model, sample_dir):
    # one line on stderr: no "Loading weights" progress before the error
    code, _, err = run_cli(capsys, "evaluate", "--model", tiny_model, "--data", tmp_path / "gone.jsonl",
                           "--out", tmp_path / "e")
    assert_one_line_error(code, err, "gone.jsonl")
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "run.json").write_text(json.dumps({"kind": "run", "config": {"model": str(tiny_model)}}))
    code, _, err = run_cli(capsys, "compare", "--adapted", run, "--domain-eval", sample_dir / "domain_eval.jsonl",
                           "--general-eval", tmp_path / "gone-general.jsonl", "--out", tmp_path / "c")
    assert_one_line_error(code, err, "gone-general.jsonl")
    assert not (tmp_path / "e").exists() and not (tmp_path / "c").exists()


def _without_write_permission(argv: list[str]) -> list[str]:
    """Root writes anywhere: drop its override of file permissions (CAP_DAC_OVERRIDE) for the command."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *argv]


def test_read_only_output_folder_is_reported_before_any_work(tmp_path):
    parent = tmp_path / "read-only"
    parent.mkdir()
    (parent / "keep.txt").write_text("mine\n")
    parent.chmod(0o555)
    try:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        result = subprocess.run(
            _without_write_permission([sys.executable, "-m", "workbench.cli", "curate",
                                       str(tmp_path / "missing-corpus.jsonl"), "--out", str(parent / "snap")]),
            capture_output=True, text=True, env=env, timeout=120,
        )
    finally:
        parent.chmod(0o755)
    # the corpus does not exist either: the folder is checked first, before anything is read
    assert_one_line_error(result.returncode, result.stderr, str(parent), "cannot write")
    assert sorted(p.name for p in parent.iterdir()) == ["keep.txt"]


# ---- the command line itself ---------------------------------------------------------------------


@pytest.mark.parametrize("argv, names", [
    (["inspect", "--bogus-flag"], ["--bogus-flag", "workbench inspect --help"]),
    (["presets", "bogus"], ["bogus", "workbench presets --help"]),
    (["plan", "--max-tokens", "lots"], ["--max-tokens", "workbench plan --help"]),
])
def test_unknown_options_and_extra_arguments(capsys, argv, names):
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, *names)


def test_plan_and_presets_take_workspace_like_every_command(capsys, tmp_path):
    code, out, err = run_cli(capsys, "presets", "--workspace", tmp_path)
    assert code == 0 and "smollm2-135m-cpu" in out, err
    code, out, err = run_cli(capsys, "plan", "--gpu", "cpu", "--max-tokens", "1000", "--workspace", tmp_path)
    assert code == 0 and "model" in out, err
    assert not (tmp_path / "corpora").exists()


def test_models_fetch_names_a_missing_gguf_even_when_cached(capsys, tiny_home, tmp_path):
    code, _, err = run_cli(capsys, "models", "fetch", "tiny-llama", "--gguf", tmp_path / "nope.gguf")
    assert_one_line_error(code, err, "nope.gguf", "--gguf")


# ---- a library error names the setting as the command's flag -------------------------------------


def _command(*path: str):
    """The click command ``workbench PATH...``."""
    from typer.main import get_command

    from workbench.cli import app

    command = get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def test_a_field_is_worded_as_the_flag_the_command_offers_else_with_set():
    from workbench.cli.options import error_line, flag_words

    error = WorkbenchError("{field} is 0.", "give {field} a positive training budget.", field="max_tokens")
    assert error_line(error, _command("train")) == "--max-tokens is 0. Fix: give --max-tokens a positive training budget."
    assert error_line(error, _command("quickstart")).startswith("--max-tokens is 0.")
    # evaluate has no flag for it but takes --set; the fix asks to set it, so the line says how
    assert error_line(error, _command("evaluate")) == (
        "max_tokens is 0. Fix: give max_tokens a positive training budget. (--set max_tokens=...)")
    assert error.one_line() == "max_tokens is 0. Fix: give max_tokens a positive training budget."  # a face without words
    refused = WorkbenchError("{field} cannot change when a run resumes.", "start a new run.", field="lora.r")
    assert error_line(refused, _command("train")) == "lora.r cannot change when a run resumes. Fix: start a new run."

    train, compare = flag_words(_command("train")), flag_words(_command("compare"))
    assert "lora.r" not in train
    assert (train["out"], train["overwrite"], train["from_run"]) == ("--out", "--overwrite", "--from-run")
    # a flag named unlike its field: compare's --base sets model, --adapted adapter, --dequantize dequantize_scoring
    assert (compare["model"], compare["adapter"], compare["dequantize_scoring"]) == ("--base", "--adapted", "--dequantize")
    assert flag_words(_command("evaluate"))["model"] == "--model"
    assert (flag_words(_command("curate"))["eval_paths"], flag_words(_command("curate"))["out"]) == ("--eval", "--out")
    assert flag_words(_command("app"))["data_dirs"] == "--data-dir"
    assert flag_words(_command("models", "fetch"))["gguf"] == "--gguf"
    # review stats takes no --set: a field it has no flag for keeps its name
    assert error_line(error, _command("review", "stats")) == error.one_line()


@pytest.mark.parametrize("argv, words", [
    (["evaluate", "--window", "1"], ["window is 1", "set --window to 2 tokens or more"]),
    (["compare", "--domain-eval", "d.jsonl", "--general-eval", "g.jsonl"], ["no adapted model", "set --adapted to"]),
    (["compare", "--adapted", ".", "--set", "n_bootstrap=5"],
     ["n_bootstrap is 5", "set n_bootstrap to 100", "(--set n_bootstrap=...)"]),
    (["train", "--preset", "nope"], ["unknown --preset 'nope'", "use one of:"]),
    (["train", "--max-tokens", "0"], ["--max-tokens is 0."]),
    (["train", "--set", "eval_max_tokens=8"], ["eval_max_tokens is 8."]),
])
def test_library_errors_name_the_commands_flag(capsys, tmp_path, argv, words):
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "out")
    assert_one_line_error(code, err, *words)
    assert not (tmp_path / "out").exists()
