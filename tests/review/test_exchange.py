"""A label store in and out of files (``workbench.review.exchange``) on SQLite and PostgreSQL.

An import is checked whole, with the rules of the store's API, before anything is written: the log is
append-only, so one bad event let in would break every later reader of the workspace. Exports never
refuse their own earlier output and never touch a folder of the user's.
"""

from __future__ import annotations

import json
import math

import pytest

from workbench.errors import WorkbenchError
from workbench.review.items import make_item


@pytest.fixture
def source_store(tmp_path, pair_items):
    """A SQLite store with a pair, an output and a flagged document, ana's span (corrected), verdicts and a drop."""
    from workbench.review.store import LabelStore

    document = make_item("document", "", [{"text": "a flagged document of the corpus"}], {"corpus": "c", "doc_id": "d-1"},
                         meta={"flags": ["boilerplate"]})
    store = LabelStore(tmp_path / "source.db")
    store.add_items(pair_items[:1] + pair_items[3:4] + [document])
    pair = pair_items[0]
    store.add_label(pair.id, "ana", "terminology", "major", output="A", start=0, end=4, correction="BASE", seconds=3)
    store.submit(pair.id, "ana", "B", note="B is right", seconds=5)
    store.submit(pair.id, "bob", "A")
    store.submit(document.id, "ana", "drop", note="boilerplate only")
    yield store
    store.close()


def _records(store, path) -> list[dict]:
    store.export(path)
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # json writes NaN as NaN, as Python's does


def _event(records, action, **match):
    return next(r for r in records if r["type"] == "event" and r["action"] == action
                and all(r.get(k) == v for k, v in match.items()))


def _item(records, kind):
    return next(r for r in records if r["type"] == "item" and r["kind"] == kind)


def _set_seconds(records, value):
    _event(records, "verdict", annotator="ana")["seconds"] = value
    return _event(records, "verdict", annotator="ana")


def _duplicate_item(records):
    copy = {**_item(records, "pair"), "prompt": "another prompt under the same id"}
    records.insert(len(records) - 1, copy)
    return copy


def _delete_others_label(records):
    span = _event(records, "span")
    event = {**span, "uid": "f" * 32, "annotator": "bob", "action": "delete", "payload": {"target": span["uid"]},
             "seconds": None}
    records.append(event)
    return event


def _payload(action, key, value, **match):
    def mutate(records):
        event = _event(records, action, **match)
        event["payload"][key] = value
        return event
    return mutate


def _field(key, value, action="verdict", **match):
    def mutate(records):
        event = _event(records, action, **match)
        event[key] = value
        return event
    return mutate


def _item_field(kind, key, value):
    def mutate(records):
        item = _item(records, kind)
        item[key] = value
        return item
    return mutate


def _drop_note(records):
    event = next(r for r in records if r["type"] == "event" and r["payload"].get("verdict") == "drop")
    event["payload"]["note"] = 7
    return event


def _duplicate_event(records):
    copy = dict(_event(records, "verdict", annotator="bob"))
    records.append(copy)
    return copy


