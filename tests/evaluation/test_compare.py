import json
import warnings

import pytest
from typer.testing import CliRunner

from workbench.errors import WorkbenchError
from workbench.evaluation.compare import EvaluationWarning, compare, evaluate
from workbench.evaluation.config import EvalConfig

FAST = dict(window=64, quant="none", n_bootstrap=200, generations=2, max_new_tokens=4, heatmap_documents=1)


@pytest.fixture(scope="module")
def comparison(tiny_run, small_sets, sample_dir, tmp_path_factory):
    domain, general = small_sets
    out = tmp_path_factory.mktemp("cmp") / "comparison"
    profile = out.parent / "profile.json"  # a corpus profile's domain terms follow the glossary in the term tables
    profile.write_text(json.dumps({"domain": {"top_terms": [{"term": "renal"}, {"term": "patient"}, {"term": "dose"}]}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare(EvalConfig(adapter=str(tiny_run), domain_eval=str(domain), general_eval=str(general),
                           probes=str(sample_dir / "probes.csv"), glossary=str(sample_dir / "glossary.csv"),
                           profile=str(profile),
                           checkpoints=True, temperature_scaling=True, out=str(out), **FAST), progress=False)
    return out, json.loads((out / "comparison.json").read_text()), caught


def test_comparison_holds_the_documented_keys_and_is_complete(comparison):
    out, c, _ = comparison
    assert c["complete"] is True and c["kind"] == "comparison" and c["quant"] == "none"
    for side in ("base", "adapted"):
        for name in ("domain", "general"):
            m = c[side][name]
            for key in ("token_ppl", "word_ppl", "bits_per_byte", "ece", "brier", "tokens", "token_ppl_ci95",
                        "ece_equal_mass", "mce", "rms_ce", "brier_top_label", "reliability"):
                assert m[key] is not None, (side, name, key)
            assert m["token_ppl_ci95"][0] <= m["token_ppl"] <= m["token_ppl_ci95"][1]
    assert c["base"]["domain"]["tokens"] == c["adapted"]["domain"]["tokens"]
    d = c["delta"]["domain"]
    assert d["ci95"][0] <= d["nll_per_token"] <= d["ci95"][1]
    assert {"card", "terms", "probes", "generations", "learning_curves", "leakage"} <= set(c)
    assert c["card"]["config"]["window"] == 64 and c["card"]["inputs"]["domain_eval"]["sha256"]
    for name in ("report.html", "documents.jsonl", "tokens.html", "generations.jsonl", "figures/perplexity.json",
                 "figures/reliability.json", "figures/documents.json", "figures/learning_curves.json", "figures/tokens_domain.json"):
        assert (out / name).exists(), name


def test_adapted_model_is_better_on_domain_text(comparison):
    _, c, _ = comparison
    # the tiny run trains on domain text: every statistic of the paired change should agree
    assert c["adapted"]["domain"]["token_ppl"] < c["base"]["domain"]["token_ppl"]
    assert c["delta"]["domain"]["nll_per_token"] < 0 and c["delta"]["domain"]["ci95"][1] < 0


def test_learning_curves_probes_terms_generations(comparison):
    _, c, _ = comparison
    steps = [p["step"] for p in c["learning_curves"]]
    assert steps[0] == 0 and steps == sorted(steps) and len(steps) >= 3
    assert c["learning_curves"][0]["domain_ppl"] == pytest.approx(c["base"]["domain"]["token_ppl"])
    assert c["learning_curves"][-1]["domain_ppl"] == pytest.approx(c["adapted"]["domain"]["token_ppl"], rel=1e-6)
    assert c["probes"]["summary"]["probes"] == 80
    row = c["probes"]["rows"][0]
    assert 0 < row["base_prob"] < 1 and row["base_rank"] >= 1 and row["expected"] == "VKORC1"
    assert c["terms"]["domain"]["glossary"], "glossary terms of the sample appear in the domain text"
    assert all(r["count"] >= 1 for r in c["terms"]["domain"]["glossary"])
    assert len(c["generations"]) == 2 and {"prompt", "base", "adapted"} <= set(c["generations"][0])
    ts = c["adapted"]["domain"]["temperature_scaling"]
    assert ts["fit_tokens"] > 0 and ts["eval_tokens"] > 0 and ts["ece_before"] >= 0


def test_verdict_repetition_and_extracts_are_in_comparison_json(comparison):
    out, c, _ = comparison
    old_keys = {"kind", "base_model", "adapter", "quant", "window", "stride", "sets", "base", "adapted", "delta", "terms",
                "probes", "generations", "learning_curves", "leakage", "warnings"}
    assert old_keys <= set(c) and {"verdict", "repetition"} <= set(c)
    v = c["verdict"]
    assert {"headline", "domain", "general", "calibration", "next_steps", "review_first"} <= set(v)
    assert v["domain"]["status"] == "better" and v["domain"]["significant"] is True  # the tiny run does learn its domain
    assert v["general"]["threshold_pct"] == 10.0 and v["calibration"]["status"] in {"better", "worse", "unchanged"}
    assert 1 <= len(v["next_steps"]) <= 2 and all(isinstance(s, str) and s for s in v["next_steps"])
    assert {"n", "threshold", "base_repetitive", "adapted_repetitive", "flagged"} <= set(c["repetition"])
    assert all(0.0 <= g["adapted_repetition"] <= 1.0 for g in c["generations"])
    terms = c["terms"]["domain"]
    assert {"glossary", "gained", "lost", "domain_terms"} <= set(terms)
    assert {r["term"] for r in terms["domain_terms"]} <= {"renal", "patient", "dose"} and terms["domain_terms"]
    assert all(r["kind"] == "domain" for r in terms["domain_terms"])
    assert all("example" in r and "ci95" in r for r in terms["gained"] + terms["lost"])
    rows = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    assert all(r["extract"] for r in rows)
    fig = json.loads((out / "figures" / "tokens_domain.json").read_text())
    assert fig["data"][0]["type"] == "bar" and "most improved" in fig["layout"]["title"]["text"]


def test_report_opens_with_the_verdict_and_never_shows_none(comparison):
    import re

    out, _, _ = comparison
    report = (out / "report.html").read_text()
    assert report.index("Verdict") < report.index("Headline numbers")
    assert "What these numbers mean" in report and "Next steps" in report
    body = report.split("</script>", 1)[1]  # after the inlined plotly.js
    visible = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    assert not re.search(r"\bNone\b(?! found)", visible), "a bare None is shown to the reader"
    assert "<select" in report and "tokendoc" in report and "more expected after adaptation" in report


def test_report_is_self_contained_with_plotly_inlined_once(comparison):
    out, _, _ = comparison
    html = (out / "report.html").read_text()
    assert html.count("<script type='text/javascript'>") == 1
    assert "<script src=" not in html and "Plotly.newPlot" in html  # nothing fetched when opened
    assert "Paired change" in html and "Glossary terms" in html and "VKORC1" in html


def test_documents_jsonl_pairs_each_document(comparison):
    out, c, _ = comparison
    rows = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    assert len(rows) == c["base"]["domain"]["documents"] + c["base"]["general"]["documents"]
    assert all(r["delta_nll"] == pytest.approx(r["adapted_nll"] - r["base_nll"]) for r in rows)


def test_evaluate_writes_the_same_fields_for_one_model(tiny_model, small_sets, tmp_path):
    out = evaluate(EvalConfig(model=str(tiny_model), data=str(small_sets[0]), window=64, n_bootstrap=200,
                              out=str(tmp_path / "ev")), progress=False)
    e = json.loads((out / "evaluation.json").read_text())
    assert e["complete"] and e["quant"] == "none"  # no adapter: full-precision weights by default
    for key in ("token_ppl", "word_ppl", "bits_per_byte", "ece", "brier", "tokens"):
        assert e["metrics"][key] is not None
    assert (out / "report.html").exists()


# ---- bad input ---------------------------------------------------------------------------


def test_adapter_on_a_different_base_is_refused(tiny_run, small_sets, tmp_path):
    from workbench.models.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other", hidden_size=32, seed=1)
    with pytest.raises(WorkbenchError, match="different weights|does not fit"):
        compare(EvalConfig(model=str(other), adapter=str(tiny_run), domain_eval=str(small_sets[0]),
                           general_eval=str(small_sets[1]), out=str(tmp_path / "x"), **FAST), progress=False)
    assert not (tmp_path / "x").exists()


def test_empty_and_short_documents(tiny_model, tmp_path, make_docs):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(WorkbenchError, match="holds no documents"):
        evaluate(EvalConfig(model=str(tiny_model), data=str(empty), out=str(tmp_path / "a")), progress=False)
    only_short = make_docs(tmp_path / "short.jsonl", ["a", "b"])
    with pytest.raises(WorkbenchError, match="no document of two tokens"):
        evaluate(EvalConfig(model=str(tiny_model), data=str(only_short), out=str(tmp_path / "b")), progress=False)
    mixed = make_docs(tmp_path / "mixed.jsonl", ["x", "Warfarin is a vitamin K antagonist with a narrow window."])
    with pytest.warns(EvaluationWarning, match="skipped 1 document.*doc-0"):
        out = evaluate(EvalConfig(model=str(tiny_model), data=str(mixed), window=32, out=str(tmp_path / "c")), progress=False)
    e = json.loads((out / "evaluation.json").read_text())
    assert e["metrics"]["documents"] == 1 and any("unreliable" in w for w in e["warnings"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_eval_text_taken_from_training_text_warns_of_leakage(tiny_run, sample_dir, small_sets, tmp_path, make_docs):
    # near-copies of training documents (two words changed): leakage by the corpus stage's definition
    train_docs = [json.loads(line)["text"] for line in (sample_dir / "domain_corpus.jsonl").read_text().splitlines()[:3]]
    leaked = make_docs(tmp_path / "leaked.jsonl", [t.replace(" the ", " a ", 2) for t in train_docs])
    with pytest.warns(EvaluationWarning, match="leakage.*doc-0 ~ .*Jaccard.*not the run's own eval split"):
        out = evaluate(EvalConfig(adapter=str(tiny_run), data=str(leaked), window=64,
                                  quant="none", n_bootstrap=200, out=str(tmp_path / "leak")), progress=False)
    e = json.loads((out / "evaluation.json").read_text())
    assert len(e["leakage"]["flagged"]) == 3 and e["leakage"]["max_overlap"] > 0.9
    assert e["leakage"]["method"] == "minhash_jaccard" and len(e["leakage"]["pairs"]) == 3
    assert e["leakage"]["own_split"] is False
    clean = evaluate(EvalConfig(adapter=str(tiny_run), data=str(small_sets[1]), window=64, quant="none",
                                n_bootstrap=200, out=str(tmp_path / "clean")), progress=False)
    assert json.loads((clean / "evaluation.json").read_text())["leakage"]["flagged"] == []


def test_crash_halfway_leaves_no_comparison(tiny_run, small_sets, sample_dir, tmp_path, monkeypatch):
    import workbench.evaluation.probes as probes

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash while scoring probes")

    monkeypatch.setattr(probes, "score_probes", boom)
    out = tmp_path / "half"
    with pytest.raises(RuntimeError, match="simulated crash"):
        compare(EvalConfig(adapter=str(tiny_run), domain_eval=str(small_sets[0]), general_eval=str(small_sets[1]),
                           probes=str(sample_dir / "probes.csv"), out=str(out), **FAST),
                progress=False)
    assert not out.exists()
    assert not list(tmp_path.glob("**/comparison.json"))


# ---- CLI ---------------------------------------------------------------------------------


def test_cli_commands(tiny_model, tiny_run, small_sets, tmp_path):
    from workbench.cli import build, evaluation

    app = build({"evaluate": evaluation.evaluate, "compare": evaluation.compare})
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--model", str(tiny_model), "--data", str(small_sets[0]), "--window", "64",
                                 "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    made = list((tmp_path / "ws" / "comparisons").glob("eval-*/evaluation.json"))
    assert len(made) == 1
    result = runner.invoke(app, ["compare", "--adapted", str(tiny_run), "--domain-eval", str(small_sets[0]),
                                 "--general-eval", str(small_sets[1]), "--window", "64", "--stride", "48", "--quant", "none",
                                 "--generations", "0", "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "domain" in result.output and "comparison:" in result.output
    c = json.loads(next((tmp_path / "ws" / "comparisons").glob("compare-*/comparison.json")).read_text())
    assert c["stride"] == 48 and c["generations"] == []
    bad = runner.invoke(app, ["compare", "--adapted", str(tmp_path), "--workspace", str(tmp_path / "ws")])
    assert bad.exit_code != 0 and isinstance(bad.exception, WorkbenchError) and "no LoRA adapter" in str(bad.exception)


def test_training_curve_sits_beside_the_final_comparison(comparison, tiny_run):
    """The run's in-training evaluations come with the comparison: figure, report sentence, and the
    last point next to the final change. The tiny run evaluated on the bundled samples, this comparison
    on small_sets, so the report must say the two measured different files."""
    out, c, _ = comparison
    curve = c["training_curve"]
    metrics = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    evals = [m for m in metrics if m["type"] == "eval"]
    assert [p["step"] for p in curve["points"]] == [m["step"] for m in evals]
    assert curve["last"]["domain"]["change_pct"] == evals[-1]["domain_change_pct"]
    assert curve["last"]["domain"]["final_change_pct"] == c["verdict"]["domain"]["change_pct"]
    assert curve["same_sets"] is False
    assert (out / "figures" / "training_curve.json").exists()
    report = (out / "report.html").read_text()
    assert "last point (step" in report and "points apart" in report and "other held-out files" in report


def test_compare_defaults_to_the_sets_the_run_evaluated_on(tiny_run, tmp_path, make_docs):
    """Training and compare resolve a run's held-out sets in one place: a run given its own domain
    and general files is compared on those (compare used to take the bundled general sample)."""
    from workbench.documents.texts import resolve_eval_sets
    from workbench.evaluation.sets import default_sets
    from workbench.samples import sample_path

    domain = make_docs(tmp_path / "d.jsonl", ["renal dose"] * 3)
    general = make_docs(tmp_path / "g.jsonl", ["the weather"] * 3)
    card = {"config": {"data": str(sample_path("domain_corpus.jsonl")), "domain_eval": str(domain),
                       "general_eval": str(general)}}
    assert default_sets(EvalConfig(adapter=str(tiny_run)), card) == (str(domain), str(general))
    assert default_sets(EvalConfig(adapter=str(tiny_run), general_eval="x.jsonl"), card) == (str(domain), "x.jsonl")
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    make_docs(snapshot / "train.jsonl", ["a"])
    make_docs(snapshot / "eval.jsonl", ["b"])
    assert resolve_eval_sets(snapshot) == (str(snapshot / "eval.jsonl"), str(sample_path("general_eval.jsonl")))
    assert resolve_eval_sets(snapshot, str(domain)) == (str(domain), str(sample_path("general_eval.jsonl")))
