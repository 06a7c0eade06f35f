"""LabelStore on SQLite and PostgreSQL: labels, undo/redo, blind items, queues, gold, validation, exchange."""

from __future__ import annotations

import json

import pytest

from workbench.errors import WorkbenchError


def test_items_are_deduplicated_by_content_id(store, pair_items):
    assert store.add_items(pair_items) == {"added": 5, "existing": 0}
    assert store.add_items(pair_items + pair_items[:1]) == {"added": 0, "existing": 6}
    assert [i.id for i in store.items()] == [i.id for i in pair_items]
    assert len(store.items(kind="pair")) == 3


def test_label_submit_and_names_revealed_only_after_verdict(store, pair_items):
    store.add_items(pair_items)
    item = store.next_item("ana")
    assert item.kind == "pair" and not item.revealed
    assert all(o["model"] is None for o in item.outputs) and "models" not in item.source
    uid = store.add_label(item.id, "ana", "terminology", "major", start=0, end=4, output="A", note="wrong term",
                          correction="ADAPTED", seconds=2.5)
    assert store.item(item.id, "ana").revealed is False  # a span is not a verdict
    store.submit(item.id, "ana", "B", seconds=10)
    shown = store.item(item.id, "ana")
    assert shown.revealed and {o["model"] for o in shown.outputs} == {"base", "adapted"}
    assert store.item(item.id, "bob").revealed is False
    (label,) = store.labels()
    assert (label.uid, label.category, label.severity, label.weight, label.correction) == (
        uid, "terminology", "major", 5, "ADAPTED")
    assert label.text == shown.output("A")["text"][:4] and label.model == shown.output("A")["model"]
    (verdict,) = store.verdicts()
    assert verdict.verdict == "B" and verdict.model == shown.output("B")["model"]
    assert store.next_item("ana").id != item.id
    ana = store.progress()["annotators"]["ana"]
    assert (ana["done"], ana["labels"], ana["seconds"], ana["seconds_per_item"]) == (1, 1, 12.5, 12.5)


def test_undo_and_redo_of_any_action_including_submit_and_skip(store, pair_items):
    store.add_items(pair_items)
    first, second = pair_items[0], pair_items[1]
    span = store.add_label(first.id, "ana", "fluency", "minor", output="A")
    store.submit(first.id, "ana", "A")
    store.skip(second.id, "ana")
    assert {v.verdict for v in store.verdicts()} == {"A", "skip"}

    assert store.undo("ana")["verdict"] == "skip"
    assert [v.verdict for v in store.verdicts()] == ["A"]
    assert store.undo("ana")["verdict"] == "A"  # undo of a submit
    assert store.verdicts() == [] and len(store.labels()) == 1
    assert store.undo("ana")["uid"] == span
    assert store.labels() == [] and store.undo("ana") is None
    assert store.redo("ana")["uid"] == span and len(store.labels()) == 1
    assert store.redo("ana")["verdict"] == "A"
    # a new action clears the redo stack
    store.flag(second.id, "ana", "odd prompt")
    assert store.redo("ana") is None
    assert store.flags() == [{"item_id": second.id, "annotator": "ana", "note": "odd prompt"}]
    # undo is per annotator; deletion is an action too
    store.add_label(first.id, "bob", "omission", "critical", output="B")
    assert store.undo("ana")["action"] == "flag"
    assert len(store.labels(annotator="bob")) == 1
    store.delete_label(span, "ana")
    assert store.labels(annotator="ana") == []
    store.undo("ana")
    assert [x.uid for x in store.labels(annotator="ana")] == [span]
    # the log only grew: nothing was overwritten
    actions = [e["action"] for e in store.events()]
    assert actions.count("undo") == 5 and actions.count("redo") == 2


