"""Inter-annotator agreement on review labels.

Three nominal dimensions per (item, annotator):
    ``verdict``   the item verdict (A/B/tie, no_error/errors, keep/drop; skips count as missing);
    ``category``  the category of the annotator's most severe span on the item ("none" without spans);
    ``severity``  that span's severity ("none" without spans).

Krippendorff's alpha (``krippendorff`` package, level_of_measurement='nominal', missing values allowed)
per dimension; Cohen's kappa (scikit-learn) per annotator pair on the items both did; a category
confusion table over every pair; the items they disagree on; and an adjudicated label per item
(an explicit adjudication wins, else the majority, else unresolved).

Each coefficient comes with a reading: alpha by Krippendorff's own bounds (>= 0.8 reliable, 0.667 to
0.8 good enough for tentative conclusions only, below 0.667 unreliable; Krippendorff, *Content
Analysis*, 2004), kappa by Landis and Koch's bands (1977: slight, fair, moderate, substantial, almost
perfect). The disagreements come as rows a person reads: the item's text, the dimension, and what each
annotator said.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from itertools import combinations

from workbench.review.config import SEVERITY_WEIGHTS, SKIP

DIMENSIONS = ("verdict", "category", "severity")
NONE = "none"
ALPHA_RELIABLE = 0.8
"""Krippendorff: data with alpha >= 0.8 are reliable."""
ALPHA_TENTATIVE = 0.667
"""Krippendorff: 0.667 <= alpha < 0.8 allows tentative conclusions only; below, the labels are unreliable."""
KAPPA_BANDS = ((0.8, "almost perfect"), (0.6, "substantial"), (0.4, "moderate"), (0.2, "fair"), (0.0, "slight"))
"""Landis and Koch's bands of Cohen's kappa: above each lower bound (exclusive), its name; 0 or less is poor."""
EXCERPT_CHARS = 160


def alpha_reading(alpha: float | None) -> str:
    """What an alpha value says about the labels, in words (Krippendorff's bounds)."""
    if alpha is None:
        return "not defined yet: needs two annotators on the same items and more than one answer among them"
    if alpha >= ALPHA_RELIABLE:
        return f"reliable (alpha >= {ALPHA_RELIABLE})"
    if alpha >= ALPHA_TENTATIVE:
        return f"tentative ({ALPHA_TENTATIVE} to {ALPHA_RELIABLE}): draw tentative conclusions only"
    return f"unreliable (below {ALPHA_TENTATIVE}): align the guidelines and label again"


def kappa_reading(kappa: float | None) -> str:
    """What a kappa value says, in Landis and Koch's words."""
    if kappa is None:
        return "not defined (one answer only)"
    for bound, name in KAPPA_BANDS:
        if kappa > bound:
            return name
    return "poor (no better than chance)"


def excerpt(item) -> str:
    """The item as a line a person recognises: its prompt, else its first output, cut to a few words."""
    text = " ".join((item.prompt or (item.outputs[0]["text"] if item.outputs else "")).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def disagreement_rows(disagreements: list[dict], items=None) -> list[dict]:
    """One row per (item, dimension) the annotators disagree on: ``{item, text, dimension, <annotator>: value}``,
    text values only (an annotator who did not answer the item shows as an empty string)."""
    by_id = {item.id: item for item in items or []}
    names = sorted({a for d in disagreements for a in d["annotators"]})
    rows = []
    for d in disagreements:
        item = by_id.get(d["item_id"])
        for dim in d["dimensions"]:
            row = {"item": d["item_id"][:12], "text": excerpt(item) if item else "", "dimension": dim}
            row.update({name: str(d["annotators"].get(name, {}).get(dim, "")) for name in names})
            rows.append(row)
    return rows


def annotations(verdicts, labels) -> dict[str, dict[tuple[str, str], str]]:
    """``{dimension: {(item_id, annotator): value}}`` from the verdicts and labels in effect (no adjudications)."""
    spans = defaultdict(list)
    for label in labels:
        spans[(label.item_id, label.annotator)].append(label)
    values: dict[str, dict] = {d: {} for d in DIMENSIONS}
    for v in verdicts:
        if v.adjudication or v.verdict == SKIP:
            continue
        key = (v.item_id, v.annotator)
        values["verdict"][key] = v.verdict
        worst = max(spans.get(key, []), key=lambda s: (SEVERITY_WEIGHTS[s.severity], -s.created), default=None)
        values["category"][key] = worst.category if worst else NONE
        values["severity"][key] = worst.severity if worst else NONE
    return values


def krippendorff_alpha(values: dict[tuple[str, str], str]) -> float | None:
    """Nominal alpha over units (items) with two or more coders; None when undefined (one value, no pairs)."""
    import krippendorff
    import numpy as np

    coders = sorted({a for _, a in values})
    by_item = defaultdict(dict)
    for (item, annotator), value in values.items():
        by_item[item][annotator] = value
    units = [i for i, row in by_item.items() if len(row) >= 2]
    domain = sorted({v for (i, _), v in values.items() if i in set(units)})
    if len(units) < 1 or len(coders) < 2 or len(domain) < 2:
        return None
    code = {v: k for k, v in enumerate(domain)}
    data = np.full((len(coders), len(units)), np.nan)
    for u, item in enumerate(units):
        for c, coder in enumerate(coders):
            if coder in by_item[item]:
                data[c, u] = code[by_item[item][coder]]
    alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return None if math.isnan(alpha) else alpha


def cohen_kappas(values: dict[tuple[str, str], str]) -> list[dict]:
    """Cohen's kappa per annotator pair over their shared items (kappa None when undefined)."""
    from sklearn.metrics import cohen_kappa_score

    by_annotator = defaultdict(dict)
    for (item, annotator), value in values.items():
        by_annotator[annotator][item] = value
    rows = []
    for a, b in combinations(sorted(by_annotator), 2):
        shared = sorted(set(by_annotator[a]) & set(by_annotator[b]))
        if not shared:
            continue
        xa = [by_annotator[a][i] for i in shared]
        xb = [by_annotator[b][i] for i in shared]
        agree = sum(x == y for x, y in zip(xa, xb)) / len(shared)
        kappa = None
        if len(set(xa) | set(xb)) > 1:
            k = float(cohen_kappa_score(xa, xb))
            kappa = None if math.isnan(k) else k
        rows.append({"a": a, "b": b, "items": len(shared), "observed_agreement": agree, "kappa": kappa})
    return rows


def confusion_table(values: dict[tuple[str, str], str]) -> dict:
    """Symmetric counts over every annotator pair on a shared item: ``{labels, matrix}`` (row: one, column: other)."""
    by_item = defaultdict(dict)
    for (item, annotator), value in values.items():
        by_item[item][annotator] = value
    labels = sorted({v for v in values.values()})
    index = {v: i for i, v in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for row in by_item.values():
        for a, b in combinations(sorted(row), 2):
            matrix[index[row[a]]][index[row[b]]] += 1
            if row[a] != row[b]:
                matrix[index[row[b]]][index[row[a]]] += 1
    return {"labels": labels, "matrix": matrix}


def adjudicate(values: dict[tuple[str, str], str], explicit: dict[str, str]) -> dict[str, dict]:
    """Per item: the explicit adjudication, else the strict majority, else ``None`` (needs an adjudicator)."""
    by_item = defaultdict(dict)
    for (item, annotator), value in values.items():
        by_item[item][annotator] = value
    out = {}
    for item in set(by_item) | set(explicit):
        if item in explicit:
            out[item] = {"label": explicit[item], "how": "adjudicated"}
            continue
        counts = Counter(by_item[item].values()).most_common()
        if len(counts) == 1 or counts[0][1] > counts[1][1]:
            out[item] = {"label": counts[0][0], "how": "unanimous" if len(counts) == 1 else "majority"}
        else:
            out[item] = {"label": None, "how": "unresolved"}
    return out


def agreement_report(verdicts, labels, items=None) -> dict:
    """Everything ``LabelStore.agreement()`` returns: alpha, kappas, confusion, disagreements, adjudicated."""
    values = annotations(verdicts, labels)
    explicit = {v.item_id: v.verdict for v in verdicts if v.adjudication}
    by_item = defaultdict(dict)
    for dim in DIMENSIONS:
        for (item, annotator), value in values[dim].items():
            by_item[item].setdefault(annotator, {})[dim] = value
    multi = {item: row for item, row in by_item.items() if len(row) >= 2}
    disagreements = []
    for item, row in sorted(multi.items()):
        differs = [d for d in DIMENSIONS if len({r[d] for r in row.values()}) > 1]
        if differs:
            disagreements.append({"item_id": item, "dimensions": differs, "annotators": row})
    adjudicated = adjudicate(values["verdict"], explicit)
    alpha = {d: krippendorff_alpha(values[d]) for d in DIMENSIONS}
    kappa = {d: cohen_kappas(values[d]) for d in DIMENSIONS}
    for rows in kappa.values():
        for row in rows:
            row["reading"] = kappa_reading(row["kappa"])
    return {
        "items_with_overlap": len(multi),
        "annotators": sorted({a for (_, a) in values["verdict"]}),
        "alpha": alpha,
        "alpha_reading": {d: alpha_reading(a) for d, a in alpha.items()},
        "kappa": kappa,
        "confusion": {"category": confusion_table(values["category"]),
                      "verdict": confusion_table(values["verdict"])},
        "disagreements": disagreements,
        "disagreement_rows": disagreement_rows(disagreements, items),
        "adjudicated": {item: adjudicated[item] for item in sorted(adjudicated)},
    }
