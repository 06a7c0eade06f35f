"""Overview: every artifact of the workspace with its state and headline numbers, and review progress."""

import streamlit as st
from common import ACTIVE, settings, user_errors, workspace

from workbench import appsupport, workflows
from workbench.app.sections import monitor

st.title("Overview")
ws = workspace()
st.caption(f"Workspace: `{settings().workspace_root}`")

with user_errors():
    listings = {
        "Corpora": ws.corpora(),
        "Snapshots": ws.snapshots(),
        "Runs": ws.runs(),
        "Comparisons": ws.comparisons(),
    }
    cols = st.columns(5)
    for col, (title, items) in zip(cols, listings.items()):
        col.metric(title, len(items))
    running = sum(1 for s in listings["Runs"] if s.state in ACTIVE)
    cols[4].metric("Running jobs", running)

    failed = [s for items in listings.values() for s in items if s.state == "failed"]
    for summary in failed:
        st.warning(f"{summary.kind} **{summary.name}** failed: {summary.error or 'see its log'}",
                   icon=":material/warning:")

    for title, items in listings.items():
        st.subheader(title)
        if items:
            st.dataframe(appsupport.summary_rows(items), hide_index=True, key=f"overview_{title}")
        else:
            st.caption(f"No {title.lower()} yet.")

    monitor.render(ws, settings().file_roots(), user_errors)

    st.subheader("Review")
    if workflows.labels_path(ws).exists():
        with workflows.label_store(ws) as store:
            progress = store.progress()
        done, total = progress["done_items"], progress["items"]
        st.progress(done / total if total else 0.0, text=f"{done} of {total} review items have a verdict")
        if progress["annotators"]:
            st.dataframe([{"annotator": name, **row} for name, row in progress["annotators"].items()],
                         hide_index=True, key="overview_annotators")
    else:
        st.caption("No review items yet: make them from a comparison on the Compare page.")