@pytest.mark.parametrize("call, field", [
    (lambda s, i: s.add_label(i, "ana", "spelling", "minor", output="A"), "category"),
    (lambda s, i: s.add_label("no-such-item", "ana", "fluency", "minor"), "item_id"),
    (lambda s, i: s.add_label(i, "ana", "fluency", "blocker", output="A"), "severity"),
    (lambda s, i: s.add_label(i, "ana", "fluency", 11, output="A"), "severity"),
    (lambda s, i: s.add_label(i, "  ", "fluency", "minor", output="A"), "annotator"),
    (lambda s, i: s.add_label(i, "ana", "fluency", "minor", output="A", start=5, end=500), "start"),
    (lambda s, i: s.add_label(i, "ana", "fluency", "minor"), "output"),
    (lambda s, i: s.submit(i, "ana", "keep"), "verdict"),
    (lambda s, i: s.submit(i, "", "A"), "annotator"),
    # the values the importer refuses, refused by the API with the same check (workbench.review.records)
    (lambda s, i: s.add_label(i, "ana", "fluency", "minor", output="A", correction=42), "correction"),
    (lambda s, i: s.submit(i, "ana", "A", note=7), "note"),
    (lambda s, i: s.flag(i, "ana", note=["x"]), "note"),
    (lambda s, i: s.flag(i, "ana", on="yes"), "on"),
    (lambda s, i: s.submit(i, "a" * 5000, "A"), "annotator"),
    (lambda s, i: s.submit(i, "ana\x00", "A"), "annotator"),  # a raw database error on PostgreSQL before
    (lambda s, i: s.add_label(i, "ana\x00", "fluency", "minor", output="A"), "annotator"),
    (lambda s, i: s.submit(i, "ana", "A", seconds="12"), "seconds"),
    (lambda s, i: s.submit(i, "ana", "A", seconds=float("nan")), "seconds"),
    (lambda s, i: s.submit(i, "ana", "A", seconds=float("inf")), "seconds"),
    (lambda s, i: s.submit(i, "ana", "A", adjudication="no"), "adjudication"),
    (lambda s, i: s.add_label(i, "ana", "fluency", "minor", output="A", note="a\x00b"), "note"),
    (lambda s, i: s.add_label(i, "ana", "fluency", "minor", output="A", start=True, end=3), "start"),
    (lambda s, i: s.add_items([{"prompt": "Q", "output": "A", "source": "doc-1"}]), "source"),
    (lambda s, i: s.add_items([{"prompt": "Q", "output": "A", "gold": "errors"}]), "gold"),
    (lambda s, i: s.add_items([{"kind": "output", "id": "x" * 100, "outputs": [{"text": "A"}]}]), "id"),
    (lambda s, i: s.add_items([{"prompt": "Q\x00", "output": "A"}]), "prompt"),
    (lambda s, i: s.set_gold(i, "errors", ["spelling"]), "categories"),
    (lambda s, i: s.delete_label("x\x00", "ana"), "label_uid"),
    (lambda s, i: s.add_label(i + "\x00", "ana", "fluency", "minor", output="A"), "item_id"),
])
def test_bad_input_names_the_field_and_writes_nothing(store, pair_items, call, field):
    store.add_items(pair_items)
    before = (len(store.events()), len(store.items()))
    with pytest.raises(WorkbenchError) as info:
        call(store, pair_items[0].id)
    assert f"(field '{field}')" in str(info.value) and "Fix:" in str(info.value)
    assert (len(store.events()), len(store.items())) == before


def test_delete_label_of_another_annotator_is_refused(store, pair_items):
    store.add_items(pair_items)
    span = store.add_label(pair_items[0].id, "ana", "fluency", "minor", output="A")
    with pytest.raises(WorkbenchError, match=r"label \w+ is ana's, not bob's \(field 'label_uid'\)"):
        store.delete_label(span, "bob")
    with pytest.raises(WorkbenchError, match=r"unknown label 'nope' \(field 'label_uid'\)"):
        store.delete_label("nope", "ana")
    assert [e["action"] for e in store.events()] == ["span"] and [x.uid for x in store.labels()] == [span]
    assert store.labels(annotator="ana\x00") == [] and store.events(annotator="ana\x00") == []
    store.delete_label(span, "ana")
    assert store.labels() == []


