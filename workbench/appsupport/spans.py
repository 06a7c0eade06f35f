"""Error spans of the Review page and the notebooks' review form, and the form read as one review.

A span comes from a mouse selection (the highlight component returns ``{output, start, end, text}`` in
character offsets of the shown text), a typed phrase (the keyboard fallback) or picked words. What
the form shows becomes one error (:func:`error_from_form`) and, with the verdict, one review
(:func:`review_from_form`) exactly as shown, or a refusal naming everything still missing.
"""

from __future__ import annotations

import re

from workbench import workflows
from workbench.errors import WorkbenchError
from workbench.review.config import DOCUMENT_VERDICTS, PREFERENCES

__all__ = ["word_spans", "span_from_words", "find_phrase", "selection_span", "error_from_form", "review_from_form"]

_WORD = re.compile(r"\S+")


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """Whitespace-separated words of ``text`` with their character offsets (start, end, word)."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def span_from_words(text: str, indices: list[int]) -> tuple[int, int]:
    """Character span covering the picked words (by index in :func:`word_spans`), first to last."""
    words = word_spans(text)
    if not indices:
        raise WorkbenchError("no words picked for the error span.", "pick the words that are wrong, or type the phrase.",
                             field="span")
    bad = [i for i in indices if not 0 <= i < len(words)]
    if bad:
        raise WorkbenchError(f"word index {bad[0]} is outside the text ({len(words)} words).", "pick words shown.",
                             field="span")
    return words[min(indices)][0], words[max(indices)][1]


def find_phrase(text: str, phrase: str, occurrence: int = 1) -> tuple[int, int]:
    """Character span of the ``occurrence``-th appearance of ``phrase`` in ``text``.

    Whitespace in the phrase matches any run of whitespace, so a phrase copied across a line break
    is still found; an absent phrase is a user error naming it."""
    phrase = phrase.strip()
    if not phrase:
        raise WorkbenchError("the error phrase is empty.", "type the words that are wrong, as they appear.",
                             field="span")
    pattern = r"\s+".join(re.escape(part) for part in phrase.split())
    matches = list(re.finditer(pattern, text))
    if len(matches) < occurrence:
        raise WorkbenchError(f"the phrase '{phrase[:60]}' does not appear in the output.", "copy it from the text.",
                             field="span")
    match = matches[occurrence - 1]
    return match.start(), match.end()



def selection_span(item, selection: dict) -> tuple[str, int, int]:
    """``(output, start, end)`` of a mouse selection ``{output, start, end, text}`` in one of ``item``'s outputs,
    checked against the output's text (the offsets must cover exactly the selected text)."""
    slots = [o["slot"] for o in item.outputs]
    output, start, end = selection.get("output"), selection.get("start"), selection.get("end")
    if output not in slots:
        raise WorkbenchError(f"the highlighted text is in output {output!r}, which this item does not have.",
                             f"highlight the wrong words in output {' or '.join(slots)}.", field="span")
    text = item.output(output)["text"]
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise WorkbenchError(f"the highlight covers characters {start}..{end}, outside output {output} (0..{len(text)}).",
                             "highlight the wrong words again.", field="span")
    if "text" in selection and text[start:end] != selection["text"]:
        raise WorkbenchError(f"the highlight says '{str(selection['text'])[:60]}' but output {output} has "
                             f"'{text[start:end][:60]}' there.", "highlight the wrong words again.", field="span")
    return output, start, end


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _form_error(item, form: dict, categories: list[str]) -> tuple[workflows.ErrorMark | None, list[tuple[str, str]]]:
    """The error the form shows (None when nothing of one is filled in) and what it lacks: ``[(field, fix)]``."""
    selection = form.get("selection") or None
    phrase = (form.get("phrase") or "").strip()
    note = (form.get("note") or "").strip()
    correction = (form.get("correction") or "").strip()
    category, severity, output = form.get("category"), form.get("severity"), form.get("output")
    if not (selection or phrase or category or severity or note or correction):
        return None, []
    slots = [o["slot"] for o in item.outputs]
    if selection and phrase:
        raise WorkbenchError(f"the form holds both a highlighted span ('{selection.get('text', '')[:40]}') and a typed "
                             f"phrase ('{phrase[:40]}').", "clear the typed phrase or the highlight: one span per error.",
                             field="span")
    start = end = None
    if selection:
        slot, start, end = selection_span(item, selection)
        if output and output != slot and len(slots) > 1:
            raise WorkbenchError(f"the highlighted text is in output {slot} but {{field}} says {output}.",
                                 f"set {{field}} to {slot}, or highlight the words in output {output}.", field="output")
        output = slot
    elif len(slots) == 1:
        output = slots[0]
    missing = []
    if not category:
        missing.append(("category", f"a category ({', '.join(categories)})"))
    if not severity:
        missing.append(("severity", f"a severity ({', '.join(workflows.SEVERITIES)})"))
    if output not in slots:
        missing.append(("output", f"the output the error is in ({' or '.join(slots)})"))
    elif phrase:
        start, end = find_phrase(item.output(output)["text"], phrase)
    mark = workflows.ErrorMark(category=category or None, severity=severity or None, output=output, start=start,
                               end=end, note=note, correction=correction or None)
    return mark, missing


