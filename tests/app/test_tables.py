"""Workspace listings in words: named columns, numbers with units, no time left on an ended run."""

from __future__ import annotations

from pathlib import Path

from workbench.appsupport import summary_rows
from workbench.workspace import ComparisonSummary, RunSummary


def test_a_comparison_reads_as_a_change_with_its_interval():
    summary = ComparisonSummary(name="compare-law", kind="comparison", state="finished",
                                created="2026-12-07T22:31:28+00:00", folder=Path("x"), complete=True,
                                domain_ppl_change_pct=-23.9939, domain_ppl_change_ci95=[-26.12, -21.8],
                                general_ppl_change_pct=1.04, general_ppl_change_ci95=None)
    assert summary_rows([summary]) == [{
        "Name": "compare-law", "State": "finished", "Created": "2026-12-07 22:31",
        "Domain perplexity change": "-24.0% (95% CI -26.1% to -21.8%)", "General perplexity change": "+1.0%"}]


def test_only_a_running_run_has_time_left():
    def run(state, eta):
        return RunSummary(name="r", kind="run", state=state, created=None, folder=Path("x"), complete=False,
                          step=3, total_steps=8, tokens_seen=6144, tokens_per_s=1234.56, eta_s=eta, best_domain_ppl=None)

    running, stopped = summary_rows([run("running", 200.0), run("stopped", 200.0)])
    assert running["Time left"] == "about 3 min 20 s" and stopped["Time left"] == "–"
    assert running["Progress"] == "3 / 8 steps" and running["Speed"] == "1,235 tokens/s"
    assert running["Tokens seen"] == "6,144" and running["Best domain perplexity"] == "–"
    assert "Error" not in running
