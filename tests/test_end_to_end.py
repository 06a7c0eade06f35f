"""The whole loop through the command line on the tiny model: inspect -> curate -> train -> compare."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_inspect_curate_train_compare(tiny_home, tmp_path, sample_dir):
    env = {**os.environ, "WORKBENCH_HOME": str(tiny_home), "HF_HUB_OFFLINE": "1"}
    ws = tmp_path / "ws"

    def run(*args):
        proc = subprocess.run([sys.executable, "-m", "workbench.cli", *args, "--workspace", str(ws)],
                              env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{args[0]} failed: {proc.stderr[-3000:]}"
        return proc

    corpus = str(sample_dir / "domain_corpus.jsonl")
    run("inspect", corpus, "--model", "tiny-llama", "--glossary", str(sample_dir / "glossary.csv"))
    profile = json.loads((ws / "corpora" / "domain_corpus" / "profile.json").read_text())
    assert profile["documents"] == 128 and profile["tokens"] > 0 and "readiness" in profile

    run("curate", corpus)
    snapshot = ws / "snapshots" / "domain_corpus"
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert manifest["complete"] and (snapshot / "train.jsonl").exists() and (snapshot / "eval.jsonl").exists()

    run("train", "--model", "tiny-llama", "--data", str(snapshot), "--name", "e2e", "--max-tokens", "2048",
        "--set", "block_size=64", "--set", "eval_every=0.5", "--set", "eval_max_tokens=128", "--set", "learning_rate=5e-3")
    card = json.loads((ws / "runs" / "e2e" / "run.json").read_text())
    assert card["inputs"]["data"]["path"].endswith("train.jsonl") and card["state"] == "finished"

    run("compare", "--adapted", str(ws / "runs" / "e2e"), "--window", "128", "--quant", "none", "--generations", "1")
    folders = list((ws / "comparisons").iterdir())
    assert len(folders) == 1
    comparison = json.loads((folders[0] / "comparison.json").read_text())
    assert comparison["complete"]
    for who in ("base", "adapted"):
        for which in ("domain", "general"):
            assert {"token_ppl", "word_ppl", "bits_per_byte", "ece", "brier", "tokens"} <= set(comparison[who][which])
    assert (folders[0] / "report.html").exists()
