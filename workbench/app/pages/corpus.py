"""Corpus: choose or upload files, profile them as a background job, read the profile's figures and
readiness, decide keep/drop on flagged documents, curate into a snapshot."""

from pathlib import Path

import streamlit as st
from common import ACTIVE, badge, config_inputs, follow_job, settings, show_error, user_errors, workspace

from workbench import appsupport, workflows
from workbench.app.sections.synthetic import render_synthetic_audit
from workbench.corpus.config import CurateConfig
from workbench.errors import WorkbenchError

st.title("Corpus")
cfg = settings()
ws = workspace()
state = st.session_state
words = appsupport.curate_words()
labels = appsupport.CURATE_LABELS
# replacing an artifact is a choice made here, never a default (the old one stays until the new one is complete)
PROFILE_REPLACE = "Replace the profile of the same name"
SNAPSHOT_REPLACE = "Replace the snapshot of the same name"


@st.cache_data(ttl=10, show_spinner=False)
def _files(roots_key: str) -> list[str]:
    return [str(p) for p in appsupport.list_files(cfg.file_roots(), appsupport.corpus_suffixes())]


@st.cache_data(show_spinner=False, max_entries=16)
def _figures(folder: str, mtime: float):
    from workbench.figures import figures_of

    return figures_of(folder)


def _flagged(name: str, folder: str, mtime: float) -> list:
    """The keep/drop review items of the documents profile ``name`` flagged, added to the workspace's
    label store once per version of the profile."""
    marker = f"flagged::{folder}::{mtime}"
    if marker not in state:
        workflows.review_items(profile=folder, workspace=ws)
        state[marker] = True
    with workflows.label_store(ws) as store:
        return [item for item in store.items("document") if item.source.get("corpus") == name]


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(cfg.workspace_root))
    except ValueError:
        return path


# --- files ------------------------------------------------------------------------------------
st.header("Files")
# no ``type=`` list: Streamlit's own check of it turns a forged name (a NUL byte) into an exception
# before the page runs; save_upload refuses another type, or such a name, in one line instead
uploads = st.file_uploader(
    "Upload corpus files", accept_multiple_files=True, key="corpus_upload",
    help=f"{', '.join(appsupport.corpus_suffixes())} (optionally .gz), saved under the workspace's uploads/ "
         f"folder (at most {cfg.max_upload_mb} MB each).",
)
for upload in uploads or []:
    marker = f"saved::{upload.file_id}"
    if marker in state:
        continue
    try:
        saved = appsupport.save_upload(cfg, upload.name, upload.getvalue())
    except WorkbenchError as exc:
        show_error(exc, words)
        continue
    state[marker] = str(saved)
    state.setdefault("corpus_files", [])
    if str(saved) not in state["corpus_files"]:
        state["corpus_files"] = [*state["corpus_files"], str(saved)]
    _files.clear()
    st.success(f"Saved {upload.name} as {_relative(str(saved))}", icon=":material/upload_file:")

files = _files(repr(cfg.file_roots()))
state["corpus_files"] = [f for f in state.get("corpus_files", []) if f in files]
chosen = st.multiselect(f"{labels['paths']} (workspace, data folders, bundled sample)", files, key="corpus_files",
                        format_func=_relative)
typed = st.text_input("…or type a path under the workspace or a data folder", key="corpus_typed")
paths = list(chosen)
if typed.strip():
    try:
        paths.append(str(appsupport.resolve_inside(typed, cfg.file_roots(), what="corpus path")))
    except WorkbenchError as exc:
        show_error(exc, words)

# --- profile ----------------------------------------------------------------------------------
st.header("Profile")
models = appsupport.model_choices(cfg)
c1, c2 = st.columns([2, 1])
tokenizer = c1.selectbox(labels["model"], models or ["smollm2-135m"], key="corpus_model")
replace_profile = c1.checkbox(PROFILE_REPLACE, value=False, key="corpus_replace")
if c2.button("Profile", type="primary", disabled=not paths, key="corpus_profile", icon=":material/analytics:"):
    from workbench import jobs
    from workbench.corpus.config import CorpusConfig

    with user_errors({**words, "overwrite": PROFILE_REPLACE}):
        job = jobs.launch("inspect", CorpusConfig(paths=paths, model=appsupport.check_model_spec(tokenizer, cfg)), ws,
                          overwrite=replace_profile)
        state["corpus_view_select"] = job.name  # show the new profile (its selectbox comes below)
        st.rerun()

corpora = ws.corpora()
if not corpora:
    st.info("No profile yet: choose files and press Profile.")
