"""User-facing errors: one line that names the problem and says how to fix it.

A library error that is about one setting names it by its config field (``max_tokens``,
``lora.r``) and leaves the wording to the face that shows it: the CLI says ``--max-tokens``, the
app the form field's label, a notebook the parameter. The message and the fix write the setting
as ``{field}``; :meth:`WorkbenchError.one_line` fills it in with the face's word (default: the
field name itself, which is also how YAML and ``--set`` spell it).
"""

from __future__ import annotations

from typing import Callable, Mapping

__all__ = ["WorkbenchError"]


class WorkbenchError(Exception):
    """An error the user can fix. The CLI prints it as one line and exits non-zero.

    Args:
        message: what is wrong, naming the file, field or value; ``{field}`` stands for the setting.
        fix: what to do about it (may use ``{field}`` too).
        field: the config field the error is about (dotted for nested keys, ``lora.r``), or None.
    """

    def __init__(self, message: str, fix: str | None = None, field: str | None = None):
        self.message = message
        self.fix = fix
        self.field = field
        super().__init__(self.one_line())

    def one_line(self, words: Mapping[str, str] | Callable[[str], str | None] | None = None) -> str:
        """The error as one line, the field spelled as the face spells it.

        Args:
            words: ``{field: word}`` or a function of the field giving the face's word for it
                (``--max-tokens``, "Training budget (tokens)"); a field it does not know keeps its name.
        """
        word = self.field_word(words)
        message = _fill(self.message, word)
        fix = _fill(self.fix, word) if self.fix else None
        return f"{message} Fix: {fix}" if fix else message

    def field_word(self, words: Mapping[str, str] | Callable[[str], str | None] | None = None) -> str | None:
        """How the face names :attr:`field` (its own name when the face has no word for it)."""
        if self.field is None:
            return None
        word = None
        if callable(words):
            word = words(self.field)
        elif words is not None:
            word = words.get(self.field)
        return word or self.field


def _fill(text: str, word: str | None) -> str:
    if word is None or "{field}" not in text:
        return text
    return text.replace("{field}", word)
