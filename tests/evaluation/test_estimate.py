"""The time a comparison will take, said before it starts; the quick check sized to a budget; progress in tokens."""

import json

import pytest

from workbench.evaluation.estimate import (
    ComparisonEstimate,
    ScoringRates,
    SetPlan,
    duration,
    quick_documents,
    sample_indices,
    with_documents,
)


def _estimate(docs=(50, 50), tokens_per_doc=100, rate=100.0, load_s=0.0, generations=0, cached=False):
    sets = [SetPlan(name, n, n * tokens_per_doc, n, n * tokens_per_doc, cached, [tokens_per_doc] * n)
            for name, n in zip(("domain", "general"), docs)]
    return ComparisonEstimate(device="cpu", tokens_per_s=rate, seconds_per_new_token=0.5, load_s=load_s,
                              rate_source="earlier comparison", rate_note="measured by the comparison c",
                              sets=sets, generations=generations, max_new_tokens=10)


def test_the_time_is_tokens_to_score_over_the_rate_plus_generations_and_loading():
    e = _estimate(load_s=3.0, generations=2)
    # 2 sets x 50 documents x 100 tokens, scored by base and adapted; 2 prompts x 10 tokens x 2 models x 0.5 s
    assert e.scoring_tokens == 2 * 2 * 50 * 100
    assert e.seconds == pytest.approx(3.0 + 20_000 / 100 + 2 * 10 * 2 * 0.5)
    assert e.range_s == pytest.approx((0.85 * e.seconds, 1.25 * e.seconds))
    cached = _estimate(cached=True)
    assert cached.scoring_tokens == 2 * 50 * 100  # cached base scores cost nothing
    assert "cached (no cost)" in cached.sentence() and "4 min" in e.sentence()


def test_a_quick_check_takes_the_most_documents_that_fit_the_budget():
    e = _estimate()
    # n documents per set: 2 sets x 2 sides x n x 100 tokens at 100 tokens/s = 4 n seconds
    assert quick_documents(e, seed=1, budget_s=60) == 15
    assert with_documents(e, 15, seed=1).seconds == pytest.approx(60)
    assert quick_documents(e, seed=1, budget_s=10_000) is None  # everything fits: no sample
    assert quick_documents(e, seed=1, budget_s=1) == 5  # never fewer documents than an interval needs
    quick = with_documents(e, 15, seed=1)
    assert quick.quick and "A quick check will take about 60 s" in quick.sentence()
    assert "domain 15 of 50 documents" in quick.sentence()


def test_a_sample_is_seeded_and_kept_in_file_order():
    a = sample_indices(100, 10, seed=7)
    assert a == sorted(a) and len(set(a)) == 10 and a == sample_indices(100, 10, seed=7)
    assert a != sample_indices(100, 10, seed=8)
    assert sample_indices(5, 10, seed=7) == sample_indices(5, None, seed=7) == [0, 1, 2, 3, 4]


def test_durations_read_as_a_person_says_them():
    assert [duration(s) for s in (0.2, 45, 89, 200, 3600, 3900)] == ["1 s", "45 s", "89 s", "3 min", "1 h", "1 h 5 min"]


@pytest.fixture(scope="module")
def planned(tiny_run, small_sets, tmp_path_factory):
    """A comparison planned on a budget that forces a quick check, then run; its progress events kept."""
    from workbench import workflows
    from workbench.workspace import Workspace

    ws = Workspace.at(tmp_path_factory.mktemp("estimate") / "ws")
    config = workflows.eval_config(adapter=str(tiny_run), domain_eval=str(small_sets[0]),
                                   general_eval=str(small_sets[1]), window=64, generations=0, quant="none")
    full = workflows.compare_estimate(config, ws)
    planned, estimate = workflows.plan_comparison(config, ws, budget_s=1e-9)  # over any budget: the fewest documents
    events = []
    folder = workflows.compare(planned, ws, progress=False, on_progress=events.append, overwrite=True)
    return ws, config, full, planned, estimate, events, folder


