import gzip
import json
import os
import random
import re
import shutil
import tracemalloc
from pathlib import Path

import pytest

from workbench.documents import readers
from workbench.documents.readers import (
    DEFAULT_MAX_DOCUMENT_CHARS,
    ReadReport,
    iter_documents,
    plan_files,
    read_file,
    record_bytes_limit,
)
from workbench.documents.texts import read_snapshot, resolve_training_data
from workbench.errors import WorkbenchError


def _pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF with a text layer (offsets computed, so any reader accepts it)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_every_format_in_a_folder(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("first document\nstill first\n\n\nsecond document\n\nstill second", encoding="utf-8")
    (root / "b.jsonl").write_text(json.dumps({"id": "j1", "text": "jsonl text"}) + "\n", encoding="utf-8")
    (root / "c.csv").write_text('id,body\nc1,"csv text, with comma"\n', encoding="utf-8")
    pq.write_table(pa.table({"body": ["parquet text"], "id": ["p1"]}), root / "sub" / "d.parquet")
    with gzip.open(root / "sub" / "e.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "gzip text"}) + "\n")
    (root / "sub" / "f.pdf").write_bytes(_pdf_bytes("Warfarin inhibits VKORC1"))
    (root / "g.bin").write_bytes(b"\x00\x01\x02binary")
    (root / "h.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")

    plan = plan_files(root)
    assert sorted(s["path"].rsplit("/", 1)[1] for s in plan.skipped) == ["g.bin", "h.png"]
    texts = {d.text for d in iter_documents([root / "a.txt", root / "b.jsonl", root / "sub" / "e.jsonl.gz"])}
    assert texts == {"first document\nstill first", "second document\n\nstill second", "jsonl text", "gzip text"}
    body = {d.id: d.text for d in iter_documents([root / "c.csv", root / "sub" / "d.parquet"], text_field="body")}
    assert body == {"c1": "csv text, with comma", "p1": "parquet text"}
    pdf = list(iter_documents(root / "sub" / "f.pdf"))
    assert len(pdf) == 1 and "Warfarin inhibits VKORC1" in pdf[0].text


def test_non_utf8_bytes_are_replaced_and_counted(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "caf\xe9 and na\xefve"}\n{"text": "clean \xef\xbf\xbd kept"}\n')
    docs = list(iter_documents(path))
    assert docs[0].text == "caf\ufffd and na\ufffdve" and docs[0].replaced == 2
    assert docs[1].replaced == 0  # a U+FFFD that was already in the file is not a replacement


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl"])
def test_missing_text_column_names_the_columns(tmp_path, kind):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"x.{kind}"
    if kind == "csv":
        path.write_text("title,body\na,b\n", encoding="utf-8")
    elif kind == "parquet":
        pq.write_table(pa.table({"title": ["a"], "body": ["b"]}), path)
    else:
        path.write_text(json.dumps({"title": "a", "body": "b"}) + "\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match=r"no 'text' (column|field).*title, body") as info:
        list(iter_documents(path))
    assert "--text-field" in str(info.value)


def test_missing_path_is_one_line_error(tmp_path):
    with pytest.raises(WorkbenchError, match="does not exist"):
        list(iter_documents(tmp_path / "nope"))


def test_snapshot_folder_reads_as_documents(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "train.jsonl").write_text(json.dumps({"id": "a", "text": "train doc", "source": "x"}) + "\n")
    (snap / "eval.jsonl").write_text(json.dumps({"id": "b", "text": "eval doc", "source": "x"}) + "\n")
    (snap / "manifest.json").write_text(json.dumps({"kind": "snapshot", "complete": True}, indent=2))
    assert [d.text for d in iter_documents(snap)] == ["eval doc", "train doc"]
    assert [d.id for d in read_snapshot(snap, "eval")] == ["b"]
    assert resolve_training_data(snap) == (snap / "train.jsonl", snap / "eval.jsonl")


def _whole_text_blocks(text: str, unit: str) -> list[str]:
    """The documents of a small text as splitting it whole gives them (the rule the streamed read must keep)."""
    if unit == "document":
        blocks = [text]
    elif unit == "line":
        blocks = text.splitlines()
    elif unit == "paragraph":
        blocks = re.split(r"\r?\n(?:[ \t\f\v]*\r?\n)+", text)
    else:  # section, and auto on a small file
        blocks = re.split(r"\r?\n(?:[ \t\f\v]*\r?\n){2,}", text)
    return [b for b in (block.strip() for block in blocks) if b]


@pytest.mark.parametrize("unit", ["auto", "document", "paragraph", "line", "section"])
@pytest.mark.parametrize("suffix", [".txt", ".txt.gz"])
def test_text_read_in_small_pieces_gives_the_documents_of_the_whole_text(tmp_path, monkeypatch, unit, suffix):
    # 5-byte pieces cut lines and multi-byte characters (é, 中, an emoji, U+2028) everywhere
    monkeypatch.setattr(readers, "LINE_CHUNK_BYTES", 5)
    rng = random.Random(7)
    alphabet = ["ab", "é", "中", "\U0001F600", " ", "\t", "\n", "\n", "\n", "\r\n", "\u2028", "word "]
    for trial in range(60):
        text = "x" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        path = tmp_path / f"t{trial}{suffix}"
        data = text.encode("utf-8")
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
        assert [d.text for d in iter_documents(path, text_unit=unit)] == _whole_text_blocks(text, unit), repr(text)


def _one_line_file(path, chars: int) -> int:
    """A file of one line of words, about ``chars`` characters; returns its words."""
    chunk = "lorem ipsum dolor sit amet, consectetur adipiscing elit " * 1000  # 8 words, 56 characters each
    with open(path, "w", encoding="utf-8") as handle:
        for _ in range(chars // len(chunk)):
            handle.write(chunk)
    return chars // len(chunk) * 8000


@pytest.mark.parametrize("name", ["one_line.txt", "one_line.txt.gz"])
def test_a_single_line_of_tens_of_megabytes_is_read_in_bounded_memory(tmp_path, name):
    path = tmp_path / name
    plain = tmp_path / "plain.txt"
    words = _one_line_file(plain, 30_000_000)
    size = plain.stat().st_size
    if name.endswith(".gz"):
        with open(plain, "rb") as src, gzip.open(path, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst)
    else:
        plain.rename(path)
    report = ReadReport()
    tracemalloc.start()
    try:
        counted, longest, ids = 0, 0, []
        for doc in iter_documents(path, report=report):
            counted += doc.text.count(" ") + 1  # words: parts are cut at a space and stripped
            longest = max(longest, len(doc.text))
            ids.append(doc.id)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # read whole, the line alone takes the file's size (twice: its bytes and its text); in pieces, a few parts
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB reading a {size / 1e6:.0f} MB line"
    assert counted == words and longest <= DEFAULT_MAX_DOCUMENT_CHARS  # every word kept, every part within the limit
    assert len(ids) == 60 and ids == [f"one_line-0-part{k}" for k in range(1, 61)]
    read = report.files[str(path)]
    assert (read.split_documents, read.split_parts, read.split_lines) == (1, 60, [1])
    assert read.split_largest_chars == size  # the line as it was, before it was split
    [note] = report.notes()
    assert str(path) in note and "max_document_chars (500,000 characters" in note and "split into 60 parts" in note


def test_the_limit_is_a_setting_and_parts_break_at_spaces(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("alpha beta gamma " * 200, encoding="utf-8")  # 3,400 characters
    docs = list(iter_documents(path, max_document_chars=1_000))
    # cut after the last space within each 1,000 characters: no word is broken, none is lost
    assert len(docs) == 4 and all(990 < len(d.text) <= 1_000 for d in docs[:3])
    assert " ".join(d.text for d in docs).split() == ("alpha beta gamma " * 200).split()
    with pytest.raises(WorkbenchError, match="max_document_chars is 10; .*at least 1,000") as info:
        list(iter_documents(path, max_document_chars=10))
    assert info.value.field == "max_document_chars"


def test_config_rejects_a_tiny_document_limit():
    from workbench.corpus.config import CorpusConfig, CurateConfig

    for cls in (CorpusConfig, CurateConfig):
        assert cls().max_document_chars == DEFAULT_MAX_DOCUMENT_CHARS
        with pytest.raises(WorkbenchError) as info:
            cls(max_document_chars=0)
        assert info.value.field == "max_document_chars"
        assert "Max document size is 0" in info.value.one_line({"max_document_chars": "Max document size"})


def test_a_long_record_is_split_and_a_line_over_the_record_limit_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    text = "record words " * 1_000  # 13,000 characters
    path.write_text(json.dumps({"id": "short", "text": "a short one"}) + "\n" + json.dumps({"id": "long", "text": text})
                    + "\n", encoding="utf-8")
    report = ReadReport(max_document_chars=5_000)
    docs = list(iter_documents(path, report=report))
    assert [d.id for d in docs] == ["short", "long-part1", "long-part2", "long-part3"]
    assert " ".join(d.text for d in docs[1:]).split() == text.split()
    read = report.files[str(path)]
    assert (read.split_documents, read.split_parts, read.split_lines) == (1, 3, [2])
    assert "r.jsonl: 1 record over max_document_chars (5,000 characters; the largest 13,000)" in report.notes()[0]

    cap = record_bytes_limit(1_000)
    for name, line in (("r.jsonl", json.dumps({"text": "x" * cap})), ("r.csv", "text\n" + "x" * cap)):
        path = tmp_path / name
        path.write_text(line + "\n", encoding="utf-8")
        with pytest.raises(WorkbenchError, match=rf"{name} line [12] is longer than {cap:,} bytes") as info:
            list(iter_documents(path, max_document_chars=1_000))
        assert info.value.field == "max_document_chars"


NON_STRINGS = {"int": 7, "float": 2.5, "list": ["a", "b"], "dict": {"en": "hello"}, "bool": True}


@pytest.mark.parametrize("kind", list(NON_STRINGS) + ["null"])
def test_jsonl_text_that_is_not_a_string_is_skipped_with_its_lines(tmp_path, kind, capsys):
    value = NON_STRINGS.get(kind)
    path = tmp_path / "c.jsonl"
    rows = [{"text": "first text"}, {"text": value}, {"text": "third text"}, {"text": value}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = ReadReport()
    assert [d.text for d in iter_documents(path, report=report)] == ["first text", "third text"]  # never str(value)
    read = report.files[str(path)]
    if kind == "null":  # no text at all: missing, as before
        assert (read.missing_text, read.non_string_text) == (2, 0)
        return
    expected = {"int": "number", "float": "number", "list": "list", "dict": "object", "bool": "boolean"}[kind]
    assert (read.non_string_text, read.non_string_kinds, read.non_string_lines) == (2, {expected: 2}, [2, 4])
    [note] = report.notes()
    assert f"c.jsonl: 2 record(s) have a 'text' that is not a string (2 {expected}s; lines 2, 4)" in note
    assert report.input_fields(path)["non_string_text"] == 2

    list(iter_documents(path))  # without a report: said on the console
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("warning: ") and "lines 2, 4" in err[0]


def test_jsonl_without_any_string_text_is_refused(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"text": v}) + "\n" for v in NON_STRINGS.values()), encoding="utf-8")
    with pytest.raises(WorkbenchError, match=r"c.jsonl: 'text' is not a string in any record "
                                             r"\(boolean, list, number, object; lines 1, 2, 3, 4, 5\)") as info:
        list(iter_documents(path))
    assert info.value.field == "text_field"


@pytest.mark.parametrize("kind", ["int", "float", "list", "dict", "bool", "bytes"])
def test_parquet_text_column_that_is_not_strings_is_refused(tmp_path, kind):
    import pyarrow as pa
    import pyarrow.parquet as pq

    value = {**NON_STRINGS, "bytes": b"raw"}[kind]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": [value, value]}), path)
    with pytest.raises(WorkbenchError, match=r"t.parquet: column 'text' holds .* values, not strings \(2 rows\)") as info:
        list(iter_documents(path))
    assert info.value.field == "text_field"


def test_parquet_null_text_column_has_no_text(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": pa.array([None, None], pa.null())}), path)
    plan = plan_files(path)
    assert list(iter_documents(path, report=plan.report)) == []
    assert plan.report.files[str(path)].missing_text == 2


def test_only_regular_files_are_read(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("a regular file", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(good)
    assert [d.text for d in iter_documents(link)] == ["a regular file"]  # a link to a regular file is read

    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    pipe_link = tmp_path / "pipe_link.txt"
    pipe_link.symlink_to(pipe)
    for given, kind in ((pipe, "a named pipe"), (pipe_link, "a named pipe"), (Path(os.devnull), "a character device")):
        for read in (lambda p: plan_files(p), lambda p: list(read_file(p))):  # refused before anything is opened
            with pytest.raises(WorkbenchError, match=rf"corpus file {re.escape(str(given))} is {kind}.*, not a regular file"):
                read(given)
    with pytest.raises(WorkbenchError, match="is a folder, not a regular file"):
        list(read_file(tmp_path))

    # inside a folder: skipped and listed, the rest is read
    plan = plan_files(tmp_path)
    assert [f.name for f in plan.files] == ["good.txt", "link.txt"]
    assert {Path(s["path"]).name: s["reason"] for s in plan.skipped} == {
        "pipe.txt": "not a regular file (a named pipe (FIFO))", "pipe_link.txt": "not a regular file (a named pipe (FIFO))"}


def test_a_snapshot_split_that_is_not_a_file_is_refused(tmp_path):
    snap = tmp_path / "snap"
    (snap / "train.jsonl").mkdir(parents=True)
    (snap / "manifest.json").write_text(json.dumps({"kind": "snapshot", "complete": True}))
    with pytest.raises(WorkbenchError, match="train.jsonl is a folder, not a regular file"):
        read_snapshot(snap, "train")
