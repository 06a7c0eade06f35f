"""Command options that set a config field show that field's default, and only fields that exist.

The defaults shown by ``--help`` are read from the dataclasses (workbench/cli/options.py); these tests fail
when a command declares such an option by hand again, or when what it shows and the field disagree.
"""

import dataclasses
import importlib
import re

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from workbench.appsupport import AppSettings
from workbench.cli import app
from workbench.cli.options import ConfigOptions, field_default, option_fields, shown_default
from workbench.corpus.config import CorpusConfig, CurateConfig, SyntheticAuditConfig
from workbench.evaluation.config import EvalConfig
from workbench.quickstart import QuickstartConfig
from workbench.review.config import ItemsConfig
from workbench.training.config import TrainConfig, preset_keys
from workbench.training.plan import PlanConfig

# the config dataclass each command fills from its options
COMMAND_CONFIGS = {
    "train": TrainConfig, "inspect": CorpusConfig, "curate": CurateConfig, "evaluate": EvalConfig,
    "compare": EvalConfig, "plan": PlanConfig, "quickstart": QuickstartConfig, "app": AppSettings,
    "review items": ItemsConfig, "synthetic audit": SyntheticAuditConfig,
}
# options named like a field of their command's dataclass that deliberately do not set it
NOT_CONFIG_BACKED = {
    ("plan", "max_tokens"): "plan's budget is 50M tokens (a GPU run), not PlanConfig's CPU-demo 50,000",
    ("app", "workspace"): "every command's --workspace, resolved by Workspace.at",
}
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}


def _commands():
    """``{"review items": click command, ...}`` for every leaf command of ``workbench``."""
    found = {}

    def walk(command, path):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, path + [name])
        else:
            found[" ".join(path)] = command

    walk(get_command(app), [])
    return found


COMMANDS = _commands()


def _expected_default(field) -> str | None:
    shown = shown_default(field.default)
    if shown is not None and field.cls is TrainConfig and field.name in preset_keys():
        shown += ", or the preset's"  # train: a preset, picked by --preset or --model, may set another value
    return shown