def test_a_comparison_over_budget_becomes_a_quick_check_on_a_sample(planned, tiny_model):
    from transformers import AutoTokenizer

    ws, config, full, quick, estimate, events, folder = planned
    assert full.rate_source == "timed forward" and full.rate_note.startswith("measured now")
    assert [s.documents_total for s in full.sets] == [6, 6] and not full.quick
    assert quick.eval_docs == 5 and estimate.quick and quick.n_bootstrap == 200
    c = json.loads((folder / "comparison.json").read_text())
    assert c["delta"]["domain"]["documents"] == quick.eval_docs
    assert any(w.startswith("quick check: domain scored on") for w in c["warnings"])
    assert c["verdict"]["warnings"] == c["warnings"]
    # the tokens the estimate counted are the tokens scored, counted here with the tokenizer itself
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    texts = {name: [json.loads(line)["text"] for line in open(path)] for name, path in
             (("domain", config.domain_eval), ("general", config.general_eval))}
    keep = sample_indices(6, quick.eval_docs, quick.seed)
    counted = {name: sum(len(tokenizer(texts[name][i], add_special_tokens=False)["input_ids"]) for i in keep)
               for name in texts}
    assert {s.name: s.tokens for s in estimate.sets} == counted
    assert c["delta"]["domain"]["tokens"] == counted["domain"]
    # progress in tokens, both sides of both sets, to the end
    scoring = [e for e in events if e.stage == "scoring"]
    assert {e.unit for e in scoring} == {"tokens"} and scoring[-1].done == scoring[-1].total == 2 * sum(counted.values())
    assert [e.done for e in scoring] == sorted(e.done for e in scoring)


def test_the_next_estimate_reads_the_measured_rate_and_the_cached_base_scores(planned):
    from workbench import workflows

    ws, config, full, quick, estimate, events, folder = planned
    rates = json.loads(workflows.scoring_rates_path(ws).read_text())
    (entry,) = rates.values()
    timing = json.loads((folder / "comparison.json").read_text())["card"]["runtime"]["timing"]
    assert entry["tokens_per_s"] == pytest.approx(timing["scoring_tokens"] / timing["scoring_s"])
    assert entry["comparison"] == folder.name
    again = workflows.compare_estimate(quick, ws, measure=False)
    assert again.rate_source == "earlier comparison" and again.tokens_per_s == pytest.approx(entry["tokens_per_s"])
    assert all(s.base_cached for s in again.sets)  # the same sample scored by the same base: nothing to redo
    assert again.scoring_tokens == sum(s.tokens for s in again.sets)
    # the full sets were not scored by the base: not cached
    assert not any(s.base_cached for s in workflows.compare_estimate(config, ws, measure=False).sets)
    assert ScoringRates(ws.root / "missing.json").get("x") is None


def test_the_cli_says_how_long_before_it_compares(tiny_run, small_sets, tmp_path):
    from typer.testing import CliRunner

    from workbench.cli import build, evaluation

    app = build({"evaluate": evaluation.evaluate, "compare": evaluation.compare})
    result = CliRunner().invoke(app, ["compare", "--adapted", str(tiny_run), "--domain-eval", str(small_sets[0]),
                                      "--general-eval", str(small_sets[1]), "--window", "64", "--quant", "none",
                                      "--generations", "0", "--eval-docs", "4", "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "will take about" in line]
    assert len(said) == 1 and result.output.index(said[0]) < result.output.index("comparison:")  # said before it ran
    first = said[0]
    assert "A quick check will take about" in first and "on this machine (cpu" in first
    assert "domain 4 of 6 documents" in first
    assert "--full scores every document" in result.output
    assert "not that what it writes is true" in result.output  # the verdict's limits
    c = json.loads(next((tmp_path / "ws" / "comparisons").glob("compare-*/comparison.json")).read_text())
    assert c["delta"]["domain"]["documents"] == 4
