"""What the label store accepts: one check per record kind, shared by the store's API and the importer.

The event log is append-only, so a bad event can never be taken out once it is in: every item and
every event goes through the same function whether it comes from ``LabelStore.add_label``/``submit``/
``flag``/``delete_label``/``add_items`` or from a line of an imported ``jsonl`` export
(``check_event``, ``check_item``). Each check returns the value as the store keeps it, or raises one
``WorkbenchError`` naming the field (``{field}`` in the message) and the fix.

These functions know items and the review settings only; the store supplies what lives in the
database (the taxonomy's categories, the events a deletion or an undo refers to).
"""

from __future__ import annotations

import math
from typing import Callable

from workbench.errors import WorkbenchError
from workbench.review.config import SEVERITY_WEIGHTS, verdicts_for
from workbench.review.items import KINDS, Item

ACTIONS = ("span", "delete", "verdict", "flag", "undo", "redo")
MAX_ANNOTATOR = 200  # the width of the annotator columns
MAX_ITEM_ID = 64  # the width of the item id columns
MAX_UID = 32  # the width of the event uid column (a uuid4 hex)

EventLookup = Callable[[str], "tuple[str, str] | None"]
"""``uid -> (annotator, action)`` of an event already in the store (or earlier in an imported file), else None."""


def fail(field: str, message: str, fix: str):
    """Raise the store's error about one field: ``MESSAGE (field 'FIELD'). Fix: FIX``."""
    raise WorkbenchError(f"{message} (field '{{field}}').", fix, field=field)


def _shown(value, limit: int = 40) -> str:
    """A value for a message: its repr, cut short (a 5,000-character name is not repeated back)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value, field: str, what: str, fix: str) -> str:
    if not isinstance(value, str):
        fail(field, f"{what} is {type(value).__name__} {_shown(value)}, not text", fix)
    if "\x00" in value:
        fail(field, f"{what} holds a NUL character", "remove the NUL (\\0) character; databases cannot store it.")
    return value


# ------------------------------------------------------------------------------------------ fields


def check_annotator(annotator) -> str:
    """A non-empty name of at most ``MAX_ANNOTATOR`` printable characters (surrounding spaces removed)."""
    if not isinstance(annotator, str) or not annotator.strip():
        fail("annotator", f"the annotator name {_shown(annotator)} is empty or not text",
             "give the name of the person labelling, e.g. 'ana'.")
    annotator = annotator.strip()
    if len(annotator) > MAX_ANNOTATOR:
        fail("annotator", f"the annotator name is {len(annotator)} characters long", f"use at most {MAX_ANNOTATOR}.")
    if not annotator.isprintable():
        fail("annotator", f"the annotator name {_shown(annotator)} holds a control character",
             "use letters, digits, spaces and punctuation only.")
    return annotator


def check_seconds(seconds) -> float | None:
    """Time spent: None, or a finite number of seconds, 0 or more."""
    if seconds is None:
        return None
    if not _number(seconds):
        fail("seconds", f"time spent {_shown(seconds)} is not a number", "give the seconds spent as a number (or none).")
    if not math.isfinite(seconds) or seconds < 0:
        fail("seconds", f"time spent {seconds} is negative or not finite", "give the seconds spent (0 or more).")
    return float(seconds)


def check_created(created) -> float:
    """When an event was made: a finite number of seconds since the epoch, 0 or more."""
    if not _number(created) or not math.isfinite(created) or created < 0:
        fail("created", f"the time of the event {_shown(created)} is not a finite number",
             "give seconds since the epoch, as 'workbench review export' writes them.")
    return float(created)


def check_uid(uid) -> str:
    """An event's uid: non-empty printable text of at most ``MAX_UID`` characters."""
    if not isinstance(uid, str) or not uid.strip() or len(uid) > MAX_UID or not uid.isprintable():
        fail("uid", f"event uid {_shown(uid)} is not 1 to {MAX_UID} printable characters",
             "import a file written by 'workbench review export' (uids are 32 hex digits).")
    return uid


def check_note(note) -> str:
    """A free-text note: text without NUL characters (None is an empty note)."""
    if note is None:
        return ""
    return _text(note, "note", "the note", "write the note as text (or leave it empty).")


def check_correction(correction) -> str | None:
    """What a span should say instead: text, or None for no correction."""
    if correction is None:
        return None
    return _text(correction, "correction", "the corrected text", "write the correction as text (or leave it out).")


def check_severity(severity) -> str:
    """``minor``, ``major`` or ``critical`` (any case)."""
    sev = severity.strip().lower() if isinstance(severity, str) else None
    if sev not in SEVERITY_WEIGHTS:
        fail("severity", f"severity {_shown(severity)} is out of range",
             f"use one of: {', '.join(SEVERITY_WEIGHTS)} (MQM weights 1/5/10).")
    return sev


