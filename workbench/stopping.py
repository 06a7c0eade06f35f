"""Graceful stop: SIGINT (Ctrl+C) and SIGTERM (a process manager, ``Job.stop()``, a Stop button).

Python's default for SIGTERM ends the process at once: no ``finally``, no status update, a run
left saying ``running``. Inside :func:`graceful_stop` both signals become a :class:`Stopped`
exception instead (a ``KeyboardInterrupt``, so ``except Exception`` in a library never swallows
it), and every stage unwinds as it does for Ctrl+C: half-built artifact folders are removed,
nothing is marked complete, the status says ``stopped``.

A stage with a natural place to stop (training: the end of an optimizer step, then a checkpoint)
asks for ``deferred=True``: the first signal only sets :attr:`StopRequest.signum`, the stage polls
:attr:`StopRequest.requested`, stops cleanly and raises :class:`Stopped` itself; a second signal
stops at once.

Exit codes follow the shell convention, 128 + the signal number: 130 after SIGINT, 143 after
SIGTERM. A job runner reads either as "stopped".
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOPPED_EXIT_CODES = tuple(128 + int(s) for s in STOP_SIGNALS)  # (130, 143)

# handlers in force before each graceful_stop block now open, outermost first
_open_blocks: list[dict] = []


def _reset_in_child() -> None:
    """A forked worker gets the handlers from before graceful_stop back: a Python-level handler
    runs only between bytecodes, so a worker blocked in C code would never end on SIGTERM and
    its parent, unwinding, would wait for it forever (seen with datasets' worker pools)."""
    if not _open_blocks:
        return
    for s, old in _open_blocks[0].items():
        try:
            signal.signal(s, old)
        except (ValueError, OSError):  # not the main thread of the child
            pass
    _open_blocks.clear()
    sys.unraisablehook = sys.__unraisablehook__


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)


class Stopped(KeyboardInterrupt):
    """The process was asked to stop. ``message`` is the one line to show; ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int = signal.SIGINT, message: str | None = None):
        self.signum = int(signum)
        self.message = message or f"stopped ({signal_name(signum)})"
        super().__init__(self.message)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


@dataclass
class StopRequest:
    """What :func:`graceful_stop` hands to the stage: whether, and by which signal, a stop was asked."""

    signum: int | None = None
    deferred: bool = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def stopped(self, message: str | None = None) -> Stopped:
        """The exception to raise once the stage has stopped cleanly."""
        return Stopped(self.signum or signal.SIGINT, message)


@contextlib.contextmanager
def graceful_stop(deferred: bool = False) -> Iterator[StopRequest]:
    """Turn SIGINT and SIGTERM into :class:`Stopped` (or, with ``deferred``, into a flag first).

    Nests: the previous handlers come back on exit. Outside the main thread (where Python cannot
    install handlers) it yields a request that is never set. Processes forked inside the block
    (worker pools) get the previous handlers back at once, so SIGTERM ends them as before and a
    pool's workers never run the stage's stop logic. A stop that Python had to drop (raised inside an at-fork hook or a ``__del__``)
    is delivered again.
    """
    request = StopRequest(deferred=deferred)
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    owner = os.getpid()

    def handler(signum, frame):
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        first = request.signum is None
        if first:
            request.signum = signum
        if request.deferred and first:
            return
        raise Stopped(signum)

    previous_hook = sys.unraisablehook

    def unraisable(info):
        # A handler that fires inside an at-fork hook or a __del__ (worker pools fork often) has
        # its exception printed and dropped by Python: deliver the signal again a moment later.
        if isinstance(info.exc_value, Stopped) and os.getpid() == owner:
            timer = threading.Timer(0.05, os.kill, (owner, info.exc_value.signum))
            timer.daemon = True
            timer.start()
            return
        previous_hook(info)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    sys.unraisablehook = unraisable
    _open_blocks.append(previous)
    try:
        yield request
    except BaseException as exc:
        stopped = _stop_in_chain(exc)
        if stopped is not None and stopped is not exc:
            # a library's cleanup raised over the stop (datasets' worker pool: "results not ready")
            raise stopped from None
        raise
    finally:
        _open_blocks[:] = [block for block in _open_blocks if block is not previous]
        sys.unraisablehook = previous_hook
        for s, old in previous.items():
            signal.signal(s, old)


def end_child_processes(timeout: float = 5.0) -> None:
    """Terminate the worker processes (multiprocessing / multiprocess) this process still has.

    For a process that exits because it was stopped: a stop can land while a pool or a manager is
    starting, before anything would shut it down, and the interpreter's exit would then wait for
    that child forever. Children get SIGTERM (their default action since they were forked inside
    :func:`graceful_stop`)."""
    import time

    modules = [sys.modules[name] for name in ("multiprocessing", "multiprocess") if name in sys.modules]
    children = [child for module in modules for child in module.active_children()]
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()


def _stop_in_chain(exc: BaseException) -> Stopped | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Stopped):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


__all__ = ["Stopped", "StopRequest", "graceful_stop", "end_child_processes", "STOPPED_EXIT_CODES", "signal_name"]
