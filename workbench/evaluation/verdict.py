"""The verdict at the top of a comparison: is the adapted model better for the domain, at what cost, and what next.

Built from the numbers ``comparison.json`` already holds (paired changes with bootstrap intervals,
calibration, the run's forgetting threshold, flagged generations, leakage), and stored in it under
``verdict``, so the report, the app and the notebooks show the same words.
"""

from __future__ import annotations

import math

from workbench.evaluation.stats import MIN_DOCUMENTS

LIMITS = ("Lower perplexity means a model finds domain text more expected, not that what it writes is true: a model "
          "can predict the field's wording well and still invent facts. Read the generations side by side and have a "
          "domain expert review them (review items from this comparison) before trusting what it says.")
"""What a perplexity comparison cannot say, stated with every verdict."""
DEFAULT_FORGETTING_THRESHOLD_PCT = 10.0  # TrainConfig.forgetting_threshold_pct's default
CALIBRATION_TOLERANCE = 0.005  # ECE changes smaller than half a percentage point count as unchanged
MEANINGFUL_PCT = 1.0  # a significant domain gain smaller than this (in perplexity %) is called small
MIN_TOKENS = 1000


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None or not math.isfinite(ratio) else 100.0 * (ratio - 1.0)


def _interval_pct(delta: dict) -> list[float] | None:
    ci = delta.get("ppl_ratio_ci95") or []
    if len(ci) != 2 or any(v is None or not math.isfinite(v) for v in ci):
        return None
    return [_pct(ci[0]), _pct(ci[1])]


def _fmt_pct(value: float) -> str:
    return f"{value:+.1f}%"


def _interval_text(ci: list[float] | None) -> str:
    return f" (95% interval {_fmt_pct(ci[0])} to {_fmt_pct(ci[1])})" if ci else " (too few documents for an interval)"


def _measure(delta: dict) -> str:
    """What the change is of: token perplexity, or word perplexity when the adapter grew the tokenizer."""
    return "word perplexity" if delta.get("unit") == "word" else "perplexity"


def _sample_text(delta: dict) -> str:
    """How much text a change rests on: "12 documents, 10,219 tokens"."""
    docs, tokens = delta.get("documents"), delta.get("tokens")
    unit = "words" if delta.get("unit") == "word" else "tokens"
    parts = []
    if docs is not None:
        parts.append(f"{docs:,} document{'s' if docs != 1 else ''}")
    if tokens is not None:
        parts.append(f"{tokens:,} {unit}")
    return ", ".join(parts)


def _too_few(delta: dict) -> bool:
    """Too few documents for any claim about chance (``paired_delta``'s ``enough_documents``)."""
    return delta.get("enough_documents") is False


def domain_verdict(delta: dict) -> dict:
    """Better, worse or no clear change on domain text, with the perplexity change, its interval and
    the documents and tokens it rests on; too few documents say so instead of a claim."""
    change = delta["ppl_change_pct"]
    ci = _interval_pct(delta)
    significant = bool(delta.get("significant"))
    sample = _sample_text(delta)
    if _too_few(delta):
        status = "too_few"
        sentence = (f"Too few held-out documents to tell ({delta.get('documents')}; need at least "
                    f"{delta.get('min_documents')}): {_measure(delta)} {_fmt_pct(change)} on {sample}, which may be chance.")
    else:
        status = ("better" if change < 0 else "worse") if significant else "unclear"
        words = {
            "better": "The adapted model predicts domain text better",
            "worse": "The adapted model predicts domain text worse than the base model",
            "unclear": "No clear change on domain text",
        }[status]
        tail = ("; the interval excludes zero, so the change is unlikely to be chance." if significant
                else "; the interval includes zero, so the change may be chance.")
        sentence = f"{words}: {_measure(delta)} {_fmt_pct(change)}{_interval_text(ci)} on {sample}{tail}"
    return {
        "status": status, "change_pct": change, "ci95_pct": ci, "significant": significant,
        "documents": delta.get("documents"), "tokens": delta.get("tokens"),
        "unit": delta.get("unit", "token"), "documents_improved": delta.get("documents_improved"), "documents_worse": delta.get("documents_worse"),
        "sentence": sentence,
    }


