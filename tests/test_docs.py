"""The documentation: the MkDocs site builds strictly, every code block of the README and of docs/
runs, and no user-facing file carries a path of a developer's machine or the project's history.

Code blocks, by language:

- ``python``: run in order, page by page, in one namespace per page, from a fresh folder holding a
  link to ``sample_data/``;
- ``bash``: each ``workbench`` command is checked against the command line (the subcommand exists,
  its ``--help`` works, every flag it uses exists). On the pages in ``RUN_PAGES`` (the README's tour,
  the tutorial) every command runs for real, in order, interleaved with the page's python blocks;
  elsewhere the cheap ones (``CHEAP``) run. ``make`` targets, scripts, test paths and ``mkdocs``
  subcommands are checked to exist;
- ``yaml``: parsed; ``text``: output samples and usage synopses, not run (the flags of a synopsis line
  ``workbench COMMAND [--flag ...]`` are checked like a command's).

A block that cannot run at all carries ``<!-- not-run: reason -->`` just before it; those are listed by
``test_not_run_blocks_are_few``. The examples name the default model (smollm2-135m): so that they need no
download and no minutes of CPU, ``docs_home`` is a model cache whose ``smollm2-135m`` folder holds the
tiny random Llama. Every command and call then runs for real, with meaningless numbers.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib
import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))
RUN_PAGES = {"README.md", "docs/tutorial.md"}
CHEAP = {("presets",), ("plan",), ("models", "list"), ("models", "fetch"), ("jobs", "list")}
NEVER_RUN = {("app",)}  # a server that runs until stopped: its flags are checked, it is not started
LANGUAGES = {"python", "bash", "yaml", "text"}
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(.+?)\s*-->", re.S)
SLOW_PAGES = {"README.md", "docs/tutorial.md", "docs/python-api.md", "docs/evaluation.md", "docs/training.md"}


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    not_run: str | None = None

    def where(self) -> str:
        return f"{self.page}:{self.line}"


def code_blocks(page: str) -> list[Block]:
    """The fenced code blocks of a Markdown file, with the not-run reason of the comment before each."""
    tokens = MarkdownIt("commonmark").parse((ROOT / page).read_text(encoding="utf-8"))
    blocks, pending = [], None
    for token in tokens:
        if token.type == "html_block" and (match := NOT_RUN.search(token.content)):
            pending = match.group(1)
            continue
        if token.type == "fence":
            blocks.append(Block(page, token.map[0] + 1, token.info.strip().split(" ")[0], token.content, pending))
        if token.type in ("fence", "paragraph_open", "heading_open", "bullet_list_open", "table_open"):
            pending = None
    return blocks


def test_code_blocks_parser_reads_language_line_and_not_run(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("# T\n\n```python\nx = 1\n```\n\n<!-- not-run: needs a GPU -->\n\n```bash\nnvidia-smi\n```\n\n"
                    "text\n\n```text\nout\n```\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [(b.line, b.language, b.code, b.not_run) for b in code_blocks("page.md")] == [
        (3, "python", "x = 1\n", None), (9, "bash", "nvidia-smi\n", "needs a GPU"), (15, "text", "out\n", None)]


# ---------------------------------------------------------------------------------------------------
# the site


def test_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: a broken link, a missing page or a page left out of the nav fails."""
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "benchmark-results" / "index.html").read_text().count("<table") >= 3  # BENCHMARKS.md
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = set(re.findall(r"[\w-]+\.md", json.dumps(nav)))
    assert listed == {p.removeprefix("docs/") for p in PAGES if p.startswith("docs/")}


def test_readme_is_a_landing_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    first_block = code_blocks("README.md")[0].code
    assert "make quickstart" in first_block and "make test" in first_block
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert (ROOT / image).is_file(), f"README shows {image}, which does not exist"
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).exists(), f"README links {link}, which does not exist"


# ---------------------------------------------------------------------------------------------------
# the command line


def cli_root():
    import typer

    from workbench.cli import app

    return typer.main.get_command(app)


def resolve_command(args: list[str]) -> tuple[list[str], object, list[str]]:
    """(subcommand path, click command, remaining args) of a `workbench ...` argument list."""
    command, path, rest = cli_root(), [], list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, (
            f"'workbench {' '.join(path + [name])}' is not a command (there are: {', '.join(command.commands)})")
        command, path = command.commands[name], path + [name]
    return path, command, rest


def check_flags(args: list[str], where: str) -> list[str]:
    """The subcommand exists, its --help works, and every flag used is one of its options."""
    from typer.testing import CliRunner

    from workbench.cli import app

    path, command, rest = resolve_command(args)
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts} | {"--help"}
    unknown = [a.split("=")[0] for a in rest if a.startswith("-") and a != "-" and a.split("=")[0] not in known]
    assert not unknown, f"{where}: 'workbench {' '.join(path)}' has no option {', '.join(unknown)}"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, f"{where}: 'workbench {' '.join(path)} --help' failed: {result.output[-1000:]}"
    return path


