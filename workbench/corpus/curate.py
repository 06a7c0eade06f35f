"""``workbench curate``: turn corpus files into a clean, versioned snapshot (train.jsonl, eval.jsonl, manifest.json).

Order of the steps (each removed document is counted under the first reason that removes it):
length, language, quality, exact duplicate, near duplicate, then the train/eval split by content hash,
then leakage (train documents that near-duplicate an eval document). PII is redacted in what is kept.
The same inputs and config rebuild a byte-identical snapshot: nothing in ``manifest.json``,
``train.jsonl`` or ``eval.jsonl`` depends on the time, the worker count or the machine; the build time
and hardware go to ``build.json``.

:func:`run_curate` computes the snapshot in memory (a :class:`CurationResult`: the documents, the
funnel, the manifest) and writes nothing; :meth:`CurationResult.write` (:func:`write_snapshot`)
persists it; :func:`curate_corpus` does both, as ``workbench curate`` and the curate job do. A notebook
can look at the funnel and the documents first, and write only the snapshot it wants.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench.artifacts import headline, make_card, write_manifest
from workbench.config import to_dict
from workbench.corpus.config import CurateConfig
from workbench.corpus.pii import redact
from workbench.corpus.quality import SIGNALS, failed_rule
from workbench.corpus.signals import SignalOptions, column, corpus_dataset, iter_signal_rows, signatures_of
from workbench.documents.dedup import find_leakage, find_near_duplicates
from workbench.documents.readers import plan_files
from workbench.errors import WorkbenchError
from workbench.io import atomic_directory, check_output_folder, dumps, read_json, sha256_file, write_json
from workbench.progress import emit
from workbench.runcard import git_commit, hardware, now_iso, package_versions

if TYPE_CHECKING:
    import plotly.graph_objects as go
    import pyarrow as pa

SNAPSHOT_FORMAT = 1
REASONS = ("too_short", "too_long", "language", "quality", "exact_duplicate", "near_duplicate", "leakage")
SPLITS = ("train", "eval")
SPLIT_FILES = {"train": "train.jsonl", "eval": "eval.jsonl"}
SYNTHETIC_FILE = "synthetic.jsonl"  # an audited synthetic set mixed into the snapshot, each document flagged


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
                             "set {field} to a JSONL of {\"id\", \"reason\"} lines (e.g. from 'workbench review export "
                             "--format drops').", field="drop_list")
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
@dataclass
class CurationResult:
    """One snapshot, computed and not yet written: what ``workbench curate`` puts in the folder.

    Attributes:
        config: the resolved :class:`CurateConfig` (also in ``manifest["config"]``).
        train: the training documents (``id``, ``text``, ``source``; PII redacted), in file order, as an
            in-memory Arrow table: compact (about the size of the kept text) and immutable, so the file
            hashes in the manifest keep describing it. ``result.documents("train")`` gives dicts.
        eval: the held-out documents, likewise.
        manifest: the content of ``manifest.json`` (counts, the removals per reason, sizes in words and,
            with a tokenizer, tokens, file hashes, content hash).
        build: the content of ``build.json`` (when, how long, on what hardware).
        out: the folder :meth:`write` uses when none is given (None: it must be given).
    """

    config: CurateConfig
    train: pa.Table
    eval: pa.Table
    manifest: dict
    build: dict
    out: Path | None = None
    synthetic: list[dict] | None = None
    """The audited synthetic documents mixed in (``synthetic.jsonl``: ``synthetic: true`` and the source each),
    None without a synthetic set; the manifest's ``synthetic`` entry records their audit and provenance."""

    @property
    def counts(self) -> dict:
        """Documents in, removed per reason, and kept for train and eval (``manifest["counts"]``)."""
        return self.manifest["counts"]

    @property
    def removed(self) -> dict:
        """The funnel: documents removed per reason, in the order curation applies the reasons."""
        return self.counts["removed"]

    @property
    def sizes(self) -> dict:
        """Words (always) and tokens (when a tokenizer counted them) of train and eval."""
        return self.manifest["sizes"]

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]

    def documents(self, split: str = "train") -> list[dict]:
        """The documents of ``split`` ('train' or 'eval') as dicts, exactly as the JSONL file holds them."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use 'train' or 'eval'")
        return getattr(self, split).to_pylist()

    def figures(self) -> dict[str, go.Figure]:
        """Figures of the snapshot by name (the removal funnel), the same ones its folder draws."""
        from workbench.corpus.plots import snapshot_figures

        return snapshot_figures(self.manifest)

    def write(self, out: str | os.PathLike | None = None, overwrite: bool = False, on_progress=None) -> Path:
        """Persist the snapshot (the files ``workbench curate`` writes) to ``out`` (default ``self.out``)."""
        folder = out if out is not None else self.out
        if folder is None:
            raise WorkbenchError("no snapshot folder to write to.", "pass out=, e.g. workspace.folder('snapshots', NAME).")
        return write_snapshot(self, folder, overwrite=overwrite, on_progress=on_progress)


def curate_corpus(
    config: CurateConfig,
    out: str | os.PathLike,
    num_proc: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    on_progress=None,
    tokenizer=None,
) -> dict:
    """Build the snapshot folder ``out`` from ``config.paths``; returns its manifest.

    :func:`run_curate` then :func:`write_snapshot`: the same files as ever.

    Args:
        config: what to read and the cleaning rules (recorded, resolved, in the manifest).
        out: snapshot folder, built under a temporary name and renamed when complete.
        num_proc: worker processes for ``datasets.map`` (does not change the result).
        on_progress: receives :class:`workbench.progress.ProgressEvent` (documents read, then written).
        tokenizer: an already loaded tokenizer to count tokens with (default: ``config.model``'s, if set).
    """
    if not config.paths:
        raise WorkbenchError("no corpus paths given.", "pass one or more files or folders to curate.")
    check_output_folder(out, overwrite)  # before a file is read
    result = run_curate(config, num_proc=num_proc, progress=progress, on_progress=on_progress, tokenizer=tokenizer)
    write_snapshot(result, out, overwrite=overwrite, on_progress=on_progress)
    return result.manifest


def run_curate(
    config: CurateConfig,
    num_proc: int | None = None,
    progress: bool = True,
    on_progress=None,
    tokenizer=None,
    out: str | os.PathLike | None = None,
) -> CurationResult:
    """Curate ``config.paths`` in memory: filter, deduplicate, split, redact, count; writes nothing.

    Args:
        config: what to read and the cleaning rules.
        num_proc: worker processes for ``datasets.map`` (does not change the result).
        on_progress: receives :class:`workbench.progress.ProgressEvent` (documents curated, then prepared).
        tokenizer: an already loaded tokenizer to count tokens with; default: ``config.model``'s tokenizer
            (only the tokenizer is loaded), none when ``config.model`` is None (sizes in words only).
        out: where :meth:`CurationResult.write` writes by default.

    Returns:
        The :class:`CurationResult`; ``result.write(folder)`` makes the snapshot folder.
    """
    if not config.paths:
        raise WorkbenchError("no corpus paths given.", "pass one or more files or folders to curate.")
    expert = expert_drops(config)  # keep/drop labels from review; a malformed drop list fails before the corpus is read
    if config.drop_list:
        config = replace(config, drop_documents=expert)  # the manifest records the resolved list
    synthetic = _audited_synthetic(config)  # the audit's gate refuses a failed set before the corpus is read
    started = time.perf_counter()
    eval_files = {str(f) for f in plan_files(config.eval_paths).files} if config.eval_paths else set()
    if tokenizer is None and config.model:
        from workbench.models.load import load_tokenizer

        tokenizer = load_tokenizer(config.model)  # the tokenizer only: curation never loads weights
    options = SignalOptions(dedup=config.dedup, quality=config.quality, language_chars=config.language_chars,
                            pii_types=(), vocabulary=False)  # PII is redacted on write
    all_paths = list(config.paths) + list(config.eval_paths or [])
    with corpus_dataset(all_paths, config.text_field, progress, config.text_unit,
                        max_document_chars=config.max_document_chars) as (dataset, plan):
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

        splits, redacted = _kept_documents(dataset, reason, split, config, tokenizer, on_progress)
        ids = column(dataset, "id")
        file_hashes = {SPLIT_FILES[name]: splits[name].sha256.hexdigest() for name in SPLITS}
        synthetic_entry = None
        if synthetic is not None:
            synthetic_docs, synthetic_entry = _mix_synthetic(synthetic, config, tokenizer)
            file_hashes[SYNTHETIC_FILE] = hashlib.sha256(_jsonl(synthetic_docs).encode("utf-8")).hexdigest()
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
                "non_string_text": plan.report.non_string_text,
                "split_documents": plan.report.split_documents,
                "removed": {r: counts.get(r, 0) for r in REASONS + (("expert_drop",) if expert else ())},
                "train": n_train,
                "eval": n_eval,
                **({"synthetic": synthetic_entry["documents"]} if synthetic_entry else {}),
            },
            **({"synthetic": synthetic_entry} if synthetic_entry else {}),
            **({"expert_drops": [{"id": str(doc_ids[i]), "reason": expert[str(doc_ids[i])]}
                                 for i in range(n) if reason[i] == "expert_drop"]} if expert else {}),
            "pii_redacted": {k: redacted.get(k, 0) for k in config.pii_types} if config.redact_pii else None,
            "leakage_pairs": [{"train_id": ids[t], "eval_id": ids[e], "jaccard": s} for t, e, s in leak_examples[:50]],
            "files": {name: {"sha256": digest} for name, digest in file_hashes.items()},
            "content_hash": hashlib.sha256(
                "".join(f"{name}:{digest}\n" for name, digest in sorted(file_hashes.items())).encode()
            ).hexdigest(),
            # words as curation counts them (of the text before redaction); tokens in the model's tokenizer
            # (of the text as written, as ``inspect`` counts them: no special tokens) when one was given
            "sizes": {
                "train_words": sum(words[i] for i in kept if split[i] == "train" and reason[i] is None),
                "eval_words": sum(words[i] for i in kept if split[i] == "eval"),
                "train_tokens": splits["train"].tokens if tokenizer is not None else None,
                "eval_tokens": splits["eval"].tokens if tokenizer is not None else None,
                "tokenizer": _tokenizer_name(config, tokenizer),
            },
            "warnings": plan.report.notes(config.text_field),
            "versions": package_versions(),
            "git_commit": git_commit(),
            "complete": True,
        }
        build = {"created": now_iso(), "seconds": round(time.perf_counter() - started, 2), "hardware": hardware()}
        return CurationResult(config, splits["train"].table(), splits["eval"].table(), manifest, build,
                              Path(out) if out is not None else None,
                              synthetic_docs if synthetic is not None else None)


def _audited_synthetic(config: CurateConfig) -> tuple[dict, dict, list[dict]] | None:
    """(audit, gate decision, documents) of ``config.synthetic``; the gate's error when the set failed its audit."""
    if not config.synthetic:
        return None
    from workbench.corpus.synthetic import gate, read_audit, read_audited_documents

    audit = read_audit(config.synthetic)
    decision = gate(audit, config.synthetic_force, config.synthetic)
    return audit, decision, read_audited_documents(config.synthetic)


def _mix_synthetic(synthetic: tuple[dict, dict, list[dict]], config: CurateConfig, tokenizer) -> tuple[list[dict], dict]:
    """The synthetic documents as the snapshot holds them (PII redacted as the rest), and the manifest's entry."""
    from workbench.corpus.synthetic import synthetic_provenance

    audit, decision, documents = synthetic
    mixed = []
    for doc in documents:
        text = redact(doc["text"], config.pii_types)[0] if config.redact_pii else doc["text"]
        mixed.append({"id": str(doc["id"]), "text": text, "source": doc.get("source"), "synthetic": True})
    tokens = None
    if tokenizer is not None:
        from workbench.corpus.signals import TokenCounter

        tokens = int(sum(TokenCounter(tokenizer).count([d["text"] for d in mixed])))
    return mixed, synthetic_provenance(config.synthetic, audit, decision, mixed, tokens)


def _jsonl(records: list[dict]) -> str:
    return "".join(dumps(record, indent=None) + "\n" for record in records)


class _Split:
    """One split being collected: Arrow batches of its records, the sha256 of its JSONL bytes, its tokens."""

    def __init__(self) -> None:
        self.batches: list = []
        self.sha256 = hashlib.sha256()
        self.tokens = 0
        self.rows = {"id": [], "text": [], "source": []}

    def add(self, record: dict) -> None:
        for key in self.rows:
            self.rows[key].append(record[key])
        self.sha256.update((dumps(record, indent=None) + "\n").encode("utf-8"))

    def flush(self, counter) -> None:
        import pyarrow as pa

        if not self.rows["id"]:
            return
        if counter is not None:
            self.tokens += int(sum(counter.count(self.rows["text"])))
        self.batches.append(pa.table(self.rows, schema=_schema()))
        self.rows = {"id": [], "text": [], "source": []}

    def table(self) -> pa.Table:
        import pyarrow as pa

        return pa.concat_tables(self.batches) if self.batches else _schema().empty_table()


def _schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string())])


