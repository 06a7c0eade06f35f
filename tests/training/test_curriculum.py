"""Data orders and staged curricula: the plan (stage bounds, blocks, learning rates) pinned by hand, the
config's checks, and real tiny runs: stage boundaries in the run card and the curves, resume inside a stage."""

import json
import math
import os
import signal

import numpy as np
import pytest
import yaml

from workbench.config import from_dict, load_yaml, to_dict
from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl
from workbench.training.config import CurriculumSettings, Stage, TrainConfig, general_to_domain, replay_file
from workbench.training.curriculum import (
    curriculum_record,
    lr_multipliers,
    sequential_schedule,
    stage_at,
    stage_bounds,
    stage_lr_multipliers,
    staged_schedule,
)

THREE = [Stage(tokens=0.3, replay_ratio=0.5), Stage(tokens=0.4, replay_ratio=0.25), Stage(tokens=0.3)]


def test_stage_bounds_follow_the_cumulative_token_shares():
    # 0.3 * 16 = 4.8 -> 5, 0.7 * 16 = 11.2 -> 11
    assert stage_bounds(THREE, 16) == [(0, 5), (5, 11), (11, 16)]
    # a share too small for a whole step still gets one
    tiny = [Stage(tokens=0.01), Stage(tokens=0.98), Stage(tokens=0.01)]
    assert stage_bounds(tiny, 10) == [(0, 1), (1, 9), (9, 10)]


def test_stage_learning_rates_rewarm_and_redecay_as_worked_by_hand():
    stage = Stage(tokens=1.0, lr="cosine", warmup=0.2, min_lr_ratio=0.1, lr_scale=2.0)
    got = stage_lr_multipliers(stage, 10)
    # ceil(0.2 * 10) = 2 warm-up steps at 2/3 and 4/3, then 8 cosine steps from 2.0 towards 0.2
    want = [2 / 3, 4 / 3] + [2.0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 8))) for k in range(8)]
    assert np.allclose(got, want)
    linear = stage_lr_multipliers(Stage(lr="linear"), 4)
    assert np.allclose(linear, [1.0, 0.75, 0.5, 0.25])
    assert np.allclose(stage_lr_multipliers(Stage(lr="constant", warmup=0.5), 4), [1 / 3, 2 / 3, 1.0, 1.0])
    # stage after stage: the second warms up again from near 0 after the first decayed
    both = lr_multipliers([Stage(tokens=0.5, lr="linear"), Stage(tokens=0.5, lr="linear", warmup=0.25)], 8)
    assert np.allclose(both, [1.0, 0.75, 0.5, 0.25, 0.5, 1.0, 2 / 3, 1 / 3])


def test_staged_schedule_mixes_each_stage_at_its_replay_share_and_is_pure():
    n_domain, n_replay, per_step = 7, 5, 4
    schedule = staged_schedule(n_domain, n_replay, THREE, 16, per_step, seed=3)
    assert schedule.size == 16 * per_step
    assert np.array_equal(schedule, staged_schedule(n_domain, n_replay, THREE, 16, per_step, seed=3))
    assert not np.array_equal(schedule, staged_schedule(n_domain, n_replay, THREE, 16, per_step, seed=4))
    replay_per_stage = [int((schedule[a * per_step:b * per_step] >= n_domain).sum()) for a, b in stage_bounds(THREE, 16)]
    assert replay_per_stage == [10, 6, 0]  # 0.5 of 20 slots, 0.25 of 24, none of 20
    # domain blocks run on in one stream of whole epochs across the stages (no stage restarts an epoch)
    domain = schedule[schedule < n_domain]
    for start in range(0, domain.size - n_domain + 1, n_domain):
        assert sorted(domain[start:start + n_domain]) == list(range(n_domain))


def test_easy_to_hard_schedule_runs_the_packed_order_every_epoch():
    schedule = sequential_schedule(4, 12, seed=0)
    assert schedule.tolist() == [0, 1, 2, 3] * 3
    with_replay = sequential_schedule(4, 12, seed=0, n_replay=3, replay_ratio=0.25)
    assert with_replay[with_replay < 4].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert sorted(with_replay[with_replay >= 4].tolist()) == [4, 5, 6]