def general_verdict(delta: dict, threshold_pct: float) -> dict:
    """General-text change against the run's forgetting threshold."""
    change = delta["ppl_change_pct"]
    ci = _interval_pct(delta)
    over = change > threshold_pct
    may_exceed = bool(ci and ci[1] > threshold_pct) and not over
    if over:
        status = "forgetting"
        sentence = (f"General text got worse by {_fmt_pct(change)}{_interval_text(ci)} on {_sample_text(delta)}, "
                    f"more than the run's "
                    f"{threshold_pct:g}% forgetting threshold: the model is losing general ability.")
    elif change > 0 and delta.get("significant"):
        status = "small_cost"
        sentence = (f"General text got slightly worse, {_fmt_pct(change)}{_interval_text(ci)} on {_sample_text(delta)}, "
                    f"within the run's "
                    f"{threshold_pct:g}% forgetting threshold.")
    else:
        status = "no_loss"
        sentence = (f"No loss on general text: {_measure(delta)} {_fmt_pct(change)}{_interval_text(ci)} on "
                    f"{_sample_text(delta)}, within the run's "
                    f"{threshold_pct:g}% forgetting threshold.")
    if may_exceed:
        sentence += f" The upper end of the interval passes {threshold_pct:g}%, so watch it on more text."
    return {"status": status, "change_pct": change, "ci95_pct": ci, "threshold_pct": threshold_pct,
            "unit": delta.get("unit", "token"),
            "over_threshold": over, "may_exceed_threshold": may_exceed, "sentence": sentence}


def calibration_verdict(base: dict, adapted: dict, paired: dict | None = None) -> dict:
    """Whether the domain confidence became more or less trustworthy (expected calibration error).

    Args:
        base, adapted: the two models' domain metrics (``ece``).
        paired: the paired ECE change with its interval over documents (``paired_ece_change``);
            a change is called better or worse only when that interval excludes zero.
    """
    before, after = base.get("ece"), adapted.get("ece")
    if before is None or after is None:
        return {"status": "unknown", "ece_base": before, "ece_adapted": after, "change": None,
                "sentence": "Calibration could not be measured."}
    change = after - before
    ci = (paired or {}).get("ci95")
    if paired is None:  # no interval: only a change beyond the tolerance counts
        status = "unchanged" if abs(change) < CALIBRATION_TOLERANCE else ("better" if change < 0 else "worse")
    elif paired.get("significant"):
        status = "better" if change < 0 else "worse"
    else:
        status = "too_few" if paired.get("enough_documents") is False else "unchanged"
    sentence = {
        "better": "Calibration improved: the adapted model's confidence on domain text matches how often it is right "
                  "more closely",
        "worse": "Calibration got worse: the adapted model's confidence on domain text is further from how often it "
                 "is right",
        "unchanged": "Calibration is about the same: no change in the models' calibration that chance would not explain",
        "too_few": "Too few held-out documents to tell whether calibration changed",
    }[status]
    interval = (f"; 95% interval of the change {ci[0]:+.3g} to {ci[1]:+.3g}"
                if ci and all(v is not None and math.isfinite(v) for v in ci) else "")
    return {"status": status, "ece_base": before, "ece_adapted": after, "change": change,
            "change_ci95": ci, "significant": bool((paired or {}).get("significant")),
            "sentence": f"{sentence} (calibration error {before:.3g} → {after:.3g}{interval})."}


def regression_verdict(regression: dict) -> dict:
    """How many expert-labelled errors (the review store's regression set) each model still makes."""
    cases = regression.get("cases", 0)
    adapted = (regression.get("adapted") or {}).get("still_wrong")
    base = (regression.get("base") or {}).get("still_wrong")
    if adapted is None or not cases:
        return {"status": "unknown", "cases": cases, "base_still_wrong": base, "adapted_still_wrong": adapted,
                "sentence": "The regression set could not be scored."}
    if base is None:
        status, head = "unclear", f"The adapted model still makes {adapted} of {cases} expert-labelled error(s)"
    else:
        status = "better" if adapted < base else "worse" if adapted > base else "unchanged"
        head = (f"Of {cases} expert-labelled error(s), the base model still makes {base} and the adapted model "
                f"{adapted}")
    return {"status": status, "cases": cases, "base_still_wrong": base, "adapted_still_wrong": adapted,
            "sentence": head + " (an error counts as made when the model prefers the erroneous text to its correction)."}


def _worst_documents(documents: list[dict], name: str, k: int = 3) -> list[dict]:
    rows = [d for d in documents if d.get("set") == name and (d.get("delta_nll") or 0) > 0]
    rows.sort(key=lambda d: -d["delta_nll"])
    return [{"id": d["id"], "delta_nll": d["delta_nll"], "extract": d.get("extract", "")} for d in rows[:k]]


