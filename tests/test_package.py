"""The package as a user gets it: ``python -m build`` makes a wheel and an sdist holding the app's pages,
the guided notebooks, the presets, the review store's migrations and taxonomy and the sample data; the
wheel, installed with its ``app`` and ``notebooks`` extras into a fresh virtual environment, runs
``workbench app``, ``workbench notebooks`` and the quickstart from a folder outside the repository."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "workbench"
PAGES = ["overview", "corpus", "train", "compare", "review"]
NOTEBOOKS = ["01_inspect_corpus.ipynb", "02_continued_pretraining.ipynb", "03_compare_models.ipynb",
             "04_review_errors.ipynb"]
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "workspace", "__pycache__",
                                     ".pytest_cache", "node_modules", "site")


def shipped_files() -> list[str]:
    """The files besides the library's modules that an install must carry, read off the repository:
    the app (with its components' static frontends), the notebooks, the presets, the migrations, the taxonomy, the sample data."""
    found = [*(PACKAGE / "app").rglob("*.py"), PACKAGE / "app" / "README.md", *(PACKAGE / "app").rglob("*.html"),
             *(PACKAGE / "notebooks").glob("*.ipynb"), PACKAGE / "notebooks" / "README.md",
             *(PACKAGE / "training" / "presets").glob("*.yaml"),
             *(p for p in (PACKAGE / "review" / "migrations").rglob("*") if p.is_file() and "__pycache__" not in p.parts),
             PACKAGE / "review" / "taxonomy.yaml",
             *(p for p in (PACKAGE / "sample_data").iterdir() if p.is_file())]
    return sorted(p.relative_to(REPO).as_posix() for p in found)


def test_shipped_files_name_every_kind_of_data():
    files = shipped_files()
    must = ["workbench/app/Home.py", "workbench/app/common.py", *(f"workbench/app/pages/{p}.py" for p in PAGES),
            "workbench/app/components/highlight/__init__.py", "workbench/app/components/highlight/index.html",
            *(f"workbench/notebooks/{n}" for n in NOTEBOOKS), "workbench/training/presets/smollm2-135m-cpu.yaml",
            "workbench/review/migrations/alembic.ini", "workbench/review/migrations/script.py.mako",
            "workbench/review/migrations/versions/0001_initial.py", "workbench/review/taxonomy.yaml",
            "workbench/sample_data/domain_corpus.jsonl", "workbench/sample_data/glossary.csv"]
    assert set(must) <= set(files), sorted(set(must) - set(files))


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The wheel and the sdist, built by ``python -m build`` from a copy of the repository (an in-tree build
    would leave build/ and *.egg-info in the checkout); no isolation, so no download: this venv's setuptools."""
    tmp = tmp_path_factory.mktemp("build")
    source = tmp / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=COPY_IGNORE)
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp / "dist"), str(source)],
                          capture_output=True, text=True, timeout=600, cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels, sdists = sorted((tmp / "dist").glob("*.whl")), sorted((tmp / "dist").glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted((tmp / "dist").iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_the_wheel_holds_the_pages_notebooks_presets_migrations_taxonomy_and_sample_data(dists):
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    missing = [f for f in shipped_files() if f not in names]
    assert not missing, f"{dists['wheel'].name} lacks {missing}"
    assert {"workbench/__init__.py", "workbench/notebooks/__init__.py", "workbench/appsupport/server.py"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "workbench = workbench.cli:main" in zipfile.ZipFile(dists["wheel"]).read(entry_points).decode()


def test_the_sdist_holds_the_same_files(dists):
    with tarfile.open(dists["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        names = {n.removeprefix(top + "/") for n in sdist.getnames()}
    missing = [f for f in ["pyproject.toml", "README.md", *shipped_files()] if f not in names]
    assert not missing, f"{dists['sdist'].name} lacks {missing}"


# --- installed into a fresh venv ---------------------------------------------------------------

# Run by the venv's python: every page of the installed app under AppTest, on an empty workspace.
PAGES_PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
from workbench.appsupport import APP_DIR
loaded = {}
for page in sys.argv[1:]:
    at = AppTest.from_file(str(APP_DIR / "Home.py"), default_timeout=120)
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
        at.run()
    loaded[page] = {"title": [t.value for t in at.title], "exception": [e.value for e in at.exception],
                    "error": [e.value for e in at.error]}
print(json.dumps({"app_dir": str(APP_DIR), "pages": loaded}))
"""

# Run by the venv's python: where workbench comes from, and whether the extras' requirements are met.
EXTRAS_PROBE = """
import json
from importlib import metadata
from packaging.requirements import Requirement
import workbench
unmet = []
for line in metadata.requires("workbench"):
    req = Requirement(line)
    if req.marker is None or not any(req.marker.evaluate({"extra": e}) for e in ("app", "notebooks")):
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        version = None
    if version is None or not req.specifier.contains(version, prereleases=True):
        unmet.append(f"{req} ({version})")
print(json.dumps({"file": workbench.__file__, "unmet": unmet}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert process.poll() is None and time.time() < deadline, f"workbench app did not start: {log.read_text()[-2000:]}"
        time.sleep(0.5)


@pytest.mark.slow
def test_the_wheel_installed_with_its_extras_runs_the_app_the_notebooks_and_the_quickstart(dists, tmp_path, tiny_home):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python, bindir = venv / "bin" / "python", venv / "bin"
    # the dependencies come from this environment (a .pth file: nothing is downloaded again), workbench
    # itself from the wheel
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "WORKBENCH_WORKSPACE")}
    env.update(WORKBENCH_HOME=str(tiny_home), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                              "--force-reinstall", "--quiet", f"{dists['wheel']}[app,notebooks]"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"  # no repository around: only the installed package can be found
    elsewhere.mkdir()

    def run(*args, timeout=300) -> str:
        proc = subprocess.run(list(args), env=env, cwd=elsewhere, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
        return proc.stdout

    probe = json.loads(run(str(python), "-c", EXTRAS_PROBE))
    assert probe["file"].startswith(str(venv)) and not probe["file"].startswith(str(REPO)), probe
    assert probe["unmet"] == []

    # the quickstart
    assert "--max-tokens" in run(str(bindir / "workbench"), "quickstart", "--help")

    # the notebooks: listed as copied into a folder of the user's choice, the wheel's files
    out = run(str(bindir / "workbench"), "notebooks", "my-notebooks")
    assert [line.split()[0] for line in out.splitlines()[:4]] == ["copied"] * 4
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        for name in NOTEBOOKS:
            assert name in out
            assert (elsewhere / "my-notebooks" / name).read_bytes() == wheel.read(f"workbench/notebooks/{name}")

    # the app: the server answers, and every installed page loads
    workspace, port = elsewhere / "ws", _free_port()
    log = tmp_path / "app.log"
    with open(log, "w") as handle:
        process = subprocess.Popen([str(bindir / "workbench"), "app", "--workspace", str(workspace), "--port", str(port)],
                                   env=env, cwd=elsewhere, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for_health(url, process, log)
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200 and b"<html" in response.read().lower()
            # the server runs the installed pages
            commands = [" ".join(c.cmdline()) for c in psutil.Process(process.pid).children(recursive=True)]
            assert any(f"{site}/workbench/app/Home.py" in c for c in commands), commands
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass
    workspace.mkdir(exist_ok=True)
    settings = json.dumps({"workspace": str(workspace)})
    pages = json.loads(subprocess.run(
        [str(python), "-c", PAGES_PROBE, *PAGES], env={**env, "WORKBENCH_APP_SETTINGS": settings,
                                                       "WORKBENCH_WORKSPACE": str(workspace)},
        cwd=elsewhere, capture_output=True, text=True, timeout=900, check=True).stdout.splitlines()[-1])
    assert pages["app_dir"].startswith(str(venv)), pages["app_dir"]
    for page in PAGES:
        assert pages["pages"][page] == {"title": [page.capitalize()], "exception": [], "error": []}, page
