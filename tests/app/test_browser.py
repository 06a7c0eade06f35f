"""The app in a real headless Chromium (Debian's chromium driven by Playwright), one shared
``workbench app`` process: every page renders, with a screenshot each and its render time."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

PAGES = {"Overview": "", "Corpus": "corpus", "Train": "train", "Compare": "compare", "Review": "review"}


def wait_idle(page, timeout: float = 30_000) -> None:
    """Until the script run is over: the app's 'running' indicator gone and the page's title drawn."""
    page.wait_for_selector("h1", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )


def test_every_page_renders_with_a_screenshot(page, app_server, screenshot_dir):
    timings = {}
    for title, path in PAGES.items():
        start = time.perf_counter()
        page.goto(f"{app_server['url']}/{path}")
        wait_idle(page)
        timings[title] = time.perf_counter() - start
        assert page.locator("h1").first.inner_text().strip() == title
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(screenshot_dir / f"{title.lower()}.png"), full_page=True)
    print("\npage render time in the browser (s): "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in timings.items()))
    print(f"screenshots: {screenshot_dir}")
