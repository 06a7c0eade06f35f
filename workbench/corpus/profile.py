"""``workbench inspect``: profile a corpus against a model's tokenizer and a general reference corpus."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from workbench.artifacts import headline, make_card, write_manifest
from workbench.config import to_dict
from workbench.corpus.config import CorpusConfig
from workbench.corpus.domain import heaps_fit, heaps_points, jensen_shannon, log_odds_terms, readiness, word_counts
from workbench.corpus.flags import LanguageCodes, flagged_documents
from workbench.corpus.pii import PATTERNS
from workbench.corpus.quality import SIGNALS, failed_rule, rule_failures
from workbench.corpus.signals import (
    SignalOptions,
    TokenCounter,
    column_array,
    corpus_dataset,
    iter_signal_rows,
    signatures_of,
    texts_at,
    value_counts,
)
from workbench.documents.dedup import find_near_duplicates
from workbench.documents.difficulty import SIGNAL_LABELS as DIFFICULTY_LABELS
from workbench.documents.difficulty import SIGNALS as DIFFICULTY_SIGNALS
from workbench.documents.readers import ReadReport, emit_notes, plan_files, read_file
from workbench.errors import WorkbenchError
from workbench.io import atomic_directory, check_output_folder, read_glossary, sha256_file, write_json
from workbench.progress import emit
from workbench.runcard import git_commit, now_iso, package_versions
from workbench.samples import sample_path

SAMPLE_REFERENCE = sample_path("general_eval.jsonl")
LARGE_DOCUMENT_TOKENS = 100_000  # one document over this many tokens is implausible: warned, naming --text-unit


def _summary(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {}
    q = np.percentile(values, [10, 50, 90])
    return {"min": float(values.min()), "p10": float(q[0]), "median": float(q[1]), "mean": float(values.mean()),
            "p90": float(q[2]), "max": float(values.max())}


def _histogram(values: np.ndarray, bins: int = 30) -> dict:
    """Log-spaced histogram (lengths span orders of magnitude)."""
    values = values[values > 0]
    if len(values) == 0:
        return {"edges": [], "counts": []}
    lo, hi = values.min(), values.max()
    edges = np.geomspace(lo, hi * 1.0001, bins + 1) if hi > lo else np.array([lo, lo + 1])
    counts, edges = np.histogram(values, bins=edges)
    return {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()}


def _linear_histogram(values: np.ndarray, bins: int = 30) -> dict:
    """Evenly spaced histogram (difficulty signals span one order of magnitude or less)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=bins if hi > lo else 1, range=(lo, hi) if hi > lo else (lo - 0.5, lo + 0.5))
    return {"edges": [round(float(e), 4) for e in edges], "counts": counts.tolist()}


def difficulty_profile(values: dict[str, np.ndarray]) -> dict:
    """The profile's ``difficulty`` key: per signal (compression ratio, MTLD, Flesch reading ease) its summary
    and histogram over the documents, and what the signal means (:mod:`workbench.documents.difficulty`)."""
    return {"signals": {name: _summary(v) for name, v in values.items()},
            "histograms": {name: _linear_histogram(v) for name, v in values.items()},
            "labels": {name: DIFFICULTY_LABELS[name] for name in values}}


def _large_by_tokens(report, doc_tokens: np.ndarray, dataset) -> list[str]:
    """Warnings (printed, and returned for the profile) for documents over LARGE_DOCUMENT_TOKENS tokens in files
    not already warned about by their characters or split over max_document_chars."""
    rows = np.flatnonzero(doc_tokens > LARGE_DOCUMENT_TOKENS)
    warned = {f.path for f in report.large()} | {f.path for f in report.files.values() if f.split_documents}
    notes = []
    for i in rows.tolist():
        record = dataset[int(i)]
        read = report.files.get(record["source"])
        if read is None or read.path in warned:
            continue
        warned.add(read.path)
        read.largest_id, read.largest_chars = record["id"], len(record["text"])
        notes.append(report.large_note(read, tokens=int(doc_tokens[i])))
    emit_notes(notes)
    return notes


def glossary_fit(terms: list[str], tokens: TokenCounter, counts: Counter) -> list[dict]:
    """Token count and pieces of each glossary term (as it appears after a space), and its corpus count."""
    rows = []
    for term, ids in zip(terms, tokens.word_ids(terms)):
        words = term.lower().split()
        rows.append({
            "term": term, "tokens": len(ids), "pieces": [tokens.tokenizer.decode([i]) for i in ids],
            "corpus_count": int(counts.get(words[0], 0)) if len(words) == 1 else None,
        })
    return rows


