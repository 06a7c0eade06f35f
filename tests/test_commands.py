"""Commands that need no training: plan, presets, export of a missing run."""

import pytest
from typer.testing import CliRunner

from workbench.cli import app, main
from workbench.errors import WorkbenchError

runner = CliRunner()


def test_plan_8b_on_a_24gb_card():
    result = runner.invoke(app, ["plan", "--model", "Llama-3.1-8B", "--gpu", "RTX 4090", "--max-tokens", "1000000",
                                 "--preset", "llama-3.1-8b-24gb"])
    assert result.exit_code == 0, result.output
    assert "fits" in result.output and "cost" in result.output and "wall time" in result.output


def test_plan_that_does_not_fit_suggests_a_fix():
    result = runner.invoke(app, ["plan", "--model", "Llama-3.1-8B", "--gpu", "T4", "--set", "quant=none",
                                 "--set", "micro_batch_size=8", "--set", "block_size=4096"])
    assert result.exit_code == 0, result.output
    assert "closest configuration that fits" in result.output


def test_presets_are_listed():
    result = runner.invoke(app, ["presets"])
    assert result.exit_code == 0 and "llama-3.1-8b-24gb" in result.output and "smollm2-135m-cpu" in result.output


def test_export_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "not a run folder" in capsys.readouterr().err


def test_unknown_gpu_is_a_clear_error():
    result = runner.invoke(app, ["plan", "--gpu", "Voodoo2"])
    assert isinstance(result.exception, WorkbenchError) and "unknown GPU" in str(result.exception)


def test_the_cli_lives_in_one_package_with_one_command_table():
    """Only workbench/cli/ imports typer or workbench.cli, and its table names every command ``--help`` lists."""
    import ast
    from pathlib import Path

    from typer.main import get_command

    import workbench
    from workbench.cli import COMMANDS, Group

    package = Path(workbench.__file__).parent
    outside = []
    for path in package.rglob("*.py"):
        if path.is_relative_to(package / "cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            outside += [f"{path.relative_to(package)}: {name}" for name in names
                        if name.split(".")[0] in ("typer", "click") or name.startswith("workbench.cli")]
    assert outside == []

    listed = get_command(app).commands
    assert list(listed) == list(COMMANDS)
    for name, entry in COMMANDS.items():
        if isinstance(entry, Group):
            assert list(listed[name].commands) == list(entry.commands) and listed[name].help == entry.help
        else:
            assert listed[name].callback.__wrapped__ is entry
