"""Bad corpus input through the real CLI: exit 2, ONE line on stderr naming the file and the fix, nothing written.

And what used to be silent (records without text, bytes that are not UTF-8) is said on the console and recorded.
"""

import gzip
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args, home=None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    if home is not None:
        env["WORKBENCH_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def console_lines(stream: str) -> list[str]:
    """Lines as a terminal shows them (progress bars redraw with carriage returns)."""
    return [part for line in stream.splitlines() for part in line.split("\r") if part.strip()]


def words(i: int, n: int = 40) -> str:
    return f"Record {i} says " + " ".join(f"term{i}x{k}" for k in range(n)) + "."


def _binary_txt(folder: Path) -> Path:
    path = folder / "scan.txt"
    path.write_bytes(b"\x00\x01\x02\x03PK binary content")
    return path


def _gz_truncated_in_header(folder: Path) -> Path:
    path = folder / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"short text")[:12])
    return path


def _gz_truncated_later(folder: Path) -> Path:
    # the first 8 KB decompress fine (the binary check passes); the stream ends early further on
    data = gzip.compress(" ".join(words(i) for i in range(3000)).encode())
    path = folder / "big.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _parquet_without_text(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "table.parquet"
    pq.write_table(pa.table({"title": ["a"], "body": ["b"]}), path)
    return path


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.txt"
    os.mkfifo(path)  # no writer: opening it to read would wait forever
    return path


def _socket(folder: Path) -> Path:
    path = folder / "sock.txt"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
    return path


def _non_string_only(folder: Path) -> Path:
    path = folder / "c.jsonl"
    path.write_text("".join(json.dumps({"text": v}) + "\n" for v in (1, 2.5, ["a"], {"b": "c"}, True)))
    return path