def profile_corpus(
    config: CorpusConfig,
    out: str | os.PathLike | None = None,
    num_proc: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    tokenizer=None,
    on_progress=None,
) -> dict:
    """Profile the corpus in ``config.paths``; write ``profile.json`` and ``report.html`` to ``out`` if given.

    Args:
        config: what to read and how to measure it.
        out: folder for the profile (built under a temporary name, renamed when complete).
        num_proc: worker processes for ``datasets.map`` (default: the CPU count, at most 8).
        tokenizer: an already loaded tokenizer (default: ``load_tokenizer(config.model)``).
        on_progress: receives :class:`workbench.progress.ProgressEvent` (documents profiled).

    Returns:
        The profile (the content of ``profile.json``).
    """
    from workbench.models.load import load_tokenizer

    if not config.paths:
        raise WorkbenchError("no corpus paths given.", "pass one or more files or folders to inspect.")
    if out is not None:
        check_output_folder(out, overwrite)  # before the tokenizer loads or a file is read
    started = time.perf_counter()
    # every input is checked before the tokenizer is loaded or the corpus read
    plan = plan_files(config.paths)
    reference_paths = config.reference or ([str(SAMPLE_REFERENCE)] if SAMPLE_REFERENCE.exists() else [])
    reference_plan = plan_files(reference_paths) if reference_paths else None
    glossary_terms = read_glossary(config.glossary) if config.glossary else []
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(config.model)
    tokens = TokenCounter(tokenizer, fast=False)  # glossary terms only; documents are counted in the workers
    options = SignalOptions(dedup=config.dedup, quality=config.quality, language_chars=config.language_chars,
                            pii_types=tuple(config.pii_types))  # the project's kinds of personal data only
    num_perm = config.dedup.num_perm

    # per-document signals are kept as compact numpy arrays (one block per batch, joined once at the end);
    # signatures go straight into one preallocated uint32 matrix
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("words", "tokens", "exact", "new_words", "lang")}
    lang_codes = LanguageCodes()  # per-document language, for the flagged documents
    quality_parts: dict[str, list[np.ndarray]] = {name: [] for name in SIGNALS}
    difficulty_parts: dict[str, list[np.ndarray]] = {name: [] for name in DIFFICULTY_SIGNALS}
    pii_parts: dict[str, list[np.ndarray]] = {kind: [] for kind in PATTERNS if kind in config.pii_types}
    split_words = split_base = 0
    languages: Counter = Counter()
    counts: Counter = Counter()
    with corpus_dataset(config.paths, config.text_field, progress, config.text_unit, plan,
                        config.max_document_chars) as (dataset, plan):
        n = len(dataset)
        replaced = column_array(dataset, "replaced", np.int64)
        if config.language_sample:  # every k-th document: an evenly spread sample of at most language_sample
            options.language_every = max(1, -(-n // config.language_sample))
        total_bytes = int(np.sum(column_array(dataset, "nbytes", np.int64)))
        sources = value_counts(dataset, "source")
        sig = np.empty((n, num_perm), dtype=np.uint32)
        filled = 0
        emit(on_progress, "profiling", 0, n, "document")
        for row in iter_signal_rows(dataset, tokenizer, options, num_proc, config.batch_size, progress):
            m = row["n"]
            parts["words"].append(np.asarray(row["words"], dtype=np.int64))
            parts["tokens"].append(np.asarray(row["tokens"], dtype=np.int64))
            # 16-hex-digit hashes as uint64 (equal exactly when the strings are equal)
            parts["exact"].append(np.fromiter((int(h, 16) for h in row["exact"]), dtype=np.uint64, count=m))
            split_words += int(np.sum(row["split_words"], dtype=np.int64))
            split_base += int(np.sum(row["split_base"], dtype=np.int64))
            languages.update(lang for lang in row["lang"] if lang)
            parts["lang"].append(lang_codes.encode(row["lang"]))
            for name in SIGNALS:
                quality_parts[name].append(np.asarray(row[f"q_{name}"], dtype=float))
            for name in DIFFICULTY_SIGNALS:
                difficulty_parts[name].append(np.asarray(row[f"d_{name}"], dtype=float))
            for kind in pii_parts:
                pii_parts[kind].append(np.asarray(row[f"pii_{kind}"], dtype=np.int64))
            sig[filled:filled + m] = signatures_of(row, num_perm)
            filled += m
            emit(on_progress, "profiling", filled, n, "document")
            # distinct words first seen in each document
            vocab, firsts = row["vocab"], row["vocab_first"]
            fresh = [first for word, first in zip(vocab, firsts) if word not in counts]
            parts["new_words"].append(np.bincount(np.asarray(fresh, dtype=np.int64), minlength=m))
            counts.update(dict(zip(vocab, row["vocab_counts"])))
            del row, vocab, firsts, fresh

        def joined(blocks: list[np.ndarray], dtype) -> np.ndarray:
            out = np.concatenate(blocks).astype(dtype, copy=False) if blocks else np.zeros(0, dtype=dtype)
            blocks.clear()
            return out

        words = joined(parts["words"], np.int64)
        doc_tokens = joined(parts["tokens"], np.int64)
        exact = joined(parts["exact"], np.uint64)
        new_words = joined(parts["new_words"], np.int64)
        doc_langs = joined(parts["lang"], np.int16)
        qarr = {name: joined(quality_parts[name], float) for name in SIGNALS}
        darr = {name: joined(difficulty_parts[name], float) for name in DIFFICULTY_SIGNALS}
        pii = {kind: joined(pii_parts[kind], np.int64) for kind in pii_parts}

        # exact duplicates: first document of each normalised hash is kept
        _, first, inverse, group_size = np.unique(exact, return_index=True, return_inverse=True, return_counts=True)
        del exact
        reps = np.sort(first).astype(np.int64)
        exact_dups = n - len(reps)
        multi = np.flatnonzero(group_size > 1)  # groups of two or more, biggest first, then by first member
        multi = multi[np.lexsort((first[multi], -group_size[multi]))][: config.example_clusters]
        chosen = np.flatnonzero(np.isin(inverse, multi))
        exact_groups = {int(g): [] for g in multi}
        for i, g in zip(chosen.tolist(), inverse[chosen].tolist()):
            exact_groups[g].append(i)
        exact_first = first[inverse]  # per document, the first with its normalised text
        del inverse, chosen
        # near duplicates among the exact-unique documents, verified on their text; the signatures of the
        # unique documents are moved to the front in place (reps is increasing, so no row is overwritten
        # before it is read) instead of copied
        if len(reps) < n:
            for lo in range(0, len(reps), 65536):
                block = reps[lo:lo + 65536]
                sig[lo:lo + len(block)] = sig[block]
        near = find_near_duplicates(sig[: len(reps)], config.dedup, text_of=lambda k: dataset[int(reps[k])]["text"],
                                    texts=lambda ks: zip(ks.tolist(), texts_at(dataset, reps[ks])))
        del sig
        near_dups = len(near.duplicates)
        near_clusters = near.clusters()

        def snippet(i: int) -> dict:
            record = dataset[int(i)]
            return {"id": record["id"], "source": record["source"], "text": record["text"][:300]}

        exact_examples = [[snippet(i) for i in g[:3]] + ([{"more": len(g) - 3}] if len(g) > 3 else [])
                          for g in (exact_groups[int(k)] for k in multi)]
        near_examples = [[snippet(reps[k]) for k in cluster[:3]] for cluster in near_clusters[: config.example_clusters]]
        flags = flagged_documents(dataset, config.max_flagged, rule_failures(qarr, config.quality), pii, doc_langs,
                                  lang_codes, languages.most_common(1)[0][0] if languages else None, exact_first,
                                  reps, near.labels)
        del exact_first, doc_langs
        notes = plan.report.notes(config.text_field)
        notes += _large_by_tokens(plan.report, doc_tokens, dataset)

    # tokenizer fit
    total_words, total_tokens = int(words.sum()), int(doc_tokens.sum())
    glossary = glossary_fit(glossary_terms, tokens, counts) if config.glossary else []
    glossary_mean = float(np.mean([g["tokens"] for g in glossary])) if glossary else None

    # quality rules
    failures = Counter(failed_rule({name: qarr[name][i] for name in SIGNALS}, config.quality) for i in range(n))
    failing = n - failures.pop(None, 0)

    # languages (of the sampled documents: those with a language)
    identified = sum(languages.values())

    # domain vs reference
    reference_report = ReadReport(config.text_unit, config.max_document_chars)
    reference_counts = (word_counts(d.text for f in reference_plan.files
                                    for d in read_file(f, config.text_field, config.text_unit, reference_report))
                        if reference_plan else Counter())
    cumulative_words = np.cumsum(words)
    cumulative_vocab = np.cumsum(new_words)
    heaps = heaps_fit(cumulative_words, cumulative_vocab)
    duplicate_rate = (exact_dups + near_dups) / n
    tokens_per_word = total_tokens / total_words if total_words else 0.0

    profile = {
        "kind": "profile",
        "created": now_iso(),
        "model": config.model,
        "config": to_dict(config),
        "inputs": [{"path": str(f), "bytes": f.stat().st_size, "sha256": sha256_file(f), "documents": sources.get(str(f), 0),
                    **plan.report.input_fields(f)} for f in plan.files],
        "skipped_files": plan.skipped,
        "files_without_documents": [str(f) for f in plan.files if sources.get(str(f), 0) == 0],
        "documents": n,
        "missing_text": plan.report.missing_text,
        "non_string_text": plan.report.non_string_text,
        "split_documents": plan.report.split_documents,
        "words": total_words,
        "bytes": total_bytes,
        "tokens": total_tokens,
        "tokens_per_word": round(tokens_per_word, 4),
        "split_word_share": round(split_words / max(1, split_base), 4),
        "replaced_bytes": int(np.sum(replaced)),
        "documents_with_replaced_bytes": int(np.count_nonzero(replaced)),
        "length": {"words": _summary(words), "tokens": _summary(doc_tokens)},
        "length_histogram": _histogram(doc_tokens.astype(float)),
        "glossary": glossary,
        "glossary_mean_tokens": round(glossary_mean, 3) if glossary_mean is not None else None,
        "exact_duplicate_rate": round(exact_dups / n, 6),
        "exact_duplicate_documents": exact_dups,
        "near_duplicate_rate": round(near_dups / n, 6),
        "near_duplicate_documents": near_dups,
        "near_duplicate_clusters": len(near_clusters),
        "near_duplicate_threshold": config.dedup.threshold,
        "duplicate_examples": {"exact": exact_examples, "near": near_examples},
        **flags,  # flagged (worst first, at most max_flagged), flagged_total, flagged_by_reason
        "quality": {
            "failing_share": round(failing / n, 6),
            "failing_by_rule": {rule: round(count / n, 6) for rule, count in sorted(failures.items())},
            "signals": {name: _summary(values) for name, values in qarr.items()},
        },
        "difficulty": difficulty_profile(darr),
        "pii": {kind: int(np.sum(values)) for kind, values in pii.items()},
        "documents_with_pii": int(np.count_nonzero(np.sum([v for v in pii.values()], axis=0))) if pii else 0,
        "pii_types": list(pii),
        "languages": {lang: round(c / identified, 6) for lang, c in languages.most_common()},
        "main_language": languages.most_common(1)[0][0],
        "language_sample": {"documents": identified, "every": options.language_every,
                            "chars": config.language_chars, "sampled": identified < n},
        "domain": {
            "reference": reference_paths,
            "jensen_shannon": round(jensen_shannon(counts, reference_counts), 6) if reference_counts else None,
            "top_terms": log_odds_terms(counts, reference_counts, config.top_terms, config.min_term_count)
            if reference_counts else [],
        },
        "vocabulary": len(counts),
        "heaps": {**heaps, "points": heaps_points(cumulative_words, cumulative_vocab)},
        "readiness": readiness(total_tokens, tokens_per_word, total_words, len(counts), heaps, duplicate_rate,
                               failing / n, glossary_mean),
        "warnings": notes,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "seconds": None,
        "complete": True,
    }
    profile["seconds"] = round(time.perf_counter() - started, 2)
    profile["mb_per_second"] = round(profile["bytes"] / 1e6 / max(profile["seconds"], 1e-9), 3)
    if out is not None:
        emit(on_progress, "writing report", 0, 1, "file")
        write_profile(profile, out, overwrite=overwrite)
        emit(on_progress, "writing report", 1, 1, "file")
    return profile


def write_profile(profile: dict, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Persist a profile held in memory (``profile_corpus(config)`` without ``out``): profile.json,
    report.html and the artifact manifest, built under a temporary name. Returns the folder."""
    from workbench.corpus.report import write_report

    with atomic_directory(out, overwrite=overwrite) as tmp:
        write_json(tmp / "profile.json", profile)
        write_report(profile, tmp / "report.html")
        write_manifest(tmp, "corpus", card=_card(profile["config"], profile), headline=headline("corpus", profile),
                       created=profile["created"])
    return Path(out)


def _card(config, profile: dict) -> dict:
    """The artifact card, reusing the input hashes the profile already computed."""
    card = make_card(config)
    card["inputs"] = {i["path"]: {"path": i["path"], "sha256": i["sha256"]} for i in profile["inputs"]}
    return card