def check_categories(categories, known: list[str], field: str = "category") -> list[str]:
    """Each category is one of the project's taxonomy (``known``)."""
    for category in categories:
        if not isinstance(category, str) or category not in known:
            fail(field, f"unknown category {_shown(category)}",
                 f"use one of: {', '.join(known)} (or change the project's taxonomy YAML).")
    return list(categories)


def check_verdict(item: Item, verdict) -> str:
    """A verdict that applies to the item's kind (``verdicts_for``)."""
    allowed = verdicts_for(item.kind)
    if not isinstance(verdict, str) or verdict not in allowed:
        fail("verdict", f"verdict {_shown(verdict)} does not apply to a {item.kind} item", f"use one of: {', '.join(allowed)}.")
    return verdict


def check_gold(gold, kind: str, known: list[str]) -> dict | None:
    """A gold item's known answer: None, or ``{verdict, categories}`` with a verdict for ``kind`` and known categories."""
    if gold is None:
        return None
    if not isinstance(gold, dict):
        fail("gold", f"the gold answer is {type(gold).__name__} {_shown(gold)}, not an object",
             "write gold as {\"verdict\": ..., \"categories\": [...]} (or leave it out).")
    allowed = verdicts_for(kind)
    if gold.get("verdict") not in allowed:
        fail("gold", f"the gold verdict {_shown(gold.get('verdict'))} does not apply to a {kind} item",
             f"use one of: {', '.join(allowed)}.")
    categories = gold.get("categories") or []
    if not isinstance(categories, list):
        fail("gold", f"the gold categories {_shown(categories)} are not a list", "list the categories, e.g. [\"terminology\"].")
    return {"verdict": gold["verdict"], "categories": check_categories(categories, known, "gold")}


# ------------------------------------------------------------------------------------------ records


def check_item(item: Item, known: list[str]) -> Item:
    """An item the store can hold and every reader can show: the checks ``add_items`` and the importer share.

    Args:
        item: the item (from ``make_item`` or ``items.item_from_record``).
        known: the project's categories (a gold item's categories must be among them).
    """
    if not isinstance(item.id, str) or not item.id.strip() or len(item.id) > MAX_ITEM_ID or not item.id.isprintable():
        fail("id", f"item id {_shown(item.id)} is not 1 to {MAX_ITEM_ID} printable characters",
             f"give items ids of at most {MAX_ITEM_ID} characters (or none: the content hash is used).")
    if item.kind not in KINDS:
        fail("kind", f"unknown item kind {_shown(item.kind)}", f"use one of: {', '.join(KINDS)}.")
    _text(item.prompt, "prompt", "the prompt", "write the prompt as text.")
    if not isinstance(item.outputs, list) or not item.outputs:
        fail("outputs", "the item has no outputs", "give at least one output {\"slot\": ..., \"text\": ...}.")
    slots = []
    for out in item.outputs:
        if not isinstance(out, dict) or not isinstance(out.get("slot"), str) or not out["slot"].strip():
            fail("outputs", f"output {_shown(out)} has no slot name", "give each output a slot (A, B or output).")
        if not isinstance(out.get("text"), str):
            fail("outputs", f"output '{out['slot']}' has no text", "give each output its text.")
        for key in ("model", "checkpoint"):
            if out.get(key) is not None and not isinstance(out[key], str):
                fail("outputs", f"output '{out['slot']}' has a {key} {_shown(out[key])} that is not text",
                     f"give the {key} name as text (or leave it out).")
        slots.append(out["slot"])
    if len(set(slots)) != len(slots) or (item.kind == "pair" and sorted(slots) != ["A", "B"]):
        fail("outputs", f"the output slots {slots} repeat a name, or a pair's are not A and B",
             "give a pair the slots A and B, and other items distinct slots.")
    for key in ("source", "meta"):
        if not isinstance(getattr(item, key), dict):
            fail(key, f"the item's {key} is {type(getattr(item, key)).__name__}, not an object",
                 f"write {key} as a JSON object (or leave it out).")
    item.gold = check_gold(item.gold, item.kind, known)
    return item