def error_from_form(item, form: dict, categories: list[str]) -> workflows.ErrorMark | None:
    """The error a review form shows, exactly, or a refusal naming everything it lacks.

    Args:
        item: the review item shown.
        form: ``{selection, phrase, output, category, severity, note, correction}`` as the form holds them
            (``selection``: the mouse highlight ``{output, start, end, text}``; ``output``: the slot chosen for a
            typed phrase or a whole-output error).
        categories: the project's categories (named in the refusal).

    Returns:
        A ``workflows.ErrorMark`` (no span: the whole output), or None when nothing of an error is filled in.
    """
    mark, missing = _form_error(item, form, categories)
    if missing:
        where = f" in output {mark.output}" if mark.output and len(item.outputs) > 1 else ""
        raise WorkbenchError(f"not saved: the error{where} has no {' and no '.join(f for f, _ in missing)}.",
                             f"choose {_and([fix for _, fix in missing])}.", field=missing[0][0])
    return mark


def review_from_form(item, form: dict, verdict: str | None, categories: list[str],
                     marks: list | None = None) -> tuple[str, list]:
    """The verdict and errors one submit writes: the errors kept on the form (``marks``) and the one it
    shows now, with the verdict chosen (``A``/``B``/``tie`` for a pair, ``keep``/``drop`` for a document);
    an item with one output gets ``errors`` or ``no_error`` from what is marked. Refuses with one message naming everything missing.

    Returns:
        ``(verdict, [workflows.ErrorMark])`` for ``workflows.submit_review``.
    """
    errors = list(marks or [])
    mark, missing = _form_error(item, form, categories)
    if mark is not None:
        errors.append(mark)
    allowed = {"pair": list(PREFERENCES), "document": list(DOCUMENT_VERDICTS)}.get(item.kind)
    if allowed:
        if verdict not in allowed:
            missing.append(("verdict", f"a verdict ({', '.join(allowed)})"))
    else:
        verdict = "errors" if errors else "no_error"
    if missing:
        fields = [f for f, _ in missing]
        error_part = [f for f in fields if f != "verdict"]
        where = f" in output {mark.output}" if mark is not None and mark.output and len(item.outputs) > 1 else ""
        parts = [f"the error{where} has no {' and no '.join(error_part)}"] if error_part else []
        if "verdict" in fields:
            parts.append("no verdict is chosen")
        raise WorkbenchError(f"not saved: {', and '.join(parts)}.", f"choose {_and([fix for _, fix in missing])}.",
                             field=missing[0][0])
    return verdict, errors
