"""Synthetic text: import it flagged per document, measure it against real text, and gate what may be mixed.

Synthetic documents (made elsewhere, or generated from prompts with the chosen model) are read as any corpus
is and carry ``synthetic: true`` and their ``source``. Before they may join a snapshot they are audited
against the real text of a snapshot (``workflows.audit_synthetic`` composes the audit): each check below
yields one finding, a measured value against its limit (:class:`~workbench.corpus.config.SyntheticAuditConfig`):

- ``distance``: Fréchet distance of the synthetic set to the held-out real text in the base model's hidden
  states, read against the distance of a real training sample of the same size (``corpus.representation``);
- ``leakage``: synthetic documents that near-duplicate a real training or held-out document (curate's
  definition: word-shingle Jaccard at the leakage threshold);
- ``novelty``: the share of synthetic word n-grams found in no real document;
- ``domain``: the share of synthetic documents using a domain term, and the terms covered;
- ``flagged``: documents failing a length, quality (curate's rules) or repetition rule.

The audit folder holds ``documents.jsonl`` (the flagged documents), ``audit.json`` (the findings and the
verdict) and ``review_items.jsonl`` (a sample for review). :func:`gate` refuses a failed audit unless forced,
and :func:`synthetic_provenance` is what a snapshot's manifest records of the set it mixed.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from workbench.corpus.config import SyntheticAuditConfig
from workbench.corpus.quality import failed_rule, quality_signals
from workbench.documents.readers import iter_documents
from workbench.documents.words import lower_words, words
from workbench.errors import WorkbenchError
from workbench.io import atomic_directory, read_json, read_jsonl, sha256_file, write_json, write_jsonl

AUDIT_FORMAT = 1
AUDIT_FILE = "audit.json"
DOCUMENTS_FILE = "documents.jsonl"
REVIEW_FILE = "review_items.jsonl"
CHECKS = ("distance", "leakage", "novelty", "domain", "flagged")
"""The audit's checks, in the order its reasons are listed."""


def import_synthetic(paths, text_field: str = "text", text_unit: str = "auto", source: str | None = None) -> list[dict]:
    """Synthetic documents from files or folders: ``{"id", "text", "source", "synthetic": True}`` each.

    Args:
        source: where the text came from (recorded per document); default: the file each was read from.

    Returns:
        The documents in file order; ids are the readers' ids, made unique with ``#2``, ``#3``...
    """
    used: Counter = Counter()
    documents = []
    for doc in iter_documents(paths, text_field, text_unit):
        if not doc.text.strip():
            continue
        used[doc.id] += 1
        doc_id = doc.id if used[doc.id] == 1 else f"{doc.id}#{used[doc.id]}"
        documents.append({"id": doc_id, "text": doc.text, "source": source or doc.source, "synthetic": True})
    if not documents:
        raise WorkbenchError(f"no synthetic documents found in {', '.join(map(str, _as_list(paths)))}.",
                             "pass text, JSONL, CSV or Parquet files holding the synthetic text.", field="paths")
    return documents


def generated_documents(texts: Sequence[str], source: str = "generated") -> list[dict]:
    """Texts generated from prompts as synthetic documents (``generated-0001``...; empty texts skipped)."""
    return [{"id": f"generated-{i + 1:04d}", "text": text, "source": source, "synthetic": True}
            for i, text in enumerate(texts) if text.strip()]


def _as_list(paths) -> list:
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)


