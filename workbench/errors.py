"""User-facing errors: one line that names the problem and says how to fix it."""

from __future__ import annotations


class WorkbenchError(Exception):
    """An error the user can fix. The CLI prints it as one line and exits non-zero.

    Args:
        message: what is wrong, naming the file, field or value.
        fix: what to do about it.
    """

    def __init__(self, message: str, fix: str | None = None):
        self.message = message
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message
