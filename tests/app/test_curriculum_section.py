"""The Train page's curriculum section: choosing 'stages' shows the stages table and their plan, and the
launched run carries the stages."""

from __future__ import annotations

from types import SimpleNamespace

from app_helpers import errors_of, no_exceptions, page_test

from workbench.app.sections.curriculum import stage_rows


def test_stage_rows_drop_empty_rows_and_blank_cells():
    rows = [{"name": "a", "tokens": 0.5, "replay_ratio": None, "lr": "cosine", "warmup": float("nan")},
            {"name": "", "tokens": 0.5, "lr": "linear"}, {"name": None, "tokens": None}]
    assert stage_rows(rows) == [{"name": "a", "tokens": 0.5, "lr": "cosine"}, {"tokens": 0.5, "lr": "linear"}]


def test_choosing_stages_shows_their_plan_and_launches_them(app_settings, monkeypatch):
    from workbench import jobs

    calls = []
    monkeypatch.setattr(jobs, "launch", lambda kind, config, workspace=None, **options: (
        calls.append(SimpleNamespace(kind=kind, config=config)), SimpleNamespace(name="captured", folder=None))[1])
    at = page_test("train")
    no_exceptions(at)
    assert not [c for c in at.get("plotly_chart") if "Stages" in c.proto.spec]  # shuffled: no stage plan
    at.selectbox(key="adv_curriculum.order").set_value("stages")
    at.run()
    no_exceptions(at)
    assert errors_of(at) == []
    assert any("3 stages over" in c.value for c in at.code)
    assert [c for c in at.get("plotly_chart") if "Stages: learning rate" in c.proto.spec]
    at.button(key="train_launch").click()
    at.run()
    [call] = calls
    assert [s.name for s in call.config.curriculum.stages] == ["general-heavy", "mostly domain", "domain only"]
    assert call.config.curriculum.order == "stages" and call.config.replay == "sample"
