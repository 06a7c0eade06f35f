"""The plan takes measured throughput where this project has it, and says 'estimate, not measured' otherwise."""

import json
from pathlib import Path

import pytest

from workbench.training.measured import MEASURED
from workbench.training.plan import PlanConfig, estimate

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@pytest.mark.parametrize("row", MEASURED, ids=lambda r: f"{r.gpu}-{r.model}")
def test_the_measured_table_is_what_the_benchmark_result_files_hold(row):
    """Tokens/s from the result file; the utilisation recomputed from them with the plan's FLOPs per token."""
    result = json.loads((RESULTS / f"train-{row.model}-documents.json").read_text())
    assert result["args"]["block_size"] == row.block_size and result["args"]["micro_batch"] == row.micro_batch_size
    assert result["args"]["quant"] == row.quant and row.gpu in result["machine"]
    assert row.tokens_per_s == pytest.approx(result["ours"]["useful_tokens_per_s"], abs=0.1)
    plan = estimate(row.model, PlanConfig(gpu=row.gpu, block_size=row.block_size, micro_batch_size=row.micro_batch_size,
                                          grad_accum=1, max_tokens=10**6))
    assert row.mfu == pytest.approx(row.tokens_per_s * plan.flops_per_token_executed / 989e12, abs=1e-4)


def test_a_measured_setup_is_planned_at_its_measured_throughput():
    plan = estimate("Llama-3.1-8B", PlanConfig(gpu="H100", block_size=1024, micro_batch_size=4, max_tokens=10**6))
    assert plan.measured and plan.throughput_basis.startswith("measured:")
    assert plan.tokens_per_s == pytest.approx(3206.3, rel=1e-3)
    assert plan.seconds == pytest.approx(plan.tokens / 3206.3, rel=1e-3)


def test_other_setups_are_estimates_from_the_nearest_measured_model_and_say_so():
    # SmolLM2-135M is nearest, in log size, to the measured Qwen2.5-0.5B (2.3%), Mistral-7B to Llama-3.1-8B
    plan = estimate("SmolLM2-135M", PlanConfig(gpu="H100", block_size=2048, micro_batch_size=1, max_tokens=10**6))
    assert not plan.measured and plan.throughput_basis.startswith("estimate, not measured")
    assert plan.mfu == pytest.approx(0.0227) and "Qwen2.5-0.5B" in plan.throughput_basis
    mistral = estimate("Mistral-7B-v0.3", PlanConfig(gpu="H100", block_size=1024, micro_batch_size=4, max_tokens=10**6))
    assert mistral.mfu == pytest.approx(0.1506) and not mistral.measured
    other = estimate("Llama-3.1-8B", PlanConfig(gpu="A100-80GB", block_size=1024, micro_batch_size=4, max_tokens=10**6))
    assert not other.measured and "for lack of A100-80GB measurements" in other.throughput_basis
    assert other.mfu == pytest.approx(0.1506)


def test_a_utilisation_the_user_sets_wins_and_is_named_as_theirs():
    plan = estimate("Llama-3.1-8B", PlanConfig(gpu="H100", block_size=1024, micro_batch_size=4, mfu=0.3,
                                               max_tokens=10**6))
    assert plan.mfu == 0.3 and not plan.measured and "as set" in plan.throughput_basis
