"""What every page shares: the settings, the workspace, job panels, and user errors as one line.

Presentation only: the data comes from the workbench library (workspace handles, jobs, figures).
"""

from __future__ import annotations

import contextlib
import os

import streamlit as st

from workbench.appsupport import SETTINGS_ENV, AppSettings
from workbench.errors import WorkbenchError
from workbench.status import ACTIVE_STATES as ACTIVE
from workbench.status import eta_text, status_fraction

COLOURS = {"running": "blue", "queued": "gray", "stopping": "orange", "stopped": "orange",
           "finished": "green", "failed": "red"}


@st.cache_resource
def _settings(raw: str | None, workspace: str | None) -> AppSettings:
    return AppSettings.from_env()


def settings() -> AppSettings:
    return _settings(os.environ.get(SETTINGS_ENV), os.environ.get("WORKBENCH_WORKSPACE"))


def workspace():
    from workbench.workspace import Workspace

    return Workspace.at(settings().workspace_root)


def show_error(exc: WorkbenchError, words: dict[str, str] | None = None) -> None:
    """A WorkbenchError as one red line (what is wrong and the fix), the setting it is about named by
    the label of the form field that sets it (``words``: ``appsupport.form_words``)."""
    st.error(exc.one_line(words), icon=":material/error:")


@contextlib.contextmanager
def user_errors(words: dict[str, str] | None = None):
    """Show a WorkbenchError raised inside as one red line (:func:`show_error`), never a traceback."""
    try:
        yield
    except WorkbenchError as exc:
        show_error(exc, words)


def badge(state: str | None) -> str:
    state = state or "unknown"
    return f":{COLOURS.get(state, 'gray')}-badge[{state}]"


def progress_line(status: dict, label: str | None = None) -> None:
    """State badge (and the job's name), progress bar and ETA of a job's status.json, and its error
    when it failed."""
    state = status.get("state")
    progress = status.get("progress") or {}
    done, total = progress.get("done"), progress.get("total")
    if done is None and status.get("total_steps"):
        done, total = status.get("step") or 0, status.get("total_steps")
    text = f"{badge(state)} {f'**{label}** · ' if label else ''}{status.get('phase') or progress.get('stage') or ''}"
    if total:
        unit = progress.get("unit") or "steps"
        eta = eta_text(status)  # only a running job has time left
        text += f" · {done:,.0f} / {total:,.0f} {unit}" + (f" · {eta}" if eta else "")
    st.markdown(text)
    if total:
        st.progress(status_fraction(status))
    if state == "failed" and status.get("error"):
        st.error(status["error"], icon=":material/error:")


def follow_job(folder, key: str, shown: str | None = None) -> None:
    """A job's state and progress, redrawn every few seconds while it is active (only this panel
    reruns); the page reruns once when the job ends. Stop button while it runs.

    Args:
        shown: the state the rest of the page shows (from a listing read a moment earlier): when it is
            active the page reruns as soon as the job has ended, even when that happened in between,
            so no "queued" stays on a finished job.
    """
    from workbench.workspace import Artifact

    artifact = Artifact(folder)  # its status, or what its own files say when status.json is missing or unreadable
    live = artifact.status().get("state") in ACTIVE or shown in ACTIVE

    def panel() -> None:
        current = artifact.status()
        c1, c2 = st.columns([5, 1])
        with c1:
            progress_line(current)
        if current.get("state") in ("queued", "running") and c2.button("Stop", key=f"stop_{key}",
                                                                       icon=":material/stop:"):
            from workbench import jobs

            with user_errors():
                jobs.attach(folder).stop()
        if live and current.get("state") not in ACTIVE:
            st.rerun()

    st.fragment(run_every=settings().refresh_seconds if live else None)(panel)()


def config_inputs(specs, key_prefix: str, columns: int = 3) -> dict:
    """One input per config field (``appsupport.config_fields``), labelled as the field's spec says and
    laid out in columns; returns ``{dotted key: value}`` as the widgets hold it (for the form functions).

    An input starts from the spec's default (:func:`prefill`) and keeps what the user typed until
    :func:`forget_inputs` drops it."""
    values = {}
    cols = st.columns(columns)
    for i, spec in enumerate(specs):
        col = cols[i % columns]
        key = f"{key_prefix}{spec.key}"
        label = spec.label or spec.key
        hint = (f"{spec.doc}\n\n" if spec.doc else "") + f"In a config file or `--set`: `{spec.key}`"
        if spec.kind == "bool":
            prefill(key, bool(spec.default))
            values[spec.key] = col.checkbox(label, help=hint, key=key)
        elif spec.kind == "choice":
            prefill(key, spec.default)
            values[spec.key] = col.selectbox(label, spec.choices, help=hint, key=key)
        elif spec.kind == "int":
            prefill(key, int(spec.default))
            values[spec.key] = int(col.number_input(label, step=1, help=hint, key=key))
        elif spec.kind == "float":
            prefill(key, float(spec.default))
            values[spec.key] = float(col.number_input(label, format="%g", help=hint, key=key))
        else:
            prefill(key, str(spec.default))
            values[spec.key] = col.text_input(label, help=hint, key=key)
    return values


def prefill(key: str, value) -> None:
    """Start the input ``key`` at ``value`` unless it holds one already. Set through the session state
    rather than a widget default, so the browser shows it too when an input is refilled."""
    if key not in st.session_state:
        st.session_state[key] = value


def forget_inputs(*prefixes: str) -> None:
    """Drop the widget values under these key prefixes, so the inputs take their new prefilled values
    (a widget with a key keeps what it holds, whatever its default becomes)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefixes)]:
        del st.session_state[key]
