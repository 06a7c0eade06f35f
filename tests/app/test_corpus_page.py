"""The Corpus page keeps what the expert chose: the picked files survive a reload (they live in the
address), and the snapshot gets the name typed for it."""

from __future__ import annotations

from types import SimpleNamespace

from app_helpers import HOME_SCRIPT, no_exceptions, page_test


def _opinions(settings):
    path = settings.workspace_root.parent / "data" / "opinions.jsonl"
    path.write_text('{"id": "o1", "text": "The court affirmed the judgment."}\n')
    return str(path)


def test_picked_files_survive_a_reload(app_settings):
    from streamlit.testing.v1 import AppTest

    path = _opinions(app_settings)
    at = page_test("corpus")
    at.multiselect(key="corpus_files").set_value([path])
    at.run()
    no_exceptions(at)
    value = at.query_params["file"]
    assert (value if isinstance(value, list) else [value]) == [path]
    # a reload: a new session, only the address is left
    again = AppTest.from_file(str(HOME_SCRIPT), default_timeout=60)
    again.run()
    again.switch_page("pages/corpus.py")
    again.query_params["file"] = [path]
    again.run()
    no_exceptions(again)
    assert again.multiselect(key="corpus_files").value == [path]


def test_the_snapshot_gets_the_name_typed_for_it(app_settings, monkeypatch):
    from workbench import jobs

    calls = []
    monkeypatch.setattr(jobs, "launch", lambda kind, config, workspace=None, **options: calls.append(
        SimpleNamespace(kind=kind, config=config, options=options)) or SimpleNamespace(name="court-v1", folder=None))
    path = _opinions(app_settings)
    at = page_test("corpus")
    at.multiselect(key="corpus_files").set_value([path])
    at.run()
    assert at.text_input(key="curate_name").placeholder == "default: opinions"
    at.text_input(key="curate_name").set_value("court-v1")
    at.button(key="curate_submit").click()
    at.run()
    no_exceptions(at)
    [call] = calls
    assert call.kind == "curate" and call.options["name"] == "court-v1"
    assert any("court-v1" in s.value for s in at.success)
