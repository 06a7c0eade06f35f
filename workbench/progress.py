"""Progress events: every workflow reports through one small event, shown by any adapter.

A workflow takes ``on_progress`` (a callable receiving :class:`ProgressEvent`). Adapters:

- :class:`TqdmProgress`: bars in the terminal and in notebooks (``tqdm.auto``), one per stage;
- :class:`StatusProgress`: keeps ``status.json`` of an artifact folder current (throttled), so a
  job started anywhere can be followed from the app or a notebook;
- :func:`combine` sends each event to several adapters; the app adds its own (a callable).

Workflows keep their own terminal bars behind ``progress=True`` (unchanged for CLI users) and
send events to ``on_progress`` in addition; pass ``progress=False, on_progress=TqdmProgress()``
for event-driven bars only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.status import write_status

__all__ = ["ProgressEvent", "ProgressFn", "TqdmProgress", "StatusProgress", "combine", "emit"]


@dataclass(frozen=True)
class ProgressEvent:
    """One report from a workflow: how far ``stage`` has come.

    Args:
        stage: what is going on ("reading", "profiling", "training", "base/domain"...).
        done: units done so far in this stage.
        total: units in the stage, or None when unknown.
        unit: what is counted ("MB", "step", "document", "set").
        message: a short human line (optional).
    """

    stage: str
    done: float = 0
    total: float | None = None
    unit: str = ""
    message: str = ""

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

    def to_dict(self) -> dict:
        return asdict(self)


ProgressFn = Callable[[ProgressEvent], None]


def emit(on_progress: ProgressFn | None, stage: str, done: float = 0, total: float | None = None,
         unit: str = "", message: str = "") -> None:
    """Send one event if there is a listener (workflows call this; it never raises on None)."""
    if on_progress is not None:
        on_progress(ProgressEvent(stage, done, total, unit, message))


class TqdmProgress:
    """One tqdm bar per stage (``tqdm.auto``: a widget in notebooks, text in the terminal)."""

    def __init__(self, leave: bool = True):
        self.leave = leave
        self._bars: dict[str, object] = {}

    def __call__(self, event: ProgressEvent) -> None:
        from tqdm.auto import tqdm

        bar = self._bars.get(event.stage)
        if bar is None:
            for other in self._bars.values():  # a new stage ends the previous ones
                other.close()
            self._bars.clear()
            bar = tqdm(total=event.total, desc=event.stage, unit=event.unit or "it", leave=self.leave)
            self._bars[event.stage] = bar
        if event.total is not None and bar.total != event.total:
            bar.total = event.total
        bar.n = event.done
        if event.message:
            bar.set_postfix_str(event.message, refresh=False)
        bar.refresh()
        if event.total is not None and event.done >= event.total:
            bar.close()
            del self._bars[event.stage]

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


class StatusProgress:
    """Writes each event's progress into ``status.json`` of ``folder`` (at most every ``every`` seconds,
    and always at the end of a stage), keeping the job's state (default ``running``)."""

    def __init__(self, folder: str | os.PathLike, every: float = 1.0, state: str = "running"):
        self.folder = Path(folder)
        self.every = every
        self.state = state
        self._last = 0.0
        self._started: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        now = time.time()
        started = self._started.setdefault(event.stage, now)
        finished = event.total is not None and event.done >= event.total
        if now - self._last < self.every and not finished and event.done:
            return
        self._last = now
        eta = None
        if event.total and event.done and now > started:
            rate = event.done / (now - started)
            eta = round(max(0.0, (event.total - event.done) / rate)) if rate > 0 else None
        write_status(self.folder, self.state, progress={**event.to_dict(), "eta_s": eta}, phase=event.stage)


def combine(*callbacks: ProgressFn | None) -> ProgressFn | None:
    """One listener that forwards each event to every non-None callback."""
    live = [c for c in callbacks if c is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0]

    def forward(event: ProgressEvent) -> None:
        for callback in live:
            callback(event)

    return forward

