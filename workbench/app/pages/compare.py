"""Compare: base against a run or one of its checkpoints, as a background job; perplexity with
intervals, reliability, per-document table, token heatmap, probes, generations; review items."""

import streamlit as st
from common import ACTIVE, follow_job, settings, user_errors, workspace

from workbench import appsupport
from workbench.app.sections.review_items import make_review_items

st.title("Compare")
cfg = settings()
ws = workspace()
state = st.session_state
words = appsupport.compare_words()
labels = appsupport.COMPARE_LABELS


@st.cache_data(show_spinner=False, max_entries=16)
def _comparison(root: str, name: str, mtime: float):
    """The comparison's record, its per-document rows and its figures (cached until it changes)."""
    from workbench.figures import figures_of
    from workbench.workspace import Workspace

    comparison = Workspace(root).comparison(name)
    return comparison.record(), comparison.rows("documents.jsonl"), figures_of(comparison)


# --- new comparison ---------------------------------------------------------------------------
runs = [r for r in ws.runs() if r.state in ("finished", "stopped")]
with st.expander("New comparison", expanded=not ws.comparisons(), icon=":material/add:"):
    if not runs:
        st.info("No finished run to compare yet: train one on the Train page.")
    else:
        c1, c2 = st.columns(2)
        run_name = c1.selectbox("Run", [r.name for r in runs], key="compare_run")
        run = ws.run(run_name)
        checkpoints = [c for c in run.checkpoints() if c.get("adapter")]
        options = ["final adapter"] + [f"checkpoint step {c['step']}" for c in checkpoints]
        which = c2.selectbox(labels["adapter"], options, key="compare_checkpoint")
        adapter = run.folder if which == "final adapter" else checkpoints[options.index(which) - 1]["folder"]
        card_config = (run.card() or {}).get("config") or {}
        files = [str(p) for p in appsupport.list_files(cfg.file_roots(), appsupport.corpus_suffixes())]
        default_eval = appsupport.sample_data_dir() / "domain_eval.jsonl"
        snapshot_eval = [str(s.folder / "eval.jsonl") for s in ws.snapshots() if (s.folder / "eval.jsonl").exists()]
        domain_options = list(dict.fromkeys(snapshot_eval + [str(default_eval)] + files))
        c3, c4 = st.columns(2)
        domain_eval = c3.selectbox(labels["domain_eval"], domain_options, key="compare_domain")
        general_default = str(appsupport.sample_data_dir() / "general_eval.jsonl")
        general_options = list(dict.fromkeys([general_default] + files))
        general_eval = c4.selectbox(labels["general_eval"], general_options, key="compare_general")
        c5, c6, c7 = st.columns(3)
        base_model = c5.text_input(labels["model"], value=str(card_config.get("model", "")), key="compare_base",
                                   help="Default: the run's own base model.")
        generations = c6.number_input(labels["generations"], min_value=0, max_value=50, value=4,
                                      key="compare_generations")
        window = c7.number_input(labels["window"], min_value=32, value=1024, step=32, key="compare_window")
        others = ["the base model"] + [r.name for r in runs if r.name != run_name]
        against = st.selectbox("Compare with", others, key="compare_against",
                               help="The base model, or another run of the same base: run against run, the difference "
                                    "paired over the same documents (which run is better, and whether that can be chance).")
        if st.button("Run comparison", type="primary", key="compare_launch", icon=":material/play_arrow:"):
            from workbench import jobs

            with user_errors(words):
                extra = {} if against == "the base model" else {"against": str(ws.run(against).folder)}
                config = appsupport.compare_config_from_form(cfg, str(adapter), base_model, domain_eval, general_eval,
                                                             generations=int(generations), window=int(window), **extra)
                job = jobs.launch("compare", config, ws)
                state["compare_view_select"] = job.name  # show the new comparison (its selectbox comes below)
                st.rerun()

# --- results ----------------------------------------------------------------------------------
comparisons = ws.comparisons()
if not comparisons:
    st.info("No comparison yet.")
    st.stop()
