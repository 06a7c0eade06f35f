"""``--text-unit`` on every command that reads text: curate and inspect (recorded per file), train, evaluate."""

import json

from test_bad_input import cli, console_lines
from test_text_units import record, write_records


def test_curate_reads_100_blank_line_separated_records_by_default(tmp_path):
    corpus = tmp_path / "opinions.txt"
    write_records(corpus, 100, words=650)
    out = tmp_path / "snap"
    proc = cli("curate", corpus, "--out", out, "--num-proc", "1", "--set", "languages=null", "--set", "quality_filter=false")
    assert proc.returncode == 0, proc.stderr
    assert not [line for line in console_lines(proc.stderr) if line.startswith("warning:")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["input_documents"] == 100
    assert manifest["inputs"][0]["text_unit"] == "paragraph" and manifest["inputs"][0]["documents"] == 100
    assert manifest["config"]["text_unit"] == "auto"


def test_curate_text_unit_line_and_the_large_document_warning(tmp_path):
    corpus = tmp_path / "opinions.txt"
    write_records(corpus, 100, words=650)
    out = tmp_path / "lines"
    proc = cli("curate", corpus, "--out", out, "--text-unit", "line", "--num-proc", "1", "--set", "languages=null",
               "--set", "max_words=1000000")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["text_unit"] == "line" and manifest["inputs"][0]["text_unit"] == "line"
    assert manifest["counts"]["input_documents"] == 100

    proc = cli("curate", corpus, "--out", tmp_path / "whole", "--text-unit", "document", "--num-proc", "1",
               "--set", "languages=null", "--set", "max_words=1000000")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in console_lines(proc.stderr) if line.startswith("warning:")]
    assert len(warnings) == 1 and "opinions.txt" in warnings[0] and "--text-unit paragraph" in warnings[0]
    manifest = json.loads((tmp_path / "whole" / "manifest.json").read_text())
    assert manifest["warnings"] == [warnings[0][len("warning: "):]] and "max_document_chars" in warnings[0]
    # one document of about 530,000 characters, over max_document_chars (500,000): two parts
    assert manifest["counts"]["input_documents"] == 2 and manifest["counts"]["split_documents"] == 1
    assert manifest["inputs"][0]["split_parts"] == 2 and manifest["inputs"][0]["split_lines"] == [1]


def test_inspect_text_unit_is_recorded(tmp_path, tiny_model):
    corpus = tmp_path / "notes.txt"
    corpus.write_text("\n\n".join(record(i, 30) for i in range(12)), encoding="utf-8")
    out = tmp_path / "profile"
    proc = cli("inspect", corpus, "--model", tiny_model, "--text-unit", "paragraph", "--num-proc", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("12 documents")
    profile = json.loads((out / "profile.json").read_text())
    assert profile["config"]["text_unit"] == "paragraph" and profile["inputs"][0]["text_unit"] == "paragraph"


def test_unknown_text_unit_is_one_line_on_every_command(tmp_path):
    corpus = tmp_path / "a.txt"
    corpus.write_text(record(1), encoding="utf-8")
    for args in (["curate", corpus], ["inspect", corpus], ["train", "--data", corpus],
                 ["evaluate", "--data", corpus], ["compare", "--adapted", tmp_path]):
        proc = cli(*args, "--text-unit", "sentence")
        lines = console_lines(proc.stderr)
        assert proc.returncode == 2 and len(lines) == 1 and "text_unit" in lines[0] and "paragraph" in lines[0], (args, proc.stderr)


def test_train_and_evaluate_read_by_the_unit(tmp_path, tiny_tokenizer):
    from workbench.evaluation.sets import load_eval_set
    from workbench.training.config import TrainConfig
    from workbench.training.data import prepare_data

    corpus = tmp_path / "notes.txt"
    corpus.write_text("\n\n".join(record(i, 30) for i in range(12)), encoding="utf-8")
    by_file = prepare_data(TrainConfig(data=str(corpus), max_tokens=1024, block_size=64), tiny_tokenizer)
    by_paragraph = prepare_data(TrainConfig(data=str(corpus), max_tokens=1024, block_size=64, text_unit="paragraph"),
                                tiny_tokenizer)
    # one EOS per document: 12 documents instead of 1, and no blank-line tokens between them
    assert by_paragraph.domain_tokens != by_file.domain_tokens

    assert len(load_eval_set(corpus, "domain", tiny_tokenizer).ids) == 1
    assert len(load_eval_set(corpus, "domain", tiny_tokenizer, text_unit="paragraph").ids) == 12
