"""Concurrent writers lose nothing; a writer killed mid-write loses at most the label in flight."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

WRITER = """
import sys
from workbench.review.store import LabelStore
url, name, n, item_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = LabelStore(url)
print("ready", flush=True)
sys.stdin.readline()  # start together
for i in range(n):
    store.add_label(item_id, name, "fluency", "minor", output="A", note=str(i))
    print(i, flush=True)
"""


def _writer(url, name, n, item_id):
    return subprocess.Popen([sys.executable, "-c", WRITER, url, name, str(n), item_id], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def test_two_processes_writing_500_labels_each_lose_none(store, store_url, pair_items):
    store.add_items(pair_items)
    item_id = pair_items[0].id
    procs = [_writer(store_url, name, 500, item_id) for name in ("ana", "bob")]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    labels = store.labels()
    assert len(labels) == 1000
    for name in ("ana", "bob"):
        assert sorted(int(x.note) for x in labels if x.annotator == name) == list(range(500))


def test_sigkill_mid_write_loses_at_most_the_label_in_flight(store, store_url, pair_items):
    from workbench.review.store import LabelStore

    store.add_items(pair_items)
    proc = _writer(store_url, "ana", 100_000, pair_items[0].id)
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()
    acknowledged = -1
    deadline = time.time() + 60
    while acknowledged < 150 and time.time() < deadline:
        acknowledged = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for line in proc.stdout:  # acknowledgements already written before the kill
        acknowledged = int(line)
    stored = len(LabelStore(store_url).labels())
    assert acknowledged + 1 <= stored <= acknowledged + 2
    if store_url.endswith(".db"):
        with sqlite3.connect(store_url) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = LabelStore(store_url)
    reopened.add_label(pair_items[0].id, "bob", "fluency", "minor", output="A")
    assert len(reopened.labels(annotator="bob")) == 1


@pytest.mark.parametrize("n", [8])
def test_many_read_then_write_processes_never_see_database_locked(tmp_path, pair_items, n):
    """Eight processes doing read-then-write transactions (undo reads the log, then appends) at once."""
    from workbench.review.store import LabelStore

    url = str(tmp_path / "labels.db")
    LabelStore(url).add_items(pair_items)
    code = WRITER.replace('    print(i, flush=True)', '    store.undo(name); store.redo(name)\n    print(i, flush=True)')
    procs = [subprocess.Popen([sys.executable, "-c", code, url, f"a{k}", "25", pair_items[0].id], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(n)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0 and "locked" not in err, err
    assert len(LabelStore(url).labels()) == 25 * n


def test_sqlite_store_runs_in_wal_with_foreign_keys_and_a_busy_timeout(tmp_path):
    import sqlalchemy as sa

    from workbench.review.store import BUSY_TIMEOUT_MS, LabelStore

    store = LabelStore(tmp_path / "labels.db")
    with store._writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
    # the database itself refuses an event for an item that does not exist
    with pytest.raises(sa.exc.IntegrityError), store._write() as conn:
        conn.execute(sa.insert(store.events_t).values(uid="x", item_id="nope", annotator="ana", action="verdict",
                                                      payload={}, created=0.0))
    assert store.events() == []