names = [c.name for c in comparisons]
if state.get("compare_view_select") not in names:
    state["compare_view_select"] = names[0]
name = st.selectbox("Comparison", names, key="compare_view_select")
summary = next(c for c in comparisons if c.name == name)
if summary.state in ACTIVE or not summary.complete:
    follow_job(summary.folder, f"compare_{name}")
if not summary.complete:
    st.stop()

comparison, documents, figures = _comparison(str(ws.root), name, summary.folder.stat().st_mtime)
st.subheader("Perplexity change (adapted over base, 95% interval)")
cols = st.columns(max(1, len(comparison.get("delta") or {})))
for col, (set_name, delta) in zip(cols, (comparison.get("delta") or {}).items()):
    lo, hi = [100 * (x - 1) for x in delta.get("ppl_ratio_ci95") or [1, 1]]
    measure = "word perplexity" if delta.get("unit") == "word" else "perplexity"  # a grown tokenizer: per word
    col.metric(f"{set_name} {measure}", f"{delta.get('ppl_change_pct', 0):+.2f}%",
               help=f"95% interval {lo:+.2f}% to {hi:+.2f}%; "
                    + ("significant" if delta.get("significant") else "not significant"))
    col.caption(f"[{lo:+.2f}%, {hi:+.2f}%]" + (" · significant" if delta.get("significant") else ""))
verdict = comparison.get("verdict") or {}
if verdict:
    st.subheader("Verdict")
    tones = {"better": st.success, "no_loss": st.success, "worse": st.error, "forgetting": st.error,
             "small_cost": st.warning}
    for part in ("domain", "general", "calibration"):
        line = verdict.get(part) or {}
        if line.get("sentence"):
            tones.get(str(line.get("status")), st.info)(line["sentence"])
    for step in verdict.get("next_steps") or []:
        st.markdown(f"- {step}")
for warning in comparison.get("warnings") or []:
    st.warning(warning)

def tab_perplexity() -> None:
    for key in ("perplexity", "bits_per_byte"):
        if key in figures:
            st.plotly_chart(figures[key], key=f"cmp_{key}")


def tab_reliability() -> None:
    if "reliability" in figures:
        st.plotly_chart(figures["reliability"], key="cmp_reliability")


def tab_documents() -> None:
    if "documents" in figures:
        st.plotly_chart(figures["documents"], key="cmp_documents")
    query = st.text_input("Search documents (id)", key="compare_doc_search")
    rows = [d for d in documents if query.lower() in str(d.get("id", "")).lower()] if query else documents
    st.dataframe(rows, hide_index=True, key="cmp_documents_table")


def tab_tokens() -> None:
    for key in sorted(k for k in figures if k.startswith("tokens")):
        st.plotly_chart(figures[key], key=f"cmp_{key}")


def tab_probes() -> None:
    probes = comparison.get("probes") or {}
    if probes.get("summary"):
        st.json(probes["summary"], expanded=False)
        st.dataframe(probes.get("rows") or [], hide_index=True, key="cmp_probes")
    else:
        st.caption("No probes in this comparison.")


def tab_generations() -> None:
    generations = comparison.get("generations") or []
    if not generations:
        st.caption("No generations in this comparison.")
    for row in generations:
        with st.container(border=True):
            st.markdown(f"**Prompt** {row.get('prompt', '')}")
            g1, g2 = st.columns(2)
            g1.markdown("**Base**")
            g1.text(row.get("base", ""))
            g2.markdown("**Adapted**")
            g2.text(row.get("adapted", ""))


TABS = {"Perplexity": tab_perplexity, "Reliability": tab_reliability, "Documents": tab_documents,
        "Tokens": tab_tokens, "Probes": tab_probes, "Generations": tab_generations}
# lazy tabs: only the open one runs and draws (the figures of a big comparison are heavy)
for tab, draw in zip(st.tabs(list(TABS), key="compare_tab", on_change="rerun"), TABS.values()):
    if tab.open:
        with tab:
            draw()

st.subheader("Review")
make_review_items(ws, summary.folder)