CASES = {
    # name: (make the input in folder -> path given on the command line, file named in the error, words the error has)
    "empty file": (lambda d: (d / "empty.txt", (d / "empty.txt").write_bytes(b""))[0], "empty.txt", "is empty"),
    "empty folder": (lambda d: (d / "nothing", (d / "nothing").mkdir())[0], "nothing", "holds no files"),
    "folder without a readable file": (
        lambda d: (d / "docs", (d / "docs").mkdir(), _binary_txt(d / "docs"), (d / "docs" / "a.docx").write_bytes(b"PK"))[0],
        "docs", "no readable file"),
    "binary file named .txt": (_binary_txt, "scan.txt", "not text"),
    "malformed JSONL line": (
        lambda d: (d / "c.jsonl", (d / "c.jsonl").write_text('{"text": "fine one"}\n{"text": "broken\n'))[0],
        "c.jsonl", "line 2"),
    "JSONL without the text field": (
        lambda d: (d / "c.jsonl", (d / "c.jsonl").write_text('{"title": "a", "body": "b"}\n'))[0], "c.jsonl", "title, body"),
    "CSV without the text column": (
        lambda d: (d / "c.csv", (d / "c.csv").write_text("title,body\na,b\n"))[0], "c.csv", "title, body"),
    "Parquet without the text column": (_parquet_without_text, "table.parquet", "title, body"),
    "0-byte PDF": (lambda d: (d / "paper.pdf", (d / "paper.pdf").write_bytes(b""))[0], "paper.pdf", "empty file"),
    "damaged PDF": (lambda d: (d / "paper.pdf", (d / "paper.pdf").write_bytes(b"%PDF-1.4 garbage"))[0], "paper.pdf", "PDF"),
    "truncated .gz (header)": (_gz_truncated_in_header, "notes.txt.gz", "truncated or damaged gzip"),
    "truncated .gz (stream)": (_gz_truncated_later, "big.jsonl.gz", "truncated or damaged gzip"),
    "missing path": (lambda d: d / "nope.jsonl", "nope.jsonl", "does not exist"),
    "named pipe as a corpus file": (_fifo, "pipe.txt", "is a named pipe (FIFO), not a regular file"),
    "socket as a corpus file": (_socket, "sock.txt", "is a socket, not a regular file"),
    "device as a corpus file": (lambda d: Path(os.devnull), os.devnull, "is a character device, not a regular file"),
    "JSONL whose text is never a string": (_non_string_only, "c.jsonl", "'text' is not a string in any record"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_naming_the_file(tmp_path, case):
    make, named, says = CASES[case]
    given = make(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = tmp_path / "snapshot"
    proc = cli("curate", given, "--out", out, "--num-proc", "1", timeout=180)  # a read that hangs fails the test
    assert proc.returncode == 2, proc.stderr
    lines = console_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and named in lines[0] and says in lines[0] and "Fix: " in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not out.exists() and sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written or removed


def test_inspect_reports_a_missing_corpus_before_loading_the_model(tmp_path):
    # the model does not exist either: the corpus is named, so it was checked first
    proc = cli("inspect", tmp_path / "missing.txt", "--model", "no-such-model", "--out", tmp_path / "p")
    assert proc.returncode == 2
    lines = console_lines(proc.stderr)
    assert len(lines) == 1 and "missing.txt" in lines[0] and "does not exist" in lines[0]

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": words(1)}) + "\n")
    proc = cli("inspect", corpus, "--reference", tmp_path / "general.txt", "--model", "no-such-model", "--out", tmp_path / "p")
    assert proc.returncode == 2 and "general.txt" in proc.stderr and "no-such-model" not in proc.stderr


def test_records_without_text_are_counted_and_said(tmp_path):
    corpus = tmp_path / "notes.jsonl"
    rows = [{"text": words(i) if i % 2 else None} for i in range(10)] + [{"text": "   "}, {"id": "x", "title": "no text"}]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "snap"
    proc = cli("curate", corpus, "--out", out, "--num-proc", "1", "--set", "languages=null", "--set", "near_dedup=false")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in console_lines(proc.stderr) if line.startswith("warning:")]
    assert len(warnings) == 1 and "notes.jsonl" in warnings[0] and "7 record(s) have no text" in warnings[0]
    assert "7 records without text skipped" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["missing_text"] == 7 and manifest["counts"]["removed"]["too_short"] == 0
    assert manifest["counts"]["input_documents"] == 5 and manifest["inputs"][0]["missing_text"] == 7


def test_latin1_bytes_are_said_on_the_console(tmp_path):
    corpus = tmp_path / "legacy.txt"
    corpus.write_bytes(("\n\n\n".join(words(i) + " caf\xe9 na\xefve" for i in range(3))).encode("latin-1"))
    out = tmp_path / "snap"
    proc = cli("curate", corpus, "--out", out, "--num-proc", "1", "--set", "languages=null")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in console_lines(proc.stderr) if line.startswith("warning:")]
    assert len(warnings) == 1, proc.stderr
    assert "legacy.txt" in warnings[0] and "6 byte(s) are not valid UTF-8" in warnings[0] and "iconv" in warnings[0]
    assert json.loads((out / "manifest.json").read_text())["inputs"][0]["replaced_bytes"] == 6


def test_profile_records_missing_text_replaced_bytes_and_units(tmp_path, tiny_tokenizer, capsys):
    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.jsonl").write_text("".join(json.dumps({"text": words(i) if i else None}) + "\n" for i in range(4)))
    (tmp_path / "c" / "b.txt").write_bytes(("\n\n".join(words(10 + i) for i in range(3)) + " caf\xe9").encode("latin-1"))
    profile = profile_corpus(CorpusConfig(paths=[str(tmp_path / "c")], text_unit="paragraph"), tmp_path / "p",
                             progress=False, tokenizer=tiny_tokenizer, num_proc=1)
    assert profile["documents"] == 6 and profile["missing_text"] == 1 and profile["replaced_bytes"] == 1
    inputs = {Path(i["path"]).name: i for i in profile["inputs"]}
    assert inputs["a.jsonl"]["text_unit"] == "record" and inputs["a.jsonl"]["missing_text"] == 1
    assert inputs["b.txt"]["text_unit"] == "paragraph" and inputs["b.txt"]["documents"] == 3
    assert profile["config"]["text_unit"] == "paragraph" and len(profile["warnings"]) == 2
    assert capsys.readouterr().err.count("warning: ") == 2
    report = (tmp_path / "p" / "report.html").read_text()
    assert "paragraph: paragraph 1 file, record 1 file" in report and "are not valid UTF-8" in report


def test_train_and_evaluate_check_their_text_before_the_model(tmp_path, tiny_home):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    run = tmp_path / "run"
    # the model does not exist: the data file is named, so it was checked first, and no run folder was made
    proc = cli("train", "--model", "no-such-model", "--data", empty, "--out", run)
    lines = console_lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1 and "empty.txt is empty" in lines[0], proc.stderr
    assert not run.exists()

    binary = _binary_txt(tmp_path)
    proc = cli("evaluate", "--model", "tiny-llama", "--data", binary, "--out", tmp_path / "eval", home=tiny_home)
    lines = console_lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1 and "scan.txt is not text" in lines[0], proc.stderr
    assert "Loading" not in proc.stderr + proc.stdout and not (tmp_path / "eval").exists()


def _mixed_records(path: Path) -> list[str]:
    """Records whose text is a string, a number, a list, an object, a boolean or null; returns the strings."""
    values = [words(0), 7, words(1), 2.5, ["a", "list"], words(2), {"en": "an object"}, True, None, words(3)]
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": v}) + "\n" for i, v in enumerate(values)))
    return [v for v in values if isinstance(v, str)]


def test_text_that_is_not_a_string_is_skipped_alike_by_curate_inspect_and_training(tmp_path, tiny_tokenizer):
    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus
    from workbench.training.config import TrainConfig
    from workbench.training.data import prepare_data

    corpus = tmp_path / "mixed.jsonl"
    strings = _mixed_records(corpus)
    out = tmp_path / "snap"
    proc = cli("curate", corpus, "--out", out, "--num-proc", "1", "--set", "languages=null", "--set", "near_dedup=false",
               "--set", "eval_fraction=0")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in console_lines(proc.stderr) if line.startswith("warning:")]
    said = "mixed.jsonl: 5 record(s) have a 'text' that is not a string (1 boolean, 1 list, 2 numbers, 1 object; lines 2, 4, 5, 7, 8)"
    assert any(said in w for w in warnings), warnings
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["non_string_text"] == 5 and manifest["counts"]["missing_text"] == 1
    assert manifest["counts"]["input_documents"] == 4 and manifest["inputs"][0]["non_string_lines"] == [2, 4, 5, 7, 8]
    snapshot_texts = [json.loads(line)["text"] for line in (out / "train.jsonl").read_text().splitlines()]
    assert sorted(snapshot_texts) == sorted(strings)  # never "7", "['a', 'list']", "True"

    profile = profile_corpus(CorpusConfig(paths=[str(corpus)]), None, progress=False, tokenizer=tiny_tokenizer, num_proc=1)
    assert profile["documents"] == 4 and profile["non_string_text"] == 5 and any(said in w for w in profile["warnings"])

    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps({"text": t}) + "\n" for t in strings))
    config = dict(max_tokens=1024, block_size=64)
    trained = prepare_data(TrainConfig(data=str(corpus), **config), tiny_tokenizer)
    assert trained.domain_tokens == prepare_data(TrainConfig(data=str(clean), **config), tiny_tokenizer).domain_tokens