def _kept_documents(dataset, reason: list, split: dict, config: CurateConfig, tokenizer,
                    on_progress) -> tuple[dict[str, _Split], Counter]:
    """The kept documents by split, as written: unique ids, PII redacted, hashed and counted in tokens."""
    from workbench.corpus.signals import TokenCounter

    counter = TokenCounter(tokenizer) if tokenizer is not None else None
    n = len(dataset)
    splits = {name: _Split() for name in SPLITS}
    ids_used: Counter = Counter()
    redacted: Counter = Counter()
    position = 0
    for batch in dataset.select_columns(["id", "text", "source"]).iter(batch_size=1000):
        emit(on_progress, "preparing snapshot", position, n, "document")
        for doc_id, text, source in zip(batch["id"], batch["text"], batch["source"]):
            i, position = position, position + 1
            if reason[i] is not None:
                continue
            if config.redact_pii:
                text, found = redact(text, config.pii_types)
                redacted.update({k: v for k, v in found.items() if v})
            ids_used[doc_id] += 1
            unique_id = doc_id if ids_used[doc_id] == 1 else f"{doc_id}#{ids_used[doc_id]}"
            splits[split[i]].add({"id": unique_id, "text": text, "source": source})
        for part in splits.values():
            part.flush(counter)
    emit(on_progress, "preparing snapshot", n, n, "document")
    return splits, redacted


