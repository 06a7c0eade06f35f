"""Documents the profile flagged (PII, language, quality, near-duplicate) become keep/drop items with their
reasons, and a drop label removes exactly that document in curate (tiny model, SQLite, real CLI)."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from workbench.cli import app

FRENCH = ("La warfarine reste l'anticoagulant oral le plus étudié, et son comportement clinique ne se comprend "
          "qu'une fois son mécanisme connu. Le médicament inhibe la vitamine K époxyde réductase, l'enzyme qui "
          "régénère la vitamine K réduite après chaque cycle de carboxylation.")


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _kept(snapshot) -> set[str]:
    return {json.loads(x)["id"] for f in ("train.jsonl", "eval.jsonl") for x in (snapshot / f).read_text().splitlines()}


def test_flagged_documents_become_items_and_a_drop_removes_exactly_that_document(tiny_model, sample_dir, tmp_path):
    from workbench.review.items import items_from_profile
    from workbench.review.store import LabelStore

    texts = [json.loads(line)["text"] for line in open(sample_dir / "domain_corpus.jsonl", encoding="utf-8")]
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(texts[:20])]
    words = texts[3].split()
    for k in random.Random(0).sample(range(len(words)), len(words) // 50):
        words[k] = "lantern"
    rows += [
        {"id": "with-email", "text": texts[30] + " Write to the study nurse at liv.moe@example.org for the forms."},
        {"id": "in-french", "text": FRENCH},
        {"id": "bullets", "text": "\n".join(f"- step {k}: check the label" for k in range(12))},
        {"id": "near-d3", "text": " ".join(words)},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = tmp_path / "ws"
    result = _cli("inspect", corpus, "--model", tiny_model, "--num-proc", "1", "--workspace", ws)
    assert result.exit_code == 0, result.output

    items = {i.source["doc_id"]: i for i in items_from_profile(ws / "corpora" / "corpus")}
    assert set(items) == {"with-email", "in-french", "bullets", "near-d3"}
    assert all(i.kind == "document" for i in items.values())
    assert items["with-email"].meta["reasons"] == {"pii": {"email": 1}}
    assert "liv.moe@example.org" in items["with-email"].outputs[0]["text"]
    assert items["in-french"].meta["flags"] == ["language fr, not the main en"]
    assert items["bullets"].meta["reasons"]["quality"] == ["bullet_lines"]
    assert items["near-d3"].meta["flags"] == ["near duplicate of d3"]

    store = LabelStore(ws / "labels.db")
    store.add_items(list(items.values()))
    store.submit(items["in-french"].id, "ana", "drop", note="not our language")
    store.submit(items["with-email"].id, "ana", "keep")
    store.close()

    # without the labels, and with the automatic filters that would drop the flagged documents off, all are kept
    loose = ("--num-proc", "1", "--min-words", "1", "--set", "languages=null", "--set", "quality_filter=false",
             "--set", "near_dedup=false", "--workspace", ws)
    result = _cli("curate", corpus, "--out", tmp_path / "plain", *loose)
    assert result.exit_code == 0, result.output
    result = _cli("curate", corpus, "--out", tmp_path / "labelled", "--labels", "workspace", *loose)
    assert result.exit_code == 0, result.output
    assert _kept(tmp_path / "plain") - _kept(tmp_path / "labelled") == {"in-french"}
    assert _kept(tmp_path / "labelled") < _kept(tmp_path / "plain")
    manifest = json.loads((tmp_path / "labelled" / "manifest.json").read_text())
    assert manifest["counts"]["removed"]["expert_drop"] == 1
    (drop,) = manifest["expert_drops"]
    assert drop["id"] == "in-french" and "language fr" in drop["reason"] and "not our language" in drop["reason"]
