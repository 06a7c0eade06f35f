"""The figure builders of the surface layer: pure functions from plain data to plotly figures."""

from workbench.corpus.plots import removal_funnel
from workbench.training.plots import memory_breakdown, perplexity_curves, training_curves

ROWS = [
    {"type": "eval", "step": 0, "tokens": 0, "domain_ppl": 40.0, "general_ppl": 30.0},
    {"type": "train", "step": 1, "tokens": 256, "loss": 3.5, "lr": 1e-3, "tokens_per_s": 900.0},
    {"type": "train", "step": 2, "tokens": 512, "loss": 3.1, "lr": 5e-4, "tokens_per_s": 950.0},
    {"type": "eval", "step": 2, "tokens": 512, "domain_ppl": 30.0, "general_ppl": 34.5},
]


def test_training_curves_by_step_or_tokens_with_log_scale():
    fig = training_curves(ROWS, x="tokens", log_y=True)
    loss, lr, tps = fig.data
    assert list(loss.x) == [256, 512] and list(loss.y) == [3.5, 3.1] and list(lr.y) == [1e-3, 5e-4]
    assert list(tps.y) == [900.0, 950.0] and fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis3.title.text == "tokens seen"


def test_perplexity_curves_show_the_change_over_the_base_and_the_threshold():
    fig = perplexity_curves(ROWS, forgetting_threshold_pct=10)
    by_name = {trace.name: trace for trace in fig.data}
    assert list(by_name["domain ppl"].y) == [40.0, 30.0]
    assert list(by_name["domain change"].y) == [0.0, -25.0]
    assert [round(v, 6) for v in by_name["general change"].y] == [0.0, 15.0]
    assert fig.layout.shapes[0].y0 == 10


def test_memory_breakdown_of_a_plan(tiny_model):
    from workbench.training.plan import PlanConfig, estimate

    plan = estimate(tiny_model, PlanConfig(gpu="L4", max_tokens=10_000))
    fig = memory_breakdown(plan)
    total = sum(trace.x[0] for trace in fig.data)
    assert abs(total - plan.peak_gib) < 1e-6 or total <= plan.peak_gib + 1e-6
    assert fig.layout.shapes[0].x0 == plan.device_memory_gib
    assert memory_breakdown(plan.to_dict()).to_json() == fig.to_json()  # a saved plan draws the same


def test_removal_funnel_follows_curation_order():
    manifest = {"counts": {"input_documents": 100, "removed": {"too_short": 10, "exact_duplicate": 5, "leakage": 1},
                           "train": 76, "eval": 8}}
    (funnel,) = removal_funnel(manifest).data
    assert list(funnel.x) == [100, 90, 85, 84, 76, 8]
    assert funnel.y[1].startswith("after too short")


def test_curve_vs_final_draws_the_curve_and_the_final_interval():
    from workbench.evaluation.plots import curve_vs_final

    curve = [{"step": 0, "tokens": 0, "domain_change_pct": 0.0, "general_change_pct": 0.0},
             {"step": 5, "tokens": 1000, "domain_change_pct": -10.0, "general_change_pct": -4.0, "domain_eval_tokens": 512}]
    verdict = {"domain": {"change_pct": -12.0, "ci95_pct": [-14.0, -10.5]}, "general": {"change_pct": -5.0}}
    fig = curve_vs_final(curve, verdict)
    names = [trace.name for trace in fig.data]
    assert names[0] == "domain: in training (sample of 512 tokens)" and len(fig.data) == 4
    final = fig.data[1]
    assert list(final.x) == [1000] and list(final.y) == [-12.0]
    assert list(final.error_y.array) == [1.5] and list(final.error_y.arrayminus) == [2.0]
    assert fig.data[3].error_y.array is None  # no interval given: no error bar drawn
    assert list(curve_vs_final(curve, verdict, x="step").data[0].x) == [0, 5]
