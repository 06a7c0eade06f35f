"""Helpers of the AppTest page tests (imported by the test modules; fixtures live in conftest)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOME_SCRIPT = REPO / "workbench" / "app" / "Home.py"


def page_test(page: str, timeout: float = 60):
    """An AppTest of the app's navigation, switched to ``pages/<page>.py`` and run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HOME_SCRIPT), default_timeout=timeout)
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
        at.run()
    return at


def errors_of(at) -> list[str]:
    return [e.value for e in at.error]


def no_exceptions(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
