"""What a document is in plain text: ``text_unit`` (auto, document, paragraph, line, section) and its warnings."""

import pytest

from workbench.documents.readers import LARGE_DOCUMENT_CHARS, ReadReport, iter_documents, split_text
from workbench.errors import WorkbenchError


def record(i: int, words: int = 12) -> str:
    """A record of distinct words (one block, no blank line inside)."""
    return f"Opinion {i}. " + " ".join(f"w{i}x{k}" for k in range(words)) + "."


def write_records(path, n: int, words: int, separator: str = "\n\n") -> list[str]:
    records = [record(i, words) for i in range(n)]
    path.write_text(separator.join(records) + "\n", encoding="utf-8")
    return records


def test_large_file_of_blank_line_separated_records_reads_as_records(tmp_path):
    # 100 court-opinion-sized records (about 5,300 characters each): one document would be 530,000 characters
    path = tmp_path / "opinions.txt"
    records = write_records(path, 100, words=650)
    assert path.stat().st_size > LARGE_DOCUMENT_CHARS
    report = ReadReport()
    docs = list(iter_documents(path, report=report))
    assert [d.text for d in docs] == records
    assert report.files[str(path)].text_unit == "paragraph"
    assert report.notes() == []  # nothing implausible is left


def test_stray_double_blank_line_does_not_merge_a_large_file_into_two_documents(tmp_path):
    path = tmp_path / "opinions.txt"
    records = [record(i, 650) for i in range(100)]
    path.write_text("\n\n".join(records[:50]) + "\n\n\n" + "\n\n".join(records[50:]), encoding="utf-8")
    assert len(list(iter_documents(path))) == 100


def test_one_document_per_file_stays_one(tmp_path):
    folder = tmp_path / "essays"
    folder.mkdir()
    for i in range(3):
        (folder / f"essay{i}.txt").write_text("\n\n".join(record(10 * i + k, 40) for k in range(12)), encoding="utf-8")
    report = ReadReport()
    docs = list(iter_documents(folder, report=report))
    assert len(docs) == 3 and all(d.text.count("\n\n") == 11 for d in docs)
    assert {f.text_unit for f in report.files.values()} == {"document"}


def test_two_blank_lines_still_separate_documents_by_default(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("first\nstill first\n\n\nsecond\n\nstill second\n \n\t\n\nthird", encoding="utf-8")
    report = ReadReport()
    assert [d.text for d in iter_documents(path, report=report)] == [
        "first\nstill first", "second\n\nstill second", "third"]
    assert report.files[str(path)].text_unit == "section"


@pytest.mark.parametrize("unit, expected", [
    ("document", ["a\nb\n\nc\n\n\nd"]),
    ("paragraph", ["a\nb", "c", "d"]),
    ("line", ["a", "b", "c", "d"]),
    ("section", ["a\nb\n\nc", "d"]),
    ("auto", ["a\nb\n\nc", "d"]),
])
def test_every_unit(unit, expected):
    assert split_text("a\nb\n\nc\n\n\nd\n", unit)[0] == expected


def test_crlf_blank_lines_separate_paragraphs():
    assert split_text("one\r\ntwo\r\n\r\nthree\r\n", "paragraph") == (["one\r\ntwo", "three"], "paragraph")


def test_line_unit_on_a_text_file(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("alpha beta\n\ngamma delta\nepsilon\n", encoding="utf-8")
    report = ReadReport("line")
    assert [d.text for d in iter_documents(path, text_unit="line", report=report)] == ["alpha beta", "gamma delta", "epsilon"]
    assert report.files[str(path)].text_unit == "line"


def test_unknown_unit_is_a_user_error(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="text_unit is 'sentence'.*auto, document, paragraph, line"):
        list(iter_documents(path, text_unit="sentence"))


def test_config_rejects_unknown_unit():
    from workbench.corpus.config import CorpusConfig, CurateConfig
    from workbench.evaluation.config import EvalConfig
    from workbench.training.config import TrainConfig

    for cls in (CorpusConfig, CurateConfig, TrainConfig, EvalConfig):
        assert cls().text_unit == "auto"
        with pytest.raises(WorkbenchError, match="text_unit"):
            cls(text_unit="sentences")


def test_implausibly_large_document_is_warned_naming_the_option(tmp_path, capsys):
    path = tmp_path / "book.txt"
    write_records(path, 100, words=650)
    docs = list(iter_documents(path, text_unit="document"))
    assert [d.id for d in docs] == ["book-0-part1", "book-0-part2"]  # over max_document_chars: split
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: ") and str(path) in err[0] and "--text-unit paragraph" in err[0]
    assert "max_document_chars" in err[0]

    docs = list(iter_documents(path, text_unit="document", max_document_chars=600_000))
    assert len(docs) == 1  # under a raised limit: kept whole, and still warned about as implausible
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "implausibly large" in err[0] and "--text-unit paragraph" in err[0]


def test_auto_warns_about_a_large_file_without_blank_lines(tmp_path, capsys):
    path = tmp_path / "lines.txt"
    write_records(path, 100, words=650, separator="\n")
    assert len(list(iter_documents(path))) == 2  # one document, over max_document_chars: two parts
    err = capsys.readouterr().err
    assert str(path) in err and "--text-unit line" in err


def test_a_corpus_of_one_document_with_many_paragraphs_gets_a_hint(tmp_path, capsys):
    path = tmp_path / "small_records.txt"
    write_records(path, 30, words=20)
    assert len(list(iter_documents(path))) == 1  # small: read as one document, the rule stays predictable
    err = capsys.readouterr().err
    assert "30 blank-line-separated paragraphs" in err and "--text-unit paragraph" in err
    assert len(list(iter_documents(path, text_unit="paragraph"))) == 30


def test_pdf_text_follows_the_unit(tmp_path):
    from test_readers import _pdf_bytes

    path = tmp_path / "f.pdf"
    path.write_bytes(_pdf_bytes("Warfarin inhibits VKORC1"))
    assert [d.id for d in iter_documents(path)] == ["f"]
    assert [d.id for d in iter_documents(path, text_unit="line")] == ["f-0"]


def test_auto_keeps_pdf_text_whole_despite_double_blank_lines():
    text = "Title\n\n\nAbstract text.\n\nBody text."
    assert split_text(text, "auto", sections=False) == ([text], "document")
    assert split_text(text, "section", sections=False)[0] == ["Title", "Abstract text.\n\nBody text."]


def test_large_file_of_many_sections_keeps_its_sections(tmp_path):
    path = tmp_path / "chapters.txt"
    chapters = ["\n\n".join(record(10 * c + k, 1100) for k in range(3)) for c in range(20)]
    path.write_text("\n\n\n".join(chapters), encoding="utf-8")
    assert path.stat().st_size > LARGE_DOCUMENT_CHARS
    report = ReadReport()
    assert [d.text for d in iter_documents(path, report=report)] == chapters
    assert report.files[str(path)].text_unit == "section"
