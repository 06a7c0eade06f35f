"""Items from a real comparison and a real profile, the CLI, and labels flowing back into curate,
training data and the next comparison (tiny model, SQLite)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from workbench.cli import app


def _cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def test_items_from_comparison_are_traceable_blind_and_stable(comparison):
    from workbench.review.config import ItemsConfig
    from workbench.review.items import items_from_comparison

    result = json.loads((comparison / "comparison.json").read_text())
    items = items_from_comparison(comparison)
    pairs = [i for i in items if i.kind == "pair"]
    assert len(pairs) == len(result["generations"]) == 3
    docs = [json.loads(line) for line in (comparison / "documents.jsonl").read_text().splitlines()]
    domain_ids = [d["id"] for d in docs if d["set"] == "domain"]
    domain_texts = {json.loads(line)["id"]: json.loads(line)["text"]
                    for line in open(result["sets"]["domain"], encoding="utf-8")}
    for i, pair in enumerate(pairs):
        src = pair.source
        assert src["comparison"] == "first" and src["doc_id"] == domain_ids[i]
        start, end = src["span"]
        assert " ".join(domain_texts[src["doc_id"]][start:end].split()) == pair.prompt
        assert {o["text"] for o in pair.outputs} == {result["generations"][i]["base"], result["generations"][i]["adapted"]}
        assert src["checkpoint"] == "final" and src["models"]["adapted"] == result["adapter"]
    # the seeded blind order: same seed same order, and both orders occur over a handful of items
    again = items_from_comparison(comparison)
    assert [(i.id, [o["slot"] + o["model"] for o in i.outputs]) for i in again] == \
           [(i.id, [o["slot"] + o["model"] for o in i.outputs]) for i in items]
    many = [items_from_comparison(comparison, ItemsConfig(seed=s))[0] for s in range(12)]
    assert len({m.outputs[0]["model"] for m in many}) == 2 and len({m.id for m in many}) == 1
    regressed = [i for i in items if i.kind == "output"]
    worse = sorted((d for d in docs if d["delta_nll"] > 0), key=lambda d: -d["delta_nll"])
    assert [i.source["doc_id"] for i in regressed] == [d["id"] for d in worse[:5]]
    assert all(i.meta["delta_nll_per_token"] > 0 for i in regressed)
    tokens = {(d["set"], d["id"]): d["tokens"] for d in map(json.loads, (comparison / "tokens.jsonl").read_text().splitlines())}
    worst = regressed[0]
    assert worst.meta["token_changes"] == tokens[(worst.source["set"], worst.source["doc_id"])]
    assert "".join(t["text"] for t in worst.meta["token_changes"]) == worst.outputs[0]["text"]
    wrong = [r for r in result["probes"]["rows"] if r["adapted_rank"] > 1]
    assert len([i for i in items if i.kind == "probe"]) == len(wrong)


def test_review_cli_items_queue_label_stats_agreement_export_import(comparison, tmp_path):
    from workbench.review.store import LabelStore

    db = tmp_path / "labels.db"
    result = _cli("review", "items", comparison, "--db", db)
    assert result.exit_code == 0, result.output
    assert "already there" in result.output
    groups = {name: int(n) for name, n in re.findall(
        r"(generation pairs|repetitive generations|regressed documents|missed probes) (\d+)", result.output)}
    assert groups.get("generation pairs", 0) + groups.get("repetitive generations", 0) == 3  # the 3 generations
    again = _cli("review", "items", comparison, "--db", db)
    assert again.output.startswith("0 item(s) added")

    result = _cli("review", "queue", "--db", db, "--assign", "ana,bob,cy", "--overlap", "3")
    n = len(LabelStore(db).items())
    assert result.exit_code == 0 and f"assigned: ana {n}, bob {n}, cy {n}" in result.output, result.output
    store = LabelStore(db)
    for name in ("ana", "bob"):
        for _ in range(3):
            item = store.next_item(name)
            assert item.kind == "pair"
            store.add_label(item.id, name, "fluency", "minor", output="A", start=0, end=1)
            store.submit(item.id, name, "A", seconds=3)
    result = _cli("review", "queue", "--db", db, "--annotator", "cy")
    assert result.exit_code == 0 and "ana" in result.output and "next for cy" in result.output
    assert "[A]" in result.output and "adapted" not in result.output.split("next for cy")[1]  # blind
    result = _cli("review", "stats", "--db", db, "--figures", tmp_path / "figs")
    assert result.exit_code == 0 and "error rate" in result.output
    assert (tmp_path / "figs" / "penalty_by_category.json").exists()
    result = _cli("review", "agreement", "--db", db, "--json")
    assert result.exit_code == 0 and "alpha" in json.loads(result.output)
    report = json.loads(result.output)
    result = _cli("review", "agreement", "--db", db)
    assert "Krippendorff alpha (verdict): " in result.output and report["alpha_reading"]["verdict"] in result.output
    result = _cli("review", "export", tmp_path / "dump.jsonl", "--db", db)
    assert result.exit_code == 0
    result = _cli("review", "import", tmp_path / "dump.jsonl", "--db", tmp_path / "other.db")
    assert "events: 12 added" in result.output
    result = _cli("review", "import", tmp_path / "dump.jsonl", "--db", tmp_path / "other.db")
    assert "events: 0 added, 12 already there" in result.output


def test_cli_errors_are_one_line_naming_the_field(tmp_path, capsys):
    from workbench.cli import main

    (tmp_path / "bad.jsonl").write_text('{"type": "event", "uid": "x"}\n')
    with pytest.raises(SystemExit) as info:
        main(["review", "import", str(tmp_path / "bad.jsonl"), "--db", str(tmp_path / "l.db")])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and "field 'item_id'" in err
    with pytest.raises(SystemExit):
        main(["review", "stats", "--db", str(tmp_path / "missing.db")])
    assert "does not exist" in capsys.readouterr().err


def test_corrections_become_training_data_and_a_regression_set_for_compare(
        comparison, tiny_model, review_run, review_sets, sample_dir, tmp_path, compare_cli):
    from workbench.documents.texts import read_texts, resolve_training_data
    from workbench.review.items import items_from_comparison
    from workbench.review.store import LabelStore

    ws = tmp_path / "ws"
    store = LabelStore(ws / "labels.db")
    items = items_from_comparison(comparison)
    store.add_items(items)
    pair = next(i for i in items if i.kind == "pair")
    adapted = next(o for o in pair.outputs if o["model"].startswith("adapted"))
    store.add_label(pair.id, "ana", "terminology", "major", output=adapted["slot"], start=0,
                    end=min(8, len(adapted["text"])), correction="Maintenance")
    store.add_label(pair.id, "ana", "fluency", "minor", output=adapted["slot"], note="no correction")
    store.submit(pair.id, "ana", "errors")

    result = _cli("review", "export", tmp_path / "corrections.jsonl", "--format", "corrections", "--db", ws / "labels.db")
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in (tmp_path / "corrections.jsonl").read_text().splitlines()]
    assert len(records) == 1 and records[0]["text"].startswith(pair.prompt + " Maintenance")
    train_path, _ = resolve_training_data(tmp_path / "corrections.jsonl")
    assert read_texts(train_path, "text") == [records[0]["text"]]

    # the next comparison in this workspace re-scores the labelled error automatically
    out, printed = compare_cli(tiny_model, review_run, review_sets, sample_dir, ws, ws / "comparisons" / "next")
    regression = json.loads((out / "comparison.json").read_text())["regression"]
    assert regression["cases"] == 1 and "labelled errors still made" in printed
    (row,) = regression["rows"]
    for side in ("base", "adapted"):
        assert row[f"{side}_margin"] == pytest.approx(row[f"{side}_corrected_logprob"] - row[f"{side}_erroneous_logprob"])
        assert row[f"{side}_still_wrong"] == (row[f"{side}_margin"] <= 0)
        assert regression[side]["still_wrong"] + regression[side]["fixed"] == 1
    assert row["change"].startswith("[") and "Maintenanc" in row["change"].split(" → ")[1]
    assert "Regression set: labelled errors" in (out / "report.html").read_text()
    # review handed the set to evaluation as a plain file: the one the comparison's card hashes
    from workbench.evaluation.regression import read_regression_set

    exported = ws / "exports" / "regression_set.jsonl"
    card = json.loads((out / "comparison.json").read_text())["card"]
    assert card["config"]["regression_set"] == str(exported) and card["inputs"]["regression_set"]["sha256"]
    regression_set = read_regression_set(exported)
    assert regression_set.source == regression["source"] and len(regression_set.cases) == 1
    assert regression_set.cases[0]["uid"] == row["uid"] and regression_set.cases[0]["corrected"].startswith("Maintenance")
    result = _cli("review", "export", tmp_path / "regression.jsonl", "--format", "regression", "--db", ws / "labels.db")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "regression.jsonl").read_text() == exported.read_text()
    from workbench.evaluation.config import EvalConfig
    from workbench.review.regression import with_regression_set

    assert with_regression_set(EvalConfig(labels="none"), ws).regression_set is None
    assert with_regression_set(EvalConfig(), tmp_path / "elsewhere").regression_set is None
    assert with_regression_set(EvalConfig(regression_set="mine.jsonl"), ws).regression_set == "mine.jsonl"


def test_profile_flags_become_keep_drop_items_and_curate_drops_them(tiny_model, sample_dir, tmp_path):
    from workbench.review.items import items_from_profile
    from workbench.review.store import LabelStore

    texts = [json.loads(line)["text"] for line in open(sample_dir / "domain_corpus.jsonl", encoding="utf-8")][:12]
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)] + [{"id": "copy-of-d3", "text": texts[3]}]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = tmp_path / "ws"
    result = _cli("inspect", corpus, "--model", tiny_model, "--num-proc", "1", "--workspace", ws)
    assert result.exit_code == 0, result.output
    items = items_from_profile(ws / "corpora" / "corpus")
    flagged = {i.source["doc_id"]: i for i in items}
    assert "copy-of-d3" in flagged and flagged["copy-of-d3"].meta["flags"] == ["exact duplicate of d3"]

    store = LabelStore(ws / "labels.db")
    store.add_items(items)
    store.submit(flagged["copy-of-d3"].id, "ana", "drop", note="verbatim copy")
    with pytest.raises(Exception, match="field 'verdict'"):
        store.submit(flagged["copy-of-d3"].id, "ana", "A")
    result = _cli("review", "items", "--profile", ws / "corpora" / "corpus", "--workspace", ws)
    assert result.output.startswith("0 item(s) added")

    out = tmp_path / "snap"
    result = _cli("curate", corpus, "--out", out, "--labels", "workspace", "--workspace", ws, "--num-proc", "1",
                  "--set", "languages=null", "--min-words", "1", "--set", "quality_filter=false")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["removed"]["expert_drop"] == 1
    (drop,) = manifest["expert_drops"]
    assert drop["id"] == "copy-of-d3" and "ana" in drop["reason"] and "verbatim copy" in drop["reason"]
    kept = {json.loads(x)["id"] for f in ("train.jsonl", "eval.jsonl") for x in (out / f).read_text().splitlines()}
    assert "copy-of-d3" not in kept and "d3" in kept
    # review handed curation a plain drop list; the manifest records it and the drops resolved
    drop_list = ws / "exports" / "drop_list.jsonl"
    assert manifest["config"]["drop_list"] == str(drop_list)
    assert manifest["config"]["drop_documents"] == {"copy-of-d3": drop["reason"]}
    assert [json.loads(x) for x in drop_list.read_text().splitlines()] == [{"id": "copy-of-d3", "reason": drop["reason"]}]
    result = _cli("review", "export", tmp_path / "drops.jsonl", "--format", "drops", "--workspace", ws)
    assert result.exit_code == 0 and (tmp_path / "drops.jsonl").read_text() == drop_list.read_text(), result.output
