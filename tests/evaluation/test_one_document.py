"""A one-document evaluation set has no bootstrap interval: compare says so and prints the rest."""

from __future__ import annotations

import json

import pytest

from workbench.cli import main


def test_compare_with_a_one_document_general_set(tiny_run, small_sets, sample_dir, tmp_path, capsys):
    general = tmp_path / "general.txt"  # one paragraph on one line: one document under any text unit
    general.write_text(json.loads((sample_dir / "general_eval.jsonl").read_text().splitlines()[0])["text"][:600])
    out = tmp_path / "cmp"
    try:
        main(["compare", "--adapted", str(tiny_run), "--domain-eval", str(small_sets[0]), "--general-eval",
              str(general), "--window", "64", "--quant", "none", "--generations", "0", "--out", str(out)])
    except SystemExit as exc:  # a clean exit is fine; a crash would raise something else
        assert exc.code in (0, None), capsys.readouterr().err
    printed = capsys.readouterr().out
    general_line = next(line for line in printed.splitlines() if line.startswith("general"))
    assert "none (1 document; needs 2 or more)" in general_line
    domain_line = next(line for line in printed.splitlines() if line.startswith("domain"))
    assert "[" in domain_line and "%]" in domain_line  # the six-document set keeps its interval
    assert "one document, so there is no bootstrap interval" in printed  # the warning, printed and recorded
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["delta"]["general"]["ppl_ratio_ci95"] == [None, None]
    assert any("no bootstrap interval" in w for w in comparison["warnings"])
    assert "none (one document: no bootstrap interval)" in (out / "report.html").read_text()


@pytest.mark.parametrize("values, shown", [(None, "–"), ([None, None], "none (one document: no bootstrap interval)"),
                                           ([1.0, 2.5], "[1.000, 2.500]")])
def test_report_interval_cell(values, shown):
    from workbench.evaluation.report import _ci

    assert _ci(values) == shown
