"""The app's guardrails: the Compare page's Guardrails tab and the Overview page's Monitor section."""

from __future__ import annotations

import json

from app_helpers import no_exceptions, page_test


def test_compare_guardrails_tab_shows_the_screen_beside_the_generations(made_settings):
    at = page_test("compare")
    at.session_state["compare_tab"] = "Guardrails"
    at.run()
    no_exceptions(at)
    labels = [m.label for m in at.metric]
    assert "base: outputs flagged" in labels and "adapted: outputs flagged" in labels
    assert any("not a safety guarantee" in c.value for c in at.caption)
    assert any("No bias probes" in c.value for c in at.caption)


def test_overview_monitor_launches_a_job_and_lists_its_verdict(made_settings, tmp_path):
    from workbench import jobs

    batch = made_settings.workspace_root / "uploads" / "batch.jsonl"
    batch.parent.mkdir(parents=True, exist_ok=True)
    with open(batch, "w", encoding="utf-8") as handle:
        for i in range(5):
            handle.write(json.dumps({"id": f"b{i}", "text": f"Zorvaximab {i} and quellitide are new this year.",
                                     "date": f"2025-0{i % 2 + 1}-01"}) + "\n")
    at = page_test("overview")
    no_exceptions(at)
    assert any("No monitor yet" in c.value for c in at.caption)
    at.selectbox(key="monitor_batch").set_value(str(batch))
    at.text_input(key="monitor_time_field").set_value("date")
    at.button(key="monitor_launch").click()
    at.run()
    no_exceptions(at)
    folders = list((made_settings.workspace_root / "monitors").iterdir())
    assert len(folders) == 1
    job = jobs.attach(folders[0])
    assert job.kind == "monitor"
    status = job.wait(timeout=300)
    assert status["state"] == "finished", job.logs(tail=20)
    monitor = json.loads((folders[0] / "monitor.json").read_text())
    assert monitor["card"]["config"]["guardrails"]["time_field"] == "date"
    at.run()
    shown = [m.value for m in list(at.success) + list(at.warning)]
    assert any(folders[0].name in v and monitor["verdict"]["sentence"] in v for v in shown)
