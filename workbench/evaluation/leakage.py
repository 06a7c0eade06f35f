"""Train/eval leakage of a comparison, with the same definition of a near-duplicate as curation, for everything
the run trained on (its domain data and its replay text).

``curate`` calls a training document that near-duplicates an eval document leakage (MinHash over word
shingles, exact Jaccard at or above ``leakage_threshold``) and removes it; ``compare`` uses the same
function, :func:`workbench.documents.dedup.leakage_between`, with the snapshot's own settings when the run
trained on a snapshot, so the two stages never disagree about what leaked.
"""

from __future__ import annotations

from pathlib import Path

from workbench.documents.dedup import LEAKAGE_THRESHOLD, DedupConfig, leakage_between, text_signatures
from workbench.errors import WorkbenchError
from workbench.samples import SAMPLE_REPLAY, sample_path


def _corpus_settings(snapshot: Path | None) -> tuple[float, object]:
    """(leakage threshold, DedupConfig) of the snapshot's curate config, else the corpus stage's defaults."""
    threshold, dedup = LEAKAGE_THRESHOLD, DedupConfig()
    manifest = snapshot / "manifest.json" if snapshot else None
    if manifest and manifest.exists():
        from workbench.io import read_json

        config = read_json(manifest).get("config") or {}
        threshold = config.get("leakage_threshold", threshold)
        known = {k: v for k, v in (config.get("dedup") or {}).items() if k in DedupConfig.__dataclass_fields__}
        dedup = DedupConfig(**known)
    return float(threshold), dedup


def check_leakage(
    train_ids: list[str], train_texts: list[str], eval_ids: list[str], eval_texts: list[str],
    threshold: float, dedup=None, train_signatures=None,
) -> dict:
    """Train/eval pairs that are near-duplicates by the corpus stage's definition.

    Returns:
        ``{"method", "threshold", "shingle_size", "ngram", "num_perm", "max_overlap", "flagged", "pairs"}``:
        ``pairs`` are ``{train_id, eval_id, jaccard}``, most similar first; ``flagged`` holds one row per eval
        document that has a pair (``id``, ``overlap`` = its highest Jaccard, ``train_id``); ``max_overlap`` is
        the highest Jaccard found (0 when no pair reaches the threshold).
    """

    dedup = dedup or DedupConfig()
    found = sorted(leakage_between(train_texts, eval_texts, threshold, dedup, train_signatures),
                   key=lambda p: (-p[2], p[1], p[0]))
    pairs = [{"train_id": train_ids[t], "eval_id": eval_ids[e], "jaccard": round(s, 3)} for t, e, s in found]
    flagged: dict[str, dict] = {}
    for p in pairs:
        flagged.setdefault(p["eval_id"], {"id": p["eval_id"], "overlap": p["jaccard"], "train_id": p["train_id"]})
    return {
        "method": "minhash_jaccard", "threshold": threshold, "shingle_size": dedup.shingle_size,
        "ngram": dedup.shingle_size, "num_perm": dedup.num_perm,
        "max_overlap": pairs[0]["jaccard"] if pairs else 0.0,
        "flagged": list(flagged.values()), "pairs": pairs,
    }


def run_leakage(card: dict | None, name: str, path: Path, ids: list[str], texts: list[str], text_field: str = "text",
                cache: dict | None = None):
    """Leakage between everything a run trained on (its domain data, and its replay text under ``replay``) and
    one eval set, and the warning to show (or None).

    ``cache``: a dict shared by the eval sets of one comparison, so the training text is read and hashed once.

    Returns:
        (report or None when the run's training text is unknown, warning or None). The report's ``replay`` is
        :func:`check_leakage`'s report for the replay text (with its ``path``), or None when the run replayed none.
    """
    from workbench.documents.texts import resolve_training_data

    data = ((card or {}).get("config") or {}).get("data")
    if not data:
        return None, None
    try:
        train_path, snapshot_eval = resolve_training_data(data)
    except WorkbenchError:
        return None, None
    snapshot = Path(data) if snapshot_eval is not None else None
    run_config = (card or {}).get("config") or {}
    field = run_config.get("text_field", text_field)
    threshold, dedup = _corpus_settings(snapshot)
    train = _training(str(train_path), field, dedup, {} if cache is None else cache, run_config.get("text_unit", "auto"))
    if not train[0]:
        return None, None
    report = check_leakage(train[0], train[1], ids, texts, threshold, dedup, train[2])
    own = _own_split(path, snapshot, snapshot_eval)
    replay = _replay_leakage(card, name, path, ids, texts, field, threshold, dedup, cache, run_config)
    report.update(train_path=str(train_path), own_split=own, replay=replay[0])
    if not report["pairs"]:
        return report, replay[1]
    shown = "; ".join(f"{p['eval_id']} ~ {p['train_id']} (Jaccard {p['jaccard']:.2f})" for p in report["pairs"][:5])
    more = f" and {len(report['pairs']) - 5} more" if len(report["pairs"]) > 5 else ""
    head = (f"leakage: {len(report['flagged'])} of {len(ids)} {name} document(s) near-copy training documents of "
            f"{train_path} (word {dedup.shingle_size}-gram Jaccard >= {threshold:g}, the definition 'workbench curate' "
            f"uses): {shown}{more}. Their perplexity overstates what adaptation bought.")
    if own:
        fix = (f" These pairs are in your own snapshot split ({snapshot}), which curate should have separated: "
               "rebuild the snapshot with 'workbench curate --overwrite'.")
    else:
        fix = (f" {path} is not the run's own eval split: evaluate on held-out text, or curate the corpus with it as "
               f"the eval set ('workbench curate CORPUS --eval {path}') so the leaking training documents are removed.")
    return report, " ".join(w for w in (head + fix, replay[1]) if w)


