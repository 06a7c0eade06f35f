"""Labelled errors as a regression set that every new comparison re-scores.

For each labelled error with a correction, a model "still makes the error" when it gives the
erroneous output at least the log-likelihood of the corrected one (both conditioned on the item's
prompt). ``workbench compare`` calls ``regression_for_compare`` with its loaded model: base
(adapter disabled) and adapted are scored, and the result lands in ``comparison.json`` under
``regression`` and in the report.
"""

from __future__ import annotations

import contextlib
import html
import os
from pathlib import Path

from workbench.errors import WorkbenchError

SNIPPET = 60  # characters of context shown around a correction


def regression_cases(store) -> list[dict]:
    """``[{uid, item_id, prompt, erroneous, corrected, categories, severity, ...}]`` from the store's corrections."""
    from workbench.review.export import corrections

    return [c for c in corrections(store) if c["corrected"] != c["erroneous"]]


def _encode(tokenizer, prompt: str, text: str) -> tuple[list[int], list[int]]:
    # BOS when there is one, else EOS: the context that lets the first token be scored (as evaluation does)
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if prefix is None:
        raise WorkbenchError("the tokenizer has neither a BOS nor an EOS token.",
                             "set bos_token or eos_token in tokenizer_config.json.")
    context = [prefix] + (tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else [])
    sep = " " if prompt and not prompt.endswith((" ", "\n")) and not text.startswith((" ", "\n")) else ""
    return context, tokenizer(sep + text, add_special_tokens=False)["input_ids"]


def log_likelihood(model, tokenizer, prompt: str, text: str) -> float:
    """Sum of log p(text tokens | prompt) under ``model``."""
    import torch

    context, target = _encode(tokenizer, prompt, text)
    if not target:
        return 0.0
    device = next(model.parameters()).device
    ids = torch.tensor([context + target], device=device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits.float()
    logp = torch.log_softmax(logits[0, len(context) - 1 : -1], dim=-1)
    return float(logp.gather(-1, torch.tensor(target, device=device)[:, None]).sum())


def score_cases(model, tokenizer, cases: list[dict]) -> list[dict]:
    """Per case: log-likelihood of the corrected and the erroneous output, their margin, and whether the
    model still makes the error (margin <= 0)."""
    rows = []
    for case in cases:
        corrected = log_likelihood(model, tokenizer, case["prompt"], case["corrected"])
        erroneous = log_likelihood(model, tokenizer, case["prompt"], case["erroneous"])
        rows.append({"corrected_logprob": corrected, "erroneous_logprob": erroneous, "margin": corrected - erroneous,
                     "still_wrong": corrected <= erroneous})
    return rows


def _snippet(erroneous: str, corrected: str) -> str:
    """``…context [erroneous → corrected] context…`` around the part that differs."""
    start = 0
    while start < min(len(erroneous), len(corrected)) and erroneous[start] == corrected[start]:
        start += 1
    end = 0
    while end < min(len(erroneous), len(corrected)) - start and erroneous[-1 - end] == corrected[-1 - end]:
        end += 1
    head = erroneous[max(0, start - SNIPPET) : start]
    tail = erroneous[len(erroneous) - end :][:SNIPPET]
    return (f"{'…' if start > SNIPPET else ''}{head}[{erroneous[start:len(erroneous) - end]} → "
            f"{corrected[start:len(corrected) - end]}]{tail}{'…' if end > SNIPPET else ''}")


def regression_check(model, tokenizer, cases: list[dict], source: str | None = None) -> dict:
    """Score ``cases`` with the adapter disabled (base) and enabled (adapted), or once for a plain model."""
    disable = getattr(model, "disable_adapter", None)
    with disable() if disable else contextlib.nullcontext():
        base = score_cases(model, tokenizer, cases) if disable else None
    adapted = score_cases(model, tokenizer, cases)
    rows = []
    for i, case in enumerate(cases):
        row = {k: case[k] for k in ("uid", "item_id", "annotator", "categories", "severity", "model", "doc_id")}
        row["change"] = _snippet(case["erroneous"], case["corrected"])
        row.update({f"adapted_{k}": v for k, v in adapted[i].items()})
        if base:
            row.update({f"base_{k}": v for k, v in base[i].items()})
        rows.append(row)

    def summary(scores):
        wrong = sum(s["still_wrong"] for s in scores)
        return {"still_wrong": wrong, "fixed": len(scores) - wrong,
                "mean_margin": sum(s["margin"] for s in scores) / len(scores) if scores else None}

    result = {"source": source, "cases": len(cases), "adapted": summary(adapted), "rows": rows}
    if base:
        result["base"] = summary(base)
    return result


def regression_for_compare(model, tokenizer, labels: str | os.PathLike | None, workspace=None) -> dict | None:
    """The regression section of a comparison, or None when there is no label store or no correction.

    ``labels``: a label store path or URL; None uses ``<workspace>/labels.db`` when it exists; "none" skips.
    """
    from workbench.review.store import LabelStore

    if labels is not None and str(labels).lower() == "none":
        return None
    if labels is None:
        from workbench.review.config import default_db

        path = default_db(workspace)
        if not path.exists():
            return None
        labels = path
    if "://" not in str(labels) and not Path(labels).exists():
        raise WorkbenchError(f"label store {labels} does not exist.", "pass an existing labels.db (or a database URL).")
    with LabelStore(labels) as store:
        cases = regression_cases(store)
        source = store.safe_url
    if not cases:
        return None
    return regression_check(model, tokenizer, cases, source)


def regression_html(result: dict) -> str:
    """The report section: how many labelled errors each model still makes, and the cases."""
    parts = [f"<h2>Regression set: labelled errors</h2><p>{result['cases']} expert-labelled error(s) with a correction "
             f"from <code>{html.escape(str(result.get('source')))}</code>. A model still makes an error when it gives "
             "the erroneous text at least the log-likelihood of the corrected one.</p><ul>"]
    for label in ("base", "adapted"):
        s = result.get(label)
        if s:
            margin = "–" if s["mean_margin"] is None else f"{s['mean_margin']:+.3f}"
            parts.append(f"<li>{label}: still makes {s['still_wrong']} of {result['cases']}, fixed {s['fixed']}; "
                         f"mean log-likelihood margin (corrected − erroneous) {margin} nats</li>")
    parts.append("</ul><table><thead><tr><th>change</th><th>categories</th><th>severity</th><th>base margin</th>"
                 "<th>adapted margin</th><th>adapted still wrong</th></tr></thead><tbody>")
    for r in result["rows"]:
        base = r.get("base_margin")
        parts.append(f"<tr><td>{html.escape(r['change'])}</td><td>{html.escape(', '.join(r['categories']))}</td>"
                     f"<td>{r['severity']}</td><td>{'–' if base is None else f'{base:+.3f}'}</td>"
                     f"<td>{r['adapted_margin']:+.3f}</td><td>{'yes' if r['adapted_still_wrong'] else 'no'}</td></tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
