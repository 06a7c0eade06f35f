"""A regression set as a plain JSONL file: read and checked by evaluation, scored by compare without a label store."""

import json

import pytest

from workbench.errors import WorkbenchError
from workbench.evaluation.config import EvalConfig
from workbench.evaluation.regression import read_regression_set, regression_html

FAST = dict(window=64, quant="none", n_bootstrap=200, generations=0, heatmap_documents=1)


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_reading_a_regression_set_fills_what_a_hand_written_file_leaves_out(tmp_path):
    path = _write(tmp_path / "set.jsonl", [
        {"type": "header", "kind": "workbench-regression-set", "format": 1, "source": "sqlite:///labels.db"},
        {"prompt": "The anticoagulant", "erroneous": "warfarin is an antibiotic.", "corrected": "warfarin is a vitamin K antagonist.",
         "uid": "u1", "categories": ["factual error"], "severity": "major"},
        {"erroneous": "same", "corrected": "same"},  # nothing to score: left out
        {"erroneous": "teh dose", "corrected": "the dose", "categories": "spelling"},
    ])
    rs = read_regression_set(path)
    assert rs.source == "sqlite:///labels.db" and len(rs.cases) == 2
    first, second = rs.cases
    assert first["uid"] == "u1" and first["prompt"] == "The anticoagulant" and first["item_id"] is None
    assert second["prompt"] == "" and second["categories"] == ["spelling"] and second["uid"] == "set.jsonl:4"
    assert read_regression_set(_write(tmp_path / "plain.jsonl", [{"erroneous": "a", "corrected": "b"}])).source == \
        str(tmp_path / "plain.jsonl")  # without a header the file is the source


@pytest.mark.parametrize("record, field", [({"corrected": "x"}, "erroneous"), ({"erroneous": "x", "corrected": 3}, "corrected"),
                                           ({"erroneous": "x", "corrected": "y", "prompt": ["p"]}, "prompt")])
def test_a_malformed_case_names_the_line_and_field(tmp_path, record, field):
    path = _write(tmp_path / "bad.jsonl", [{"erroneous": "a", "corrected": "b"}, record])
    with pytest.raises(WorkbenchError, match=f"line 2: field '{field}'"):
        read_regression_set(path)
    with pytest.raises(WorkbenchError, match="does not exist"):
        read_regression_set(tmp_path / "missing.jsonl")


def test_the_report_section_renders_from_comparison_json_data_alone():
    section = regression_html({"source": "cases.jsonl", "cases": 1, "adapted": {"still_wrong": 1, "fixed": 0, "mean_margin": -0.5},
                               "rows": [{"change": "[a → <b>]", "categories": [], "severity": None, "adapted_margin": -0.5,
                                         "adapted_still_wrong": True}]})
    assert "Regression set: labelled errors" in section and "adapted: still makes 1 of 1" in section
    assert "&lt;b&gt;" in section and "base:" not in section


def test_compare_scores_a_regression_set_file_without_a_label_store(tiny_run, small_sets, tmp_path):
    from workbench.evaluation.compare import compare

    domain, general = small_sets
    cases = _write(tmp_path / "cases.jsonl", [
        {"prompt": "The patient received", "erroneous": "a dose of banana.", "corrected": "a dose of warfarin.",
         "uid": "c1", "categories": ["terminology"], "severity": "major"},
        {"prompt": "", "erroneous": "Renal function was were checked.", "corrected": "Renal function was checked."},
    ])
    out = tmp_path / "cmp"
    compare(EvalConfig(adapter=str(tiny_run), domain_eval=str(domain), general_eval=str(general), out=str(out),
                       regression_set=str(cases), **FAST), progress=False)
    c = json.loads((out / "comparison.json").read_text())
    r = c["regression"]
    assert r["source"] == str(cases) and r["cases"] == 2 and [row["uid"] for row in r["rows"]] == ["c1", "cases.jsonl:2"]
    for row in r["rows"]:
        assert {"uid", "item_id", "annotator", "categories", "severity", "model", "doc_id", "change"} <= set(row)
        for side in ("base", "adapted"):
            assert row[f"{side}_margin"] == pytest.approx(row[f"{side}_corrected_logprob"] - row[f"{side}_erroneous_logprob"])
            assert row[f"{side}_still_wrong"] == (row[f"{side}_margin"] <= 0)
    assert r["rows"][0]["change"].startswith("a dose of [banana → warfarin]")
    for side in ("base", "adapted"):
        assert r[side]["still_wrong"] + r[side]["fixed"] == 2
    assert c["verdict"]["regression"] is not None
    assert c["card"]["inputs"]["regression_set"]["sha256"]
    assert "Regression set: labelled errors" in (out / "report.html").read_text()


def test_compare_refuses_a_label_store_it_cannot_read_itself(tiny_run, small_sets, tmp_path):
    from workbench.evaluation.compare import compare

    domain, general = small_sets
    with pytest.raises(WorkbenchError, match="regression-set file"):
        compare(EvalConfig(adapter=str(tiny_run), domain_eval=str(domain), general_eval=str(general),
                           out=str(tmp_path / "cmp"), labels=str(tmp_path / "labels.db"), **FAST), progress=False)
    assert not (tmp_path / "cmp").exists()