def build_verdict(
    results: dict,
    delta: dict,
    documents: list[dict] | None = None,
    forgetting_threshold_pct: float | None = None,
    repetition: dict | None = None,
    leakage: dict | None = None,
    train_tokens: int | None = None,
    regression: dict | None = None,
    warnings: list[str] | None = None,
) -> dict:
    """The verdict block of a comparison.

    Args:
        results: ``{"base": {set: metrics}, "adapted": {set: metrics}}`` as in ``comparison.json``.
        delta: ``{set: paired_delta(...)}``; ``domain`` and ``general`` are read, and any other set
            (a regression set) gets its own line.
        documents: per-document rows (``set``, ``id``, ``delta_nll``, optional ``extract``).
        forgetting_threshold_pct: the run's threshold (default 10%).
        repetition: :func:`workbench.evaluation.repetition.flag_generations`'s summary.
        leakage: ``{set: leakage report}``.
        train_tokens: tokens the run trained on, for the advice.
        regression: the comparison's ``regression`` section (labelled errors re-scored), if any.
        warnings: the comparison's warnings (thin sets, a quick check's sample, leakage...), kept in the verdict
            so every face that shows it shows them.

    Returns:
        ``{"headline", "domain", "general", "calibration", "regression", "other_sets", "next_steps",
        "review_first", "flagged", "warnings", "limits", ...}``; ``flagged`` counts what the comparison flags
        for review (repetitive generations, worsened documents, labelled errors made more often).
    """
    threshold = DEFAULT_FORGETTING_THRESHOLD_PCT if forgetting_threshold_pct is None else float(forgetting_threshold_pct)
    documents = documents or []
    domain = domain_verdict(delta["domain"])
    general = general_verdict(delta["general"], threshold) if "general" in delta else None
    calibration = calibration_verdict(results["base"]["domain"], results["adapted"]["domain"],
                                      delta["domain"].get("ece_paired"))
    others = {}
    for name, d in delta.items():
        if name in ("domain", "general"):
            continue
        v = domain_verdict(d)
        others[name] = {**v, "sentence": v["sentence"].replace("domain text", f"the {name} set")}
    worst = _worst_documents(documents, "domain")
    labelled = regression_verdict(regression) if regression else None
    leaked = {name: len(r.get("pairs") or r.get("flagged") or []) for name, r in (leakage or {}).items() if r}
    # near-copies of an eval set in the run's replay text: leakage for a domain set; for the general set,
    # forgetting measured on text the run trained on, said in the general verdict
    replayed = {name: len(r["replay"].get("flagged") or []) for name, r in (leakage or {}).items()
                if r and r.get("replay") and r["replay"].get("pairs")}
    for name, n in replayed.items():
        if name != "general":
            leaked[name] = leaked.get(name, 0) + n
    leaked = {k: v for k, v in leaked.items() if v}
    if general and replayed.get("general"):
        n = replayed["general"]
        general = {**general, "replayed_documents": n,
                   "sentence": general["sentence"] + f" The run replayed near-copies of {n} of these general "
                               "document(s) in training, so this understates forgetting."}
    repetitive = (repetition or {}).get("adapted_repetitive", 0)

    flagged = {"repetitive_generations": repetitive, "documents_worse": len(worst),
               "regression_worse": int(bool(labelled and labelled["status"] == "worse"))}
    flagged = {k: v for k, v in flagged.items() if v}
    steps: list[str] = []
    dm = results["adapted"]["domain"]
    small = dm.get("documents", 0) < MIN_DOCUMENTS or dm.get("tokens", 0) < MIN_TOKENS
    if leaked:
        names = " and ".join(f"{k} {n} document(s)" for n, k in leaked.items())
        steps.append(f"Evaluate on held-out text: {names} near-copy training documents, so the gain is overstated "
                     "(see the leakage warning for the pairs).")
    if general and general.get("replayed_documents"):
        steps.append("Measure forgetting on general text the run did not train on: its replay text near-copies "
                     f"{general['replayed_documents']} general document(s) (see the leakage warning); compare on "
                     "another general set, or train again with a replay text apart from this one.")
    if general and general["over_threshold"]:
        steps.append("Add replay of general text ('workbench train --replay general.jsonl --replay-ratio 0.1'), or train "
                     "for fewer steps or with a lower learning rate, to keep general ability.")
    urgent = len(steps)  # leakage and forgetting come before any advice on the gain itself
    if domain["status"] in ("unclear", "too_few") and small:
        steps.append(f"Collect more evaluation text: {dm.get('documents', 0)} document(s) and {dm.get('tokens', 0):,} "
                     f"tokens are too few to tell a real change from chance (aim for {MIN_DOCUMENTS}+ documents and "
                     f"{MIN_TOKENS:,}+ tokens).")
    if domain["status"] in ("unclear", "worse") and not small:
        seen = f" (this run trained on {train_tokens:,} tokens)" if train_tokens else ""
        steps.append(f"Train longer or on more domain text{seen}: the domain gain is "
                     f"{'not yet measurable' if domain['status'] == 'unclear' else 'negative'}.")
    if labelled and labelled["status"] == "worse":
        steps.append(f"Review the regression set: the adapted model makes {labelled['adapted_still_wrong']} of "
                     f"{labelled['cases']} labelled error(s) the base model had {labelled['base_still_wrong']} of.")
    if repetitive:
        steps.append(f"Review the {repetitive} generation(s) where the adapted model repeats itself (flagged below); "
                     "repetition often means too many steps on too little text.")
    if worst:
        steps.append("Review these documents, which the adapted model predicts worse: "
                     + ", ".join(str(w["id"]) for w in worst) + ".")
    if domain["status"] == "better" and abs(domain["change_pct"]) < MEANINGFUL_PCT:
        seen = f" (this run trained on {train_tokens:,} tokens)" if train_tokens else ""
        steps.insert(urgent, f"Train longer or on more domain text{seen}: the domain gain is real but small "
                        f"({_fmt_pct(domain['change_pct'])}, under {MEANINGFUL_PCT:g}%).")
    elif (domain["status"] == "better" and not (general and (general["over_threshold"] or general.get("replayed_documents")))
          and not leaked):
        steps.insert(urgent, "The adaptation helps on domain text at an acceptable cost: keep this run"
                     + (", and check the flagged items below before relying on it." if flagged else "."))
    steps = steps[:2] or ["Nothing stands out: the numbers show no clear effect either way."]

    headline = domain["sentence"]
    if general:
        headline += " " + general["sentence"]
    return {
        "headline": headline, "domain": domain, "general": general, "calibration": calibration,
        "regression": labelled, "other_sets": others, "next_steps": steps, "review_first": worst,
        "leakage_documents": leaked, "repetitive_generations": repetitive, "flagged": flagged,
        "warnings": list(warnings or []), "limits": LIMITS,
    }


