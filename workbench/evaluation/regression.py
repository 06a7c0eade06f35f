"""A regression set of labelled errors, re-scored by every comparison.

The set is a plain JSONL file, so evaluation needs nothing from the review stage to use it:
``workbench review export FILE --format regression`` writes one from a label store (``compare --labels``
does it for you), and anyone can write one by hand. One case per line::

    {"prompt": "...", "erroneous": "the output as the model gave it", "corrected": "what it should say",
     "uid": "...", "item_id": "...", "annotator": "...", "categories": ["terminology"], "severity": "major",
     "model": "...", "doc_id": "..."}

``erroneous`` and ``corrected`` are required, ``prompt`` may be empty, the rest describe the case in the
report. An optional first line ``{"type": "header", "kind": "workbench-regression-set", "format": 1,
"source": "..."}`` names where the cases came from (default: the file).

For each case a model "still makes the error" when it gives the erroneous output at least the
log-likelihood of the corrected one (both conditioned on the prompt). Base (adapter disabled) and
adapted are scored; the result lands in ``comparison.json`` under ``regression`` and in the report.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkbenchError

SNIPPET = 60  # characters of context shown around a correction
KIND = "workbench-regression-set"
FORMAT = 1
CASE_FIELDS = ("uid", "item_id", "annotator", "categories", "severity", "model", "doc_id")
"""What a case row of ``comparison.json`` carries besides the scores (None when the file does not say)."""


@dataclass
class RegressionSet:
    """The cases of a regression-set file and where they came from (a label store's URL, or the file)."""

    source: str
    cases: list[dict]


def read_regression_set(path: str | os.PathLike) -> RegressionSet:
    """Read and check a regression-set JSONL (see the module docstring); a malformed line names the line and field.

    Cases whose corrected text equals the erroneous one are left out (there is nothing to score).
    """
    from workbench.io import iter_jsonl

    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"regression set {path} does not exist.",
                             "set {field} to a JSONL of labelled errors (write one with "
                             "'workbench review export FILE --format regression').", field="regression_set")
    source, cases = str(path), []
    for number, record in enumerate(iter_jsonl(path), 1):
        where = f"{path} line {number}"
        if not isinstance(record, dict):
            raise WorkbenchError(f"{where}: not a JSON object.", "write one case object per line.")
        if record.get("type") == "header":
            source = str(record.get("source") or source)
            continue
        for name in ("erroneous", "corrected"):
            if not isinstance(record.get(name), str):
                raise WorkbenchError(f"{where}: field '{name}' is missing or not text.",
                                     "give each case 'erroneous' and 'corrected' texts (and its 'prompt').")
        if not isinstance(record.get("prompt") or "", str):
            raise WorkbenchError(f"{where}: field 'prompt' is not text.", "give the prompt as text (or leave it out).")
        if record["corrected"] == record["erroneous"]:
            continue
        categories = record.get("categories") or []
        case = {k: record.get(k) for k in CASE_FIELDS}
        case.update(prompt=record.get("prompt") or "", erroneous=record["erroneous"], corrected=record["corrected"],
                    uid=record.get("uid") or f"{path.name}:{number}",
                    categories=[categories] if isinstance(categories, str) else [str(c) for c in categories])
        cases.append(case)
    return RegressionSet(source, cases)


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


def regression_check(model, tokenizer, cases: list[dict], source: str | None = None, base_tokenizer=None) -> dict:
    """Score ``cases`` with the adapter disabled (base, with ``base_tokenizer`` when the adapter grew the
    tokenizer) and enabled (adapted), or once for a plain model."""
    from workbench.evaluation.adapted import base_side

    disable = getattr(model, "disable_adapter", None)
    with base_side(model, tokenizer, base_tokenizer):
        base = score_cases(model, base_tokenizer or tokenizer, cases) if disable else None
    adapted = score_cases(model, tokenizer, cases)
    rows = []
    for i, case in enumerate(cases):
        row = {k: case.get(k) for k in CASE_FIELDS}
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


def regression_html(result: dict) -> str:
    """The report section, from the ``regression`` data of ``comparison.json``: how many labelled errors each
    model still makes, and the cases."""
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
        parts.append(f"<tr><td>{html.escape(r['change'])}</td><td>{html.escape(', '.join(r.get('categories') or []))}</td>"
                     f"<td>{html.escape(str(r.get('severity') or '–'))}</td><td>{'–' if base is None else f'{base:+.3f}'}</td>"
                     f"<td>{r['adapted_margin']:+.3f}</td><td>{'yes' if r['adapted_still_wrong'] else 'no'}</td></tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
