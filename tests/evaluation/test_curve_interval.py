"""Each in-training point says what it rests on (documents, tokens) and carries an interval; the final
comparison says how far the curve's last point was from it."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from workbench.evaluation.compare import compare
from workbench.evaluation.config import EvalConfig


def _t_interval_by_hand(before, after, units):
    """The pooled change's 95% interval written out: CR2-corrected clustered variance, Kish's df."""
    diff, units = np.asarray(after) - np.asarray(before), np.asarray(units, dtype=float)
    ratio = diff.sum() / units.sum()
    share = units / units.sum()
    se = math.sqrt(((diff - ratio * units) ** 2 / (1 - share)).sum()) / units.sum()
    half = stats.t.ppf(0.975, max(1 / (share**2).sum() - 1, 1)) * se
    return [100 * (math.exp(ratio - half) - 1), 100 * (math.exp(ratio + half) - 1)]


@pytest.fixture(scope="module")
def sampled_run(tiny_model, tmp_path_factory):
    """A tiny run whose in-training samples hold several documents (2,048 tokens a set; about 5 s)."""
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    tmp = tmp_path_factory.mktemp("sampled")
    config = TrainConfig(model=str(tiny_model), max_tokens=4096, block_size=64, micro_batch_size=4, eval_every=0.5,
                         eval_max_tokens=2048, eval_window=64, out=str(tmp / "run"))
    return train(config, Workspace.at(tmp / "workspace"), progress=False)


def test_in_training_points_carry_their_sample_and_interval(sampled_run):
    evals = [json.loads(line) for line in (sampled_run / "metrics.jsonl").read_text().splitlines()
             if json.loads(line).get("type") == "eval"]
    assert len(evals) >= 2
    base, later = evals[0], evals[1:]
    for row in evals:
        for name in ("domain", "general"):
            assert row[f"{name}_eval_documents"] == len(row[f"{name}_doc_nll"]) >= 3
            assert sum(row[f"{name}_doc_units"]) == row[f"{name}_eval_tokens"]
    for row in later:
        for name in ("domain", "general"):
            expected = _t_interval_by_hand(base[f"{name}_doc_nll"], row[f"{name}_doc_nll"], row[f"{name}_doc_units"])
            assert row[f"{name}_change_ci95_pct"] == pytest.approx(expected, abs=0.011)  # stored to 2 decimals
            low, high = row[f"{name}_change_ci95_pct"]
            assert low - 0.01 <= row[f"{name}_change_pct"] <= high + 0.01


def test_the_comparison_says_how_far_the_curves_last_point_was(sampled_run, tmp_path):
    out = tmp_path / "cmp"
    compare(EvalConfig(adapter=str(sampled_run), window=64, generations=0, n_bootstrap=200, out=str(out)), progress=False)
    curve = json.loads((out / "comparison.json").read_text())["training_curve"]
    domain = curve["last"]["domain"]
    assert domain["gap_pts"] == pytest.approx(domain["change_pct"] - domain["final_change_pct"], abs=0.01)
    assert f"{abs(domain['gap_pts']):.1f} points apart" in curve["sentence"]
    assert f"a sample of {domain['sample_documents']:,} documents" in curve["sentence"]
    assert curve["sentence"] in (out / "report.html").read_text().replace("&#x27;", "'")
