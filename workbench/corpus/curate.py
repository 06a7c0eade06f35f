"""``workbench curate``: turn corpus files into a clean, versioned snapshot (train.jsonl, eval.jsonl, manifest.json).

Order of the steps (each removed document is counted under the first reason that removes it):
length, language, quality, exact duplicate, near duplicate, then the train/eval split by content hash,
then leakage (train documents that near-duplicate an eval document). PII is redacted in what is kept.
The same inputs and config rebuild a byte-identical snapshot: nothing in ``manifest.json``,
``train.jsonl`` or ``eval.jsonl`` depends on the time, the worker count or the machine; the build time
and hardware go to ``build.json``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from workbench.artifacts import headline, make_card, write_manifest
from workbench.config import to_dict
from workbench.corpus.config import CurateConfig
from workbench.corpus.dedup import find_leakage, find_near_duplicates
from workbench.corpus.pii import redact
from workbench.corpus.quality import SIGNALS, failed_rule
from workbench.corpus.readers import plan_files
from workbench.corpus.signals import SignalOptions, column, corpus_dataset, iter_signal_rows, signatures_of
from workbench.errors import WorkbenchError
from workbench.io import atomic_directory, check_output_folder, dumps, read_json, sha256_file, write_json
from workbench.progress import emit
from workbench.runcard import git_commit, hardware, now_iso, package_versions

SNAPSHOT_FORMAT = 1
REASONS = ("too_short", "too_long", "language", "quality", "exact_duplicate", "near_duplicate", "leakage")


def split_of(exact_hash: str, eval_fraction: float) -> str:
    """'eval' or 'train' from the document's normalised-content hash: stable across runs and orderings."""
    return "eval" if int(exact_hash[:8], 16) / 16**8 < eval_fraction else "train"


def read_drop_list(path: str | os.PathLike) -> dict[str, str]:
    """``{document id: reason}`` from a drop-list JSONL (``{"id", "reason"}`` per line; a missing reason reads
    "dropped by the drop list"); a malformed line names the line and field."""
    from workbench.io import iter_jsonl

    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"drop list {path} does not exist.",
                             "pass a JSONL of {\"id\", \"reason\"} lines (e.g. from 'workbench review export --format drops').")
    drops: dict[str, str] = {}
    for number, record in enumerate(iter_jsonl(path), 1):
        doc_id = record.get("id")
        if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool) or str(doc_id) == "":
            raise WorkbenchError(f"{path} line {number}: field 'id' is missing or not a document id.",
                                 "give the id of the document to drop (the id curate and the profile use).")
        reason = record.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise WorkbenchError(f"{path} line {number}: field 'reason' is not text.", "give the reason as text.")
        drops[str(doc_id)] = reason or "dropped by the drop list"
    return drops


def expert_drops(config: CurateConfig) -> dict[str, str]:
    """The documents to drop: the drop list's (``config.drop_list``), then ``config.drop_documents`` (which win)."""
    drops = read_drop_list(config.drop_list) if config.drop_list else {}
    drops.update({str(k): v for k, v in (config.drop_documents or {}).items()})
    return drops


