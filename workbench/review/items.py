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
    for key in ("source", "meta"):  # built into dicts here; the rest is checked where items are stored
        if record.get(key) is not None and not isinstance(record[key], dict):
            raise WorkbenchError(f"{where}: the item's {key} is {type(record[key]).__name__}, not an object "
                                 "(field '{field}').", f"write {key} as a JSON object (or leave it out).", field=key)
    if "outputs" in record and "kind" in record:
        if not isinstance(record["outputs"], list) or not all(isinstance(o, dict) and "text" in o for o in record["outputs"]):
            raise WorkbenchError(f"{where}: field 'outputs' must be a list of objects with a 'text'.",
                                 "write outputs as [{\"slot\": \"A\", \"text\": ...}].")
        try:
            item = make_item(record["kind"], str(record.get("prompt") or ""), record["outputs"], record.get("source"),
                             record.get("gold"), record.get("meta"), seed)
        except WorkbenchError as exc:
            raise WorkbenchError(f"{where}: {exc.message}", exc.fix, field=exc.field) from None
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


# ------------------------------------------------------------------------------------------
# from a comparison folder (files only: comparison.json, documents.jsonl, the eval files it names)


def _read_texts(path: str | os.PathLike | None, text_field: str = "text", text_unit: str = "auto") -> dict[str, str]:
    """``{id: text}`` of an evaluation file in any corpus format, ids as the corpus readers give them (the
    ids a comparison's ``documents.jsonl`` names); an unreadable or missing file gives none."""
    from workbench.documents.readers import ReadReport, iter_documents

    if not path or not Path(path).is_file():
        return {}
    try:  # a report of our own: the read's notes were shown when the comparison read the file
        return {d.id: d.text for d in iter_documents(path, text_field, text_unit, report=ReadReport(text_unit))}
    except WorkbenchError:
        return {}


def prompt_span(text: str | None, prompt: str) -> list[int] | None:
    """Character span ``[0, end)`` of the document that a whitespace-joined opening-words prompt came from."""
    if not text:
        return None
    words = prompt.split()
    pos = 0
    for word in words:
        found = text.find(word, pos)
        if found < 0:
            return None
        pos = found + len(word)
    return [0, pos]


def _checkpoint_of(adapter: str | None) -> str | None:
    if not adapter:
        return None
    for part in reversed(Path(adapter).parts):
        if part.startswith("checkpoint-"):
            return part
    return "final"


def read_comparison(folder: str | os.PathLike) -> dict:
    """``comparison.json`` of a finished comparison folder (a clear error otherwise)."""
    from workbench.io import read_json

    folder = Path(folder)
    path = folder / "comparison.json"
    if not path.exists():
        raise WorkbenchError(f"{folder} is not a comparison folder (no comparison.json).",
                             "pass a folder written by 'workbench compare' (workspace/comparisons/NAME).")
    result = read_json(path)
    if not result.get("complete"):
        raise WorkbenchError(f"comparison {folder} is incomplete.", "rerun 'workbench compare' for it.")
    return result