def spread_indices(n: int, k: int) -> list[int]:
    """``k`` indices evenly spread over ``range(n)`` (all of them when ``k >= n``)."""
    if k >= n:
        return list(range(n))
    if k <= 0:
        return []
    return sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)}) if k > 1 else [n // 2]


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The distinct lowercased word n-grams of ``text``."""
    w = lower_words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def ngram_novelty(texts: Sequence[str], real_texts: Sequence[str], n: int = 8) -> dict:
    """How much of the synthetic text is new: the share of its distinct word n-grams found in no real document.

    Returns:
        ``{"n", "ngrams", "novel", "novelty", "per_document"}``: ``per_document`` is each document's share
        (1.0 for a document shorter than ``n`` words, which can copy nothing of that length).
    """
    real: set = set()
    for text in real_texts:
        real |= ngrams(text, n)
    total = novel = 0
    per_document = []
    for text in texts:
        grams = ngrams(text, n)
        new = sum(1 for g in grams if g not in real)
        total += len(grams)
        novel += new
        per_document.append(round(new / len(grams), 4) if grams else 1.0)
    return {"n": n, "ngrams": total, "novel": novel, "novelty": round(novel / total, 4) if total else 1.0,
            "per_document": per_document}


def domain_coverage(texts: Sequence[str], terms: Sequence[str]) -> dict:
    """Which domain terms the synthetic text uses: ``{"terms", "covered", "missing", "term_coverage",
    "domain_share", "per_document"}``; ``domain_share`` is the share of documents using at least one term,
    ``per_document`` the number of distinct terms each uses."""
    wanted = [t.lower() for t in terms]
    single = {t for t in wanted if " " not in t}
    per_document, used = [], set()
    for text in texts:
        lowered = text.lower()
        found = (set(lower_words(text)) & single) | {t for t in wanted if " " in t and t in lowered}
        used |= found
        per_document.append(len(found))
    n = len(per_document)
    return {
        "terms": len(wanted), "covered": [t for t in wanted if t in used], "missing": [t for t in wanted if t not in used],
        "term_coverage": round(len(used) / len(wanted), 4) if wanted else None,
        "domain_share": round(sum(1 for k in per_document if k) / n, 4) if n and wanted else None,
        "per_document": per_document,
    }


def document_flags(texts: Sequence[str], repetition: Sequence[float], config: SyntheticAuditConfig) -> list[list[str]]:
    """Per document, the rules it fails: ``too_short`` (under ``min_words``), a quality rule (curate's),
    ``repetition`` (a share of repeated word 3-grams above ``max_repetition``)."""
    flags = []
    for text, repeated in zip(texts, repetition):
        found = []
        w = words(text)
        if len(w) < config.min_words:
            found.append("too_short")
        rule = failed_rule(quality_signals(text, w), config.quality)
        if rule:
            found.append(f"quality:{rule}")
        if repeated > config.max_repetition:
            found.append("repetition")
        flags.append(found)
    return flags


def findings(
    config: SyntheticAuditConfig,
    documents: Sequence[dict],
    distance: dict,
    leaked: dict,
    novelty: dict,
    coverage: dict,
    flags: Sequence[Sequence[str]],
) -> list[dict]:
    """The audit's findings, one per check (:data:`CHECKS`): ``{"check", "value", "limit", "passed", "reason",
    "fix"}``; ``reason`` says what failed in one line (None when it passed), ``fix`` what to do about it.

    Args:
        distance: ``{"synthetic", "reference", "ratio"}`` (Fréchet distances to the held-out text).
        leaked: ``{"documents": [{"id", "real_id", "split", "jaccard"}]}``, one row per leaking document.
        novelty: :func:`ngram_novelty`'s result; coverage: :func:`domain_coverage`'s.
        flags: :func:`document_flags`'s result.
    """
    n = len(documents)
    out = []
    ratio = distance.get("ratio")
    out.append(_finding(
        "distance", ratio, config.max_distance_ratio, ratio is None or ratio <= config.max_distance_ratio,
        f"the synthetic text lies {ratio}x as far from the held-out real text as a real sample of the same size "
        f"does (Fréchet distance {distance.get('synthetic')} against {distance.get('reference')}; limit "
        f"{config.max_distance_ratio}x)",
        "make the synthetic text read more like the real documents (their style, length and topics), or raise "
        "max_distance_ratio after reviewing the sample"))
    leaked_share = round(len(leaked["documents"]) / n, 4) if n else 0.0
    shown = ", ".join(f"{d['id']} ~ {d['real_id']} ({d['split']})" for d in leaked["documents"][:3])
    out.append(_finding(
        "leakage", leaked_share, config.max_leaked_share, leaked_share <= config.max_leaked_share,
        f"{len(leaked['documents'])} of {n} synthetic documents near-duplicate real documents ({shown})",
        "remove the copied documents; a copy of held-out text would make the comparison measure memorisation"))
    out.append(_finding(
        "novelty", novelty["novelty"], config.min_novelty, novelty["novelty"] >= config.min_novelty,
        f"only {novelty['novelty']:.0%} of the synthetic {novelty['n']}-word sequences appear in no real document "
        f"(limit {config.min_novelty:.0%})",
        "generate new text rather than paraphrasing or copying the real documents"))
    share = coverage.get("domain_share")
    out.append(_finding(
        "domain", share, config.min_domain_share, share is None or share >= config.min_domain_share,
        f"only {share if share is None else f'{share:.0%}'} of the synthetic documents use one of the "
        f"{coverage['terms']} domain terms (limit {config.min_domain_share:.0%})",
        "generate text about the domain (prompts from its documents or its glossary), or drop the off-domain "
        "documents"))
    flagged = sum(1 for f in flags if f)
    flagged_share = round(flagged / n, 4) if n else 0.0
    kinds = Counter(f.split(":")[0] for doc in flags for f in doc)
    out.append(_finding(
        "flagged", flagged_share, config.max_flagged_share, flagged_share <= config.max_flagged_share,
        f"{flagged} of {n} synthetic documents fail a length, quality or repetition rule "
        f"({', '.join(f'{k} {v}' for k, v in kinds.most_common())})",
        "drop or regenerate the flagged documents (repetition: sample with a repetition penalty)"))
    return out


def _finding(check: str, value, limit, passed: bool, reason: str, fix: str) -> dict:
    return {"check": check, "value": value, "limit": limit, "passed": bool(passed),
            "reason": None if passed else reason, "fix": None if passed else fix}


def verdict(found: Sequence[dict]) -> dict:
    """``{"passed", "reasons", "fixes"}``: passed when every check passed; the failed checks' reasons and fixes."""
    failed = [f for f in found if not f["passed"]]
    return {"passed": not failed, "reasons": [f"{f['check']}: {f['reason']}" for f in failed],
            "fixes": [f"{f['check']}: {f['fix']}" for f in failed]}


def write_audit(folder: str | os.PathLike, documents: Sequence[dict], audit: dict, review_items: Sequence[dict] = (),
                overwrite: bool = False) -> Path:
    """Write an audit folder (``documents.jsonl``, ``audit.json``, ``review_items.jsonl``), complete or not at all."""
    with atomic_directory(folder, overwrite=overwrite) as tmp:
        write_jsonl(tmp / DOCUMENTS_FILE, documents)
        write_jsonl(tmp / REVIEW_FILE, review_items)
        write_json(tmp / AUDIT_FILE, {**audit, "documents_sha256": sha256_file(tmp / DOCUMENTS_FILE)})
    return Path(folder)


def read_audit(folder: str | os.PathLike) -> dict:
    """The ``audit.json`` of an audit folder; an error naming the folder when it is none, or when its documents
    changed after the audit (their hash no longer matches)."""
    folder = Path(folder)
    if not (folder / AUDIT_FILE).is_file() or not (folder / DOCUMENTS_FILE).is_file():
        raise WorkbenchError(f"{folder} is not an audited synthetic set (no {AUDIT_FILE} and {DOCUMENTS_FILE}).",
                             "audit the synthetic text first ('workbench synthetic audit') and give {field} its folder.",
                             field="synthetic")
    audit = read_json(folder / AUDIT_FILE)
    if audit.get("documents_sha256") != sha256_file(folder / DOCUMENTS_FILE):
        raise WorkbenchError(f"{folder / DOCUMENTS_FILE} changed after it was audited.",
                             "audit the synthetic text again; only audited text may be mixed.", field="synthetic")
    return audit


def read_audited_documents(folder: str | os.PathLike) -> list[dict]:
    """The synthetic documents of an audit folder, each flagged ``synthetic: true`` with its source."""
    return read_jsonl(Path(folder) / DOCUMENTS_FILE)


def gate(audit: dict, force: bool = False, folder: str | os.PathLike | None = None) -> dict:
    """Whether an audited set may be mixed: its verdict, or a :class:`WorkbenchError` listing the failed checks
    and their fixes when it failed and ``force`` is not set.

    Returns:
        ``{"passed", "forced", "reasons"}``: ``forced`` is True only when a failed set is mixed anyway.
    """
    result = audit.get("verdict") or {}
    passed = bool(result.get("passed"))
    reasons = list(result.get("reasons") or [])
    if not passed and not force:
        where = f" {folder}" if folder else ""
        raise WorkbenchError(
            f"the synthetic set{where} failed its audit: " + "; ".join(reasons) + ".",
            " ".join(f"{fix}." for fix in result.get("fixes") or []) + " Or mix it anyway with {field} "
            "(the override is recorded).",
            field="synthetic_force",
        )
    return {"passed": passed, "forced": not passed, "reasons": reasons}


def synthetic_provenance(folder: str | os.PathLike, audit: dict, decision: dict, documents: Sequence[dict],
                         tokens: int | None = None) -> dict:
    """What a snapshot's manifest records of the synthetic set it mixed: the audit folder and its hashes, the
    verdict and whether it was forced, the documents (ids and sources) and their size."""
    folder = Path(folder)
    return {
        "audit": str(folder),
        "audit_sha256": hashlib.sha256((folder / AUDIT_FILE).read_bytes()).hexdigest(),
        "documents_sha256": audit.get("documents_sha256"),
        "passed": decision["passed"],
        "forced": decision["forced"],
        "reasons": decision["reasons"],
        "distance_ratio": (audit.get("distance") or {}).get("ratio"),
        "documents": len(documents),
        "words": sum(len(words(d["text"])) for d in documents),
        "tokens": tokens,
        "sources": dict(Counter(str(d.get("source")) for d in documents).most_common()),
        "ids": [d["id"] for d in documents],
    }
