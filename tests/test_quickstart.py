"""The walking skeleton end to end, and its command line's handling of bad input."""

import json
import subprocess
import sys

import pytest

from workbench.io import read_json
from workbench.quickstart import QuickstartConfig, format_summary, run_quickstart

SUMMARY_KEYS = {"base", "adapted", "train_tokens", "seconds"}


@pytest.mark.slow
def test_quickstart_on_tiny_model(tiny_model, workspace):
    summary = run_quickstart(
        QuickstartConfig(model=str(tiny_model), max_tokens=4096, block_size=64, eval_docs=4, learning_rate=5e-3),
        workspace, progress=False,
    )
    saved = read_json(workspace.folder("quickstart") / "summary.json")
    assert SUMMARY_KEYS <= set(saved)
    for who in ("base", "adapted"):
        assert {"domain_ppl", "general_ppl"} <= set(saved[who])
    assert saved["train_tokens"] == 4096
    # the tiny random model learns the domain's byte-level statistics quickly
    assert saved["adapted"]["domain_ppl"] < saved["base"]["domain_ppl"]
    assert (workspace.folder("quickstart") / "run" / "adapter" / "adapter_config.json").exists()
    table = format_summary(summary, workspace.folder("quickstart"))
    assert "where to look next" in table and "summary.json" in table
    # peak memory of the process, as /usr/bin/time -v reports it: at least the loaded libraries
    assert saved["peak_rss_mb"] > 100 and f"peak memory: {saved['peak_rss_mb']:,.0f} MB" in table
    # wall time and tokens/s: the parts add up to no more than the whole; rates are tokens over seconds
    assert 0 < saved["train_seconds"] and 0 < saved["eval_seconds"]
    assert saved["train_seconds"] + saved["eval_seconds"] <= saved["seconds"]
    # the seconds are saved to a tenth: the rate lies between the tokens over the rounded time's bounds
    scored = sum(saved["details"][side][name]["tokens"] for side in ("base", "adapted") for name in ("domain", "general"))
    for tokens, seconds, rate in ((4096, saved["train_seconds"], saved["train_tokens_per_s"]),
                                  (scored, saved["eval_seconds"], saved["eval_tokens_per_s"])):
        assert tokens / (seconds + 0.05) - 0.1 <= rate <= tokens / max(seconds - 0.05, 1e-9) + 0.1
    assert "wall time " in table and f"({saved['train_tokens_per_s']:,.0f} tokens/s)" in table


def test_wall_time_line_by_hand():
    from workbench.quickstart import wall_time_line

    summary = {"seconds": 252.4, "train_seconds": 185.2, "train_tokens_per_s": 88.46, "eval_seconds": 52.0,
               "eval_tokens_per_s": 1230.2}
    assert wall_time_line(summary) == ("wall time 4m 12s: training 3m 05s (88 tokens/s), scoring 52s (1,230 tokens/s), "
                                       "model and corpus 15s")
    assert wall_time_line({"seconds": 59.6}) == "wall time 1m 00s"  # a summary from before these keys


def _cli(*args, env_home=None, cwd=None):
    import os

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if env_home:
        env["WORKBENCH_HOME"] = str(env_home)
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=1200)


def test_cli_missing_corpus_is_one_line_and_nonzero(tiny_home, tmp_path):
    proc = _cli("quickstart", "--model", "tiny-llama", "--data", str(tmp_path / "missing.jsonl"),
                "--workspace", str(tmp_path / "ws"), env_home=tiny_home)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing.jsonl" in lines[0] and "Fix:" in lines[0]


def test_cli_empty_corpus(tiny_home, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    proc = _cli("quickstart", "--model", "tiny-llama", "--data", str(empty), "--workspace", str(tmp_path / "ws"), env_home=tiny_home)
    assert proc.returncode == 2 and "empty" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_unknown_model_name(tiny_home, tmp_path):
    proc = _cli("train", "--model", "no-such-model", "--workspace", str(tmp_path / "ws"), env_home=tiny_home)
    assert proc.returncode == 2
    assert "unknown model 'no-such-model'" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_cli_unknown_config_key(tiny_home, tmp_path):
    proc = _cli("train", "--model", "tiny-llama", "--set", "lora.rank=4", "--workspace", str(tmp_path / "ws"), env_home=tiny_home)
    assert proc.returncode == 2 and "lora.rank" in proc.stderr


def test_cli_models_list(tiny_home):
    proc = _cli("models", "list", "--all", env_home=tiny_home)
    assert proc.returncode == 0 and "tiny-llama" in proc.stdout and "smollm2-135m" in proc.stdout


@pytest.mark.real_model
@pytest.mark.slow
def test_quickstart_on_default_model_small_budget(real_model_home, tmp_path):
    """The real default model, a small budget: the adapter must already beat the base on domain text."""
    proc = _cli("quickstart", "--max-tokens", "4096", "--eval-docs", "6", "--workspace", str(tmp_path / "ws"),
                env_home=real_model_home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "ws" / "quickstart" / "summary.json").read_text())
    assert summary["model"] == "smollm2-135m" and summary["train_tokens"] == 4096
    assert summary["adapted"]["domain_ppl"] < summary["base"]["domain_ppl"]
    assert "where to look next" in proc.stdout


def test_cpu_preset_has_the_quickstarts_cpu_shapes():
    """The smollm2-135m-cpu preset is the quickstart's CPU run: the same shapes and budget."""
    from workbench.quickstart import BLOCKS_PER_STEP, CPU_GRADIENT_CHECKPOINTING, CPU_MICRO_BATCH, CPU_TOKENS
    from workbench.workflows import train_config

    preset = train_config(preset="smollm2-135m-cpu")
    assert preset.micro_batch_size == CPU_MICRO_BATCH and preset.grad_accum * CPU_MICRO_BATCH == BLOCKS_PER_STEP
    assert preset.gradient_checkpointing == CPU_GRADIENT_CHECKPOINTING and preset.max_tokens == CPU_TOKENS
    assert preset.eval_max_tokens is None  # sized from the budget, as in the quickstart
