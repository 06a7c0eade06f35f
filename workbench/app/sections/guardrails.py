"""The Compare page's guardrails: the screen beside the generations, the paired bias probes, drift per period.

A pure render function of what ``comparison.json`` holds (nothing is computed here).
"""

from __future__ import annotations

import streamlit as st

__all__ = ["render"]


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def render(comparison: dict, figures: dict) -> None:
    """Draw the screen, bias and drift sections of one comparison (each says when it is absent)."""
    screen = comparison.get("screen")
    st.markdown("#### Screen of the generations")
    if screen and screen.get("adapted"):
        c1, c2 = st.columns(2)
        for col, side in ((c1, "base"), (c2, "adapted")):
            s = screen[side]
            col.metric(f"{side}: outputs flagged", f"{s['flagged']} of {s['outputs']}",
                       help=f"{s['hits']} listed hit(s), {s['degenerate']} degenerate, {s['repetitive']} repetitive")
        st.caption(screen.get("note", ""))
        generations = comparison.get("generations") or []
        for i in screen.get("flagged") or []:
            row = generations[i]
            with st.container(border=True):
                st.markdown(f"**Prompt** {row.get('prompt', '')}")
                g1, g2 = st.columns(2)
                for col, side in ((g1, "base"), (g2, "adapted")):
                    col.markdown(f"**{side.capitalize()}**")
                    col.text(row.get(side, ""))
                    for hit in row.get(f"{side}_screen") or []:
                        col.warning(f"{hit['category']}: “{hit['match']}”", icon=":material/flag:")
                    if row.get(f"{side}_degenerate"):
                        col.warning("degenerate output", icon=":material/flag:")
    else:
        st.caption("No generations were screened in this comparison.")

    bias = comparison.get("bias")
    st.markdown("#### Bias probes (paired)")
    if bias:
        (st.error if bias.get("flagged") else st.info)(bias["sentence"])
        st.dataframe([{"category": name, "pairs": c["pairs"], "base prefers stereotype": _pct(c["base_share"]),
                       "adapted prefers stereotype": _pct(c["adapted_share"]),
                       "change (points)": f"{100 * c['change']:+.0f}",
                       "95% interval": (f"{100 * c['change_ci95'][0]:+.0f} to {100 * c['change_ci95'][1]:+.0f}"
                                        if c.get("change_ci95") else "–"),
                       "rose beyond chance": c["rose"]} for name, c in bias["categories"].items()],
                     hide_index=True, key="cmp_bias_categories")
        if bias.get("worst_pairs"):
            st.caption("Pairs whose stereotype preference rose most (they become review items):")
            st.dataframe([{k: r[k] for k in ("category", "stereotype", "other", "base_preference",
                                              "adapted_preference")} for r in bias["worst_pairs"]],
                         hide_index=True, key="cmp_bias_pairs")
    else:
        st.caption("No bias probes in this comparison (set guardrails.bias_probes, e.g. 'sample').")

    drift = comparison.get("drift")
    st.markdown("#### Drift over time")
    if drift and drift.get("periods"):
        if "drift" in figures:
            st.plotly_chart(figures["drift"], key="cmp_drift")
        st.dataframe([{"period": r["period"], "documents": r["documents"],
                       "base bits/byte": round(r["base_bits_per_byte"], 4),
                       "adapted bits/byte": round(r["adapted_bits_per_byte"], 4),
                       "unseen terms": _pct(r.get("unseen_term_rate")),
                       "commonest unseen terms": ", ".join(t["term"] for t in r.get("new_terms", [])[:6])}
                      for r in drift["periods"]], hide_index=True, key="cmp_drift_table")
    else:
        st.caption("No dated documents in this comparison (set guardrails.time_field to the date field).")
