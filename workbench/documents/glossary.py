"""Domain knowledge from a glossary or a small ontology: terms with their definition and relations.

One reader for every format a domain team keeps its vocabulary in, each read into the same
:class:`Concept` rows:

- **CSV** (``.csv``, ``.tsv``): a header row with ``term`` (else the first column), and optionally
  ``definition``, ``broader``, ``synonyms``, ``related`` and ``category``. Several values in one cell
  are separated by ``|`` or ``;``. A plain glossary (``term,definition``) is the simplest case; the
  SKOS-like columns make it a small ontology (``broader`` as ``skos:broader``, ``synonyms`` as
  ``skos:altLabel``, ``related`` as ``skos:related``).
- **YAML** (``.yaml``, ``.yml``): a list of mappings with the same keys, or a mapping from each term
  to its mapping (``definition``, ``broader``, ...); a relation is one string or a list of strings.
- **OBO 1.4** (``.obo``), as biomedical ontologies ship: each ``[Term]`` stanza's ``name`` is the
  term, ``def`` its definition, ``synonym`` its synonyms (EXACT, NARROW, BROAD and RELATED alike),
  ``is_a`` its broader terms and other ``relationship`` lines its related terms (both by id, resolved
  to names); obsolete terms are left out. A small stanza reader, tested on hand-written files.

Errors name the file, the line and the column (or key) to change.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.io import check_regular_file

KNOWLEDGE_SUFFIXES = (".csv", ".tsv", ".yaml", ".yml", ".obo")
RELATIONS = ("broader", "synonyms", "related")
_SPLIT = re.compile(r"\s*[|;]\s*")


@dataclass(frozen=True)
class Concept:
    """One term of a glossary or ontology."""

    term: str
    definition: str = ""
    broader: tuple[str, ...] = ()
    """Broader terms (``X is a kind of Y``)."""
    synonyms: tuple[str, ...] = ()
    """Other names of the same thing."""
    related: tuple[str, ...] = ()
    """Associated terms (neither broader nor the same)."""
    category: str = ""
    """A grouping without a term of its own (the sample glossary's ``category``): siblings share it."""
    line: int = 0
    """Line of the file the concept starts on (1-based)."""
    extra: dict = field(default_factory=dict, compare=False, repr=False)


def read_knowledge(path: str | Path) -> list[Concept]:
    """The concepts of a glossary CSV, a SKOS-like CSV/YAML ontology or an OBO file, in file order.

    A term listed twice is a user error naming both lines; a relation may name a term the file does
    not define (an ontology's edge can point outside the excerpt a team keeps).
    """
    path = check_regular_file(path, "glossary")
    suffix = path.suffix.lower()
    if suffix not in KNOWLEDGE_SUFFIXES:
        raise WorkbenchError(f"glossary {path} has the suffix {suffix or '(none)'!r}, which is no glossary format.",
                             f"give a {', '.join(KNOWLEDGE_SUFFIXES)} file (a CSV with a 'term' column is the simplest).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise WorkbenchError(f"glossary {path} line {line} is not UTF-8 text.",
                             "save the file as UTF-8 (most editors offer it in 'Save as').") from None
    if suffix in (".yaml", ".yml"):
        concepts = _read_yaml(path, text)
    elif suffix == ".obo":
        concepts = _read_obo(path, text)
    else:
        concepts = _read_csv(path, text, "\t" if suffix == ".tsv" else ",")
    if not concepts:
        raise WorkbenchError(f"glossary {path} holds no terms.", "add at least one row (or entry) with a term.")
    seen: dict[str, int] = {}
    for concept in concepts:
        key = concept.term.casefold()
        if key in seen:
            raise WorkbenchError(f"glossary {path} line {concept.line}: the term {concept.term!r} is already defined "
                                 f"on line {seen[key]}.", "keep one entry per term (merge the two).")
        seen[key] = concept.line
    return concepts


def knowledge_terms(concepts: list[Concept]) -> list[str]:
    """The terms, in file order."""
    return [c.term for c in concepts]


def _values(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v for v in _SPLIT.split(str(value).strip()) if v)


def _read_csv(path: Path, text: str, delimiter: str) -> list[Concept]:
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        header = []
    if not any(header):
        raise WorkbenchError(f"glossary {path} is empty.", "write a CSV with a header row naming a 'term' column.")
    column = header.index("term") if "term" in header else 0
    concepts = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise WorkbenchError(
                f"glossary {path} line {line} has {len(row)} columns, the header {len(header)} (column {len(header) + 1} "
                f"holds {row[len(header)]!r}).",
                "quote a cell that contains the delimiter (\"a, b\"), or separate several values with '|'.")
        cells = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header)}
        term = cells.get(header[column], "")
        if not term:
            raise WorkbenchError(f"glossary {path} line {line} column {column + 1} ({header[column]!r}) is empty.",
                                 "give every row a term, or delete the row.")
        concepts.append(Concept(
            term=term, definition=cells.get("definition", ""), broader=_values(cells.get("broader")),
            synonyms=_values(cells.get("synonyms")), related=_values(cells.get("related")),
            category=cells.get("category", ""), line=line,
            extra={k: v for k, v in cells.items() if k not in ("term", "definition", "category", *RELATIONS)},
        ))
    return concepts


