"""Concurrent writers on the SQLite label store: BEGIN IMMEDIATE (ours) against SQLite's default deferred BEGIN.

N processes each run M ``LabelStore.add_label`` transactions at once (each reads the item and the
taxonomy, then appends an event: read-then-write). The baseline is the same store with the write
transactions opened by a plain ``BEGIN`` (pysqlite's default behaviour): a reader that later wants to
write cannot wait for the lock in WAL mode, and fails with "database is locked". Prints failed
transactions, labels stored and wall time for both.

    python benchmarks/review_store.py --processes 8 --labels 150
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = """
import sys
import workbench.review.store as store_module
url, name, n, item_id, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
if mode == "deferred":  # the baseline: write transactions opened with a plain BEGIN
    make = store_module._sqlite_engine
    store_module._sqlite_engine = lambda url, immediate: make(url, immediate=False)
store = store_module.LabelStore(url)
sys.stdin.readline()
failed = 0
for i in range(n):
    try:
        store.add_label(item_id, name, "fluency", "minor", output="A", note=str(i))
    except Exception as exc:
        failed += 1
        if "locked" not in str(exc):
            raise
print(failed, flush=True)
"""


def run(mode: str, processes: int, labels: int) -> dict:
    from workbench.review.items import make_item
    from workbench.review.store import LabelStore

    folder = Path(tempfile.mkdtemp(prefix="review-bench-"))
    url = str(folder / "labels.db")
    item = make_item("pair", "p", [{"text": "one two three", "model": "a"}, {"text": "four five six", "model": "b"}])
    LabelStore(url).add_items([item])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, url, f"a{k}", str(labels), item.id, mode],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) for k in range(processes)]
    time.sleep(3.0)  # let every process open the store
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    failed = sum(int(p.communicate()[0].strip()) for p in procs)
    seconds = time.perf_counter() - start
    stored = len(LabelStore(url).labels())
    return {"mode": mode, "transactions": processes * labels, "failed": failed, "stored": stored,
            "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--labels", type=int, default=150, help="transactions per process")
    args = parser.parse_args()
    for mode in ("deferred", "immediate"):
        r = run(mode, args.processes, args.labels)
        label = "BEGIN (SQLite default)" if mode == "deferred" else "BEGIN IMMEDIATE (ours)"
        print(f"{label:<24} {r['failed']:>5} of {r['transactions']} transactions failed with 'database is locked', "
              f"{r['stored']} labels stored, {r['seconds']} s")


if __name__ == "__main__":
    main()