def test_stage_names_follow_the_recorded_plan():
    plan = curriculum_record(CurriculumSettings(order="stages", stages=THREE), 16, 1024, 1e-3)["stages"]
    assert [(s["name"], s["from_step"], s["to_step"], s["tokens"]) for s in plan] == [
        ("stage 1", 0, 5, 5120), ("stage 2", 5, 11, 6144), ("stage 3", 11, 16, 5120)]
    assert [stage_at(plan, step) for step in (1, 5, 6, 11, 12, 16)] == [
        "stage 1", "stage 1", "stage 2", "stage 2", "stage 3", "stage 3"]
    assert curriculum_record(CurriculumSettings(), 16, 1024) == {"order": "shuffled"}
    assert curriculum_record(CurriculumSettings(order="easy_to_hard", signal="mtld"), 16, 1024) == {
        "order": "easy_to_hard", "signal": "mtld"}


def test_stages_come_from_yaml_and_round_trip(tmp_path):
    path = tmp_path / "staged.yaml"
    path.write_text(yaml.safe_dump({"curriculum": {"order": "stages", "stages": [
        {"name": "warm", "tokens": 0.5, "replay_ratio": 0.4, "warmup": 0.1},
        {"name": "domain", "tokens": 0.5, "lr": "linear", "warmup": 0.2, "lr_scale": 0.5}]}}))
    config = from_dict(TrainConfig, load_yaml(path))
    assert [s.name for s in config.curriculum.stages] == ["warm", "domain"]
    assert config.curriculum.stages[1] == Stage(name="domain", tokens=0.5, lr="linear", warmup=0.2, lr_scale=0.5)
    assert config.replay == "sample" and replay_file(config) is not None  # a stage replays: the bundled text
    assert from_dict(TrainConfig, to_dict(config)) == config


@pytest.mark.parametrize("curriculum, field", [
    ({"order": "stages"}, "curriculum.order"),
    ({"order": "stages", "stages": [{"tokens": 0.5}, {"tokens": 0.4}]}, "curriculum.stages"),
    ({"order": "shuffled", "stages": [{"tokens": 1.0}]}, "curriculum.stages"),
    ({"order": "backwards"}, None),
    ({"order": "stages", "stages": [{"tokens": 1.0, "lr": "step"}]}, None),
    ({"order": "stages", "stages": [{"tokens": 1.0, "replay_ratio": 1.0}]}, "curriculum.stages.replay_ratio"),
    ({"signal": "perplexity"}, None),
])
def test_contradictory_curricula_are_refused_naming_the_setting(curriculum, field):
    with pytest.raises(WorkbenchError) as err:
        from_dict(TrainConfig, {"curriculum": curriculum})
    assert err.value.field == field or field is None


def test_a_run_wide_replay_ratio_beside_stages_is_refused():
    with pytest.raises(WorkbenchError) as err:
        TrainConfig(replay_ratio=0.2, curriculum=CurriculumSettings(order="stages", stages=general_to_domain()))
    assert err.value.field == "replay_ratio"


def test_easy_to_hard_packs_the_easiest_documents_first(tiny_model, tmp_path):
    from workbench.documents.difficulty import compression_ratio
    from workbench.models.load import load_tokenizer
    from workbench.training.data import prepare_data

    repetitive = "the cat sat on the mat. " * 12
    varied = "Quantum chromodynamics predicts asymptotic freedom; gluon self-interaction complicates hadronization."
    middle = "A short note about cats and mats, written plainly for anybody. " * 2
    data = tmp_path / "docs.jsonl"
    data.write_text("\n".join(f'{{"text": "{t}"}}' for t in (varied, repetitive, middle)) + "\n")
    assert compression_ratio(repetitive) > compression_ratio(middle) > compression_ratio(varied)
    tokenizer = load_tokenizer(str(tiny_model))
    config = TrainConfig(model=str(tiny_model), data=str(data), block_size=16, micro_batch_size=1, max_tokens=1024,
                         curriculum=CurriculumSettings(order="easy_to_hard", signal="compression"))
    prepared = prepare_data(config, tokenizer)
    n = prepared.n_domain_blocks
    trained = "".join(tokenizer.decode(prepared.blocks.input_ids[int(b)]) for b in prepared.schedule[:n])
    assert trained.startswith("the cat sat on the mat.")
    assert trained.index("mat.") < trained.index("plainly") < trained.index("hadronization")
    assert prepared.schedule.tolist() == [i % n for i in range(prepared.schedule.size)]  # packed order, every epoch


