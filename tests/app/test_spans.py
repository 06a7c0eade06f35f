"""Error spans of the Review page (``workbench.appsupport.spans``)."""

from __future__ import annotations

import pytest

from workbench.appsupport import find_phrase, span_from_words, word_spans
from workbench.errors import WorkbenchError


def test_spans_from_picked_words_and_typed_phrases():
    text = "The pump runs at 40 bar.\nIt  never stops."
    words = word_spans(text)
    assert words[3] == (14, 16, "at")
    start, end = span_from_words(text, [4, 3])
    assert text[start:end] == "at 40"
    start, end = find_phrase(text, "bar. It never")
    assert text[start:end] == "bar.\nIt  never"
    with pytest.raises(WorkbenchError, match="does not appear"):
        find_phrase(text, "150 bar")
    with pytest.raises(WorkbenchError, match="no words picked"):
        span_from_words(text, [])
