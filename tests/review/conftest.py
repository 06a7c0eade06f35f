"""Fixtures of the review tests: every store test runs on SQLite and on a throwaway PostgreSQL cluster.

The cluster is made once per session with the Debian binaries (initdb into a temporary folder,
pg_ctl start listening only on a unix socket in that folder, stopped at teardown); each test gets
its own database. initdb refuses to run as root, so as root the cluster runs as the ``postgres``
user (the folder is chowned to it). Without the binaries the PostgreSQL variants fail with the
install hint when CI is set, and skip otherwise.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL_HINT = "PostgreSQL server binaries not found: install them (sudo apt-get install postgresql, or run make test)"


def _pg_bin() -> Path | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    for d in reversed(dirs):
        if (Path(d) / "initdb").exists():
            return Path(d)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def pg_cluster():
    """A running PostgreSQL cluster on a unix socket: yields ``(socket_dir, superuser)``."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    folder = Path(tempfile.mkdtemp(prefix="wb-pg-"))
    data = folder / "data"
    prefix: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            pytest.fail("running as root and there is no 'postgres' user to run the test cluster as")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    run = lambda *cmd: subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "--no-sync", "-E", "UTF8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log.txt"), "-w", "-t", "60", "-o",
            f"-c listen_addresses='' -k {folder} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start")
    except subprocess.CalledProcessError as exc:
        log = (folder / "log.txt").read_text() if (folder / "log.txt").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start the test PostgreSQL cluster: {exc.stderr or exc.stdout} {log[-2000:]}")
    try:
        yield folder, user
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


_counter = itertools.count()


@pytest.fixture
def pg_url(pg_cluster):
    """A fresh, empty database in the session's cluster: its ``postgresql+psycopg://`` URL."""
    import psycopg

    folder, user = pg_cluster
    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(host=str(folder), user=user, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{user}@/{name}?host={folder}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """A database URL for a new label store: a SQLite file, or a PostgreSQL database (marker ``postgres``)."""
    if request.param == "sqlite":
        return str(tmp_path / "labels.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    from workbench.review.store import LabelStore

    s = LabelStore(store_url)
    yield s
    s.close()


@pytest.fixture
def pair_items():
    """Three blind pair items and two single-output items."""
    from workbench.review.items import make_item

    items = [
        make_item("pair", f"Prompt {i}", [{"text": f"base says thing {i} plainly", "model": "base"},
                                          {"text": f"adapted says term {i} precisely", "model": "adapted"}],
                  {"comparison": "cmp", "set": "domain", "doc_id": f"doc-{i}"})
        for i in range(3)
    ]
    items += [make_item("output", "Q", [{"text": f"an output number {i} with words", "model": "m"}], {"doc_id": f"o{i}"})
              for i in range(2)]
    return items
