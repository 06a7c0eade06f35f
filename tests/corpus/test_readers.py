import gzip
import json

import pytest

from workbench.corpus.readers import iter_documents, plan_files
from workbench.corpus.texts import read_snapshot, resolve_training_data
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
