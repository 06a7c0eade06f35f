"""Every page of the app under ``streamlit.testing.v1.AppTest``: happy paths and bad input."""

from __future__ import annotations

import pytest
from app_helpers import errors_of, no_exceptions, page_test

PAGES = ["overview", "corpus", "train", "compare", "review"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_an_empty_workspace(app_settings, name):
    at = page_test(name)
    no_exceptions(at)
    assert at.title[0].value == name.capitalize()
    assert not errors_of(at)
