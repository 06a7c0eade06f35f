"""Synthetic text: the Fréchet distance pinned on known Gaussians, the audit's measures, and its gate on planted
bad sets (copies of held-out documents, off-domain text, degenerate repetition) against a good one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from workbench.cli import main
from workbench.corpus.config import CurateConfig, SyntheticAuditConfig
from workbench.corpus.curate import run_curate
from workbench.corpus.representation import frechet_distance, gaussian_frechet
from workbench.corpus.synthetic import (
    DOCUMENTS_FILE,
    domain_coverage,
    import_synthetic,
    ngram_novelty,
    read_audit,
)
from workbench.errors import WorkbenchError
from workbench.io import read_json, read_jsonl
from workbench.workflows import audit_synthetic, curate


# -- the distance ---------------------------------------------------------------------------------------------

def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


def test_frechet_of_diagonal_gaussians_is_the_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)  # 1+0+6.25 + 4+1+0
    assert expected == pytest.approx(12.25)
    assert gaussian_frechet(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-9)


def test_frechet_of_full_covariances_matches_the_symmetric_form():
    """Tr((S_a S_b)^(1/2)) computed by scipy.linalg.sqrtm against Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)) by eigh."""
    rng = np.random.default_rng(0)
    sa, sb = _spd(rng, 5), _spd(rng, 5)
    mu_a, mu_b = rng.normal(size=5), rng.normal(size=5)

    def psd_sqrt(m):
        w, v = np.linalg.eigh(m)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    root_a = psd_sqrt(sa)
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(sa) + np.trace(sb) - 2 * np.trace(psd_sqrt(root_a @ sb @ root_a))
    assert gaussian_frechet(mu_a, sa, mu_b, sb) == pytest.approx(expected, rel=1e-8)
    assert gaussian_frechet(mu_a, sa, mu_a, sa) == pytest.approx(0.0, abs=1e-8)


def test_frechet_of_samples_approaches_the_distance_of_their_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(loc=[0.0, 0.0], scale=[1.0, 2.0], size=(40_000, 2))
    b = rng.normal(loc=[3.0, 0.0], scale=[1.0, 1.0], size=(40_000, 2))
    assert frechet_distance(a, b) == pytest.approx(9.0 + 1.0, rel=0.03)  # |3|^2 + (2 - 1)^2
    with pytest.raises(ValueError):
        frechet_distance(a[:1], b)


# -- the measures ---------------------------------------------------------------------------------------------

def test_novelty_counts_the_synthetic_ngrams_no_real_document_has():
    real = ["the dose of warfarin was reduced after the INR rose"]
    synthetic = ["the dose of warfarin was held today", "a new sentence about lithium levels here"]
    result = ngram_novelty(synthetic, real, n=3)
    # doc 1: 5 distinct 3-grams, 3 of them in the real text ("the dose of", "dose of warfarin", "of warfarin was")
    assert result["per_document"] == [pytest.approx(2 / 5), 1.0]
    assert result["ngrams"] == 5 + 5 and result["novel"] == 2 + 5 and result["novelty"] == pytest.approx(0.7)


def test_domain_coverage_counts_documents_and_terms():
    result = domain_coverage(["Warfarin and the INR.", "Bread and tides.", "A loading dose of warfarin"],
                             ["warfarin", "inr", "loading dose", "lithium"])
    assert result["per_document"] == [2, 0, 2]
    assert result["domain_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["covered"] == ["warfarin", "inr", "loading dose"] and result["missing"] == ["lithium"]
    assert result["term_coverage"] == 0.75


def test_imported_documents_are_flagged_with_their_source(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("text\nfirst case\nsecond case\n\n", encoding="utf-8")
    docs = import_synthetic([path], source="template engine v2")
    assert [d["text"] for d in docs] == ["first case", "second case"]
    assert all(d["synthetic"] is True and d["source"] == "template engine v2" for d in docs)
    assert import_synthetic([path])[0]["source"] == str(path)
    with pytest.raises(WorkbenchError, match="no synthetic documents"):
        empty = tmp_path / "empty.jsonl"
        empty.write_text('{"text": "   "}\n', encoding="utf-8")
        import_synthetic([empty])


# -- the audit and its gate, on planted sets ---------------------------------------------------------------------

def _jsonl(path, docs):
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory, tiny_model, sample_dir):
    """A real snapshot (the sample corpus, the sample held-out set as its eval split) and four synthetic sets."""
    root = tmp_path_factory.mktemp("synthetic")
    snapshot = curate(CurateConfig(paths=[str(sample_dir / "domain_corpus.jsonl")],
                                   eval_paths=[str(sample_dir / "domain_eval.jsonl")]), out=root / "snapshot", progress=False)
    good = read_jsonl(sample_dir / "synthetic_cases.jsonl")
    held_out = read_jsonl(sample_dir / "domain_eval.jsonl")
    general = read_jsonl(sample_dir / "general_replay.jsonl")
    sets = {
        "good": sample_dir / "synthetic_cases.jsonl",
        # half the set copies held-out documents
        "copies": _jsonl(root / "copies.jsonl", [{"id": f"copy-{i}", "text": d["text"]} for i, d in enumerate(held_out[:12])]
                         + good[:12]),
        "off_domain": _jsonl(root / "off_domain.jsonl", [{"id": f"off-{i}", "text": d["text"]} for i, d in enumerate(general)]),
        # one sentence said over and over
        "degenerate": _jsonl(root / "degenerate.jsonl", [{"id": f"rep-{i}", "text": " ".join([d["text"].split(".")[0] + "."] * 15)}
                                                         for i, d in enumerate(good[:30])]),
    }
    audits = {}
    for name, path in sets.items():
        config = SyntheticAuditConfig(paths=[str(path)], real=str(snapshot), model=str(tiny_model), out=str(root / f"audit-{name}"))
        audits[name] = audit_synthetic(config)
    return {"snapshot": snapshot, "audits": audits, "root": root, "sample_dir": sample_dir}


def _failed(folder) -> set[str]:
    return {f["check"] for f in read_json(folder / "audit.json")["findings"] if not f["passed"]}


def test_a_good_set_passes_with_every_measure_recorded(planted):
    audit = read_audit(planted["audits"]["good"])
    assert audit["verdict"] == {"passed": True, "reasons": [], "fixes": []}
    assert [f["check"] for f in audit["findings"]] == ["distance", "leakage", "novelty", "domain", "flagged"]
    distance = audit["distance"]
    # the reference: a real training sample of the same size against the same held-out text
    assert distance["documents"] == {"synthetic": 60, "reference": 60, "held_out": 24}
    assert distance["ratio"] == pytest.approx(distance["synthetic"] / distance["reference"], rel=1e-3)
    assert audit["leakage"]["documents"] == [] and audit["novelty"]["novelty"] > 0.9
    assert len(audit["per_document"]) == 60
    # documents flagged, and a sample offered as review items
    docs = read_jsonl(planted["audits"]["good"] / DOCUMENTS_FILE)
    assert all(d["synthetic"] is True and d["source"].endswith("synthetic_cases.jsonl") for d in docs)
    items = read_jsonl(planted["audits"]["good"] / "review_items.jsonl")
    assert len(items) == 20 and all(i["kind"] == "document" and i["source"]["doc_id"].startswith("syn-") for i in items)
    from workbench.review.items import items_from_jsonl  # what `workbench review items --jsonl` reads

    assert [i.id for i in items_from_jsonl(planted["audits"]["good"] / "review_items.jsonl")] == [i["id"] for i in items]


def test_copies_of_held_out_documents_fail_on_leakage_and_novelty(planted):
    audit = read_audit(planted["audits"]["copies"])
    assert not audit["verdict"]["passed"] and _failed(planted["audits"]["copies"]) == {"leakage", "novelty"}
    leaks = audit["leakage"]["documents"]
    assert [(r["id"], r["real_id"], r["split"]) for r in leaks] == [(f"copy-{i}", f"de-{i + 1:03d}", "eval") for i in range(12)]
    # a copy sits closer to the held-out text than real training text does: the distance alone would pass it
    assert audit["distance"]["ratio"] < 1


def test_off_domain_text_fails_on_domain_terms(planted):
    assert _failed(planted["audits"]["off_domain"]) == {"domain"}
    reasons = read_json(planted["audits"]["off_domain"] / "audit.json")["verdict"]["reasons"]
    assert reasons[0].startswith("domain: only ") and "domain terms" in reasons[0]


def test_degenerate_repetition_fails_on_flags_and_distance(planted):
    failed = _failed(planted["audits"]["degenerate"])
    assert {"flagged", "distance"} <= failed
    flags = read_json(planted["audits"]["degenerate"] / "audit.json")["per_document"][0]["flags"]
    assert "repetition" in flags and "quality:repeated_lines" not in flags  # one line: the repetition rule catches it


def test_curate_refuses_a_failed_set_and_records_a_forced_one(planted, sample_dir):
    base = dict(paths=[str(sample_dir / "domain_corpus.jsonl")], eval_paths=[str(sample_dir / "domain_eval.jsonl")])
    with pytest.raises(WorkbenchError) as refused:
        run_curate(CurateConfig(**base, synthetic=str(planted["audits"]["copies"])), progress=False)
    assert refused.value.field == "synthetic_force"
    assert "failed its audit: leakage: 12 of 24" in refused.value.message and "novelty" in refused.value.message
    assert "remove the copied documents" in refused.value.fix

    forced = run_curate(CurateConfig(**base, synthetic=str(planted["audits"]["copies"]), synthetic_force=True), progress=False)
    assert forced.manifest["synthetic"]["forced"] is True and forced.manifest["synthetic"]["passed"] is False
    assert len(forced.manifest["synthetic"]["reasons"]) == 2


def test_a_passed_set_joins_the_snapshot_flagged_with_its_provenance(planted, sample_dir, tmp_path):
    base = dict(paths=[str(sample_dir / "domain_corpus.jsonl")], eval_paths=[str(sample_dir / "domain_eval.jsonl")])
    plain = run_curate(CurateConfig(**base), progress=False)
    folder = curate(CurateConfig(**base, synthetic=str(planted["audits"]["good"])), out=tmp_path / "mixed", progress=False)
    manifest = read_json(folder / "manifest.json")
    mixed = manifest["synthetic"]
    assert mixed["passed"] is True and mixed["forced"] is False and mixed["documents"] == 60
    assert mixed["ids"][:2] == ["syn-001", "syn-002"] and list(mixed["sources"].values()) == [60]
    assert mixed["documents_sha256"] == read_audit(planted["audits"]["good"])["documents_sha256"]
    records = read_jsonl(folder / "synthetic.jsonl")
    assert len(records) == 60 and all(r["synthetic"] is True and r["source"] for r in records)
    # the real splits are untouched; the synthetic file is hashed into the snapshot's content hash
    assert manifest["files"]["train.jsonl"] == plain.manifest["files"]["train.jsonl"]
    assert manifest["counts"]["synthetic"] == 60 and manifest["content_hash"] != plain.content_hash
    assert "synthetic" not in plain.manifest


def test_an_audited_set_edited_after_its_audit_is_refused(planted, tmp_path, sample_dir):
    import shutil

    copy = shutil.copytree(planted["audits"]["good"], tmp_path / "edited")
    with open(copy / DOCUMENTS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "late", "text": "added after the audit", "source": "x", "synthetic": True}) + "\n")
    with pytest.raises(WorkbenchError, match="changed after it was audited"):
        run_curate(CurateConfig(paths=[str(sample_dir / "domain_corpus.jsonl")], synthetic=str(copy)), progress=False)


def test_cli_audits_and_curate_names_the_force_flag(planted, tiny_model, tmp_path, capsys):
    runner = CliRunner()
    from workbench.cli import app

    result = runner.invoke(app, ["synthetic", "audit", str(planted["root"] / "off_domain.jsonl"), "--real",
                                 str(planted["snapshot"]), "--model", str(tiny_model), "--out", str(tmp_path / "audit")])
    assert result.exit_code == 0, result.output
    assert "FAIL  domain" in result.output and "failed the audit" in result.output
    with pytest.raises(SystemExit) as exit_code:
        main(["curate", str(planted["sample_dir"] / "domain_corpus.jsonl"), "--synthetic", str(tmp_path / "audit"),
              "--out", str(tmp_path / "snap")])
    assert exit_code.value.code == 2
    err = capsys.readouterr().err
    assert "failed its audit: domain" in err and "mix it anyway with --force" in err


def test_generated_text_is_written_flagged_with_its_prompt(tiny_model, tmp_path):
    from workbench.workflows import generate_synthetic

    path = generate_synthetic(["Warfarin is", "  ", "Lithium levels rise when"], str(tiny_model), tmp_path / "gen.jsonl",
                              max_new_tokens=8, source="tiny model")
    docs = read_jsonl(path)
    assert [d["prompt"] for d in docs] == ["Warfarin is", "Lithium levels rise when"]
    assert all(d["synthetic"] is True and d["source"] == "tiny model" and d["text"].startswith(d["prompt"]) for d in docs)
    assert [d["id"] for d in import_synthetic([path])] == ["generated-0001", "generated-0002"]
    with pytest.raises(WorkbenchError, match="no prompts"):
        generate_synthetic([" "], str(tiny_model), tmp_path / "none.jsonl")
