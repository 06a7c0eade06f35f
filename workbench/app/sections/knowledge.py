"""Knowledge from a glossary, in the app: the Train page's glossary plan and the Compare page's cloze probes.

Each function draws what the library computed (``workflows.glossary_plan``, a comparison's ``cloze``
section); the pages call them with one line.
"""

from __future__ import annotations

import streamlit as st

from workbench import workflows


def glossary_plan_section(config) -> None:
    """Train page: what the run will learn from ``config.knowledge.glossary`` (nothing when none is set)."""
    knowledge = config.knowledge
    if not knowledge.glossary:
        return
    plan = workflows.glossary_plan(knowledge.glossary, text_share=knowledge.text_share, max_tokens=config.max_tokens)
    st.subheader("Glossary")
    st.caption(plan.summary())
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Terms", plan.terms, help=f"{plan.defined} with a definition")
    c2.metric("Relations", sum(plan.relations.values()),
              help=", ".join(f"{n} {k}" for k, n in plan.relations.items()))
    c3.metric("Rendered documents", plan.documents, help=f"{plan.words:,} words")
    c4.metric("Share of training", f"{knowledge.text_share:.0%}",
              help="knowledge.text_share: the share of training blocks drawn from the rendered text")
    if knowledge.new_tokens or config.new_tokens:
        st.caption(f"New tokens start at the mean embedding of their {knowledge.token_init}"
                   f"{'' if knowledge.token_init == 'subtokens' else ' (a term without one: its sub-tokens)'}, "
                   f"trained at {config.embedding_lr_ratio:g} of the learning rate.")
    with st.expander("Rendered text and cloze probes", expanded=False):
        for text in plan.sample:
            st.text(text)
        st.dataframe([{"term": p["term"], "prompt": p["prompt"], "candidates": ", ".join(p["candidates"])}
                      for p in plan.probes], hide_index=True, key="train_glossary_probes")


def cloze_section(cloze: dict | None) -> None:
    """Compare page: the glossary cloze probes, "knows N of M terms better/worse", and the probe table."""
    if not cloze:
        return
    verdict = cloze.get("verdict") or {}
    tone = {"better": st.success, "worse": st.error}.get(str(verdict.get("status")), st.info)
    tone(verdict.get("sentence", ""))
    with st.expander("Glossary cloze probes", expanded=False):
        rows = sorted(cloze.get("rows") or [], key=lambda r: r.get("logprob_change", 0))
        st.dataframe([{k: r.get(k) for k in ("term", "base_logprob", "adapted_logprob", "logprob_change", "base_rank",
                                              "adapted_rank")} for r in rows], hide_index=True, key="cmp_cloze")
