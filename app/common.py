"""What every page shares: the app's settings and workspace, and showing user errors as one line."""

from __future__ import annotations

import contextlib

import streamlit as st

from workbench.appsupport import AppSettings
from workbench.errors import WorkbenchError


@st.cache_resource
def _settings_cached(raw_env: str | None, workspace_env: str | None) -> AppSettings:
    return AppSettings.from_env()


def settings() -> AppSettings:
    import os

    from workbench.appsupport import SETTINGS_ENV

    return _settings_cached(os.environ.get(SETTINGS_ENV), os.environ.get("WORKBENCH_WORKSPACE"))


@contextlib.contextmanager
def user_errors():
    """Show a WorkbenchError as one red line (what is wrong and the fix), never a traceback."""
    try:
        yield
    except WorkbenchError as exc:
        st.error(exc.one_line(), icon=":material/error:")


def state_badge(state: str | None) -> str:
    colours = {"running": "blue", "queued": "gray", "stopping": "orange", "stopped": "orange",
               "finished": "green", "failed": "red"}
    state = state or "unknown"
    return f":{colours.get(state, 'gray')}-badge[{state}]"
