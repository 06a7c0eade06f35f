"""Fixtures for evaluation tests: a small trained run on the tiny model and small eval files."""

from __future__ import annotations

import json

import pytest


def write_docs(path, texts, prefix="doc"):
    with open(path, "w", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"id": f"{prefix}-{i}", "text": text}) + "\n")
    return path


def _sample_texts(sample_dir, name, n, chars):
    with open(sample_dir / name, encoding="utf-8") as handle:
        return [json.loads(line)["text"][:chars] for line in handle if line.strip()][:n]


@pytest.fixture(scope="session")
def small_sets(tmp_path_factory, sample_dir):
    """Six short domain and general documents (keeps tiny-model scoring well under a second)."""
    folder = tmp_path_factory.mktemp("eval-sets")
    domain = write_docs(folder / "domain.jsonl", _sample_texts(sample_dir, "domain_eval.jsonl", 6, 500), "dom")
    general = write_docs(folder / "general.jsonl", _sample_texts(sample_dir, "general_eval.jsonl", 6, 500), "gen")
    return domain, general


@pytest.fixture(scope="session")
def tiny_run(tiny_model, tmp_path_factory):
    """A finished QLoRA run on the tiny model with two checkpoints (about 5 s)."""
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    tmp = tmp_path_factory.mktemp("runs")
    config = TrainConfig(model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.5,
                         eval_max_tokens=256, keep_checkpoints="all", out=str(tmp / "run"))
    return train(config, Workspace.at(tmp / "workspace"), progress=False)


@pytest.fixture
def make_docs():
    """``make_docs(path, texts)`` writes a JSONL eval file with ids doc-0, doc-1..."""
    return write_docs
