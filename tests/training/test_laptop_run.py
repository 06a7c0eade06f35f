"""A first run that makes sense on a laptop: no step at learning rate 0, two checkpoints kept
instead of one per evaluation, an ETA that counts the evaluations, evaluation sized from the budget."""

import time
from types import SimpleNamespace

import pytest

from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl
from workbench.runs import latest_checkpoint
from workbench.training.callbacks import (
    WorkbenchCallback,
    checkpoints_to_keep,
    eta_seconds,
    evaluations_left,
    prune_checkpoints,
)
from workbench.training.config import EVAL_MAX_TOKENS, EVAL_MIN_TOKENS, TrainConfig
from workbench.training.schedule import warmup_scheduler
from workbench.workflows import train, train_config


def _lrs(name, warmup, total, lr=1e-3):
    import torch

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = warmup_scheduler(name, optimizer, warmup, total)
    lrs = []
    for _ in range(total):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.parametrize("name", ["cosine", "linear", "constant_with_warmup"])
def test_warmup_starts_above_zero_and_reaches_the_peak(name):
    lrs = _lrs(name, warmup=3, total=12)
    assert lrs[0] == pytest.approx(1e-3 / 4)  # lr / (warmup + 1), not 0
    assert lrs[:4] == pytest.approx([1e-3 / 4, 2e-3 / 4, 3e-3 / 4, 1e-3])
    assert all(lr > 0 for lr in lrs[:-1])
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))  # decay (or constant) after the peak


def test_no_warmup_is_the_plain_schedule():
    import torch
    from transformers import get_scheduler

    lrs = _lrs("cosine", warmup=0, total=8)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    plain = get_scheduler("cosine", optimizer, num_warmup_steps=0, num_training_steps=8)
    expected = []
    for _ in range(8):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        plain.step()
    assert lrs == pytest.approx(expected) and lrs[0] == 1e-3


def test_eval_tokens_are_sized_from_the_budget_and_explicit_values_win():
    # the run: 40,000 tokens, evaluation every 10% (11 evaluations of two sets)
    config = TrainConfig(max_tokens=40_000, block_size=256, micro_batch_size=8)
    n_steps = 40_000 // 2048
    assert config.n_evaluations(n_steps) == 11
    per_set = config.eval_tokens_per_set(n_steps)
    assert 2 * per_set * 11 <= 0.55 * 40_000  # about half the budget in all, not 2.25x as before
    assert EVAL_MIN_TOKENS <= per_set < 4096
    assert TrainConfig(max_tokens=1_000, eval_every=0.1).eval_tokens_per_set(10) == EVAL_MIN_TOKENS
    assert TrainConfig(max_tokens=100_000_000).eval_tokens_per_set(1000) == EVAL_MAX_TOKENS
    assert TrainConfig(max_tokens=40_000, eval_max_tokens=4096).eval_tokens_per_set(n_steps) == 4096


def test_keep_checkpoints_values():
    assert TrainConfig().keep_checkpoints == "last_and_best"
    assert train_config(overrides=["keep_checkpoints=3"]).keep_checkpoints == "3"
    assert TrainConfig(keep_checkpoints="ALL").keep_checkpoints == "all"
    for bad in ("best", "0", "-1"):
        with pytest.raises(WorkbenchError, match="keep_checkpoints"):
            TrainConfig(keep_checkpoints=bad)
    steps = [2, 4, 6, 8]
    assert checkpoints_to_keep(steps, "last_and_best", 4) == {4, 8}
    assert checkpoints_to_keep(steps, "last_and_best", None) == {8}
    assert checkpoints_to_keep(steps, "all", 4) == set(steps)
    assert checkpoints_to_keep(steps, "2", 2) == {2, 6, 8}


def test_pruning_leaves_later_folders_of_a_killed_run_alone(tmp_path):
    for step in (2, 4, 6, 8):
        (tmp_path / f"checkpoint-{step}").mkdir()
    removed = prune_checkpoints(tmp_path, "last_and_best", best_step=2, current_step=6)
    assert sorted(p.name for p in removed) == ["checkpoint-4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2", "checkpoint-6", "checkpoint-8"]


def test_eta_counts_the_evaluations_left():
    assert evaluations_left(0, 8, 2) == 4 and evaluations_left(3, 8, 2) == 3 and evaluations_left(8, 8, 2) == 0
    assert evaluations_left(1, 10, 4) == 3  # steps 4, 8 and the last, 10
    # 1 step in 10 s, 7 steps left; 4 evaluations left at 30 s each
    assert eta_seconds(1, 8, 2, 10.0, [30.0]) == pytest.approx(70 + 120)
    assert eta_seconds(1, 8, 2, 10.0, []) == pytest.approx(70)
    assert eta_seconds(0, 8, 2, 0.0, [30.0]) is None


