"""Runs that survive damage: damaged or half-saved checkpoints, a full disk, settings changed on
resume, training data changed between a kill and the resume, settings that cannot run."""

import errno
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl, sha256_file, write_json
from workbench.runs import CHECKPOINT_MANIFEST, checkpoint_damage, intact_checkpoint
from workbench.training.config import TrainConfig
from workbench.workflows import train

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data"
STEPS = 16  # 4096 tokens / (64 tokens x 4 blocks); a checkpoint every 4 steps


def _config(tiny_model, data, out, **kw):
    values = dict(model=str(tiny_model), data=str(data), max_tokens=4096, block_size=64, micro_batch_size=4,
                  eval_every=0.25, eval_max_tokens=128, learning_rate=5e-3, keep_checkpoints="all", out=str(out))
    values.update(kw)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def reference(tiny_model, tmp_path_factory):
    """One uninterrupted run keeping every checkpoint, on its own copy of the sample data."""
    root = tmp_path_factory.mktemp("damage")
    data = root / "domain.jsonl"
    shutil.copy(SAMPLE / "domain_corpus.jsonl", data)
    from workbench.workspace import Workspace

    run = train(_config(tiny_model, data, root / "reference"), Workspace.at(root / "ws"), progress=False)
    return run


def _killed_copy(reference, tmp_path, last_step=STEPS):
    """The reference run as a kill at step ``last_step`` would leave it: checkpoints up to there, no
    adapter, run.json still the card of a running run, metrics beyond the step still in the log."""
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    shutil.rmtree(run / "adapter")
    for path in (run / "checkpoints").glob("checkpoint-*"):
        if int(path.name.rsplit("-", 1)[1]) > last_step:
            shutil.rmtree(path)
    card = read_json(run / "run.json")
    write_json(run / "run.json", {**card, "state": "running"})
    return run


def _resume(run, **kw):
    from workbench.workspace import Workspace

    return train(None, Workspace.at(run.parent / "ws"), resume=run, progress=False, **kw)


def _same_adapter(a, b):
    x, y = load_file(str(a / "adapter" / "adapter_model.safetensors")), load_file(str(b / "adapter" / "adapter_model.safetensors"))
    assert x.keys() == y.keys()
    for key in x:
        assert torch.equal(x[key], y[key]), key


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path):
    path.write_bytes(b"\x00\xff not json \x13")


# ---- checkpoint integrity ----------------------------------------------------------------------------


def test_every_checkpoint_carries_a_manifest_of_its_files(reference):
    for step in (4, 8, 12, 16):
        folder = reference / "checkpoints" / f"checkpoint-{step}"
        files = read_json(folder / CHECKPOINT_MANIFEST)["files"]
        on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        assert sorted(files) == [name for name in on_disk if name != CHECKPOINT_MANIFEST]
        assert {"optimizer.pt", "adapter_model.safetensors", "trainer_state.json", "run.json"} <= set(files)
        for name, entry in files.items():
            assert entry == {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
        assert checkpoint_damage(folder) is None


@pytest.mark.parametrize("name, damage, why", [
    ("optimizer.pt", _truncate, "optimizer.pt has"),
    ("adapter_model.safetensors", _truncate, "adapter_model.safetensors has"),
    ("trainer_state.json", _garbage, "trainer_state.json has"),
])
def test_a_damaged_last_checkpoint_falls_back_to_the_newest_intact_one(reference, tmp_path, capsys, name, damage, why):
    run = _killed_copy(reference, tmp_path)
    last = run / "checkpoints" / "checkpoint-16"
    damage(last / name)
    assert why in checkpoint_damage(last)
    assert intact_checkpoint(run) == (run / "checkpoints" / "checkpoint-12", [(last, checkpoint_damage(last))])

    notice = f"checkpoint {last} is damaged ({checkpoint_damage(last)}); resuming from checkpoint-12 instead"
    _resume(run)
    assert f"warning: {notice}" in capsys.readouterr().err.splitlines()
    assert read_json(run / "status.json")["notice"] == notice
    warnings = [r for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "warning"]
    assert len(warnings) == 1 and "resuming from checkpoint-12 instead" in warnings[0]["message"]
    _same_adapter(reference, run)  # steps 13-16 trained again, exactly as the first time
    card = read_json(run / "run.json")
    assert card["state"] == "finished" and card["step"] == STEPS
    assert [(s["from_step"], s["to_step"]) for s in card["segments"]] == [(0, 12), (12, STEPS)]
    assert checkpoint_damage(last) is None  # saved again, whole


def test_killed_between_trainer_state_and_run_card_keeps_the_earlier_wall_time(reference, tmp_path):
    run = _killed_copy(reference, tmp_path)
    last = run / "checkpoints" / "checkpoint-16"
    (last / "run.json").unlink()  # the trainer had saved its state; our card and manifest never came
    (last / CHECKPOINT_MANIFEST).unlink()
    first = read_json(run / "checkpoints" / "checkpoint-12" / "run.json")["segments"]

    _resume(run)
    card = read_json(run / "run.json")
    segments = card["segments"]
    assert [(s["from_step"], s["to_step"]) for s in segments] == [(0, 12), (12, STEPS)]
    assert segments[0] == first[0]  # the first 12 steps' wall time is still counted
    assert card["wall_seconds"] == pytest.approx(sum(s["wall_seconds"] for s in segments), abs=0.11)
    train_steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "train"]
    assert train_steps == list(range(1, STEPS + 1))