def _tokenizer_name(config: CurateConfig, tokenizer) -> str | None:
    """What counted the tokens: the model spec of the config, else the loaded tokenizer's name."""
    if tokenizer is None:
        return None
    return config.model or getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__


def write_snapshot(result: CurationResult, out: str | os.PathLike, overwrite: bool = False,
                   on_progress=None) -> Path:
    """Write a :class:`CurationResult` as a snapshot folder: ``train.jsonl``, ``eval.jsonl``,
    ``manifest.json``, ``build.json`` and the artifact manifest, built under a temporary name and
    renamed when complete. Returns the folder.

    The files are checked against the hashes the manifest records, so a snapshot never describes
    documents other than the ones it holds.
    """
    manifest = result.manifest
    total = result.train.num_rows + result.eval.num_rows
    written = 0
    with atomic_directory(out, overwrite=overwrite) as tmp:
        for name in SPLITS:
            digest = hashlib.sha256()
            with open(tmp / SPLIT_FILES[name], "w", encoding="utf-8", newline="\n") as handle:
                for batch in getattr(result, name).to_batches(max_chunksize=1000):
                    emit(on_progress, "writing snapshot", written, total, "document")
                    chunk = "".join(dumps(record, indent=None) + "\n" for record in batch.to_pylist())
                    handle.write(chunk)
                    digest.update(chunk.encode("utf-8"))
                    written += batch.num_rows
            if digest.hexdigest() != manifest["files"][SPLIT_FILES[name]]["sha256"]:
                raise WorkbenchError(f"{SPLIT_FILES[name]} does not match the hash its manifest records.",
                                     "the result's documents were changed after curation: run run_curate again.")
        if result.synthetic is not None:
            chunk = _jsonl(result.synthetic)
            (tmp / SYNTHETIC_FILE).write_text(chunk, encoding="utf-8", newline="\n")
            if hashlib.sha256(chunk.encode("utf-8")).hexdigest() != manifest["files"][SYNTHETIC_FILE]["sha256"]:
                raise WorkbenchError(f"{SYNTHETIC_FILE} does not match the hash its manifest records.",
                                     "the result's synthetic documents were changed after curation: run run_curate again.")
        write_json(tmp / "manifest.json", manifest)
        write_json(tmp / "build.json", result.build)
        card = make_card(result.config)
        card["inputs"] = {i["path"]: {"path": i["path"], "sha256": i["sha256"]} for i in manifest["inputs"]}
        write_manifest(tmp, "snapshot", card=card, created=result.build["created"], headline=headline("snapshot", manifest))
    emit(on_progress, "writing snapshot", total, total, "document")
    return Path(out)


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
