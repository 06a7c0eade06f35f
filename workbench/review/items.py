"""Review items: what an expert looks at, each with a stable content-hash id and its source.

Kinds:
    ``pair``      two continuations of one prompt, shown blind as A and B (seeded order per item);
    ``output``    one model output (a generation, a regressed document, a JSONL row a team brings);
    ``probe``     a cloze probe the adapted model gets wrong;
    ``document``  a corpus document the profile flagged, for a keep or drop decision.

Items are built from files only (a comparison folder, a JSONL file, a corpus profile), never from
another stage's code, so review works on any comparison that exists on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from workbench.errors import WorkbenchError

KINDS = ("pair", "output", "probe", "document")


@dataclass
class Item:
    """One thing to review. ``outputs`` are ``{slot, text, model, checkpoint}``; slots are A/B for a pair."""

    id: str
    kind: str
    prompt: str
    outputs: list[dict]
    source: dict = field(default_factory=dict)
    """Where it came from: comparison, set, doc_id, span [start, end) in the document, models, checkpoint."""
    gold: dict | None = None
    """Known answer ``{verdict, categories}`` of a gold item (measures annotator accuracy)."""
    meta: dict = field(default_factory=dict)
    """Context for the reviewer (per-document Δ NLL, probe ranks, profile flags...)."""
    revealed: bool = True
    """False while the model names are hidden (blind review, before this annotator's verdict)."""

    def output(self, slot: str) -> dict:
        for out in self.outputs:
            if out["slot"] == slot:
                return out
        raise WorkbenchError(f"item {self.id} has no output '{slot}' (field 'output').",
                             f"use one of: {', '.join(o['slot'] for o in self.outputs)}.")

    def blind(self) -> Item:
        """The item as an annotator sees it before labelling: model and checkpoint names hidden."""
        outputs = [{**o, "model": None, "checkpoint": None} for o in self.outputs]
        source = {k: v for k, v in self.source.items() if k not in ("models", "model", "checkpoint")}
        return replace(self, outputs=outputs, source=source, revealed=False)

    def to_dict(self) -> dict:
        return asdict(self)


def content_id(kind: str, prompt: str, outputs: list[dict], source: dict) -> str:
    """sha256 of what the item shows and where it came from (slot order excluded: blind order never changes it)."""
    texts = sorted((o.get("model") or "", o.get("checkpoint") or "", o["text"]) for o in outputs)
    ident = {k: source.get(k) for k in ("comparison", "set", "doc_id", "span", "corpus", "probe") if source.get(k) is not None}
    blob = json.dumps({"kind": kind, "prompt": prompt, "outputs": texts, "source": ident}, sort_keys=True,
                      ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def make_item(kind: str, prompt: str, outputs: list[dict], source: dict | None = None, gold: dict | None = None,
              meta: dict | None = None, seed: int = 1234) -> Item:
    """Build an item with its content id; a ``pair`` gets slots A/B in a seeded order drawn from its own id."""
    if kind not in KINDS:
        raise WorkbenchError(f"unknown item kind '{kind}' (field 'kind').", f"use one of: {', '.join(KINDS)}.")
    source = dict(source or {})
    outs = [{"slot": o.get("slot"), "text": str(o.get("text") or ""), "model": o.get("model"),
             "checkpoint": o.get("checkpoint")} for o in outputs]
    item_id = content_id(kind, prompt, outs, source)
    if kind == "pair":
        if len(outs) != 2:
            raise WorkbenchError(f"a pair item needs two outputs, got {len(outs)} (field 'outputs').",
                                 "give exactly two outputs to compare.")
        order = list(outs)
        if random.Random(f"{seed}:{item_id}").random() < 0.5:
            order.reverse()
        outs = [{**o, "slot": slot} for o, slot in zip(order, ("A", "B"))]
    else:
        for i, o in enumerate(outs):
            o["slot"] = o["slot"] or ("output" if len(outs) == 1 else f"output{i + 1}")
    return Item(item_id, kind, prompt, outs, source, gold, dict(meta or {}))


def item_from_record(record: dict, seed: int = 1234, where: str = "record") -> Item:
    """An item from a plain dict: an ``Item.to_dict()``, or ``{prompt, output[, model, checkpoint, id]}``."""
    if not isinstance(record, dict):
        raise WorkbenchError(f"{where} is not a JSON object.", "give one object per line.")
    if "outputs" in record and "kind" in record:
        if not isinstance(record["outputs"], list) or not all(isinstance(o, dict) and "text" in o for o in record["outputs"]):
            raise WorkbenchError(f"{where}: field 'outputs' must be a list of objects with a 'text'.",
                                 "write outputs as [{\"slot\": \"A\", \"text\": ...}].")
        item = make_item(record["kind"], str(record.get("prompt") or ""), record["outputs"], record.get("source"),
                         record.get("gold"), record.get("meta"), seed)
        if record.get("id") and record["kind"] != "pair":
            item.id = str(record["id"])
        elif record.get("id") and record["kind"] == "pair":
            # keep the stored blind order and id exactly as exported
            item = Item(str(record["id"]), "pair", item.prompt, [
                {"slot": o.get("slot"), "text": str(o["text"]), "model": o.get("model"),
                 "checkpoint": o.get("checkpoint")} for o in record["outputs"]], item.source, item.gold, item.meta)
        return item
    if "output" not in record:
        raise WorkbenchError(f"{where} has no field 'output'.", "give {\"prompt\": ..., \"output\": ...} per line.")
    if not isinstance(record["output"], str) or not record["output"].strip():
        raise WorkbenchError(f"{where}: field 'output' is empty or not a string.", "give the model's output text.")
    source = {"doc_id": record.get("id"), "model": record.get("model"), "checkpoint": record.get("checkpoint"),
              **(record.get("source") or {})}
    source = {k: v for k, v in source.items() if v is not None}
    return make_item("output", str(record.get("prompt") or ""),
                     [{"text": record["output"], "model": record.get("model"), "checkpoint": record.get("checkpoint")}],
                     source, record.get("gold"), record.get("meta"), seed)


def items_from_jsonl(path: str | os.PathLike, seed: int = 1234) -> list[Item]:
    """Items from a JSONL file of prompt/output pairs (``{prompt, output, model?, checkpoint?, id?}``)."""
    from workbench.io import iter_jsonl

    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"items file {path} does not exist.", "check the path.")
    items = [item_from_record(r, seed, f"{path} line {i + 1}") for i, r in enumerate(iter_jsonl(path))]
    if not items:
        raise WorkbenchError(f"items file {path} holds no records.", "write one {\"prompt\", \"output\"} object per line.")
    return items