def test_easy_to_hard_on_less_than_one_pass_says_it_trains_on_the_easiest_part_only(tiny_model, tmp_path):
    from workbench.models.load import load_tokenizer
    from workbench.training.curriculum import easy_to_hard_coverage
    from workbench.training.data import prepare_data

    assert easy_to_hard_coverage(40, 40, "compression") is None and easy_to_hard_coverage(40, 64, "mtld") is None
    said = easy_to_hard_coverage(400, 64, "compression")
    assert "64 of the corpus's 400 domain blocks (16.0%)" in said and "easiest 16.0% of it by compression" in said
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps({"text": f"document {i} " + "word " * 60}) + "\n" for i in range(20)))
    tokenizer = load_tokenizer(str(tiny_model))
    config = TrainConfig(model=str(tiny_model), data=str(data), block_size=16, micro_batch_size=1, max_tokens=64,
                         curriculum=CurriculumSettings(order="easy_to_hard", signal="compression"))
    with pytest.warns(UserWarning, match=r"fills 4 of the corpus's \d+ domain blocks"):
        prepared = prepare_data(config, tokenizer)
    assert prepared.n_domain_blocks > 4 and prepared.schedule.tolist() == [0, 1, 2, 3]


def _staged(tiny_model, tmp_path, name, **kw):
    stages = [Stage(name="mixed", tokens=0.3, replay_ratio=0.5, lr="cosine", min_lr_ratio=0.1),
              Stage(name="domain", tokens=0.4, replay_ratio=0.25, lr="cosine", warmup=0.2, min_lr_ratio=0.1),
              Stage(name="domain only", tokens=0.3, lr="linear", warmup=0.2, lr_scale=0.5)]
    return TrainConfig(model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.5,
                       eval_max_tokens=128, learning_rate=5e-3, out=str(tmp_path / name),
                       curriculum=CurriculumSettings(order="stages", stages=stages), **kw)


@pytest.mark.slow
def test_staged_run_records_its_plan_marks_stages_and_resumes_inside_a_stage_exactly(tiny_model, tmp_path, workspace):
    from safetensors.torch import load_file

    from workbench.stopping import Stopped
    from workbench.training.plots import training_curves
    from workbench.workflows import train

    reference = train(_staged(tiny_model, tmp_path, "reference"), workspace, progress=False)
    card = read_json(reference / "run.json")
    plan = card["curriculum"]["stages"]
    assert [(s["name"], s["from_step"], s["to_step"]) for s in plan] == [
        ("mixed", 0, 5), ("domain", 5, 11), ("domain only", 11, 16)]
    rows = [r for r in read_jsonl(reference / "metrics.jsonl") if r["type"] == "train"]
    assert [r["stage"] for r in rows] == ["mixed"] * 5 + ["domain"] * 6 + ["domain only"] * 5
    # each step's logged learning rate follows its stage's shape: re-warmed in stages 2 and 3, decayed again
    want = 5e-3 * lr_multipliers(_staged(tiny_model, tmp_path, "x").curriculum.stages, 16)
    assert np.allclose([r["lr"] for r in rows], want, rtol=1e-6)
    # the live curves mark where each stage begins
    figure = training_curves(rows)
    marks = [s for s in figure.layout.shapes if s.type == "line" and s.x0 == s.x1]
    assert sorted({m.x0 for m in marks}) == [5.5, 11.5]

    stopped_config = _staged(tiny_model, tmp_path, "stopped")

    def stop_in_stage_two(event):
        if event.stage == "training" and event.done == 7:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Stopped):
        train(stopped_config, workspace, progress=False, on_progress=stop_in_stage_two)
    stopped = tmp_path / "stopped"
    status = read_json(stopped / "status.json")
    assert status["state"] == "stopped" and 5 < status["step"] < 11  # inside stage 2 (steps 6-11)
    assert (stopped / "checkpoints" / f"checkpoint-{status['step']}").exists()
    train(None, workspace, resume=stopped, progress=False)
    resumed_rows = [r for r in read_jsonl(stopped / "metrics.jsonl") if r["type"] == "train"]
    assert [(r["step"], r["stage"], r["lr"]) for r in resumed_rows] == [(r["step"], r["stage"], r["lr"]) for r in rows]
    assert [r["loss"] for r in resumed_rows] == pytest.approx([r["loss"] for r in rows], rel=1e-6)
    a, b = load_file(str(reference / "adapter" / "adapter_model.safetensors")), \
        load_file(str(stopped / "adapter" / "adapter_model.safetensors"))
    import torch

    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_easy_to_hard_run_trains_and_records_its_order(tiny_model, tmp_path, workspace):
    from workbench.workflows import train, train_config

    config = train_config(model=str(tiny_model), preset="none", max_tokens=2048, out=str(tmp_path / "ordered"),
                          overrides=["block_size=64", "micro_batch_size=4", "eval_every=0", "learning_rate=5e-3",
                                     "curriculum.order=easy_to_hard", "curriculum.signal=readability"])
    run = train(config, workspace, progress=False)
    card = read_json(run / "run.json")
    assert card["curriculum"] == {"order": "easy_to_hard", "signal": "readability"}
    assert card["config"]["curriculum"]["order"] == "easy_to_hard" and card["state"] == "finished"


