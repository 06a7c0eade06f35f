"""Run against run: two adapters of one base compared on the same documents, paired over them."""

import json

import numpy as np
import pytest

from workbench.evaluation.compare import compare
from workbench.evaluation.config import EvalConfig
from workbench.evaluation.stats import paired_delta

FAST = dict(window=64, n_bootstrap=200, generations=0, batch_size=4)


@pytest.fixture(scope="module")
def second_run(tiny_model, tmp_path_factory):
    """Another tiny run of the same base: a different seed and learning rate (about 5 s)."""
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    tmp = tmp_path_factory.mktemp("runs-b")
    config = TrainConfig(model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.0,
                         learning_rate=3e-3, seed=7, out=str(tmp / "run-b"))
    return train(config, Workspace.at(tmp / "workspace"), progress=False)


def _compare(tmp_path_factory, small_sets, name, **values):
    domain, general = small_sets
    out = tmp_path_factory.mktemp(name) / "comparison"
    compare(EvalConfig(domain_eval=str(domain), general_eval=str(general), out=str(out), **FAST, **values),
            progress=False)
    rows = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    return json.loads((out / "comparison.json").read_text()), rows


def test_run_against_run_is_the_difference_of_the_two_runs_scored_against_the_base(
        tiny_run, second_run, small_sets, tmp_path_factory):
    """Scored independently against the base, each run's per-document NLL; the run-against-run comparison's
    paired change must be exactly the change between those two, pooled over tokens."""
    _, rows_a = _compare(tmp_path_factory, small_sets, "a", adapter=str(tiny_run))
    _, rows_b = _compare(tmp_path_factory, small_sets, "b", adapter=str(second_run))
    pair, rows = _compare(tmp_path_factory, small_sets, "ab", adapter=str(tiny_run), against=str(second_run))
    assert pair["against"] == str(second_run) and pair["labels"]["adapted"] == tiny_run.name
    for name in ("domain", "general"):
        a = [r for r in rows_a if r["set"] == name]
        b = [r for r in rows_b if r["set"] == name]
        tokens = np.array([r["tokens"] for r in a], dtype=float)
        a_sums = np.array([r["adapted_nll"] for r in a]) * tokens
        b_sums = np.array([r["adapted_nll"] for r in b]) * tokens
        expected = paired_delta(b_sums, a_sums, tokens)
        assert pair["delta"][name]["nll_per_token"] == pytest.approx(expected["nll_per_token"], abs=1e-5)
        assert pair["delta"][name]["ci95"] == pytest.approx(expected["ci95"], abs=1e-5)
        mine = [r for r in rows if r["set"] == name]
        assert [r["base_nll"] for r in mine] == pytest.approx([r["adapted_nll"] for r in b], abs=1e-5)
    verdict = pair["verdict"]
    assert verdict["kind"] == "runs" and second_run.name in verdict["headline"] and tiny_run.name in verdict["headline"]
    assert "6 documents" in verdict["domain"]["sentence"]


def test_a_run_against_itself_differs_by_nothing(tiny_run, small_sets, tmp_path_factory):
    pair, _ = _compare(tmp_path_factory, small_sets, "aa", adapter=str(tiny_run), against=str(tiny_run))
    for name in ("domain", "general"):
        assert pair["delta"][name]["nll_per_token"] == pytest.approx(0.0, abs=1e-6)
        assert not pair["delta"][name]["significant"]
    assert pair["verdict"]["domain"]["status"] == "unclear"
    assert "Neither run is measurably better" in pair["verdict"]["next_steps"][0]