def test_no_intact_checkpoint_is_one_line_naming_the_damage(reference, tmp_path):
    run = _killed_copy(reference, tmp_path, last_step=4)
    _truncate(run / "checkpoints" / "checkpoint-4" / "optimizer.pt")
    with pytest.raises(WorkbenchError, match=r"no intact checkpoint to resume from \(checkpoint-4: optimizer.pt has"):
        _resume(run)


# ---- a full disk --------------------------------------------------------------------------------------

Usage = namedtuple("Usage", "total used free")


def _folder_bytes(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_too_little_free_space_stops_before_the_save_and_resume_is_exact(reference, tiny_model, tmp_path, monkeypatch):
    out = tmp_path / "run"
    first = out / "checkpoints" / "checkpoint-4"
    real = shutil.disk_usage
    # plenty of room for the first checkpoint, then 1000 bytes
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**12, 0, 1000) if first.exists() else real(p))
    data = Path(read_json(reference / "run.json")["config"]["data"])
    from workbench.workspace import Workspace

    with pytest.raises(WorkbenchError) as caught:
        train(_config(tiny_model, data, out), Workspace.at(tmp_path / "ws"), progress=False)
    needed = int(_folder_bytes(first) * 1.25)  # the last checkpoint's size with the margin
    line = caught.value.one_line()
    assert line.startswith(f"disk full: checkpoint {out / 'checkpoints' / 'checkpoint-8'} needs about "
                           f"{needed / 1024:.1f} KB and 1000 bytes free there."), line
    assert "\n" not in line and f"resume the run {out}" in line
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-4"]
    assert checkpoint_damage(first) is None
    assert read_json(out / "status.json")["state"] == "failed"

    monkeypatch.setattr(shutil, "disk_usage", real)
    _resume(out)
    _same_adapter(reference, out)


def test_a_disk_filling_up_during_the_save_removes_the_half_checkpoint(reference, tiny_model, tmp_path, monkeypatch):
    from transformers import Trainer

    save = Trainer._save_optimizer_and_scheduler

    def filling(self, output_dir):
        if self.state.global_step == 8:
            Path(output_dir, "optimizer.pt").write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_optimizer_and_scheduler", filling)
    out = tmp_path / "run"
    data = Path(read_json(reference / "run.json")["config"]["data"])
    from workbench.workspace import Workspace

    with pytest.raises(WorkbenchError, match=rf"^disk full: checkpoint {out / 'checkpoints' / 'checkpoint-8'} needs about "
                                             r"[\d.]+ KB and the disk filled up while saving there\."):
        train(_config(tiny_model, data, out), Workspace.at(tmp_path / "ws"), progress=False)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-4"]
    assert checkpoint_damage(out / "checkpoints" / "checkpoint-4") is None


def test_a_disk_filling_up_while_the_card_is_written_removes_that_checkpoint(reference, tiny_model, tmp_path, monkeypatch):
    import workbench.training.callbacks as callbacks

    write = callbacks.write_checkpoint_manifest

    def filling(folder):
        if folder.name == "checkpoint-8":
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(folder)

    monkeypatch.setattr(callbacks, "write_checkpoint_manifest", filling)
    out = tmp_path / "run"
    data = Path(read_json(reference / "run.json")["config"]["data"])
    from workbench.workspace import Workspace

    with pytest.raises(WorkbenchError, match=rf"^disk full: checkpoint {out / 'checkpoints' / 'checkpoint-8'} needs about"):
        train(_config(tiny_model, data, out), Workspace.at(tmp_path / "ws"), progress=False)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-4"]
    assert intact_checkpoint(out) == (out / "checkpoints" / "checkpoint-4", [])


