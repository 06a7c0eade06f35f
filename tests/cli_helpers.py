"""Running the command line in-process, and the one-line error it must print on bad input."""

from workbench.cli import main


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``workbench ARGS``."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *names: str) -> str:
    """The single ``error: ... Fix: ...`` line of a refused command (exit 2, no traceback), naming ``names``."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Fix:" in lines[0], lines[0]
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]