def items_from_comparison(folder: str | os.PathLike, config=None) -> list[Item]:
    """Review items of one comparison: blind generation pairs, most-regressed documents, probes gotten wrong.

    Args:
        folder: a ``workbench compare`` output folder.
        config: ``ItemsConfig`` (seed of the blind order, how many regressed documents...).
    """
    from workbench.io import read_jsonl
    from workbench.review.config import ItemsConfig

    config = config or ItemsConfig()
    folder = Path(folder)
    result = read_comparison(folder)
    name = folder.resolve().name
    base, adapter = result.get("base_model"), result.get("adapter")
    adapted = f"adapted:{Path(adapter).name}" if adapter else "adapted"
    checkpoint = _checkpoint_of(adapter)
    models = {"base": base, "adapted": adapter}
    card_config = (result.get("card") or {}).get("config") or {}
    text_field = card_config.get("text_field", "text")
    text_unit = result.get("text_unit") or card_config.get("text_unit") or "auto"
    sets = result.get("sets") or {}
    documents = read_jsonl(folder / "documents.jsonl") if (folder / "documents.jsonl").exists() else []
    items: list[Item] = []

    if config.generations:
        generations = result.get("generations") or (
            read_jsonl(folder / "generations.jsonl") if (folder / "generations.jsonl").exists() else [])
        domain_ids = [r["id"] for r in documents if r.get("set") == "domain"]
        domain_texts = _read_texts(sets.get("domain"), text_field, text_unit)
        # continuations that repeat themselves (compare's repetition measure) are offered first
        def repetition(g: dict) -> float:
            return max(g.get("base_repetition") or 0.0, g.get("adapted_repetition") or 0.0)

        order = sorted(range(len(generations)), key=lambda i: (
            not (generations[i].get("base_repetitive") or generations[i].get("adapted_repetitive")),
            -repetition(generations[i]), i))
        for i in order:
            g = generations[i]
            doc_id = domain_ids[i] if i < len(domain_ids) else None
            source = {"comparison": name, "set": "domain", "doc_id": doc_id,
                      "span": prompt_span(domain_texts.get(doc_id), g["prompt"]), "models": models,
                      "checkpoint": checkpoint}
            meta = {"group": "generation", "why": "the two models' continuations of one prompt, blind"}
            if g.get("base_repetitive") or g.get("adapted_repetitive"):
                meta = {"group": "repetitive generation",
                        "why": "a continuation repeats itself (share of repeated word 3-grams above the threshold)",
                        "repetition": round(repetition(g), 3)}
            items.append(make_item("pair", g["prompt"], [
                {"text": g["base"], "model": str(base), "checkpoint": None},
                {"text": g["adapted"], "model": adapted, "checkpoint": checkpoint},
            ], source, meta=meta, seed=config.seed))

    if config.regressed_documents:
        texts = {s: _read_texts(path, text_field, text_unit) for s, path in sets.items()}
        per_token = {}  # (set, id) -> token rows {text, base, adapted, delta}, where compare wrote them
        if (folder / "tokens.jsonl").exists():
            per_token = {(d["set"], d["id"]): d["tokens"] for d in read_jsonl(folder / "tokens.jsonl")}
        worse = sorted((r for r in documents if (r.get("delta_nll") or 0) > 0), key=lambda r: -r["delta_nll"])
        for r in worse[: config.regressed_documents]:
            text = texts.get(r["set"], {}).get(r["id"])
            if not text:
                continue
            source = {"comparison": name, "set": r["set"], "doc_id": r["id"], "span": [0, len(text)],
                      "model": adapted, "checkpoint": checkpoint}
            meta = {"group": "regressed document", "why": "the adapted model regressed most on this document",
                    "delta_nll_per_token": r["delta_nll"], "base_nll_per_token": r.get("base_nll"),
                    "adapted_nll_per_token": r.get("adapted_nll"), "tokens": r.get("tokens"),
                    "token_changes": per_token.get((r["set"], r["id"]))}
            items.append(make_item("output", "", [{"text": text, "model": adapted, "checkpoint": checkpoint}],
                                   source, meta=meta, seed=config.seed))

    if config.probes and result.get("probes"):
        for row in result["probes"]["rows"]:
            if row.get("adapted_rank", 1) <= 1:
                continue
            source = {"comparison": name, "probe": row["prompt"], "doc_id": row.get("source_id") or None,
                      "model": adapted, "checkpoint": checkpoint}
            meta = {"group": "missed probe", "why": "the adapted model does not rank the expected completion first",
                    **{k: row.get(k) for k in ("base_rank", "adapted_rank", "base_prob", "adapted_prob")}}
            items.append(make_item("probe", row["prompt"], [{"text": row["expected"], "model": adapted,
                                                              "checkpoint": checkpoint}], source, meta=meta,
                                   seed=config.seed))
    return items