def span_payload(item: Item, output, start, end, category, severity, note, correction, known: list[str]) -> dict:
    """The payload of a ``span`` event: an error in one output of ``item`` (``add_label``'s rules)."""
    sev = check_severity(severity)
    note = check_note(note)
    correction = check_correction(correction)
    check_categories([category], known)
    slots = [o["slot"] for o in item.outputs]
    if output is None:
        if len(slots) != 1:
            fail("output", f"item {item.id} has {len(slots)} outputs", f"say which one: {' or '.join(slots)}.")
        output = slots[0]
    if output not in slots:
        fail("output", f"item {item.id} has no output {_shown(output)}", f"use one of: {', '.join(slots)}.")
    text = item.output(output)["text"]
    if (start is None) != (end is None):
        fail("start", "give both start and end of the span, or neither", "pass start and end character offsets.")
    if start is not None:
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            fail("start", f"span offsets {_shown(start)}, {_shown(end)} are not integers",
                 "give character offsets as integers.")
        if not 0 <= start < end <= len(text):
            fail("start", f"span [{start}, {end}) is outside the output (0..{len(text)} characters)",
                 "give 0 <= start < end <= the output's length.")
    return {"output": output, "start": start, "end": end, "category": category, "severity": sev, "note": note,
            "correction": correction}


def verdict_payload(item: Item, verdict, note, adjudication) -> dict:
    """The payload of a ``verdict`` event (``submit``'s rules)."""
    verdict = check_verdict(item, verdict)
    note = check_note(note)
    if not isinstance(adjudication, bool):
        fail("adjudication", f"adjudication {_shown(adjudication)} is not true or false", "give true or false.")
    return {"verdict": verdict, "note": note, "adjudication": adjudication}


def flag_payload(on, note) -> dict:
    """The payload of a ``flag`` event (``flag``'s rules)."""
    if not isinstance(on, bool):
        fail("on", f"flag state {_shown(on)} is not true or false", "give true (flag) or false (clear the flag).")
    return {"on": on, "note": check_note(note)}


def target_payload(action: str, target, annotator: str, lookup: EventLookup) -> dict:
    """The payload of a ``delete``, ``undo`` or ``redo`` event: the annotator's own event it takes back
    (a span, for a deletion). Another annotator's label is theirs to delete."""
    what = "label" if action == "delete" else "event"
    found = lookup(target) if isinstance(target, str) and target else None
    if found is None or (action == "delete" and found[1] != "span"):
        fix = "give the uid add_label returned." if action == "delete" else "give the uid of an earlier event."
        fail("target", f"unknown {what} {_shown(target)}", fix)
    if found[0] != annotator:
        fail("target", f"{what} {target} is {found[0]}'s, not {annotator}'s",
             f"only {found[0]} can {action} it; add a label of your own instead.")
    return {"target": target}


def check_event(record: dict, items: dict[str, Item], known: list[str], lookup: EventLookup) -> dict:
    """An event of an imported log, checked as the API checks the call that writes it; returns the row to store.

    Args:
        record: ``{uid, item_id, annotator, action, payload, seconds, created}``.
        items: the items it may refer to (the store's and the file's), by id.
        known: the project's categories.
        lookup: the events a deletion, an undo or a redo may refer to (see ``EventLookup``).
    """
    uid = check_uid(record.get("uid"))
    item_id = record.get("item_id")
    item = items.get(item_id) if isinstance(item_id, str) else None
    if item is None:
        fail("item_id", f"event {uid} refers to unknown item {_shown(item_id)}",
             "export the items together with the events ('workbench review export' writes both).")
    annotator = check_annotator(record.get("annotator"))
    action = record.get("action")
    if action not in ACTIONS:
        fail("action", f"action {_shown(action)} is unknown", f"use one of: {', '.join(ACTIONS)}.")
    payload = record.get("payload")
    if not isinstance(payload, dict):
        fail("payload", f"the payload is {type(payload).__name__}, not an object",
             "import a file written by 'workbench review export'.")
    seconds = check_seconds(record.get("seconds"))
    created = check_created(record.get("created"))
    try:
        if action == "span":
            payload = span_payload(item, payload.get("output"), payload.get("start"), payload.get("end"),
                                   payload.get("category"), payload.get("severity"), payload.get("note"),
                                   payload.get("correction"), known)
        elif action == "verdict":
            payload = verdict_payload(item, payload.get("verdict"), payload.get("note"),
                                      payload.get("adjudication", False))
        elif action == "flag":
            payload = flag_payload(payload.get("on"), payload.get("note"))
        else:
            payload = target_payload(action, payload.get("target"), annotator, lookup)
    except WorkbenchError as exc:
        raise WorkbenchError(exc.message, exc.fix, field=f"payload.{exc.field}") from None
    return {"uid": uid, "item_id": item.id, "annotator": annotator, "action": action, "payload": payload,
            "seconds": seconds, "created": created}


def located(where: str, check: Callable, *args):
    """``check(*args)``, its error prefixed with where the record is (``FILE line N``)."""
    try:
        return check(*args)
    except WorkbenchError as exc:
        raise WorkbenchError(f"{where}: {exc.message}", exc.fix, field=exc.field) from None