def test_a_disk_filling_up_while_metrics_are_written_stops_in_one_line_and_resumes(reference, tiny_model, tmp_path,
                                                                                    monkeypatch):
    """The append to metrics.jsonl fails half-way through a line at the step-8 evaluation: one line naming
    the file and the fix, no torn line left behind, and the resume trains to the reference's adapter."""
    import workbench.training.callbacks as callbacks

    append = callbacks.append_jsonl

    def filling(path, record):
        if record.get("type") == "eval" and record.get("step") == 8:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write('{"type": "eval", "st')
            raise OSError(errno.ENOSPC, "No space left on device")
        return append(path, record)

    monkeypatch.setattr(callbacks, "append_jsonl", filling)
    out = tmp_path / "run"
    data = Path(read_json(reference / "run.json")["config"]["data"])
    from workbench.workspace import Workspace

    with pytest.raises(WorkbenchError) as caught:
        train(_config(tiny_model, data, out), Workspace.at(tmp_path / "ws"), progress=False)
    line = caught.value.one_line()
    assert line.startswith(f"disk full: could not write {out / 'metrics.jsonl'} (the run's live metrics)."), line
    assert f"then resume the run {out};" in line
    text = (out / "metrics.jsonl").read_text()
    assert text.endswith("\n") and '"st\n' not in text and not text.endswith('"st')
    monkeypatch.setattr(callbacks, "append_jsonl", append)
    _resume(out)
    _same_adapter(reference, out)
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl") if r.get("type") == "eval"]
    assert steps == sorted(set(steps)) and 8 in steps and STEPS in steps