def _read_yaml(path: Path, text: str) -> list[Concept]:
    import yaml

    class LineLoader(yaml.SafeLoader):
        """Keeps each mapping's line, so an error can name it."""

    def construct_mapping(loader, node, deep=False):
        mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    try:
        data = yaml.load(text, Loader=LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise WorkbenchError(f"glossary {path}{where} is not valid YAML ({getattr(exc, 'problem', exc)}).",
                             "fix the YAML there (a list of entries with term, definition, broader, synonyms, related).") from None
    if data is None:
        return []
    if isinstance(data, dict):  # term -> entry
        line = data.pop("__line__", 1)
        entries = []
        for term, entry in data.items():
            if entry is None:
                entry = {"__line__": line}
            if not isinstance(entry, dict):
                entry = {"definition": entry, "__line__": line}
            entries.append({"term": term, **entry})
    elif isinstance(data, list):
        entries = data
    else:
        raise WorkbenchError(f"glossary {path} line 1 holds a {type(data).__name__}, not a list of terms.",
                             "write a list of entries (- term: ...) or a mapping from each term to its entry.")
    concepts = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise WorkbenchError(f"glossary {path} entry {i + 1} is {entry!r}, not a mapping.",
                                 "write each entry as 'term: ...' with its definition, broader, synonyms, related.")
        line = entry.pop("__line__", 0)
        unknown = sorted(set(entry) - {"term", "definition", "category", *RELATIONS})
        if unknown:
            raise WorkbenchError(f"glossary {path} line {line}: unknown key {unknown[0]!r}.",
                                 "use the keys term, definition, broader, synonyms, related, category.")
        term = str(entry.get("term") or "").strip()
        if not term:
            raise WorkbenchError(f"glossary {path} line {line}: the entry has no 'term'.", "give every entry a term.")
        for key in RELATIONS:
            value = entry.get(key)
            if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
                raise WorkbenchError(f"glossary {path} line {line}: {key!r} of {term!r} is not a term or a list of terms.",
                                     f"write {key} as one term or a list of terms.")
        concepts.append(Concept(
            term=term, definition=" ".join(str(entry.get("definition") or "").split()),
            broader=_values(entry.get("broader")), synonyms=_values(entry.get("synonyms")),
            related=_values(entry.get("related")), category=str(entry.get("category") or "").strip(), line=line,
        ))
    return concepts


_OBO_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"')
_OBO_TAG = re.compile(r"^([A-Za-z_][\w-]*):\s?(.*)$")


def _obo_unquote(path: Path, line: int, value: str, tag: str) -> str:
    match = _OBO_QUOTED.match(value)
    if not match:
        raise WorkbenchError(f"glossary {path} line {line}: the {tag} value does not start with a quoted string.",
                             f'write it as {tag}: "the text" [references].')
    return re.sub(r"\\(.)", r"\1", match.group(1))


def _strip_comment(value: str) -> str:
    """An OBO value without its trailing ``! comment`` and ``{modifiers}``."""
    value = re.sub(r"(?<!\\)!.*$", "", value)
    return re.sub(r"\{[^}]*\}\s*$", "", value).strip()


def _read_obo(path: Path, text: str) -> list[Concept]:
    stanzas: list[dict] = []
    current: dict | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("!"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = {"__kind__": line[1:-1].strip(), "__line__": number}
            stanzas.append(current)
            continue
        match = _OBO_TAG.match(line)
        if not match:
            raise WorkbenchError(f"glossary {path} line {number} column 1: {raw[:40]!r} is not a 'tag: value' line.",
                                 "write OBO lines as 'tag: value' inside [Term] stanzas.")
        tag, value = match.groups()
        if current is None:
            continue  # the header (format-version, ontology, ...)
        current.setdefault(tag, []).append((number, value))
    terms = [s for s in stanzas if s["__kind__"] == "Term"]
    names: dict[str, str] = {}
    for stanza in terms:
        for tag in ("id", "name"):
            if tag not in stanza:
                raise WorkbenchError(f"glossary {path} line {stanza['__line__']}: the [Term] stanza has no '{tag}:' line.",
                                     "give every [Term] an id and a name.")
        names[_strip_comment(stanza["id"][0][1])] = _strip_comment(stanza["name"][0][1])
    concepts = []
    for stanza in terms:
        if any(_strip_comment(v).lower() == "true" for _, v in stanza.get("is_obsolete", [])):
            continue
        definition = ""
        if stanza.get("def"):
            number, value = stanza["def"][0]
            definition = _obo_unquote(path, number, value, "def")
        synonyms = tuple(_obo_unquote(path, n, v, "synonym") for n, v in stanza.get("synonym", []))
        broader = tuple(names.get(i, i) for i in (_strip_comment(v) for _, v in stanza.get("is_a", [])))
        related = []
        for number, value in stanza.get("relationship", []):
            parts = _strip_comment(value).split()
            if len(parts) < 2:
                raise WorkbenchError(f"glossary {path} line {number}: the relationship has no target.",
                                     "write it as 'relationship: part_of ID'.")
            related.append(names.get(parts[1], parts[1]))
        concepts.append(Concept(
            term=_strip_comment(stanza["name"][0][1]), definition=definition, broader=broader, synonyms=synonyms,
            related=tuple(related), line=stanza["__line__"], extra={"id": _strip_comment(stanza["id"][0][1])},
        ))
    return concepts


__all__ = ["Concept", "KNOWLEDGE_SUFFIXES", "knowledge_terms", "read_knowledge"]
