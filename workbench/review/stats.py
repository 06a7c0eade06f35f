"""Error statistics of reviewed outputs: error rate and MQM penalty per category, model and checkpoint.

A judged output is one output of an item that an annotator gave a verdict other than skip (both sides
of a side-by-side item). Its MQM penalty is the sum of its spans' severity weights (1/5/10); the
error rate is the share of judged outputs with at least one error.

Models are compared by penalty per 100 words, as MQM normalises (a long output has more room for
errors than a short one), with a 95% interval over judged outputs (the unit sampled); the raw sums
and the penalty per output stand beside it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from workbench.intervals import ratio_t_interval
from workbench.review.config import SEVERITY_WEIGHTS, SKIP

__all__ = ["error_stats"]


def _group() -> dict:
    return {"outputs": 0, "words": 0, "with_error": 0, "errors": 0, "penalty": 0, "_each": []}


def _finish(g: dict) -> dict:
    each = g.pop("_each")
    g["error_rate"] = g["with_error"] / g["outputs"] if g["outputs"] else None
    g["penalty_per_output"] = g["penalty"] / g["outputs"] if g["outputs"] else None
    g["penalty_per_100_words"] = 100 * g["penalty"] / g["words"] if g["words"] else None
    ci = None
    if g["words"] and len(each) >= 2:
        _, (low, high) = ratio_t_interval([p for p, _ in each], [w for _, w in each])
        ci = [100 * low, 100 * high] if math.isfinite(low) else None
    g["penalty_per_100_words_ci95"] = ci
    return g


def error_stats(items, verdicts, labels) -> dict:
    """``{overall, by_model, by_checkpoint, by_category, by_severity, preferences}`` (see module docstring)."""
    items = {i.id: i for i in items}
    spans = defaultdict(list)
    for label in labels:
        spans[(label.item_id, label.annotator, label.output)].append(label)
    overall, by_model, by_checkpoint = _group(), defaultdict(_group), defaultdict(_group)
    by_category = defaultdict(lambda: {"errors": 0, "penalty": 0, "outputs_with": 0})
    by_severity = Counter()
    preferences = defaultdict(Counter)
    for v in verdicts:
        if v.verdict == SKIP or v.item_id not in items:
            continue
        item = items[v.item_id]
        if item.kind == "document":
            continue
        if v.verdict in ("A", "B", "tie"):
            for out in item.outputs:
                preferences[out.get("model") or "?"]["win" if out["slot"] == v.verdict else
                                                      "tie" if v.verdict == "tie" else "loss"] += 1
        for out in item.outputs:
            found = spans.get((v.item_id, v.annotator, out["slot"]), [])
            penalty = sum(SEVERITY_WEIGHTS[s.severity] for s in found)
            words = len(out["text"].split())
            groups = [overall, by_model[out.get("model") or "?"]]
            if out.get("checkpoint") or item.source.get("checkpoint"):
                groups.append(by_checkpoint[str(out.get("checkpoint") or item.source.get("checkpoint"))])
            for g in groups:
                g["outputs"] += 1
                g["words"] += words
                g["with_error"] += int(bool(found))
                g["errors"] += len(found)
                g["penalty"] += penalty
                g["_each"].append((penalty, words))
            for category in {s.category for s in found}:
                by_category[category]["outputs_with"] += 1
            for s in found:
                by_category[s.category]["errors"] += 1
                by_category[s.category]["penalty"] += SEVERITY_WEIGHTS[s.severity]
                by_severity[s.severity] += 1
    judged = overall["outputs"]
    categories = {c: {**g, "error_rate": g["outputs_with"] / judged if judged else None}
                  for c, g in sorted(by_category.items(), key=lambda kv: -kv[1]["penalty"])}
    return {
        "overall": _finish(overall),
        "by_model": {m: _finish(g) for m, g in sorted(by_model.items())},
        "by_checkpoint": {c: _finish(g) for c, g in sorted(by_checkpoint.items())},
        "by_category": categories,
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITY_WEIGHTS},
        "preferences": {m: dict(c) for m, c in sorted(preferences.items())},
    }
