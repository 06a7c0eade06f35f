"""``pip install .`` outside the repository: the command works and finds the bundled sample data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv_finds_the_sample_data(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # dependencies come from this environment (a .pth file), workbench itself from the wheel just built
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "shared-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "workspace", "__pycache__", ".pytest_cache", "node_modules"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-build-isolation", "--quiet", str(source)],
                   check=True, timeout=600, env=env, cwd=tmp_path, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    help_text = subprocess.run([str(venv / "bin" / "workbench"), "quickstart", "--help"], env=env, cwd=elsewhere,
                               check=True, capture_output=True, text=True, timeout=120).stdout
    assert "--max-tokens" in help_text
    probe = subprocess.run(
        [str(python), "-c",
         "import workbench, workbench.quickstart as q, workbench.samples as s; from pathlib import Path;"
         "print(workbench.__file__); print(all(Path(p).exists() for p in (q.QuickstartConfig().data,"
         " q.QuickstartConfig().general_eval, s.sample_path('glossary.csv'), s.sample_path('probes.csv'))))"],
        env=env, cwd=elsewhere, check=True, capture_output=True, text=True, timeout=120).stdout.split()
    assert str(venv) in probe[0] and not probe[0].startswith(str(REPO)), probe  # the installed copy, not the repo
    assert probe[1] == "True"
