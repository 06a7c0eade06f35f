"""The "make review items" section of a comparison: how many items of each group a comparison gives
(generation pairs, repetitive generations, most-regressed documents, missed probes), shown before any
is made, each empty group with its reason; the button makes them through ``workflows.review_items``."""

from __future__ import annotations

import streamlit as st

from workbench import workflows
from workbench.errors import WorkbenchError

WORDS = {"generation": "generation pairs", "repetitive generation": "repetitive generations",
         "regressed document": "most-regressed documents", "missed probe": "missed probes"}


def make_review_items(ws, folder, key: str = "compare_items") -> None:
    """Draw the counts per group and the button that adds the new ones to the workspace's label store."""
    try:
        preview = workflows.review_items_preview(folder, ws)
    except WorkbenchError as exc:
        st.error(exc.one_line(), icon=":material/error:")
        return
    rows = [{"kind": WORDS.get(group, group), "items": n, "new": preview["new"][group],
             "why none": preview["empty"].get(group, "")} for group, n in preview["counts"].items()]
    st.dataframe(rows, hide_index=True, key=f"{key}_counts")
    label = (f"Make {preview['new_total']} review items from this comparison" if preview["new_total"]
             else "Every review item of this comparison is already made")
    if st.button(label, key=key, icon=":material/rate_review:", disabled=not preview["new_total"]):
        try:
            added = workflows.review_items(comparison=folder, workspace=ws)
        except WorkbenchError as exc:
            st.error(exc.one_line(), icon=":material/error:")
            return
        made = ", ".join(f"{WORDS.get(g, g)} {n}" for g, n in added["groups"].items())
        st.success(f"{added['added']} new review items ({added['existing']} already there): {made}. "
                   "Open the Review page to label them.", icon=":material/done:")
