"""The knowledge recipe: what a run would learn from a glossary or ontology, before it trains.

:func:`glossary_plan` reads the file the way training and compare read it, and returns what the
CLI (``workbench glossary``), the app's Train page and the notebooks show: its terms and relations,
the training text rendered from it and its share of the run's blocks, and the cloze probes a
comparison would score. The training itself goes through :func:`workbench.workflows.train` with the
``knowledge:`` settings of the run's config; compare reads the same file for its cloze probes.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from workbench.documents.glossary import read_knowledge
from workbench.evaluation.cloze import cloze_probes
from workbench.io import write_jsonl
from workbench.training.knowledge import render_knowledge

__all__ = ["GlossaryPlan", "glossary_plan", "render_glossary"]


@dataclass
class GlossaryPlan:
    """What a glossary brings to a run and to a comparison."""

    path: str
    terms: int
    defined: int
    """Terms with a definition (each makes a cloze probe)."""
    relations: dict
    """``{"broader": n, "synonyms": n, "related": n}``: relation entries in the file."""
    documents: int
    """Training documents rendered from it (one per term with a definition or a relation)."""
    words: int
    """Words of the rendered text (whitespace-separated)."""
    text_share: float = 0.0
    max_tokens: int | None = None
    knowledge_tokens: int | None = None
    """Training tokens its blocks take in a run of ``max_tokens`` at ``text_share`` (about)."""
    sample: list[str] = field(default_factory=list)
    """The first rendered documents."""
    probes: list[dict] = field(default_factory=list)
    """The first cloze probes: term, prompt, candidates."""
    cloze_probes: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One paragraph: terms, relations, rendered text, its share of a run, cloze probes."""
        rel = ", ".join(f"{n} {k}" for k, n in self.relations.items() if n) or "no relations"
        text = (f"{self.path}: {self.terms} terms, {self.defined} with a definition, {rel}. Rendered as "
                f"{self.documents} training documents ({self.words:,} words)")
        if self.text_share and self.max_tokens:
            text += (f"; at knowledge.text_share {self.text_share:g} they fill about {self.knowledge_tokens:,} of the "
                     f"run's {self.max_tokens:,} training tokens")
        return text + f". Compare scores {self.cloze_probes} cloze probes made from its definitions."


def glossary_plan(path: str | os.PathLike, text_share: float = 0.0, max_tokens: int | None = None, sample: int = 3,
                  cloze_limit: int = 200, cloze_candidates: int = 8) -> GlossaryPlan:
    """Read ``path`` (glossary CSV, SKOS-like CSV/YAML, OBO) and say what a run and a comparison make of it.

    Args:
        path: the glossary or ontology.
        text_share: the run's ``knowledge.text_share`` (share of its training blocks rendered from the file).
        max_tokens: the run's budget, for the tokens those blocks take.
        sample: rendered documents and cloze probes to include.
        cloze_limit, cloze_candidates: as compare's ``cloze_probes`` and ``cloze_candidates``.
    """
    concepts = read_knowledge(path)
    texts = render_knowledge(concepts)
    probes = cloze_probes(concepts, cloze_candidates, limit=cloze_limit)
    return GlossaryPlan(
        path=str(path), terms=len(concepts), defined=sum(bool(c.definition) for c in concepts),
        relations={k: sum(len(getattr(c, k)) for c in concepts) for k in ("broader", "synonyms", "related")},
        documents=len(texts), words=sum(len(t.split()) for t in texts), text_share=text_share, max_tokens=max_tokens,
        knowledge_tokens=int(text_share * max_tokens) if max_tokens else None, sample=texts[:sample],
        probes=[{"term": p.term, "prompt": p.prompt, "candidates": list(p.candidates)} for p in probes[:sample]],
        cloze_probes=len(probes),
    )


def render_glossary(path: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write the training text rendered from ``path`` to ``out`` (JSONL, ``id`` and ``text``), the way a run
    mixes it in; returns the number of documents. A user can read it, or curate it like any corpus."""
    texts = render_knowledge(read_knowledge(path))
    write_jsonl(out, [{"id": f"knowledge-{i}", "text": t, "source": "glossary"} for i, t in enumerate(texts)])
    return len(texts)
