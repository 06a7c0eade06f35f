"""One process per run folder: an advisory lock on ``.<name>.lock`` beside the folder.

The lock is an ``flock`` on a small file holding the owner's pid, host and start time. The
operating system drops it when the process ends, however it ends (crash, SIGKILL), so a stale
lock never blocks a resume; the file itself stays and is harmless. It lives beside the folder,
not in it, so the folder can be set aside and made anew (``overwrite``) while the lock is held.
In data-parallel runs only rank 0 takes it (every rank writes into the same folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.runcard import now_iso


def lock_path(folder: str | os.PathLike) -> Path:
    folder = Path(folder).absolute()
    return folder.parent / f".{folder.name}.lock"


class FolderInUse(WorkbenchError):
    """Another live process holds the folder's lock."""

    def __init__(self, folder: Path, owner: dict):
        self.folder, self.owner = folder, owner
        pid = owner.get("pid")
        who = f"pid {pid}" + (f" on {owner['host']}" if owner.get("host") and owner["host"] != socket.gethostname() else "")
        since = f", since {owner['since']}" if owner.get("since") else ""
        super().__init__(
            f"run folder {folder} is in use by another workbench process ({who}{since}).",
            f"wait for it to end, stop it (kill -TERM {pid}) and then resume it, or choose another {{field}}."
            if pid else "wait for it to end, or choose another {field}.",
            field="out",
        )


def lock_owner(folder: str | os.PathLike) -> dict:
    """What the lock file says about its (last) owner; {} when there is none."""
    try:
        return json.loads(lock_path(folder).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "workbench") -> Iterator[Path]:
    """Hold ``folder``'s lock for the block; :class:`FolderInUse` (exit 2 on the CLI) if another process has it.

    Creates the parent of ``folder`` if needed. Ranks other than 0 of a data-parallel run do not lock.
    """
    folder = Path(folder)
    if int(os.environ.get("RANK", "0")) != 0:
        yield folder
        return
    path = lock_path(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        pass  # reported in one line by the output-folder check that follows
    try:
        import fcntl
    except ImportError:  # Windows: filelock's msvcrt lock, without the owner's pid in the message
        from filelock import FileLock, Timeout

        lock = FileLock(str(path) + ".win")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise FolderInUse(folder, {}) from None
        try:
            yield folder
        finally:
            lock.release()
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except (PermissionError, FileNotFoundError):
        # a read-only parent: no run can be written there; the output-folder check that follows
        # says so in one line (a lock here would only turn that into a traceback)
        yield folder
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderInUse(folder, lock_owner(folder)) from None
        os.ftruncate(fd, 0)
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso(), "what": what}
        os.write(fd, json.dumps(owner).encode())
        try:
            yield folder
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


__all__ = ["folder_lock", "FolderInUse", "lock_owner", "lock_path"]