def test_check_flags_catches_a_missing_flag_and_command():
    assert check_flags(["train", "--data", "x", "--set", "lora.r=8"], "here") == ["train"]
    with pytest.raises(AssertionError, match="has no option --bogus"):
        check_flags(["inspect", "x", "--bogus"], "here")
    with pytest.raises(AssertionError, match="is not a command"):
        check_flags(["review", "labels"], "here")


# ---------------------------------------------------------------------------------------------------
# running the blocks


@pytest.fixture(scope="session")
def docs_home(tmp_path_factory, tiny_model) -> Path:
    """A model cache in which the default model's folder holds the tiny random Llama (and tiny-llama itself)."""
    home = tmp_path_factory.mktemp("docs-home")
    for name in ("smollm2-135m", "tiny-llama"):
        shutil.copytree(tiny_model, home / "models" / name)
        manifest = home / "models" / name / "workbench_model.json"
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "name": name}))
    return home


def shell_commands(block: Block) -> list[list[str]]:
    """The commands of a bash block: one per line (a trailing backslash continues it), comments dropped."""
    commands = []
    for line in block.code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        bad = [w for w in words if w in ("|", "||", "&&", ";", ">", ">>", "<", "<<", "&")]
        assert not bad, f"{block.where()}: keep one plain command per line ({line!r}), or tag the block not-run"
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):  # VAR=value prefixes
            words = words[1:]
        commands.append(words)
    return commands


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.M))


