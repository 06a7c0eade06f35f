"""Synthetic text in training: its share of the training slots is its natural share, capped, spread evenly, and
the run card records it with the audit's verdict; without synthetic text the schedule is the one it always was."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.corpus.config import CurateConfig, SyntheticAuditConfig
from workbench.errors import WorkbenchError
from workbench.io import read_json
from workbench.training.config import SyntheticMix, TrainConfig, synthetic_file
from workbench.training.data import prepare_data, synthetic_share
from workbench.training.mixing import block_schedule


def _schedule_without_synthetic(n_domain, n_slots, seed, n_replay=0, replay_ratio=0.0):
    """The schedule as it was before synthetic text existed (domain and replay only), written out again."""
    rng = np.random.default_rng(seed)
    slots = np.arange(n_slots)
    is_replay = (np.floor((slots + 1) * replay_ratio) > np.floor(slots * replay_ratio)) if n_replay and replay_ratio \
        else np.zeros(n_slots, dtype=bool)

    def cycled(n, count):
        if count <= 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([rng.permutation(n) for _ in range(-(-count // n))])[:count]

    out = np.empty(n_slots, dtype=np.int64)
    out[~is_replay] = cycled(n_domain, int((~is_replay).sum()))
    if is_replay.any():
        out[is_replay] = cycled(n_replay, int(is_replay.sum())) + n_domain
    return out


@pytest.mark.parametrize("n_replay, ratio", [(0, 0.0), (20, 0.25), (7, 0.1)])
def test_without_synthetic_text_the_schedule_is_unchanged(n_replay, ratio):
    assert (block_schedule(50, 200, 3, n_replay, ratio) == _schedule_without_synthetic(50, 200, 3, n_replay, ratio)).all()
    assert (block_schedule(50, 200, 3, n_replay, ratio, n_synthetic=0, synthetic_ratio=0.2)
            == _schedule_without_synthetic(50, 200, 3, n_replay, ratio)).all()


def test_synthetic_blocks_take_their_share_spread_evenly():
    schedule = block_schedule(40, 200, seed=0, n_synthetic=10, synthetic_ratio=0.15)
    synthetic = schedule >= 40
    assert synthetic.sum() == 30  # floor(200 * 0.15)
    assert all(synthetic[k:k + 20].sum() == 3 for k in range(0, 200, 20))
    assert set(schedule[synthetic]) == set(range(40, 50))  # every synthetic block, cycled
    # with replay: replay keeps its slots, synthetic takes 15% of all slots from the rest
    mixed = block_schedule(40, 200, seed=0, n_replay=20, replay_ratio=0.25, n_synthetic=10, synthetic_ratio=0.15)
    assert ((mixed >= 40) & (mixed < 60)).sum() == 50 and (mixed >= 60).sum() == 30
    with pytest.raises(ValueError):
        block_schedule(40, 200, seed=0, n_replay=20, replay_ratio=0.5, n_synthetic=10, synthetic_ratio=0.5)


def test_the_share_is_the_natural_one_capped():
    assert synthetic_share(100, 900, 0.2) == pytest.approx(0.1)
    assert synthetic_share(500, 500, 0.2) == 0.2
    assert synthetic_share(0, 900, 0.2) == 0.0
    with pytest.raises(WorkbenchError) as bad:
        SyntheticMix(max_share=1.0)
    assert bad.value.field == "synthetic.max_share"


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_model):
    from workbench.models.load import load_tokenizer

    return load_tokenizer(str(tiny_model))


@pytest.fixture
def mixed_snapshot(tmp_path, sample_dir):
    """A snapshot folder as curate writes it, with 15 synthetic documents beside 40 real ones."""
    folder = tmp_path / "snapshot"
    folder.mkdir()
    real = [json.loads(line) for line in (sample_dir / "domain_corpus.jsonl").read_text(encoding="utf-8").splitlines()][:40]
    synthetic = [json.loads(line) for line in (sample_dir / "synthetic_cases.jsonl").read_text(encoding="utf-8").splitlines()][:15]
    (folder / "train.jsonl").write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in real))
    (folder / "synthetic.jsonl").write_text(
        "".join(json.dumps({"id": d["id"], "text": d["text"], "source": "templates", "synthetic": True}) + "\n" for d in synthetic))
    return folder, real, synthetic


def test_prepared_data_mixes_the_snapshot_synthetic_text_at_the_capped_share(mixed_snapshot, tiny_tokenizer):
    folder, real, synthetic = mixed_snapshot

    def tokens(docs):  # each document and its EOS, as packing counts them
        return sum(len(tiny_tokenizer(d["text"], add_special_tokens=False)["input_ids"]) + 1 for d in docs)

    natural = tokens(synthetic) / (tokens(synthetic) + tokens(real))
    config = TrainConfig(data=str(folder), max_tokens=64 * 400, block_size=64)
    data = prepare_data(config, tiny_tokenizer)
    assert data.synthetic_tokens == tokens(synthetic) and data.domain_tokens == tokens(real)
    assert natural < 0.2 and data.synthetic_ratio == pytest.approx(natural)
    assert data.synthetic_share == pytest.approx(np.floor(400 * natural) / 400)

    capped = prepare_data(TrainConfig(data=str(folder), max_tokens=64 * 400, block_size=64,
                                      synthetic=SyntheticMix(max_share=0.05)), tiny_tokenizer)
    assert capped.synthetic_ratio == 0.05 and capped.synthetic_share == pytest.approx(20 / 400)
    off = TrainConfig(data=str(folder), synthetic=SyntheticMix(max_share=0.0))
    assert synthetic_file(off) is None and prepare_data(off, tiny_tokenizer).n_synthetic_blocks == 0


@pytest.mark.slow
def test_a_run_on_a_mixed_snapshot_records_the_share_and_the_audit(tmp_path, tiny_model, sample_dir, workspace):
    from workbench.workflows import audit_synthetic, curate, train

    real = curate(CurateConfig(paths=[str(sample_dir / "domain_corpus.jsonl")],
                               eval_paths=[str(sample_dir / "domain_eval.jsonl")]), out=tmp_path / "real", progress=False)
    audit = audit_synthetic(SyntheticAuditConfig(paths=[str(sample_dir / "synthetic_cases.jsonl")], real=str(real),
                                                 model=str(tiny_model), out=str(tmp_path / "audit")))
    snapshot = curate(CurateConfig(paths=[str(sample_dir / "domain_corpus.jsonl")],
                                   eval_paths=[str(sample_dir / "domain_eval.jsonl")], synthetic=str(audit)),
                      out=tmp_path / "mixed", progress=False)
    run = train(TrainConfig(model=str(tiny_model), data=str(snapshot), max_tokens=2048, block_size=64, micro_batch_size=4,
                            eval_every=0, learning_rate=5e-3, out=str(tmp_path / "run"),
                            synthetic=SyntheticMix(max_share=0.1)), workspace, progress=False)
    card = read_json(run / "run.json")
    mixed = card["synthetic"]
    assert mixed["max_share"] == 0.1 and mixed["share"] == pytest.approx(3 / 32)  # floor(32 slots * 0.1) of 32
    assert mixed["passed"] is True and mixed["forced"] is False and mixed["documents"] == 60
    assert mixed["audit"] == str(audit) and card["data"]["synthetic_blocks"] > 0
    assert card["inputs"]["synthetic"]["path"].endswith("synthetic.jsonl") and card["inputs"]["synthetic"]["sha256"]
