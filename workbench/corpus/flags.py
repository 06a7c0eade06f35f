"""Documents the profile flags for review: quality rules failed, PII found, another language, duplicates.

``profile.json`` lists at most ``CorpusConfig.max_flagged`` of them, worst first, each with the document
id that ``workbench curate`` uses (so a review ``drop`` reaches ``CurateConfig.drop_documents``), a
short extract and its reasons; the totals count every flagged document.
"""

from __future__ import annotations

import numpy as np

from workbench.corpus.pii import PATTERNS

# How much each kind of reason weighs in "worst first": PII is a privacy risk in what curate keeps
# (redacted, but the expert decides), failed rules and another language are content problems, and
# duplicates are the mildest (curate drops them anyway).
WEIGHTS = {"pii": 3, "quality": 2, "language": 2, "near_duplicate": 1, "exact_duplicate": 1}
EXTRACT_CHARS = 300
PII_CONTEXT = 100  # characters shown before a PII match that lies past the opening extract


class LanguageCodes:
    """Per-document language as a small integer (-1: not in the language sample), so a corpus of
    millions of documents keeps one int16 per document instead of a string."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._code: dict[str, int] = {}

    def encode(self, langs) -> np.ndarray:
        out = np.full(len(langs), -1, dtype=np.int16)
        for j, lang in enumerate(langs):
            if lang:
                if lang not in self._code:
                    self._code[lang] = len(self.names)
                    self.names.append(lang)
                out[j] = self._code[lang]
        return out


def extract(text: str, pii_kinds: list[str]) -> tuple[int, int]:
    """Span ``[start, end)`` of the extract shown: the opening, or around the first PII match when that
    match lies past the opening (so the reviewer sees what was flagged)."""
    first = min((m.start() for kind in pii_kinds if (m := PATTERNS[kind].search(text))), default=0)
    start = 0 if first < EXTRACT_CHARS - PII_CONTEXT else first - PII_CONTEXT
    return start, min(len(text), start + EXTRACT_CHARS)


def flagged_documents(
    dataset,
    limit: int,
    quality: dict[str, np.ndarray],
    pii: dict[str, np.ndarray],
    languages: np.ndarray,
    codes: LanguageCodes,
    main_language: str | None,
    exact_first: np.ndarray,
    near_reps: np.ndarray,
    near_labels: np.ndarray,
) -> dict:
    """The profile's ``flagged`` list (worst first, at most ``limit``) and its totals.

    Args:
        dataset: the corpus dataset (``id``, ``text``, ``source`` columns), read only for the listed documents.
        quality: ``{rule: bool array}`` of failed quality rules (``quality.rule_failures``).
        pii: ``{kind: count array}`` of PII matches per document.
        languages: language code per document (``codes``), -1 where not identified.
        main_language: the corpus's most common language; others are flagged.
        exact_first: per document, the index of the first document with the same normalised text.
        near_reps, near_labels: the exact-unique documents and, per one of them, the position (in
            ``near_reps``) of the first member of its near-duplicate cluster.

    Returns:
        ``{"flagged": [{id, source, text, span, score, flags, reasons}], "flagged_total": int,
        "flagged_by_reason": {reason: documents}}``.
    """
    n = len(exact_first)
    index = np.arange(n)
    near_first = index.copy()
    near_first[near_reps] = near_reps[near_labels]
    main = codes.names.index(main_language) if main_language in codes.names else -1
    masks = {
        "pii": np.any([v > 0 for v in pii.values()], axis=0) if pii else np.zeros(n, bool),
        "quality": np.any([v for v in quality.values()], axis=0) if quality else np.zeros(n, bool),
        "language": (languages >= 0) & (languages != main),
        "near_duplicate": near_first != index,
        "exact_duplicate": exact_first != index,
    }
    score = sum(WEIGHTS[k] * m.astype(np.int64) for k, m in masks.items())
    rows = np.flatnonzero(score)
    chosen = rows[np.lexsort((rows, -score[rows]))][:limit]  # worst first, then corpus order
    ids = {}

    def id_of(i: int) -> str:
        if i not in ids:
            ids[i] = str(dataset[int(i)]["id"])
        return ids[i]

    flagged = []
    for i in chosen.tolist():
        record = dataset[int(i)]
        reasons: dict = {}
        flags = []
        failed = [rule for rule, mask in quality.items() if mask[i]]
        if failed:
            reasons["quality"] = failed
            flags.append("quality rule failed: " + ", ".join(failed))
        found = {kind: int(v[i]) for kind, v in pii.items() if v[i] > 0}
        if found:
            reasons["pii"] = found
            flags.append("PII: " + ", ".join(f"{kind} ({count})" for kind, count in found.items()))
        if masks["language"][i]:
            reasons["language"] = codes.names[int(languages[i])]
            flags.append(f"language {reasons['language']}, not the main {main_language}")
        if masks["exact_duplicate"][i]:
            reasons["exact_duplicate_of"] = id_of(int(exact_first[i]))
            flags.append(f"exact duplicate of {reasons['exact_duplicate_of']}")
        if masks["near_duplicate"][i]:
            reasons["near_duplicate_of"] = id_of(int(near_first[i]))
            flags.append(f"near duplicate of {reasons['near_duplicate_of']}")
        start, end = extract(record["text"], list(found))
        flagged.append({"id": record["id"], "source": record["source"], "text": record["text"][start:end],
                        "span": [start, end], "score": int(score[i]), "flags": flags, "reasons": reasons})
    return {"flagged": flagged, "flagged_total": int(len(rows)),
            "flagged_by_reason": {k: int(np.count_nonzero(m)) for k, m in masks.items()}}