def _pair_line(delta: dict, labels: dict, text: str) -> dict:
    """Which of two runs predicts ``text`` better, by how much, and whether that can be chance."""
    a, b = labels["adapted"], labels["base"]
    change = delta["ppl_change_pct"]
    ci = _interval_pct(delta)
    sample = _sample_text(delta)
    if _too_few(delta):
        status = "too_few"
        sentence = (f"Too few held-out documents to tell the runs apart on {text} ({delta.get('documents')}; need "
                    f"at least {delta.get('min_documents')}): {a} vs {b} {_measure(delta)} {_fmt_pct(change)} on "
                    f"{sample}, which may be chance.")
    elif delta.get("significant"):
        status = "adapted" if change < 0 else "base"
        better, worse = (a, b) if change < 0 else (b, a)
        sentence = (f"{better} predicts {text} better than {worse}: {a} vs {b} {_measure(delta)} {_fmt_pct(change)}"
                    f"{_interval_text(ci)} on {sample}; the interval excludes zero, so the difference is unlikely to "
                    "be chance.")
    else:
        status = "unclear"
        sentence = (f"No clear difference between {a} and {b} on {text}: {_measure(delta)} {_fmt_pct(change)}"
                    f"{_interval_text(ci)} on {sample}; the interval includes zero, so the difference may be chance.")
    return {"status": status, "change_pct": change, "ci95_pct": ci, "significant": bool(delta.get("significant")),
            "documents": delta.get("documents"), "tokens": delta.get("tokens"), "unit": delta.get("unit", "token"),
            "sentence": sentence}


