import json

import typer
from typer.testing import CliRunner

from workbench.cli import build, corpus


def _app() -> typer.Typer:
    return build({"inspect": corpus.inspect, "curate": corpus.curate})


def test_inspect_and_curate_commands_write_to_the_workspace(tmp_path, tiny_model, sample_dir):
    runner = CliRunner()
    ws = tmp_path / "ws"
    result = runner.invoke(_app(), ["inspect", str(sample_dir / "domain_corpus.jsonl"), "--model", str(tiny_model),
                                    "--num-proc", "1", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert (ws / "corpora" / "domain_corpus" / "report.html").exists()
    assert "readiness: too_small" in result.output

    result = runner.invoke(_app(), ["curate", str(sample_dir / "domain_corpus.jsonl"), "--workspace", str(ws),
                                    "--set", "dedup.threshold=0.7", "--num-proc", "1"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((ws / "snapshots" / "domain_corpus" / "manifest.json").read_text())
    assert manifest["config"]["dedup"]["threshold"] == 0.7 and manifest["complete"] is True


def test_curate_error_is_a_workbench_error(tmp_path):
    from workbench.errors import WorkbenchError

    result = CliRunner().invoke(_app(), ["curate", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "s")])
    assert isinstance(result.exception, WorkbenchError) and "does not exist" in str(result.exception)