def _help(path: str) -> str:
    result = CliRunner().invoke(app, path.split() + ["--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return re.sub(r"\x1b\[[0-9;]*m", "", result.output)  # CI may force colours


def test_the_mapping_names_real_commands():
    assert set(COMMAND_CONFIGS) <= set(COMMANDS)
    assert {command for command, _ in NOT_CONFIG_BACKED} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_config_backed_options_name_existing_fields_of_their_commands_config(path):
    backed = option_fields(COMMANDS[path].callback)
    for param, field in backed.items():
        assert field.cls is COMMAND_CONFIGS.get(path), f"{path} --{param} sets {field.cls.__name__}.{field.name}"
        assert field.name in {f.name for f in dataclasses.fields(field.cls)}, (path, param, field)
    if path not in COMMAND_CONFIGS:
        return
    fields = {f.name for f in dataclasses.fields(COMMAND_CONFIGS[path])}
    for param in COMMANDS[path].params:
        if param.param_type_name == "option" and param.name in fields and (path, param.name) not in NOT_CONFIG_BACKED:
            # an option named like a field but declared by hand would copy (and drift from) its default
            assert param.name in backed, f"{path} --{param.name} sets a config field: declare it with ConfigOptions"


@pytest.mark.parametrize("path", sorted(COMMAND_CONFIGS))
def test_help_shows_each_config_fields_current_default(path):
    command = COMMANDS[path]
    backed = option_fields(command.callback)
    assert backed, f"{path} has no config-backed option"
    text = _help(path)
    params = {p.name: p for p in command.params}
    for name, field in backed.items():
        param = params[name]
        assert param.default is None, f"{path} {param.opts}: a flag not given must not override YAML or defaults"
        expected = _expected_default(field)
        flag = param.opts[0]
        row = next(line for line in text.splitlines() if re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", line))
        if expected is None:
            assert param.show_default is False and "[default:" not in row, (path, flag, row)
        else:
            assert param.show_default == expected, (path, flag)
            assert f"[default: ({expected})]" in " ".join(text.split()), (path, flag)


def test_shown_defaults_are_spelled_as_in_yaml():
    assert shown_default(1024) == "1024" and shown_default(0.1) == "0.1"
    assert shown_default(False) == "false" and shown_default(True) == "true"
    assert shown_default(None) is None and shown_default([]) is None and shown_default(()) is None
    assert shown_default(["en", "de"]) == "en,de"
    assert shown_default(QuickstartConfig().data) == "the bundled domain_corpus.jsonl"
    assert field_default(CurateConfig, "languages") == ["en"]  # a default_factory is called


def _window_config(window: int):
    return dataclasses.make_dataclass("WindowConfig", [("window", int, dataclasses.field(default=window))])


@pytest.mark.parametrize("window", [1024, 2048])
def test_the_help_follows_the_dataclass_default_and_the_flag_defaults_to_none(window):
    options = ConfigOptions(_window_config(window), {"window": "Sliding-window length L in tokens."})
    seen = []
    probe = typer.Typer()

    @probe.command()
    def score(window_: int = options("window", "--window"), other: int = 0) -> None:
        seen.append(window_)

    text = " ".join(CliRunner().invoke(probe, ["--help"], env=WIDE).output.split())
    assert f"Sliding-window length L in tokens. [default: ({window})]" in text
    assert CliRunner().invoke(probe, []).exit_code == 0 and seen == [None]  # not given: YAML and defaults decide
    assert CliRunner().invoke(probe, ["--window", "64"]).exit_code == 0 and seen == [None, 64]


def test_changing_evalconfigs_default_changes_evaluate_help(monkeypatch):
    import workbench.cli.evaluation as commands
    from workbench.cli import build

    field = EvalConfig.__dataclass_fields__["batch_size"]
    monkeypatch.setattr(field, "default", 3)
    try:
        reloaded = importlib.reload(commands)
        probe = build({"evaluate": reloaded.evaluate, "compare": reloaded.compare})
        text = " ".join(CliRunner().invoke(probe, ["evaluate", "--help"], env=WIDE).output.split())
        assert "Windows per forward pass. [default: (3)]" in text
    finally:
        monkeypatch.undo()
        importlib.reload(commands)


def test_a_field_that_does_not_exist_is_refused_when_the_command_is_defined():
    with pytest.raises(ValueError, match="EvalConfig has no field 'windw'"):
        ConfigOptions(EvalConfig, {"windw": "typo"})
    with pytest.raises(ValueError, match="has no field 'nope'"):
        ConfigOptions(EvalConfig, {})("nope")
    with pytest.raises(ValueError, match="no help line for EvalConfig.seed"):
        ConfigOptions(EvalConfig, {})("seed")


def test_every_help_table_names_fields():
    import workbench.appsupport as appsupport
    import workbench.corpus.config as corpus
    import workbench.evaluation.config as evaluation
    import workbench.quickstart as quickstart
    import workbench.review.config as review
    import workbench.training.config as training
    import workbench.training.plan as plan

    for cls, table in ((EvalConfig, evaluation.OPTION_HELP), (TrainConfig, training.OPTION_HELP),
                       (CorpusConfig, corpus.CORPUS_OPTION_HELP), (CurateConfig, corpus.CURATE_OPTION_HELP),
                       (PlanConfig, plan.OPTION_HELP), (QuickstartConfig, quickstart.OPTION_HELP),
                       (AppSettings, appsupport.OPTION_HELP), (ItemsConfig, review.ITEMS_OPTION_HELP)):
        assert set(table) <= {f.name for f in dataclasses.fields(cls)}, cls.__name__
    assert preset_keys() <= {f.name for f in dataclasses.fields(TrainConfig)}


# -- a flag not given leaves the field to the YAML file and the dataclass ------------------------------------

class _Captured(Exception):
    pass


def test_quickstart_reads_a_yaml_config_and_set_overrides(monkeypatch, tmp_path):
    import workbench.quickstart

    seen = []

    def capture(config, workspace, *args, **kwargs):
        seen.append(config)
        raise _Captured

    monkeypatch.setattr(workbench.quickstart, "run_quickstart", capture)
    config = tmp_path / "q.yaml"
    config.write_text("model: my-model\nlearning_rate: 0.002\nblock_size: 64\n")
    result = CliRunner().invoke(app, ["quickstart", "-c", str(config), "--set", "block_size=32", "--eval-docs", "3",
                                      "--workspace", str(tmp_path / "ws")])
    assert isinstance(result.exception, _Captured), result.output
    cfg = seen[0]
    assert (cfg.model, cfg.learning_rate, cfg.block_size, cfg.eval_docs) == ("my-model", 0.002, 32, 3)
    assert cfg.data == QuickstartConfig().data


def test_inspect_takes_the_model_of_its_yaml_config_unless_the_flag_is_given(monkeypatch, tmp_path, sample_dir):
    import workbench.corpus.profile

    seen = []

    def capture(config, target, **kwargs):
        seen.append(config)
        raise _Captured

    monkeypatch.setattr(workbench.corpus.profile, "profile_corpus", capture)
    config = tmp_path / "c.yaml"
    config.write_text("model: from-yaml\ntext_field: body\n")
    corpus = str(sample_dir / "domain_corpus.jsonl")
    for argv, model in (([], "from-yaml"), (["--model", "from-flag"], "from-flag")):
        result = CliRunner().invoke(app, ["inspect", corpus, "-c", str(config), *argv, "--out", str(tmp_path / "p")])
        assert isinstance(result.exception, _Captured), result.output
        assert (seen[-1].model, seen[-1].text_field) == (model, "body")
    result = CliRunner().invoke(app, ["inspect", corpus, "--out", str(tmp_path / "p")])
    assert (seen[-1].model, seen[-1].text_field) == (CorpusConfig().model, "text")


def test_app_and_plan_fall_back_to_the_dataclass_defaults(tmp_path, capsys):
    from workbench.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["app", "--workspace", str(tmp_path), "--print-command"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    settings = AppSettings()
    assert f"--server.address {settings.host}" in out and f"--server.port {settings.port}" in out
    assert f"--server.maxUploadSize {settings.max_upload_mb}" in out

    result = CliRunner().invoke(app, ["plan"])
    assert result.exit_code == 0, result.output
    assert PlanConfig().gpu in result.output