def replay_path(card: dict | None) -> Path | None:
    """The replay text a run trained on, from its card: ``inputs.replay`` where recorded, else its config
    (``sample``: the bundled replay text; a card that records no replay input replayed ``general_eval.jsonl``
    under that name); None when the run replayed nothing or the file is not on this machine."""
    config = (card or {}).get("config") or {}
    if not config.get("replay") or not (config.get("replay_ratio") or 0) > 0:
        return None
    recorded = ((card or {}).get("inputs") or {}).get("replay") or {}
    candidates = [recorded.get("path")]
    if config["replay"] == "sample":
        candidates.append(str(sample_path(SAMPLE_REPLAY if recorded else "general_eval.jsonl")))
    else:
        candidates.append(config["replay"])
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def _replay_leakage(card, name, path, ids, texts, field, threshold, dedup, cache, run_config):
    """(report, warning) of the run's replay text against one eval set; (None, None) without replay."""
    replay = replay_path(card)
    if replay is None:
        return None, None
    train = _training(str(replay), field, dedup, {} if cache is None else cache, run_config.get("text_unit", "auto"))
    if not train[0]:
        return None, None
    report = {**check_leakage(train[0], train[1], ids, texts, threshold, dedup, train[2]), "path": str(replay)}
    if not report["pairs"]:
        return report, None
    shown = "; ".join(f"{p['eval_id']} ~ {p['train_id']} (Jaccard {p['jaccard']:.2f})" for p in report["pairs"][:5])
    more = f" and {len(report['pairs']) - 5} more" if len(report["pairs"]) > 5 else ""
    cost = ("forgetting measured on them is understated" if name == "general"
            else "their perplexity overstates what adaptation bought")
    return report, (f"leakage: {len(report['flagged'])} of {len(ids)} {name} document(s) near-copy documents of "
                    f"the replay text {replay} the run trained on (word {dedup.shingle_size}-gram Jaccard >= "
                    f"{threshold:g}): {shown}{more}; {cost}. Evaluate on a {name} set the run did not replay, or "
                    f"train again with a replay text apart from {path}.")


def eval_set_leakage(card: dict | None, eval_set, config, cache: dict | None = None) -> dict | None:
    """Near-copies of training documents in an :class:`~workbench.evaluation.sets.EvalSet` (see :func:`run_leakage`);
    the warning, when there is one, joins the set's warnings."""
    report, warning = run_leakage(card, eval_set.name, eval_set.path, eval_set.ids, eval_set.texts, config.text_field,
                                  cache)
    if warning:
        eval_set.warnings.append(warning)
    return report


def _training(train_path: str, field: str, dedup, cache: dict, text_unit: str = "auto") -> tuple[list[str], list[str], object]:
    """(ids, texts, signatures) of the run's training text (read by the run's text unit; its reading warnings were
    shown when it trained), kept in ``cache`` for the next eval set."""
    from workbench.documents.readers import ReadReport, iter_documents

    path = Path(train_path)
    key = (train_path, field, text_unit, dedup.shingle_size, dedup.num_perm, dedup.seed)
    if key not in cache:
        docs = list(iter_documents(path, field, text_unit, report=ReadReport()))
        texts = [d.text for d in docs]
        cache[key] = ([d.id for d in docs], texts, text_signatures(texts, dedup) if texts else None)
    return cache[key]


def _own_split(path: Path, snapshot: Path | None, snapshot_eval: Path | None) -> bool:
    """Whether the eval file is the snapshot's eval split, or a file curate was given as the eval set."""
    if snapshot is None:
        return False
    resolved = Path(path).resolve()
    if snapshot_eval is not None and Path(snapshot_eval).resolve() == resolved:
        return True
    manifest = snapshot / "manifest.json"
    if manifest.exists():
        from workbench.io import read_json

        inputs = read_json(manifest).get("inputs") or []
        return any(i.get("role") == "eval" and Path(i["path"]).resolve() == resolved for i in inputs)
    return False


__all__ = ["check_leakage", "eval_set_leakage", "replay_path", "run_leakage"]
