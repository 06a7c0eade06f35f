"""The Corpus page's "Synthetic text" section: audit synthetic files against a snapshot's real text, read the
audits' findings and verdicts. Mixing a set that passed is ``curate`` with ``synthetic=`` its folder
(``workbench curate --synthetic AUDIT``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from workbench import workflows
from workbench.corpus.config import SyntheticAuditConfig
from workbench.errors import WorkbenchError
from workbench.io import read_json

__all__ = ["render_synthetic_audit", "audit_rows"]


def audit_rows(audit: dict) -> list[dict]:
    """The findings of an audit as table rows: check, value, limit, passed, and the reason of a failure."""
    return [{"check": f["check"], "value": f["value"], "limit": f["limit"], "passed": f["passed"],
             "reason": f["reason"] or ""} for f in audit.get("findings") or []]


def render_synthetic_audit(workspace, files: list[str], snapshots: list, model: Callable[[], str],
                           format_func: Callable[[str], str] = str, on_error: Callable[[WorkbenchError], None] | None = None) -> None:
    """Draw the section: a form that audits the chosen files against a snapshot, then the workspace's audits.

    Args:
        workspace: the app's workspace; audits go to ``<workspace>/synthetic/<name>``.
        files: the files the user may choose (the page's file list).
        snapshots: the workspace's snapshot summaries (``workspace.snapshots()``).
        model: returns the base model spec to embed with, checked as one the app may load.
        on_error: shows a user error (the page's ``show_error``).
    """
    st.header("Synthetic text")
    st.caption("Synthetic text is audited against held-out real text before it may be mixed: distance in the base "
               "model's representation space (against a real-vs-real reference), leakage, n-gram novelty, domain "
               "terms, length and quality. Mix a set that passed with `workbench curate --synthetic AUDIT`.")
    names = [s.name for s in snapshots if getattr(s, "complete", True)]
    with st.form("synthetic_form"):
        chosen = st.multiselect("Synthetic files", files, key="synthetic_files", format_func=format_func)
        real = st.selectbox("Real text (a snapshot with a held-out split)", names or ["(no snapshot yet)"], key="synthetic_real")
        source = st.text_input("Source of the text (recorded per document)", key="synthetic_source")
        submitted = st.form_submit_button("Audit", disabled=not names, key="synthetic_submit")
    if submitted:
        try:
            config = SyntheticAuditConfig(paths=chosen, real=str(workspace.folder("snapshots", real)), model=model(),
                                          source=source.strip() or None)
            with st.spinner("Auditing (the model embeds every document)..."):
                folder = workflows.audit_synthetic(config, workspace, overwrite=True)
            st.success(f"Audited into {folder.name}.", icon=":material/done:")
        except WorkbenchError as exc:
            (on_error or (lambda e: st.error(e.one_line(), icon=":material/error:")))(exc)
    root = Path(workspace.root) / "synthetic"
    audits = sorted((p for p in root.iterdir() if (p / "audit.json").is_file()), key=lambda p: p.stat().st_mtime,
                    reverse=True) if root.is_dir() else []
    for folder in audits[:3]:
        audit = read_json(folder / "audit.json")
        verdict = audit.get("verdict") or {}
        st.markdown(f"Audit **{folder.name}**: {audit.get('documents', 0)} documents, "
                    f"{':green-badge[passed]' if verdict.get('passed') else ':red-badge[failed]'}")
        st.dataframe(audit_rows(audit), hide_index=True)
        for fix in verdict.get("fixes") or []:
            st.markdown(f"- {fix}")
