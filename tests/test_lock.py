"""The locks in requirements/: they cover pyproject.toml, and the project venv holds their versions."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("cpu", "cuda")


def read_lock(path: Path) -> dict[str, str]:
    """{canonical name: pinned version} of a lock written by `make lock`."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"{path.name}: {line!r} is not an exact `==` pin"
        pins[canonicalize_name(name.split("[")[0])] = version.strip()
    return pins


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return [Requirement(r) for r in reqs]


def test_read_lock_parses_pins_and_comments(tmp_path):
    lock = tmp_path / "x.lock"
    lock.write_text("# header\nTorch==2.13.0\n    # via x\nhuggingface_hub==2.4.0  # note\n")
    assert read_lock(lock) == {"torch": "2.13.0", "huggingface-hub": "2.4.0"}


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_pins_every_dependency_within_pyproject_ranges(lock):
    pins = read_lock(ROOT / "requirements" / f"{lock}.lock")
    for req in project_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, (
            f"requirements/{lock}.lock has no pin for {req.name} (pyproject.toml): run `make lock`"
        )
        assert Version(pins[name]) in req.specifier, (
            f"requirements/{lock}.lock pins {req.name}=={pins[name]}, outside pyproject.toml's "
            f"{req.specifier}: run `make lock`"
        )
    torch_pin = (ROOT / "requirements" / "torch.in").read_text().split("==")[1].strip()
    assert pins["torch"] == torch_pin


def test_cpu_lock_has_no_cuda_packages_and_agrees_with_cuda_lock():
    cpu = read_lock(ROOT / "requirements" / "cpu.lock")
    cuda = read_lock(ROOT / "requirements" / "cuda.lock")
    assert not [n for n in cpu if n.startswith("nvidia-")], "the CPU lock pulls CUDA libraries"
    assert any(n.startswith("nvidia-") for n in cuda)
    assert {n: v for n, v in cpu.items() if n in cuda} == {n: cuda[n] for n in cpu if n in cuda}


def installed_mismatches(pins: dict[str, str], check_missing: bool) -> list[str]:
    """One line per package whose installed version is not the pinned one."""
    problems = []
    for name, version in sorted(pins.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            if check_missing:
                problems.append(f"{name}: not installed, the lock pins {version}")
            continue
        # `==2.13.0` accepts the local build 2.13.0+cpu, as pip does when it installs the lock.
        if Version(installed) not in SpecifierSet(f"=={version}"):
            problems.append(f"{name}: installed {installed}, the lock pins {version}")
    return problems


def test_installed_mismatches_names_the_package():
    pins = {"packaging": "0.0.1", "pytest": metadata.version("pytest"), "no-such-package-x": "1.0"}
    assert installed_mismatches(pins, check_missing=True) == [
        "no-such-package-x: not installed, the lock pins 1.0",
        f"packaging: installed {metadata.version('packaging')}, the lock pins 0.0.1",
    ]
    assert installed_mismatches(pins, check_missing=False) == [
        f"packaging: installed {metadata.version('packaging')}, the lock pins 0.0.1",
    ]


def test_project_venv_matches_its_lock():
    """The venv scripts/setup_env.sh made holds exactly the versions of the lock it installed from."""
    stamp = Path(sys.prefix) / ".workbench-lock"
    if not stamp.exists():
        pytest.skip(f"not a venv made by scripts/setup_env.sh ({stamp} is missing)")
    lock, _, extras = stamp.read_text().partition("\n")
    lock, extras = lock.strip(), extras.strip()
    if lock == "none":
        pytest.skip("this venv was installed without a lock (LOCK=none)")
    pins = read_lock(ROOT / "requirements" / f"{lock}.lock")
    all_extras = set(extras.split(",")) >= {"app", "notebooks", "dev"}
    problems = installed_mismatches(pins, check_missing=all_extras)
    assert not problems, (
        f"{sys.prefix} differs from requirements/{lock}.lock: {'; '.join(problems)}. Run `make setup` (or `scripts/setup_env.sh`, which reinstalls even when make thinks the venv is current)."
    )
