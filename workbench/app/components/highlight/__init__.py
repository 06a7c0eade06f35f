"""Mark an error by selecting its words with the mouse: the outputs of a review item side by side, the
selection returned as ``{output, start, end, text}`` in character offsets of the shown text.

A Streamlit component (``components.v1.declare_component``) whose frontend is the static
``index.html`` next to this file: no build step. Keys pressed inside it (Enter, the digits) reach the
page's shortcuts.
"""

from __future__ import annotations

from pathlib import Path

import streamlit.components.v1 as components

FRONTEND = Path(__file__).parent
_highlight = components.declare_component("highlight", path=str(FRONTEND))


def highlight(outputs: list[dict], key: str, selected: dict | None = None, kept: list[dict] | None = None) -> dict | None:
    """Show ``outputs`` (``{slot, text, label?}``) for selecting an error span with the mouse.

    Args:
        outputs: the item's outputs, in the order shown (A then B for a pair).
        key: the widget key (a new key starts with no selection).
        selected: the selection to show marked (the value returned before).
        kept: spans already kept on the form (``{output, start, end}``), shown lightly marked.

    Returns:
        The latest selection ``{output, start, end, text}``, or None before any.
    """
    shown = [{"slot": o["slot"], "text": o["text"], "label": o.get("label")} for o in outputs]
    return _highlight(outputs=shown, selected=selected, kept=list(kept or []), key=key, default=None)