def test_status_eta_includes_measured_evaluation_time(tmp_path):
    from transformers import TrainerControl, TrainerState

    def slow_evaluator(model):
        time.sleep(0.6)
        return {"domain_ppl": 10.0, "general_ppl": 10.0}

    callback = WorkbenchCallback(tmp_path, card={}, evaluator=slow_evaluator, tokens_per_step=100, eval_steps=2, progress=False)
    state, control, args = TrainerState(max_steps=8), TrainerControl(), SimpleNamespace(output_dir=str(tmp_path / "ck"))
    callback.on_train_begin(args, state, control, model=None)  # the base evaluation: about 0.6 s
    callback.on_step_begin(args, state, control)
    time.sleep(0.05)
    state.global_step = 1
    callback.on_step_end(args, state, control, model=None)
    status = read_json(tmp_path / "status.json")
    assert status["evaluations_left"] == 4  # steps 2, 4, 6, 8
    # 7 training steps of ~0.05 s (0.35 s) would round to 0; the 4 evaluations left add ~2.4 s
    assert status["eta_s"] >= 2


@pytest.fixture(scope="module")
def laptop_run(tiny_model, tmp_path_factory):
    from workbench.workspace import Workspace

    tmp = tmp_path_factory.mktemp("laptop")
    config = TrainConfig(model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.25,
                         learning_rate=5e-3, out=str(tmp / "run"))
    return train(config, Workspace.at(tmp / "ws"), progress=False)


def test_run_keeps_last_and_best_records_what_it_resolved(laptop_run):
    card = read_json(laptop_run / "run.json")
    resolved = card["resolved"]
    assert card["steps"] == 16 and resolved["warmup_steps"] == 1  # ceil(0.05 * 16)
    assert resolved["first_step_lr"] == pytest.approx(5e-3 / 2)
    assert resolved["eval_tokens_sized_from_budget"] and resolved["evaluations"] == 5
    train_rows = [m for m in read_jsonl(laptop_run / "metrics.jsonl") if m["type"] == "train"]
    assert train_rows[0]["step"] == 1 and train_rows[0]["lr"] == pytest.approx(resolved["first_step_lr"])
    assert train_rows[1]["lr"] == pytest.approx(5e-3)  # the peak after one warm-up step
    evals = [m for m in read_jsonl(laptop_run / "metrics.jsonl") if m["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 4, 8, 12, 16]
    assert all(e["domain_eval_tokens"] <= resolved["eval_tokens_per_set"] for e in evals)
    assert not any(e["dequantized"] for e in evals)  # 'auto' in training: the dense copy does not pay
    best = min((e for e in evals if e["step"] > 0), key=lambda e: (e["domain_ppl"], e["step"]))["step"]
    kept = sorted(int(p.name.split("-")[1]) for p in (laptop_run / "checkpoints").glob("checkpoint-*"))
    assert kept == sorted({best, 16})  # 4 evaluations, at most 2 checkpoints left
    assert latest_checkpoint(laptop_run).name == "checkpoint-16"  # what --resume starts from
    if card["best_checkpoint"]:
        assert (laptop_run / "checkpoints" / card["best_checkpoint"]).exists()


def test_in_training_evaluation_does_not_change_the_trained_model(tiny_model, tmp_path, workspace):
    """Dequantized scoring swaps the NF4 layers' forward only during an evaluation: a run that
    evaluates every 25% trains exactly the adapter of one that evaluates only at its ends."""
    import torch
    from safetensors.torch import load_file

    def run(name, eval_every):
        config = TrainConfig(model=str(tiny_model), max_tokens=2048, block_size=64, micro_batch_size=4, eval_every=eval_every,
                             learning_rate=5e-3, dequantize_scoring="on", keep_checkpoints="all", out=str(tmp_path / name))
        folder = train(config, workspace, progress=False)
        evals = [m for m in read_jsonl(folder / "metrics.jsonl") if m["type"] == "eval"]
        assert evals and all(e["dequantized"] for e in evals)
        return load_file(str(folder / "adapter" / "adapter_model.safetensors"))

    often, rarely = run("often", 0.25), run("rarely", 0.0)
    assert often.keys() == rarely.keys()
    for key in often:
        assert torch.equal(often[key], rarely[key]), key


def test_a_tiny_eval_cap_still_scores_something(tiny_model):
    from transformers import AutoTokenizer

    from workbench.training.data import cap_texts

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    long = "pharmacokinetics of the drug " * 40
    sample = cap_texts(tokenizer, [long, long], 16)
    assert len(sample) == 1 and 0 < len(tokenizer(sample[0], add_special_tokens=False)["input_ids"]) <= 20
