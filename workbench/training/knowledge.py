"""Training text rendered from a glossary or ontology: one short document per term, stating its
definition and its relations in plain sentences, mixed into training at a chosen share
(``knowledge.text_share``; :func:`workbench.training.mixing.block_schedule`).

The sentences are fixed templates, so the same glossary always renders the same text (the run card
records its hash):

- ``{term}: {definition}``
- ``{term} is a kind of {broader}.`` for each broader term
- ``{term} is also called {synonym}.`` and ``{synonym} is another name for {term}.``
- ``{term} is related to {related}.``
- ``Examples of {term} include {narrower, ...}.`` for the terms listing it as broader
"""

from __future__ import annotations

import hashlib
import json

from workbench.documents.glossary import Concept


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def render_concept(concept: Concept, narrower: list[str] = ()) -> str:
    """The document one concept renders to (empty when it has neither definition nor relations)."""
    lines = []
    if concept.definition:
        lines.append(f"{concept.term}: {_sentence(concept.definition)}")
    lines += [f"{concept.term} is a kind of {b}." for b in concept.broader]
    for s in concept.synonyms:
        lines += [f"{concept.term} is also called {s}.", f"{s} is another name for {concept.term}."]
    lines += [f"{concept.term} is related to {r}." for r in concept.related]
    if narrower:
        lines.append(f"Examples of {concept.term} include {', '.join(narrower)}.")
    return "\n".join(lines)


def render_knowledge(concepts: list[Concept]) -> list[str]:
    """One document per concept that has a definition or a relation, in glossary order."""
    narrower: dict[str, list[str]] = {}
    for c in concepts:
        for b in c.broader:
            narrower.setdefault(b.casefold(), []).append(c.term)
    texts = [render_concept(c, narrower.get(c.term.casefold(), [])) for c in concepts]
    return [t for t in texts if t]


def knowledge_hash(texts: list[str]) -> str:
    """sha256 of the rendered documents (what the run trained on, whatever file they came from)."""
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode("utf-8")).hexdigest()


def definitions_by_term(concepts: list[Concept]) -> dict[str, str]:
    """``{term: definition}`` for the concepts that have one (what definition-initialised tokens read)."""
    return {c.term: c.definition for c in concepts if c.definition}


__all__ = ["render_concept", "render_knowledge", "knowledge_hash", "definitions_by_term"]