def check_other_command(words: list[str], where: str) -> None:
    """A command that is not `workbench`: the make target, script, test path or mkdocs subcommand exists."""
    program, args = words[0], [w for w in words[1:] if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", w)]
    if program == "make":
        assert args and set(args) <= make_targets(), f"{where}: no make target {args} in the Makefile"
    elif program == "mkdocs":
        assert args and args[0] in ("serve", "build"), f"{where}: mkdocs {args}"
    elif program == "source":
        assert args == [".venv/bin/activate"], f"{where}: source {args}"
    elif program == "pip":
        assert args[:1] == ["install"], f"{where}: pip {args}"
        check_pip_install(args[1:], where)
    elif program == "jupyter":
        assert args[:1] == ["lab"], f"{where}: jupyter {args}"
    elif program.endswith(("pytest", "python")):
        paths = [a.split("::")[0] for a in args if not a.startswith("-") and "/" in a]
        if program.endswith("python") and args[:2] == ["-m", "pytest"]:
            paths = [a.split("::")[0] for a in args[2:] if not a.startswith("-") and "/" in a]
        for path in paths:
            assert (ROOT / path).exists(), f"{where}: {path} does not exist"
    elif "/" in program:
        assert (ROOT / program).is_file() and os.access(ROOT / program, os.X_OK), f"{where}: {program} is not a script here"
    else:
        raise AssertionError(f"{where}: the test does not know how to check '{program}': tag the block not-run")


def check_pip_install(args: list[str], where: str) -> None:
    """`pip install` of workbench: the wheel's name is the one `python -m build` writes for this version,
    and the extras exist."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for arg in (a for a in args if not a.startswith("-")):
        target, _, extras = arg.partition("[")
        wheel = f"{project['name']}-{project['version']}-py3-none-any.whl"
        assert target in (project["name"], ".", f"dist/{wheel}"), f"{where}: pip install {target}: not {wheel}"
        unknown = set(filter(None, extras.rstrip("]").split(","))) - set(project["optional-dependencies"])
        assert not unknown, f"{where}: pip install {arg}: no extra {sorted(unknown)} in pyproject.toml"


def test_check_pip_install_names_a_wrong_wheel_and_an_unknown_extra():
    check_pip_install(["dist/workbench-0.1.0-py3-none-any.whl[app,notebooks]"], "here")
    with pytest.raises(AssertionError, match="no extra"):
        check_pip_install(["workbench[gui]"], "here")
    with pytest.raises(AssertionError, match="not workbench-"):
        check_pip_install(["dist/workbench-9.9-py3-none-any.whl"], "here")


def run_workbench(args: list[str], where: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "from workbench.cli import main; main()", *args], cwd=cwd,
                          env=os.environ.copy(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{where}: 'workbench {shlex.join(args)}' exited {proc.returncode}: {proc.stderr[-3000:]}"


def run_page(page: str, folder: Path) -> None:
    namespace: dict = {"__name__": "__docs__"}
    for block in code_blocks(page):
        if block.not_run:
            continue
        if block.language == "python":
            with redirect_stdout(io.StringIO()):
                exec(compile(block.code, block.where(), "exec"), namespace)  # noqa: S102 - the page's own example
        elif block.language == "bash":
            for words in shell_commands(block):
                if words[0] != "workbench":
                    check_other_command(words, block.where())
                    continue
                path = tuple(check_flags(words[1:], block.where()))
                if path not in NEVER_RUN and (page in RUN_PAGES or path in CHEAP or path[:1] in CHEAP):
                    run_workbench(words[1:], block.where(), folder)
        elif block.language == "yaml":
            yaml.safe_load(block.code)
        elif block.language == "text":
            for line in block.code.splitlines():
                if line.startswith("workbench "):  # a usage synopsis: its flags exist
                    flags = re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line)
                    check_flags([*_leading_commands(line.split()[1:]), *flags], block.where())
        else:
            raise AssertionError(f"{block.where()}: a ```{block.language or '(no language)'} block: use one of {sorted(LANGUAGES)}")


def _leading_commands(words: list[str]) -> list[str]:
    """The subcommand names at the start of a synopsis (`review items ...`), as far as they are commands."""
    command, path = cli_root(), []
    for word in words:
        if hasattr(command, "commands") and word in command.commands:
            command, path = command.commands[word], path + [word]
        else:
            break
    return path


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow) if p in SLOW_PAGES else p for p in PAGES])
def test_code_blocks_run(page, docs_home, tmp_path, monkeypatch):
    """Every block of the page runs (or is checked) as described in the module docstring."""
    monkeypatch.setenv("WORKBENCH_HOME", str(docs_home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("WORKBENCH_WORKSPACE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    run_page(page, tmp_path)


def test_every_block_declares_a_known_language():
    blocks = [b for page in PAGES for b in code_blocks(page)]
    assert len(blocks) > 40
    wrong = [f"{b.where()} ```{b.language}" for b in blocks if b.language not in LANGUAGES]
    assert not wrong, f"code blocks must be one of {sorted(LANGUAGES)}: {wrong}"


def test_not_run_blocks_are_few():
    """The blocks that cannot run, listed with their reasons (keep these few)."""
    not_run = [f"{b.where()}: {b.not_run}" for page in PAGES for b in code_blocks(page) if b.not_run]
    print("\n".join(["blocks not run:"] + not_run))
    assert len(not_run) <= 3, not_run


# ---------------------------------------------------------------------------------------------------
# no machine paths, no history

MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:work|tmp|root|home)/")
HISTORY = re.compile(r"\bissues? #?\d+|\b(?:first|second|third|fourth|last|this|previous|earlier|next) session\b"
                     r"|\bat (?:an )?earlier commit\b|\bcommit [0-9a-f]{7,40}\b", re.I)


def python_comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring-like string of a Python file."""
    found = []
    with open(path, "rb") as handle:
        previous = None
        for token in tokenize.tokenize(handle.readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.string))
            elif token.type == tokenize.STRING and (previous is None or previous.type in (
                    tokenize.INDENT, tokenize.NEWLINE, tokenize.NL, tokenize.DEDENT, tokenize.ENCODING)):
                found.append((token.start[0], token.string))
            if token.type not in (tokenize.NL, tokenize.COMMENT):
                previous = token
    return found


def user_facing_texts() -> list[tuple[str, int, str]]:
    """(file, line, text) of README, docs, mkdocs.yml, pyproject.toml, benchmark results, notebooks, the app's
    and the package's comments and docstrings."""
    texts = []
    files = [ROOT / "README.md", ROOT / "mkdocs.yml", ROOT / "pyproject.toml", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "benchmarks" / "results").glob("*.json")),
             *sorted((ROOT / "workbench" / "app").rglob("*.md")),
             *sorted((ROOT / "workbench" / "notebooks").glob("*.md")),
             *sorted((ROOT / "workbench" / "notebooks").glob("*.ipynb"))]
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            texts.append((str(path.relative_to(ROOT)), number, line))
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        for number, text in python_comments_and_docstrings(path):
            texts.append((str(path.relative_to(ROOT)), number, text))
    return texts


def test_history_and_path_patterns():
    assert MACHINE_PATH.search("git clone /work/main /tmp/ci") and MACHINE_PATH.search('"/root/out/x.json"')
    assert not MACHINE_PATH.search("~/.cache/workbench/models and https://example.org/home/x and data/tmp/x")
    assert HISTORY.search("after issue 14's third session") and HISTORY.search("(issue 12)")
    assert not HISTORY.search("a detached process (its own session); an issue with the data")


def test_user_facing_files_hold_no_machine_paths_or_history():
    hits = [f"{path}:{line}: {text.strip()[:120]}" for path, line, text in user_facing_texts()
            if MACHINE_PATH.search(text) or HISTORY.search(text)]
    assert not hits, "machine paths or history in user-facing files:\n" + "\n".join(hits)