def curate_corpus(
    config: CurateConfig,
    out: str | os.PathLike,
    num_proc: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    on_progress=None,
) -> dict:
    """Build the snapshot folder ``out`` from ``config.paths``; returns its manifest.

    Args:
        config: what to read and the cleaning rules (recorded, resolved, in the manifest).
        out: snapshot folder, built under a temporary name and renamed when complete.
        num_proc: worker processes for ``datasets.map`` (does not change the result).
        on_progress: receives :class:`workbench.progress.ProgressEvent` (documents read, then written).
    """
    if not config.paths:
        raise WorkbenchError("no corpus paths given.", "pass one or more files or folders to curate.")
    check_output_folder(out, overwrite)  # before a file is read
    expert = expert_drops(config)  # keep/drop labels from review; a malformed drop list fails before the corpus is read
    if config.drop_list:
        config = replace(config, drop_documents=expert)  # the manifest records the resolved list
    started = time.perf_counter()
    eval_files = {str(f) for f in plan_files(config.eval_paths).files} if config.eval_paths else set()
    options = SignalOptions(dedup=config.dedup, quality=config.quality, language_chars=config.language_chars,
                            pii_types=(), vocabulary=False)  # PII is redacted on write
    all_paths = list(config.paths) + list(config.eval_paths or [])
    with corpus_dataset(all_paths, config.text_field, progress, config.text_unit) as (dataset, plan):
        n = len(dataset)
        if n == 0:
            raise WorkbenchError(f"no documents found in {', '.join(map(str, config.paths))}.",
                                 "pass text, JSONL, CSV, Parquet or PDF files (or folders of them).")
        words, exact, langs, scores = [], [], [], []
        quality = {name: [] for name in SIGNALS}
        signatures = []
        emit(on_progress, "curating", 0, n, "document")
        for row in iter_signal_rows(dataset, None, options, num_proc, 256, progress, desc="curating"):
            words.extend(row["words"])
            exact.extend(row["exact"])
            langs.extend(row["lang"])
            scores.extend(row["lang_score"])
            for name in SIGNALS:
                quality[name].extend(row[f"q_{name}"])
            signatures.append(signatures_of(row, config.dedup.num_perm))
            emit(on_progress, "curating", len(words), n, "document")
        sig = np.concatenate(signatures)
        sources = column(dataset, "source")
        in_eval_files = np.array([s in eval_files for s in sources], dtype=bool)

        reason: list[str | None] = [None] * n
        doc_ids = column(dataset, "id") if expert else []
        for i in range(n):
            if expert and str(doc_ids[i]) in expert:
                reason[i] = "expert_drop"
            elif words[i] < config.min_words:
                reason[i] = "too_short"
            elif words[i] > config.max_words:
                reason[i] = "too_long"
            elif config.languages is not None and (langs[i] not in config.languages or scores[i] < config.min_language_score):
                reason[i] = "language"
            elif config.quality_filter and failed_rule({k: quality[k][i] for k in SIGNALS}, config.quality):
                reason[i] = "quality"

        def text_of(i: int) -> str:
            return dataset[int(i)]["text"]

        # dedup within the corpus, and within the given eval files: an eval set is never thinned by the corpus
        for group in (False, True):
            alive = [i for i in range(n) if reason[i] is None and in_eval_files[i] == group]
            if config.exact_dedup:
                seen: set[str] = set()
                for i in alive:
                    if exact[i] in seen:
                        reason[i] = "exact_duplicate"
                    seen.add(exact[i])
                alive = [i for i in alive if reason[i] is None]
            if config.near_dedup and len(alive) > 1:
                idx = np.asarray(alive)
                near = find_near_duplicates(sig[idx], config.dedup, text_of=lambda k, idx=idx: text_of(idx[k]))
                for k in near.duplicates:
                    reason[int(idx[k])] = "near_duplicate"

        kept = [i for i in range(n) if reason[i] is None]
        if eval_files:
            split = {i: "eval" if in_eval_files[i] else "train" for i in kept}
        else:
            split = {i: split_of(exact[i], config.eval_fraction) for i in kept}
            if config.eval_fraction > 0 and len(kept) > 1 and "eval" not in split.values():
                # a small corpus can miss the hash window: send the lowest hash to eval, still deterministic
                split[min(kept, key=lambda i: exact[i])] = "eval"
        train_idx = np.array([i for i in kept if split[i] == "train"], dtype=np.int64)
        eval_idx = np.array([i for i in kept if split[i] == "eval"], dtype=np.int64)
        leaks = find_leakage(sig[train_idx], sig[eval_idx], config.leakage_threshold, config.dedup.shingle_size,
                             lambda k: text_of(train_idx[k]), lambda k: text_of(eval_idx[k]))
        for t, _, _ in leaks:
            reason[int(train_idx[t])] = "leakage"
        leak_examples = sorted({(int(train_idx[t]), int(eval_idx[e]), round(s, 4)) for t, e, s in leaks})

        counts = Counter(r for r in reason if r is not None)
        n_train = sum(1 for i in kept if split[i] == "train" and reason[i] is None)
        n_eval = sum(1 for i in kept if split[i] == "eval")
        if n_train < config.min_documents:
            raise WorkbenchError(
                f"only {n_train} training documents survive curation (of {n}; removed: "
                + ", ".join(f"{k} {v}" for k, v in counts.most_common()) + ").",
                "loosen the filters (e.g. min_words, languages, quality thresholds) or add documents.",
            )

        ids_used: Counter = Counter()
        redacted: Counter = Counter()
        with atomic_directory(out, overwrite=overwrite) as tmp:
            files = {"train": open(tmp / "train.jsonl", "w", encoding="utf-8", newline="\n"),
                     "eval": open(tmp / "eval.jsonl", "w", encoding="utf-8", newline="\n")}
            try:
                position = 0
                for batch in dataset.select_columns(["id", "text", "source"]).iter(batch_size=1000):
                    emit(on_progress, "writing snapshot", position, n, "document")
                    for doc_id, text, source in zip(batch["id"], batch["text"], batch["source"]):
                        i, position = position, position + 1
                        if reason[i] is not None:
                            continue
                        if config.redact_pii:
                            text, found = redact(text, config.pii_types)
                            redacted.update({k: v for k, v in found.items() if v})
                        ids_used[doc_id] += 1
                        unique_id = doc_id if ids_used[doc_id] == 1 else f"{doc_id}#{ids_used[doc_id]}"
                        record = {"id": unique_id, "text": text, "source": source}
                        files[split[i]].write(dumps(record, indent=None) + "\n")
            finally:
                for handle in files.values():
                    handle.close()
            file_hashes = {name: sha256_file(tmp / name) for name in ("train.jsonl", "eval.jsonl")}
            ids = column(dataset, "id")
            manifest = {
                "kind": "snapshot",
                "format": SNAPSHOT_FORMAT,
                "config": to_dict(config),
                "inputs": [{"path": str(f), "bytes": f.stat().st_size, "sha256": sha256_file(f),
                            "role": "eval" if str(f) in eval_files else "corpus", **plan.report.input_fields(f)}
                           for f in plan.files],
                "skipped_files": plan.skipped,
                "counts": {
                    "input_documents": n,
                    "missing_text": plan.report.missing_text,
                    "removed": {r: counts.get(r, 0) for r in REASONS + (("expert_drop",) if expert else ())},
                    "train": n_train,
                    "eval": n_eval,
                },
                **({"expert_drops": [{"id": str(doc_ids[i]), "reason": expert[str(doc_ids[i])]}
                                     for i in range(n) if reason[i] == "expert_drop"]} if expert else {}),
                "pii_redacted": {k: redacted.get(k, 0) for k in config.pii_types} if config.redact_pii else None,
                "leakage_pairs": [{"train_id": ids[t], "eval_id": ids[e], "jaccard": s} for t, e, s in leak_examples[:50]],
                "files": {name: {"sha256": digest} for name, digest in file_hashes.items()},
                "content_hash": hashlib.sha256(
                    "".join(f"{name}:{digest}\n" for name, digest in sorted(file_hashes.items())).encode()
                ).hexdigest(),
                "warnings": plan.report.notes(),
                "versions": package_versions(),
                "git_commit": git_commit(),
                "complete": True,
            }
            write_json(tmp / "manifest.json", manifest)
            created = now_iso()
            write_json(tmp / "build.json", {"created": created, "seconds": round(time.perf_counter() - started, 2),
                                            "hardware": hardware()})
            split_words = {name: sum(words[i] for i in kept if split[i] == name and reason[i] is None)
                           for name in ("train", "eval")}
            card = make_card(config)
            card["inputs"] = {i["path"]: {"path": i["path"], "sha256": i["sha256"]} for i in manifest["inputs"]}
            write_manifest(tmp, "snapshot", card=card, created=created, headline={
                **headline("snapshot", manifest), "train_words": split_words["train"], "eval_words": split_words["eval"]})
        emit(on_progress, "writing snapshot", n, n, "document")
    return manifest


def load_manifest(snapshot: str | os.PathLike) -> dict:
    """The manifest of a complete snapshot (an error naming the problem otherwise)."""
    snapshot = Path(snapshot)
    path = snapshot / "manifest.json"
    if not path.exists():
        raise WorkbenchError(f"{snapshot} is not a snapshot (no manifest.json).", "build one with 'workbench curate'.")
    manifest = read_json(path)
    if not manifest.get("complete"):
        raise WorkbenchError(f"snapshot {snapshot} is incomplete.", "rebuild it with 'workbench curate --overwrite'.")
    return manifest