else:
    names = [c.name for c in corpora]
    if state.get("corpus_view_select") not in names:
        state["corpus_view_select"] = names[0]
    name = st.selectbox("Profile", names, key="corpus_view_select",
                        format_func=lambda n: f"{n} ({next(c.state for c in corpora if c.name == n)})")
    summary = next(c for c in corpora if c.name == name)
    if summary.state in ACTIVE or summary.state in ("stopped", "failed"):
        follow_job(summary.folder, f"profile_{name}")
    if summary.complete:
        profile = ws.corpus(name).record()
        readiness = profile.get("readiness") or {}
        m1, m2, m3 = st.columns(3)
        m1.metric("Documents", f"{profile.get('documents', 0):,}")
        m2.metric("Tokens", f"{profile.get('tokens', 0):,}")
        m3.metric("Readiness", str(readiness.get("verdict", "n/a")).replace("_", " "))
        for line in readiness.get("recommendations") or []:
            st.markdown(f"- {line}")
        figures = _figures(str(summary.folder), summary.folder.stat().st_mtime)
        titles = [n.replace("_", " ").capitalize() for n in figures]
        # lazy tabs: only the open figure is drawn
        for tab, (fig_name, fig) in zip(st.tabs(titles, key="corpus_fig_tab", on_change="rerun"), figures.items()):
            if tab.open:
                with tab:
                    st.plotly_chart(fig, key=f"corpus_fig_{fig_name}")

        # --- flagged documents: keep or drop ---------------------------------------------------
        st.header("Flagged documents")
        flagged = _flagged(name, str(summary.folder), summary.folder.stat().st_mtime)
        if not flagged:
            st.caption("The profile flagged no document.")
        else:
            annotator = st.query_params.get("annotator") or st.text_input("Your name (for keep/drop decisions)",
                                                                          key="corpus_annotator").strip()
            with workflows.label_store(ws) as store:
                decided = {v.item_id: v.verdict for v in store.verdicts(annotator=annotator)} if annotator else {}
                for item in flagged:
                    with st.container(border=True):
                        verdict = decided.get(item.id)
                        flags = ", ".join(item.meta.get("flags") or []) if isinstance(item.meta, dict) else ""
                        st.markdown(f"**{item.source.get('doc_id', item.id[:12])}** {flags} "
                                    + (f":green-badge[{verdict}]" if verdict else ""))
                        st.text(item.outputs[0]["text"][:600])
                        k1, k2, _ = st.columns([1, 1, 6])
                        for col, choice in ((k1, "keep"), (k2, "drop")):
                            if col.button(choice.capitalize(), key=f"{choice}_{item.id}", disabled=not annotator):
                                with user_errors(appsupport.REVIEW_LABELS):
                                    workflows.submit_review(store, item, annotator, choice)
                                    st.rerun()


# --- curate -----------------------------------------------------------------------------------
st.header("Curate into a snapshot")
with st.form("curate_form"):
    # the tokens are counted with the tokenizer chosen above (checked like the profile's), not a typed-in model
    specs = appsupport.config_fields(CurateConfig(paths=paths or ["corpus"]), skip=appsupport.CURATE_FORM_SKIP,
                                     labels=labels)
    values = config_inputs(specs, "curate_")
    use_labels = st.checkbox("Drop the documents reviewers marked drop", value=True, key="curate_use_labels")
    replace_snapshot = st.checkbox(SNAPSHOT_REPLACE, value=False, key="curate_replace")
    submitted = st.form_submit_button("Curate", type="primary", disabled=not paths, key="curate_submit")
if submitted:
    from workbench import jobs

    with user_errors({**words, "overwrite": SNAPSHOT_REPLACE}):
        config = appsupport.curate_config_from_form(cfg, paths, tokenizer, values)
        # reviewers' drops reach curation one way: the job exports the label store's drop list
        reviewed = use_labels and workflows.labels_path(ws).exists()
        job = jobs.launch("curate", config, ws, overwrite=replace_snapshot, labels="workspace" if reviewed else None)
        st.success(f"Curating into snapshot {job.name}.", icon=":material/done:")
for snap in ws.snapshots()[:3]:
    st.markdown(f"Snapshot **{snap.name}** {badge(snap.state)} train {snap.train_documents or 0} / "
                f"eval {snap.eval_documents or 0} documents · {snap.size_text()}")
    if snap.state in ACTIVE:
        follow_job(snap.folder, f"snap_{snap.name}")

# --- synthetic text ---------------------------------------------------------------------------
render_synthetic_audit(ws, files, ws.snapshots(), lambda: appsupport.check_model_spec(tokenizer, cfg), _relative,
                       lambda exc: show_error(exc, words))