def test_a_metrics_line_cut_short_by_a_crash_is_left_out_on_reading(tmp_path):
    from workbench.io import read_appended_jsonl

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "lo')
    assert read_appended_jsonl(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"step": 2}')  # complete but unterminated: kept
    assert read_appended_jsonl(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')  # damage inside the file is not a torn tail
    with pytest.raises(WorkbenchError, match="line 2: not valid JSON"):
        read_appended_jsonl(path)


# ---- settings changed on resume -----------------------------------------------------------------------


def test_changes_that_cannot_apply_on_resume_are_refused_by_name(reference, tmp_path):
    run = _killed_copy(reference, tmp_path, last_step=8)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(WorkbenchError) as caught:
        _resume(run, changes={"lora.r": 8, "max_tokens": 8192, "block_size": 128})
    line = caught.value.one_line()
    assert line.startswith("block_size (64 -> 128), lora.r (16 -> 8) cannot change when a run resumes"), line
    assert "max_tokens" not in line.split(" Fix:")[0]
    with pytest.raises(WorkbenchError, match="^max_tokens 2048 is not more than the 2048 tokens") as caught:
        _resume(run, changes={"max_tokens": 2048})
    assert caught.value.field == "max_tokens"
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # nothing written


def test_a_resumed_run_reports_its_checkpoints_step_from_its_first_status(reference, tmp_path, monkeypatch):
    """The first training status of a run resumed at step 8 says step 8 of 16, never 0 of 16."""
    import workbench.training.trainer as trainer

    written = []
    write = trainer.write_status

    def recording(folder, state, **fields):
        written.append((state, fields.get("phase"), fields.get("step"), fields.get("total_steps")))
        return write(folder, state, **fields)

    monkeypatch.setattr(trainer, "write_status", recording)
    run = _killed_copy(reference, tmp_path, last_step=8)
    _resume(run)
    first = next(w for w in written if w[1] == "training")
    assert first == ("running", "training", 8, STEPS), written[:3]


def test_a_larger_budget_applies_on_resume_and_is_recorded(reference, tmp_path):
    run = _killed_copy(reference, tmp_path, last_step=8)
    _resume(run, changes={"max_tokens": 6144, "lora.r": 16})  # an unchanged value is no change
    card = read_json(run / "run.json")
    assert card["config"]["max_tokens"] == 6144 and card["steps"] == 24 and card["step"] == 24
    assert card["resume_changes"] == [{"at_step": 8, "changes": {"max_tokens": [4096, 6144]}}]
    train_steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl") if r["type"] == "train"]
    assert train_steps == list(range(1, 25))
    assert read_json(run / "checkpoints" / "checkpoint-24" / "run.json")["resume_changes"] == card["resume_changes"]


def test_a_finished_run_takes_no_changes(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    assert _resume(run, changes={"max_tokens": 4096}) == run  # the value it has: nothing to change
    with pytest.raises(WorkbenchError, match=f"^run {run} is finished; max_tokens cannot change it"):
        _resume(run, changes={"max_tokens": 8192})
    assert read_json(run / "run.json") == read_json(reference / "run.json")


def test_an_edited_run_card_that_no_longer_fits_the_checkpoint_is_refused(reference, tmp_path):
    run = _killed_copy(reference, tmp_path, last_step=8)
    card = read_json(run / "run.json")
    card["config"]["lora"]["r"] = 8
    write_json(run / "run.json", card)
    with pytest.raises(WorkbenchError, match=r"^lora.r \(16 -> 8\) cannot change when a run resumes") as caught:
        _resume(run)
    assert caught.value.field == "lora.r"


def _env(tiny_home):
    return {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(REPO)}


def test_cli_resume_with_flags_that_cannot_apply_is_one_line(reference, tiny_home, tmp_path):
    run = _killed_copy(reference, tmp_path, last_step=8)
    result = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--resume", str(run), "--max-tokens", "8192",
                             "--set", "lora.r=8"], env=_env(tiny_home), capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lora.r (16 -> 8) cannot change when a run resumes" in lines[0], lines
    assert "Traceback" not in result.stderr and not (run / "adapter").exists()


# ---- training data changed between a kill and the resume ----------------------------------------------


def test_changed_training_data_is_refused_unless_allowed_and_both_hashes_are_recorded(reference, tmp_path):
    run = _killed_copy(reference, tmp_path, last_step=12)
    data = Path(read_json(run / "run.json")["config"]["data"])
    original = data.read_bytes()
    before = read_json(run / "run.json")["inputs"]["data"]["sha256"]
    try:
        data.write_bytes(original + b'{"text": "a document added after the kill"}\n')
        after = sha256_file(data)
        with pytest.raises(WorkbenchError) as caught:
            _resume(run)
        line = caught.value.one_line()
        assert line.startswith(f"the training inputs changed since run {run} started (data {data}: "
                               f"sha256 {before[:12]}... at the start, {after[:12]}... now)"), line
        assert "continue on the new data with allow_changed_data" in line and caught.value.field == "allow_changed_data"
        assert read_json(run / "run.json")["state"] == "running"

        _resume(run, allow_changed_data=True)
    finally:
        data.write_bytes(original)
    card = read_json(run / "run.json")
    assert card["state"] == "finished" and card["inputs"]["data"]["sha256"] == after
    assert card["data_changes"] == [{"at_step": 12, "input": "data", "path": str(data), "sha256_before": before,
                                     "sha256_after": after}]


# ---- settings that cannot run, a workspace that cannot be written -------------------------------------


def test_every_transformers_schedule_name_is_accepted():
    from transformers.trainer_utils import SchedulerType

    from workbench.training.config import LR_SCHEDULERS

    assert set(LR_SCHEDULERS) == {s.value for s in SchedulerType}


@pytest.mark.parametrize("setting, words", [
    ("lr_scheduler=bogus", ["lr_scheduler is 'bogus', not a learning-rate schedule", "cosine"]),
    ("seed=-1", ["seed is -1", "from 0 to 4294967295"]),
    ("quant=int8", ["quant", "'int8'"]),
])
def test_bad_settings_are_one_line_before_any_folder(tiny_home, tiny_model, tmp_path, setting, words):
    ws = tmp_path / "ws"
    result = subprocess.run([sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), "--name", "r",
                             "--workspace", str(ws), "--set", setting], env=_env(tiny_home), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), lines
    assert not ws.exists() and list(tmp_path.iterdir()) == []


def test_bad_settings_in_the_library_are_refused_before_any_folder(tiny_model, tmp_path):
    for kw in ({"lr_scheduler": "bogus"}, {"seed": -1}, {"seed": 2**32}):
        with pytest.raises(WorkbenchError) as caught:
            _config(tiny_model, SAMPLE / "domain_corpus.jsonl", tmp_path / "run", **kw)
        assert caught.value.field == next(iter(kw))
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_workspace_is_one_line_before_the_model_loads(tiny_home, tiny_model, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    ws.chmod(0o555)
    argv = [sys.executable, "-m", "workbench.cli", "train", "--model", str(tiny_model), "--name", "r", "--workspace", str(ws)]
    if os.geteuid() == 0:  # root writes anywhere: drop that override for the command
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test a read-only folder as root"
        argv = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *argv]
    try:
        result = subprocess.run(argv, env=_env(tiny_home), capture_output=True, text=True, timeout=300)
    finally:
        ws.chmod(0o755)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and f"cannot write to {ws}" in lines[0], result.stderr[-2000:]
    assert list(ws.iterdir()) == []