BAD_RECORDS = {
    # the cases a hand-edited or hostile file brings; each would break a later reader of the store
    "string seconds": (lambda rs: _set_seconds(rs, "12"), "seconds"),
    "negative seconds": (lambda rs: _set_seconds(rs, -1), "seconds"),
    "string source": (_item_field("pair", "source", "doc-1"), "source"),
    "duplicate item id": (_duplicate_item, "id"),
    "NaN created": (_field("created", math.nan), "created"),
    "infinite created": (_field("created", math.inf), "created"),
    "numeric correction": (_payload("span", "correction", 42), "payload.correction"),
    "string gold": (_item_field("output", "gold", "errors"), "gold"),
    "gold verdict for another kind": (_item_field("output", "gold", {"verdict": "keep"}), "gold"),
    "numeric note in a drop verdict": (_drop_note, "payload.note"),
    "5,000-character annotator": (_field("annotator", "a" * 5000), "annotator"),
    "NUL in the annotator": (_field("annotator", "ana\x00"), "annotator"),
    "delete of another annotator's label": (_delete_others_label, "payload.target"),
    "span outside the output": (_payload("span", "end", 500), "payload.start"),
    "unknown category": (_payload("span", "category", "spelling"), "payload.category"),
    "severity out of range": (_payload("span", "severity", "fatal"), "payload.severity"),
    "verdict for another kind": (_payload("verdict", "verdict", "keep", annotator="bob"), "payload.verdict"),
    "string adjudication": (_payload("verdict", "adjudication", "no", annotator="bob"), "payload.adjudication"),
    "unknown action": (_field("action", "erase", annotator="bob"), "action"),
    "duplicate event uid": (_duplicate_event, "uid"),
    "uid wider than the column": (_field("uid", "u" * 40, annotator="bob"), "uid"),
    "item id wider than the column": (_item_field("output", "id", "i" * 100), "id"),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_a_bad_record_refuses_the_whole_file_naming_line_and_field(store, source_store, tmp_path, case):
    mutate, field = BAD_RECORDS[case]
    records = _records(source_store, tmp_path / "dump.jsonl")
    bad = mutate(records)
    line = next(i for i, r in enumerate(records, 1) if r is bad)
    path = tmp_path / "bad.jsonl"
    _write(path, records)
    with pytest.raises(WorkbenchError) as info:
        store.import_file(path)
    message = str(info.value)
    assert message.startswith(f"{path} line {line}: ") and f"(field '{field}')" in message and "Fix:" in message
    assert info.value.field == field and "\n" not in message and len(message) < 400
    assert store.items() == [] and store.events() == []  # the good lines before it were not written either


def test_a_good_file_imports_whole_and_every_reader_works(store, source_store, tmp_path):
    from workbench.review.export import drop_decisions, export_drop_list
    from workbench.review.regression import export_regression_set

    dump = source_store.export(tmp_path / "dump.jsonl")
    assert store.import_file(dump) == {"items_added": 3, "items_existing": 0, "events_added": 4, "events_existing": 0}
    assert store.import_file(dump) == {"items_added": 0, "items_existing": 3, "events_added": 0, "events_existing": 4}
    assert [e["uid"] for e in store.events()] == [e["uid"] for e in source_store.events()]
    assert [lab.to_dict() for lab in store.labels()] == [lab.to_dict() for lab in source_store.labels()]
    assert store.agreement()["kappa"] == source_store.agreement()["kappa"]
    assert drop_decisions(store) == {"d-1": "expert review (ana): boilerplate; boilerplate only"}
    assert export_drop_list(store, tmp_path / "drops.jsonl").exists()
    cases = [json.loads(line) for line in export_regression_set(store, tmp_path / "set.jsonl").read_text().splitlines()]
    assert [c.get("corrected", "")[:4] for c in cases[1:]] == ["BASE"]


def test_a_hand_written_file_is_stored_as_the_api_would_store_it(store, source_store, tmp_path):
    records = _records(source_store, tmp_path / "dump.jsonl")
    span = _event(records, "span")
    span["annotator"], span["payload"]["severity"] = "  ana ", "MAJOR"
    span["seconds"] = 3  # an integer: stored as a float, like the API's
    del span["payload"]["note"]
    _write(tmp_path / "edited.jsonl", records)
    store.import_file(tmp_path / "edited.jsonl")
    stored = next(e for e in store.events() if e["action"] == "span")
    assert stored["annotator"] == "ana" and stored["payload"]["severity"] == "major" and stored["payload"]["note"] == ""
    assert stored["seconds"] == 3.0 and isinstance(stored["seconds"], float)


def test_an_undo_in_the_file_takes_back_an_earlier_event_of_the_same_annotator(store, source_store, tmp_path):
    source_store.undo("ana")  # the drop
    records = _records(source_store, tmp_path / "dump.jsonl")
    _write(tmp_path / "dump.jsonl", records)
    store.import_file(tmp_path / "dump.jsonl")
    assert {(v.annotator, v.verdict) for v in store.verdicts()} == {("ana", "B"), ("bob", "A")}
    undo = _event(records, "undo")
    undo["annotator"] = "bob"  # bob cannot take back ana's drop
    _write(tmp_path / "other.jsonl", records)
    with pytest.raises(WorkbenchError, match=r"is ana's, not bob's \(field 'payload.target'\)"):
        store.import_file(tmp_path / "other.jsonl")


# ------------------------------------------------------------------------------------------ export


@pytest.mark.parametrize("format", ["jsonl", "csv", "corrections", "regression", "drops"])
def test_a_file_export_onto_a_folder_is_one_line_and_the_folder_untouched(source_store, tmp_path, capsys, format):
    from workbench.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit) as info:
        main(["review", "export", str(folder), "--format", format, "--db", str(tmp_path / "source.db")])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: export target {folder} is a folder.") and "Fix:" in err
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"] and (folder / "notes.txt").read_text() == "keep me"


