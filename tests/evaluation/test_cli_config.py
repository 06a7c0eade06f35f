"""``workbench evaluate`` and ``compare`` take --config and --set like the other commands."""

from workbench.cli import main
from workbench.io import read_json


def test_evaluate_and_compare_read_a_yaml_config_and_set_overrides(tiny_run, small_sets, tmp_path):
    domain, general = small_sets
    config = tmp_path / "eval.yaml"
    config.write_text(f"data: {domain}\nwindow: 128\nn_bootstrap: 200\ntext_field: text\n")
    out = tmp_path / "ev"
    main(["evaluate", "--adapter", str(tiny_run), "--config", str(config), "--set", "window=64",
          "--out", str(out), "--workspace", str(tmp_path / "ws")])
    card = read_json(out / "evaluation.json")["card"]["config"]
    assert card["window"] == 64 and card["stride"] == 32 and card["n_bootstrap"] == 200  # --set > YAML; stride follows
    assert card["data"] == str(domain)

    config.write_text(f"domain_eval: {domain}\ngeneral_eval: {general}\ngenerations: 0\nwindow: 64\n")
    out = tmp_path / "cmp"
    main(["compare", "--adapted", str(tiny_run), "-c", str(config), "--set", "n_bootstrap=150", "--out", str(out),
          "--labels", "none", "--workspace", str(tmp_path / "ws")])
    card = read_json(out / "comparison.json")["card"]["config"]
    assert card["generations"] == 0 and card["n_bootstrap"] == 150 and card["window"] == 64
