"""The shipped notebooks and ``workbench notebooks DIR``: copied into a folder of the user's choice, an
edited copy never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.notebooks import NOTEBOOKS_DIR, copy_notebooks, shipped_notebooks

REPO = Path(__file__).resolve().parents[2]
NAMES = ["01_inspect_corpus.ipynb", "02_continued_pretraining.ipynb", "03_compare_models.ipynb",
         "04_review_errors.ipynb"]


def test_the_shipped_notebooks_are_the_repository_folder():
    assert NOTEBOOKS_DIR == REPO / "workbench" / "notebooks"
    assert [p.name for p in shipped_notebooks()] == NAMES


def test_copy_into_a_new_folder_then_again_changes_nothing(tmp_path):
    dest = tmp_path / "my" / "notebooks"
    first = copy_notebooks(dest)
    assert [(c.name, c.action) for c in first] == [(n, "copied") for n in NAMES]
    for name in NAMES:
        assert (dest / name).read_bytes() == (NOTEBOOKS_DIR / name).read_bytes()
    again = copy_notebooks(dest)
    assert [c.action for c in again] == ["unchanged"] * 4
    assert sorted(p.name for p in dest.iterdir()) == NAMES


def test_an_edited_copy_is_kept_and_a_fresh_copy_goes_beside_it(tmp_path):
    copy_notebooks(tmp_path)
    edited = tmp_path / NAMES[1]
    edited.write_text('{"cells": [], "mine": true}')
    (tmp_path / NAMES[3]).unlink()  # a deleted notebook comes back
    report = copy_notebooks(tmp_path)
    assert [c.action for c in report] == ["unchanged", "kept", "unchanged", "copied"]
    assert report[1].path == edited and edited.read_text() == '{"cells": [], "mine": true}'
    assert not (tmp_path / "02_continued_pretraining.new.ipynb").exists()

    fresh = copy_notebooks(tmp_path, fresh_copies=True)
    assert [c.action for c in fresh] == ["unchanged", "fresh copy", "unchanged", "unchanged"]
    assert fresh[1].path == tmp_path / "02_continued_pretraining.new.ipynb"
    assert fresh[1].path.read_bytes() == (NOTEBOOKS_DIR / NAMES[1]).read_bytes()
    assert edited.read_text() == '{"cells": [], "mine": true}'


def test_a_file_in_place_of_the_folder_is_a_user_error(tmp_path):
    (tmp_path / "nb").write_text("x")
    with pytest.raises(WorkbenchError, match="is a file, not a folder") as error:
        copy_notebooks(tmp_path / "nb")
    assert "name a folder" in error.value.fix


def test_the_command_names_the_kept_copy_and_how_to_get_a_fresh_one(tmp_path, capsys):
    main(["notebooks", str(tmp_path)])
    assert capsys.readouterr().out.count("copied") == 4
    (tmp_path / NAMES[0]).write_text("{}")
    main(["notebooks", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"kept       {tmp_path / NAMES[0]}" in out
    assert f"1 notebook(s) differ from the shipped ones and were kept: {NAMES[0]}" in out
    assert "--fresh" in out and "jupyter lab" in out
    main(["notebooks", str(tmp_path), "--fresh"])
    assert f"fresh copy {tmp_path / '01_inspect_corpus.new.ipynb'}" in capsys.readouterr().out
