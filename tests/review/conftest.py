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


# ------------------------------------------------------------------------------------------
# a real comparison on the tiny model (for items and the regression set)


def _docs(path, texts, prefix):
    import json

    with open(path, "w", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"id": f"{prefix}-{i}", "text": text}) + "\n")
    return path


@pytest.fixture(scope="session")
def review_sets(tmp_path_factory, sample_dir):
    """Five short domain and general documents and six probes from the sample data: (domain, general, probes)."""
    import json

    folder = tmp_path_factory.mktemp("review-sets")
    out = []
    for name, prefix in (("domain_eval.jsonl", "dom"), ("general_eval.jsonl", "gen")):
        with open(sample_dir / name, encoding="utf-8") as handle:
            texts = [json.loads(line)["text"][:400] for line in handle if line.strip()][:5]
        out.append(_docs(folder / f"{prefix}.jsonl", texts, prefix))
    with open(sample_dir / "probes.csv", encoding="utf-8") as handle:
        (folder / "probes.csv").write_text("".join(handle.readlines()[:7]), encoding="utf-8")  # header + 6 probes
    out.append(folder / "probes.csv")
    return tuple(out)


@pytest.fixture(scope="session")
def review_run(tiny_model, tmp_path_factory):
    """A finished QLoRA run on the tiny model (a few seconds), trained on one phrase repeated: the adapted
    model regresses on ordinary text, so there are regressed documents to review."""
    from workbench.training.config import TrainConfig
    from workbench.workflows import train
    from workbench.workspace import Workspace

    tmp = tmp_path_factory.mktemp("review-runs")
    data = _docs(tmp / "train.jsonl", ["warfarin dose warfarin dose " * 40] * 8, "train")
    config = TrainConfig(model=str(tiny_model), data=str(data), max_tokens=2048, block_size=64, micro_batch_size=4,
                         learning_rate=1e-2, out=str(tmp / "run"))
    return train(config, Workspace.at(tmp / "workspace"), progress=False)


def run_compare(tiny_model, run, sets, sample_dir, workspace, out, labels=None):
    """``workbench compare`` through the CLI, as a user runs it."""
    from typer.testing import CliRunner

    from workbench.cli import app

    args = ["compare", "--base", str(tiny_model), "--adapted", str(run), "--domain-eval", str(sets[0]),
            "--general-eval", str(sets[1]), "--probes", str(sets[2]), "--generations", "3",
            "--window", "64", "--out", str(out), "--workspace", str(workspace)]
    if labels:
        args += ["--labels", str(labels)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return out, result.output


@pytest.fixture(scope="session")
def compare_cli():
    """``compare_cli(tiny_model, run, sets, sample_dir, workspace, out, labels=None)`` runs ``workbench compare``."""
    return run_compare


@pytest.fixture(scope="session")
def comparison(tiny_model, review_run, review_sets, sample_dir, tmp_path_factory):
    """A comparison folder written by ``workbench compare`` (no label store yet)."""
    ws = tmp_path_factory.mktemp("review-ws")
    folder, _ = run_compare(tiny_model, review_run, review_sets, sample_dir, ws, ws / "comparisons" / "first")
    return folder