def test_datasets_export_twice_into_one_folder_replaces_the_first(source_store, tmp_path):
    import datasets

    folder = source_store.export(tmp_path / "labels_ds", "datasets")
    assert len(datasets.load_from_disk(str(folder))) == 4
    source_store.submit(source_store.items(kind="output")[0].id, "bob", "no_error")
    assert source_store.export(folder, "datasets") == folder
    ds = datasets.load_from_disk(str(folder))
    assert len(ds) == 5 and sorted(ds["annotator"]).count("bob") == 2
    assert json.loads((folder / "workbench_export.json").read_text())["rows"] == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_datasets_export_refuses_a_folder_of_the_users_files_and_a_file(source_store, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("a,b\n")
    with pytest.raises(WorkbenchError, match=r"holds files that are not a workbench export"):
        source_store.export(mine, "datasets")
    assert [p.name for p in mine.iterdir()] == ["data.csv"]
    (tmp_path / "labels.csv").write_text("x\n")
    with pytest.raises(WorkbenchError, match=r"is a file; the datasets format writes a folder"):
        source_store.export(tmp_path / "labels.csv", "datasets")
    assert (tmp_path / "labels.csv").read_text() == "x\n"


# ------------------------------------------------------------------------------------------ an older store


def _append_raw(store, item_id, annotator, action, payload, uid):
    """An event written straight into the log, as a store could hold it before its checks existed."""
    import sqlalchemy as sa

    with store._write() as conn:
        conn.execute(sa.insert(store.events_t).values(uid=uid, item_id=item_id, annotator=annotator, action=action,
                                                      payload=payload, seconds=None, created=1.0))


def test_a_non_text_correction_already_in_a_store_is_skipped_with_a_warning(source_store, tmp_path):
    from workbench.evaluation.config import EvalConfig
    from workbench.evaluation.regression import read_regression_set
    from workbench.review.export import corrections
    from workbench.review.regression import with_regression_set
    from workbench.workspace import Workspace

    output = source_store.items(kind="output")[0]
    _append_raw(source_store, output.id, "cy", "span", {"output": "output", "start": 0, "end": 2, "category": "fluency",
                                                          "severity": "minor", "note": "", "correction": 42}, "c" * 32)
    with pytest.warns(UserWarning, match=f"label event {'c' * 32} .*not text \\(42\\)"):
        assert [c["corrected"][:4] for c in corrections(source_store)] == ["BASE"]
    # compare's path: the label store's regression set exported for the comparison still holds the good case
    ws = Workspace.at(tmp_path / "ws")
    with pytest.warns(UserWarning, match="c" * 32):
        config = with_regression_set(EvalConfig(labels=str(tmp_path / "source.db")), ws)
    assert [c["corrected"][:4] for c in read_regression_set(config.regression_set).cases] == ["BASE"]


def test_cli_import_of_a_bad_file_is_one_line_and_the_store_keeps_working(source_store, tmp_path, capsys):
    from workbench.cli import main

    records = _records(source_store, tmp_path / "dump.jsonl")
    _event(records, "span")["payload"]["correction"] = 42
    _write(tmp_path / "bad.jsonl", records)
    db = tmp_path / "target.db"
    with pytest.raises(SystemExit) as info:
        main(["review", "import", str(tmp_path / "bad.jsonl"), "--db", str(db)])
    err = capsys.readouterr().err.strip()
    line = next(i for i, r in enumerate(records, 1) if r.get("action") == "span")
    assert info.value.code == 2 and err.splitlines() == [err] and "Traceback" not in err
    assert f"bad.jsonl line {line}: the corrected text is int 42, not text (field 'payload.correction')." in err
    main(["review", "import", str(tmp_path / "dump.jsonl"), "--db", str(db)])
    main(["review", "export", str(tmp_path / "set.jsonl"), "--format", "regression", "--db", str(db)])
    main(["review", "agreement", "--db", str(db)])
    assert "written:" in capsys.readouterr().out