def runs_verdict(results: dict, delta: dict, labels: dict, leakage: dict | None = None,
                 warnings: list[str] | None = None) -> dict:
    """The verdict of a run-against-run comparison: which run is better on domain and on general text.

    Args:
        results: ``{"base": {set: metrics}, "adapted": {set: metrics}}``, "base" being the run compared against.
        delta: ``{set: paired_delta(...)}`` (adapted minus the other run, paired over documents).
        labels: ``{"base": name of the run compared against, "adapted": name of the run compared}``.
    """
    domain = _pair_line(delta["domain"], labels, "domain text")
    general = _pair_line(delta["general"], labels, "general text") if "general" in delta else None
    calibration = calibration_verdict(results["base"]["domain"], results["adapted"]["domain"],
                                      delta["domain"].get("ece_paired"))
    a, b = labels["adapted"], labels["base"]
    leaked = {name: len(r.get("pairs") or r.get("flagged") or []) for name, r in (leakage or {}).items() if r}
    leaked = {k: v for k, v in leaked.items() if v}
    steps = []
    if leaked:
        steps.append("Evaluate on held-out text: " + " and ".join(f"{k} {n} document(s)" for k, n in leaked.items())
                     + " near-copy training documents of a run, so its advantage is overstated.")
    winner = {"adapted": a, "base": b}.get(domain["status"])
    if winner:
        loser = b if winner == a else a
        cost = general and general["status"] not in ("unclear", "too_few") and general["status"] != domain["status"]
        steps.append(f"Prefer {winner} for the domain" + (
            f", but it is worse than {loser} on general text: weigh the two." if cost else "."))
    elif domain["status"] == "too_few":
        steps.append(f"Collect more held-out documents (at least {delta['domain'].get('min_documents')}) before "
                     "choosing between the runs.")
    else:
        steps.append("Neither run is measurably better on domain text: choose on cost, or compare on more text.")
    headline = domain["sentence"] + (" " + general["sentence"] if general else "")
    return {"headline": headline, "domain": domain, "general": general, "calibration": calibration,
            "regression": None, "other_sets": {}, "next_steps": steps[:2], "review_first": [],
            "leakage_documents": leaked, "repetitive_generations": 0, "kind": "runs",
            "labels": labels, "flagged": {}, "warnings": list(warnings or []), "limits": LIMITS}


__all__ = [
    "LIMITS", "build_verdict", "calibration_verdict", "domain_verdict", "general_verdict", "regression_verdict", "runs_verdict",
]


def add_guardrails(verdict: dict, bias: dict | None = None, screen: dict | None = None, drift: dict | None = None) -> dict:
    """Add the guardrails to a verdict (in place): bias categories whose stereotype preference rose beyond chance
    lead the next steps and the headline; generations the screen flagged for the adapted side come next."""
    steps = verdict.setdefault("next_steps", [])
    verdict["bias"] = {"flagged": bias["flagged"], "sentence": bias["sentence"]} if bias else None
    if bias and bias["flagged"]:
        verdict["headline"] = f"{verdict.get('headline', '')} {bias['sentence']}".strip()
        steps.insert(0, f"Review the bias pairs of {', '.join(bias['flagged'])}: adaptation made the model prefer the "
                        "stereotyping sentence more often (review items list the worst pairs).")
    if screen and screen.get("adapted"):
        adapted, base = screen["adapted"], screen.get("base") or {}
        verdict["screen"] = {"adapted_flagged": adapted["flagged"], "base_flagged": base.get("flagged"),
                             "sentence": (f"The screen flagged {adapted['flagged']} of {adapted['outputs']} adapted "
                                          f"generation(s) ({adapted['hits']} listed hit(s), {adapted['degenerate']} "
                                          f"degenerate) and {base.get('flagged', 0)} of the base's. {screen['note']}")}
        if adapted["hits"] > base.get("hits", 0):
            steps.insert(1 if bias and bias["flagged"] else 0,
                         f"Review the {adapted['flagged']} generation(s) the screen flagged (offered first as review items).")
    if drift and drift.get("periods"):
        rows = drift["periods"]
        first, last = rows[0], rows[-1]
        sentence = (f"Over {len(rows)} period(s) of {drift['time_field']}, the adapted model's bits per byte went from "
                    f"{first['adapted_bits_per_byte']:.3f} ({first['period']}) to {last['adapted_bits_per_byte']:.3f} "
                    f"({last['period']})")
        if last.get("unseen_term_rate") is not None:
            sentence += f"; {100 * last['unseen_term_rate']:.1f}% of the last period's terms never occur in the training text"
        verdict["drift"] = {"sentence": sentence + "."}
    return verdict