@pytest.mark.slow
def test_continuing_an_adapted_run_starts_from_its_adapter_and_rewarms(tiny_model, tmp_path, workspace):
    from workbench.workflows import train

    common = dict(model=str(tiny_model), max_tokens=1024, block_size=64, micro_batch_size=4, eval_every=1.0,
                  eval_max_tokens=128, learning_rate=5e-3)
    first = train(TrainConfig(**common, out=str(tmp_path / "first")), workspace, progress=False)
    stages = [Stage(name="re-warm", tokens=0.5, replay_ratio=0.25, lr="cosine", warmup=0.5),
              Stage(name="domain", tokens=0.5, lr="linear", warmup=0.5, lr_scale=0.5)]
    second = train(TrainConfig(**common, out=str(tmp_path / "second"), curriculum=CurriculumSettings(
        order="stages", stages=stages, continue_from=str(first))), workspace, progress=False)
    first_evals = [r for r in read_jsonl(first / "metrics.jsonl") if r["type"] == "eval"]
    second_evals = [r for r in read_jsonl(second / "metrics.jsonl") if r["type"] == "eval"]
    # the second run's starting point is where the first ended, not the base model
    assert second_evals[0]["domain_ppl"] == pytest.approx(first_evals[-1]["domain_ppl"], rel=1e-4)
    assert second_evals[0]["domain_ppl"] != pytest.approx(first_evals[0]["domain_ppl"], rel=1e-3)
    card = read_json(second / "run.json")
    assert card["curriculum"]["continue_from"] == str(first)
    import hashlib

    weights = first / "adapter" / "adapter_model.safetensors"
    assert card["inputs"]["continued_adapter"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    rows = [r for r in read_jsonl(second / "metrics.jsonl") if r["type"] == "train"]
    assert [r["lr"] for r in rows] == pytest.approx([2.5e-3, 5e-3, 1.25e-3, 2.5e-3])  # warm, peak; re-warm, peak
    with pytest.raises(WorkbenchError) as err:
        train(TrainConfig(**{**common, "lora": from_dict(type(TrainConfig().lora), {"r": 8})},
                          out=str(tmp_path / "third"), curriculum=CurriculumSettings(continue_from=str(first))),
              workspace, progress=False)
    assert err.value.field == "lora.r" and "trained with 16" in str(err.value)


def test_a_staged_run_cannot_grow_its_budget_on_resume():
    from workbench.training.config import apply_resume_changes

    staged = TrainConfig(max_tokens=4096, curriculum=CurriculumSettings(order="stages", stages=general_to_domain()))
    with pytest.raises(WorkbenchError) as err:
        apply_resume_changes(staged, {"max_tokens": 8192}, tokens_done=1024)
    assert err.value.field == "max_tokens" and "continue_from" in err.value.fix
    grown, diff = apply_resume_changes(TrainConfig(max_tokens=4096), {"max_tokens": 8192}, tokens_done=1024)
    assert grown.max_tokens == 8192 and diff == {"max_tokens": [4096, 8192]}  # other orders still can