def items_from_profile(folder: str | os.PathLike) -> list[Item]:
    """Keep/drop items of the corpus documents a profile flagged: its ``flagged`` list first (worst first:
    ``[{id, text, flags | reason, reasons?, span?, source?}]``, written by ``workbench inspect``), then the
    duplicates of its duplicate examples not already listed. The reasons go to the item's ``meta``."""
    from workbench.io import read_json

    folder = Path(folder)
    path = folder / "profile.json" if folder.is_dir() else folder
    if not path.exists():
        raise WorkbenchError(f"{folder} has no profile.json.", "pass a folder written by 'workbench inspect'.")
    profile = read_json(path)
    corpus = path.parent.name
    found: dict[str, dict] = {}

    def add(doc: dict, flag: str) -> None:
        if not doc.get("id") or "text" not in doc:
            return
        entry = found.setdefault(str(doc["id"]), {"doc": doc, "flags": []})
        if flag not in entry["flags"]:
            entry["flags"].append(flag)

    for doc in profile.get("flagged") or []:
        flags = doc.get("flags") or [doc.get("reason") or "flagged"]
        for flag in flags if isinstance(flags, list) else [flags]:
            add(doc, str(flag))
    examples = profile.get("duplicate_examples") or {}
    for kind in ("exact", "near"):
        for group in examples.get(kind) or []:
            docs = [d for d in group if "id" in d]
            for d in docs[1:]:
                add(d, f"{kind} duplicate of {docs[0]['id']}")
    items = []
    for doc_id, e in found.items():
        doc = e["doc"]
        source = {"corpus": corpus, "doc_id": doc_id, "file": doc.get("source"), "span": doc.get("span")}
        meta = {"group": "flagged document", "flags": e["flags"], "why": "flagged by the corpus profile"}
        meta.update({k: doc[k] for k in ("reasons", "score") if doc.get(k) is not None})
        items.append(make_item("document", "", [{"text": doc["text"]}],
                               {k: v for k, v in source.items() if v is not None}, meta=meta))
    return items


GROUPS = {
    "generation": "generation pairs",
    "repetitive generation": "repetitive generations",
    "regressed document": "regressed documents",
    "missed probe": "missed probes",
    "flagged document": "flagged documents",
    "other": "other items",
}
"""What each kind of review item is, as a count's label: ``meta["group"]`` -> words."""


def item_group(item: Item) -> str:
    """The group an item counts in (``meta["group"]``; the kind's own group for items made before groups)."""
    group = (item.meta or {}).get("group")
    if group in GROUPS:
        return group
    if item.kind == "pair":
        return "repetitive generation" if (item.meta or {}).get("repetition") is not None else "generation"
    if item.kind == "probe":
        return "missed probe"
    if item.kind == "document":
        return "flagged document"
    return "regressed document" if (item.meta or {}).get("delta_nll_per_token") is not None else "other"


def count_groups(items: list[Item]) -> dict[str, int]:
    """``{group: n}`` of ``items`` in the order of :data:`GROUPS` (groups with no item left out)."""
    counts = {group: 0 for group in GROUPS}
    for item in items:
        counts[item_group(item)] += 1
    return {group: n for group, n in counts.items() if n}


def comparison_preview(folder: str | os.PathLike, config=None) -> dict:
    """What :func:`items_from_comparison` would make, before anything is written: the items, their count per
    group (every comparison group listed, zeros included) and, for each empty group, why it is empty.

    Returns:
        ``{"items": [Item], "counts": {group: n}, "empty": {group: reason}}``.
    """
    from workbench.io import read_jsonl
    from workbench.review.config import ItemsConfig

    config = config or ItemsConfig()
    folder = Path(folder)
    items = items_from_comparison(folder, config)
    found = count_groups(items)
    groups = ("generation", "repetitive generation", "regressed document", "missed probe")
    counts = {group: found.get(group, 0) for group in groups}
    result = read_comparison(folder)
    documents = read_jsonl(folder / "documents.jsonl") if (folder / "documents.jsonl").exists() else []
    probes = (result.get("probes") or {}).get("rows") or []
    generations = result.get("generations") or []
    empty = {}
    if not config.generations:
        empty["generation"] = empty["repetitive generation"] = "generations are switched off"
    elif not generations and not (folder / "generations.jsonl").exists():
        empty["generation"] = empty["repetitive generation"] = "the comparison made no generations"
    else:
        empty["generation"] = "every generation pair has a repetitive continuation"
        empty["repetitive generation"] = "no continuation repeats itself"
    if not config.regressed_documents:
        empty["regressed document"] = "regressed_documents is 0"
    elif not any((r.get("delta_nll") or 0) > 0 for r in documents):
        empty["regressed document"] = "the adapted model is no worse than the base model on any document"
    else:
        empty["regressed document"] = "the texts of the regressed documents could not be read from their files"
    if not config.probes:
        empty["missed probe"] = "probes are switched off"
    elif not probes:
        empty["missed probe"] = "the comparison has no probes"
    else:
        empty["missed probe"] = "the adapted model ranks every probe's expected completion first"
    return {"items": items, "counts": counts, "empty": {g: why for g, why in empty.items() if not counts[g]}}
