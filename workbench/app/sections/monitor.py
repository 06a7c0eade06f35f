"""The Overview page's Monitor section: monitors of the workspace in plain words, and a new one as a job."""

from __future__ import annotations

import streamlit as st

__all__ = ["render"]


def render(ws, file_roots, user_errors) -> None:
    """List the workspace's monitors (has the domain moved?) and launch a new one on a run and a batch file.

    Args:
        ws: the workspace.
        file_roots: the folders the app may read files from (the batch is picked among their files).
        user_errors: the page's context manager that shows a library error as one line.
    """
    from workbench import appsupport, jobs, workflows

    st.subheader("Monitor")
    monitors = ws.monitors()
    for m in monitors:
        if m.complete:
            (st.warning if m.moved else st.success)(f"**{m.name}**: {m.sentence}")
        else:
            st.caption(f"{m.name}: {m.state}" + (f" ({m.error})" if m.error else ""))
    if not monitors:
        st.caption("No monitor yet: score a run on a new batch of domain text to see whether the domain has moved.")
    runs = [r for r in ws.runs() if r.state in ("finished", "stopped")]
    files = [str(p) for p in appsupport.list_files(file_roots, appsupport.corpus_suffixes())]
    with st.expander("New monitor", icon=":material/add:"):
        if not runs or not files:
            st.info("A monitor needs a finished run and a file of new domain text.")
            return
        c1, c2, c3 = st.columns(3)
        run = c1.selectbox("Run", [r.name for r in runs], key="monitor_run")
        batch = c2.selectbox("New batch of domain text", files, key="monitor_batch")
        time_field = c3.text_input("Date field (optional)", key="monitor_time_field")
        if st.button("Run monitor", key="monitor_launch", icon=":material/play_arrow:"):
            with user_errors():
                overrides = {"guardrails.time_field": time_field.strip()} if time_field.strip() else None
                config = workflows.eval_config(overrides=overrides, adapter=str(ws.run(run).folder), data=batch)
                job = jobs.launch("monitor", config, ws)
                st.success(f"Monitor {job.name} started: it appears above when it finishes.")