def test_taxonomy_yaml_per_project(store, pair_items, tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("categories:\n  dosage: wrong dose or unit\n  contraindication: missed one\n")
    store.set_taxonomy(path)
    store.add_items(pair_items)
    store.add_label(pair_items[0].id, "ana", "dosage", "critical", output="A")
    with pytest.raises(WorkbenchError, match="unknown category 'terminology'"):
        store.add_label(pair_items[0].id, "ana", "terminology", "minor", output="A")
    assert store.taxonomy().descriptions["dosage"] == "wrong dose or unit"


def test_shipped_taxonomy_is_the_default():
    from workbench.review.config import DEFAULT_CATEGORIES, DEFAULT_TAXONOMY, Taxonomy

    shipped = Taxonomy.load(DEFAULT_TAXONOMY)
    assert tuple(shipped.categories) == DEFAULT_CATEGORIES and all(shipped.descriptions.values())


def test_assignment_overlap_queue_and_gold_accuracy(store, pair_items):
    store.add_items(pair_items)
    gold = pair_items[3]
    store.set_gold(gold.id, "errors", ["fluency"])
    counts = store.assign(["ana", "bob", "cy"], overlap=2)
    # 4 non-gold items x 2 = 8 assignments, spread evenly, plus the gold item for everyone
    assert sum(counts.values()) == 8 + 3 and max(counts.values()) - min(counts.values()) <= 1
    seen = {}
    for name in ("ana", "bob", "cy"):
        while (item := store.next_item(name)) is not None:
            seen.setdefault(item.id, []).append(name)
            if item.id == gold.id:
                if name == "ana":
                    store.add_label(item.id, name, "fluency", "minor")
                store.submit(item.id, name, "errors")
            else:
                store.submit(item.id, name, "no_error" if item.kind == "output" else "tie")
    assert all(len(v) == 2 for k, v in seen.items() if k != gold.id) and len(seen[gold.id]) == 3
    accuracy = store.accuracy()
    assert accuracy["ana"] == {"gold_items": 1, "correct": 1, "accuracy": 1.0}
    assert accuracy["bob"]["accuracy"] == 0.0  # right verdict, but missed the fluency error
    progress = store.progress()
    assert progress["annotators"]["ana"]["remaining"] == 0 and progress["done_items"] == 5


def test_open_queue_respects_overlap(store, pair_items):
    store.add_items(pair_items[:2])
    store.set_overlap(2)
    for name in ("ana", "bob"):
        while (item := store.next_item(name)) is not None:
            store.submit(item.id, name, "tie")
    assert store.next_item("cy") is None
    assert store.progress()["annotators"]["bob"]["done"] == 2


def test_agreement_alpha_kappa_confusion_and_adjudication(store, pair_items):
    store.add_items(pair_items)
    ids = [i.id for i in pair_items[:3]]
    votes = {"ana": ["A", "B", "A"], "bob": ["A", "B", "B"], "cy": ["A", "B", "tie"]}
    for name, vs in votes.items():
        for iid, v in zip(ids, vs):
            store.submit(iid, name, v)
    store.add_label(ids[2], "ana", "terminology", "major", output="A")
    store.add_label(ids[2], "bob", "hallucination", "minor", output="B")
    report = store.agreement()
    import krippendorff
    import numpy as np

    codes = {"A": 0, "B": 1, "tie": 2}
    expected = krippendorff.alpha(reliability_data=np.array([[codes[v] for v in votes[n]] for n in sorted(votes)]),
                                  level_of_measurement="nominal")
    assert report["alpha"]["verdict"] == pytest.approx(expected)
    pair = next(r for r in report["kappa"]["verdict"] if (r["a"], r["b"]) == ("ana", "bob"))
    assert pair["items"] == 3 and pair["observed_agreement"] == pytest.approx(2 / 3)
    assert [d["item_id"] for d in report["disagreements"]] == [ids[2]]
    confusion = report["confusion"]["category"]
    i, j = confusion["labels"].index("terminology"), confusion["labels"].index("hallucination")
    assert confusion["matrix"][i][j] == 1 == confusion["matrix"][j][i]
    assert report["adjudicated"][ids[0]] == {"label": "A", "how": "unanimous"}
    assert report["adjudicated"][ids[2]] == {"label": None, "how": "unresolved"}
    store.adjudicate(ids[2], "lead", "B", note="B is right")
    assert store.agreement()["adjudicated"][ids[2]] == {"label": "B", "how": "adjudicated"}


def test_export_and_import_merge_without_duplicates(store, pair_items, tmp_path, store_url):
    from workbench.review.store import LabelStore

    store.add_items(pair_items)
    store.add_label(pair_items[0].id, "ana", "fluency", "minor", output="A", start=0, end=3, correction="xyz")
    store.submit(pair_items[0].id, "ana", "A")
    store.undo("ana")
    dump = store.export(tmp_path / "dump.jsonl")
    other = LabelStore(tmp_path / "other.db")
    other.add_items(pair_items[:1])
    other.submit(pair_items[0].id, "bob", "B")
    first = other.import_file(dump)
    assert first["items_added"] == 4 and first["events_added"] == 3
    again = other.import_file(dump)
    assert again["items_added"] == 0 and again["events_added"] == 0
    assert {(v.annotator, v.verdict) for v in other.verdicts()} == {("bob", "B")}  # the undo travelled too
    assert [lab.correction for lab in other.labels()] == ["xyz"]
    store.redo("ana")
    csv_path = store.export(tmp_path / "labels.csv", "csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("type,item_id") and len(lines) == 3
    folder = store.export(tmp_path / "labels_ds", "datasets")
    import datasets

    ds = datasets.load_from_disk(str(folder))
    assert sorted(ds["type"]) == ["span", "verdict"]


def test_malformed_import_names_line_and_field_and_writes_nothing(store, pair_items, tmp_path):
    store.add_items(pair_items[:1])
    good = {"type": "event", "uid": "u1", "item_id": pair_items[0].id, "annotator": "ana", "action": "verdict",
            "payload": {"verdict": "A"}, "created": 1.0}
    bad = {**good, "uid": "u2", "annotator": ""}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(WorkbenchError, match=r"line 2: the annotator name '' is empty .*\(field 'annotator'\)"):
        store.import_file(path)
    span = {**good, "uid": "u3", "action": "span", "payload": {"output": "A", "start": None, "end": None,
                                                              "category": "fluency", "severity": "fatal"}}
    path.write_text(json.dumps(good) + "\n" + json.dumps(span) + "\n")
    with pytest.raises(WorkbenchError, match=r"line 2: severity 'fatal' is out of range \(field 'payload.severity'\)"):
        store.import_file(path)
    span["payload"] = {**span["payload"], "severity": "minor", "category": "spelling"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(span) + "\n")
    with pytest.raises(WorkbenchError, match=r"line 2: unknown category 'spelling' \(field 'payload.category'\)"):
        store.import_file(path)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(WorkbenchError, match="line 2: not valid JSON"):
        store.import_file(path)
    assert store.events() == []


def test_items_from_prompt_output_jsonl(store, tmp_path):
    from workbench.review.items import items_from_jsonl

    path = tmp_path / "pairs.jsonl"
    path.write_text('{"prompt": "Q1", "output": "A1", "model": "ours"}\n{"prompt": "Q2", "output": "A2", "id": "x"}\n')
    assert store.add_items(items_from_jsonl(path))["added"] == 2
    path.write_text('{"prompt": "Q1"}\n')
    with pytest.raises(WorkbenchError, match="line 1 has no field 'output'"):
        items_from_jsonl(path)


def test_stats_error_rate_and_mqm_penalty_per_model_category_and_figures(store, pair_items):
    from workbench.review import plots

    store.add_items(pair_items)
    pair, single = pair_items[0], pair_items[3]
    adapted = next(o["slot"] for o in pair.outputs if o["model"] == "adapted")
    base = "B" if adapted == "A" else "A"
    store.add_label(pair.id, "ana", "terminology", "critical", output=adapted)
    store.add_label(pair.id, "ana", "fluency", "minor", output=adapted)
    store.submit(pair.id, "ana", base)
    store.submit(single.id, "ana", "no_error")
    store.skip(pair_items[1].id, "ana")  # skipped items are not judged outputs
    stats = store.stats()
    assert stats["overall"]["outputs"] == 3 and stats["overall"]["penalty"] == 11
    assert stats["by_model"]["adapted"] == {**stats["by_model"]["adapted"], "outputs": 1, "with_error": 1, "errors": 2,
                                            "penalty": 11, "error_rate": 1.0}
    assert stats["by_model"]["base"]["error_rate"] == 0.0 and stats["by_model"]["m"]["penalty"] == 0
    assert stats["by_category"]["terminology"]["penalty"] == 10 and stats["by_category"]["fluency"]["penalty"] == 1
    assert stats["preferences"]["base"] == {"win": 1} and stats["preferences"]["adapted"] == {"loss": 1}
    fig = plots.penalty_by_category(stats)
    assert list(fig.data[0].x) == ["terminology", "fluency"] and list(fig.data[0].y) == [10, 1]
    fig = plots.error_rate_by_model(stats)
    assert dict(zip(fig.data[0].x, fig.data[0].y)) == {"adapted": 1.0, "base": 0.0, "m": 0.0}
    report = store.agreement()
    assert plots.confusion_heatmap(report["confusion"]["category"]).data[0].type == "heatmap"


def test_migrations_create_exactly_the_tables_the_store_uses(store):
    """The alembic migrations shipped in the package and the store's table definitions agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    metadata = store.items_t.metadata
    with store._writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")] == []