def test_curate_and_inspect_split_documents_over_the_limit(tmp_path, tiny_tokenizer):
    from workbench.corpus.config import CorpusConfig
    from workbench.corpus.profile import profile_corpus

    corpus = tmp_path / "long.txt"
    corpus.write_text(words(1) + "\n\n\n" + " ".join(words(i, 60) for i in range(2, 40)))  # a short and a long line
    long_chars = len(" ".join(words(i, 60) for i in range(2, 40)))
    parts = -(-long_chars // 2_000) + 1  # cut at spaces: at most one more than the even division
    out = tmp_path / "snap"
    proc = cli("curate", corpus, "--out", out, "--num-proc", "1", "--set", "languages=null", "--set", "near_dedup=false",
               "--set", "max_document_chars=2000", "--set", "min_words=1")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in console_lines(proc.stderr) if line.startswith("warning:")]
    assert len(warnings) == 1 and "long.txt: 1 document (read by section) over max_document_chars (2,000 characters" in warnings[0]
    manifest = json.loads((out / "manifest.json").read_text())
    counts, read = manifest["counts"], manifest["inputs"][0]
    assert counts["split_documents"] == 1 and read["split_lines"] == [4] and parts - 1 <= read["split_parts"] <= parts
    assert counts["input_documents"] == 1 + read["split_parts"] and manifest["config"]["max_document_chars"] == 2000
    kept = [json.loads(line) for name in ("train.jsonl", "eval.jsonl") for line in (out / name).read_text().splitlines()]
    assert max(len(r["text"]) for r in kept) <= 2000 and {r["id"] for r in kept} >= {"long-1-part1", "long-1-part2"}

    profile = profile_corpus(CorpusConfig(paths=[str(corpus)], max_document_chars=2000), None, progress=False,
                             tokenizer=tiny_tokenizer, num_proc=1)
    assert profile["split_documents"] == 1 and profile["documents"] == counts["input_documents"]
    assert profile["inputs"][0]["split_parts"] == read["split_parts"]

    proc = cli("curate", corpus, "--out", tmp_path / "bad", "--set", "max_document_chars=10")
    lines = console_lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1 and "max_document_chars is 10" in lines[0] and "Fix: " in lines[0]


def test_a_glossary_that_is_a_named_pipe_is_refused_before_it_is_opened(tmp_path):
    """Opening a FIFO for reading waits for a writer for ever: the glossary reader refuses it in one line."""
    import os
    import signal

    from workbench.errors import WorkbenchError
    from workbench.io import read_glossary

    pipe = tmp_path / "glossary.csv"
    os.mkfifo(pipe)
    signal.alarm(10)  # a regression would hang here: fail instead
    try:
        with pytest.raises(WorkbenchError, match="named pipe"):
            read_glossary(pipe)
    finally:
        signal.alarm(0)
