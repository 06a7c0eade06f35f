"""Every category comes with its definition and an example: the default ones from the review stage's
settings, a project's own from its taxonomy YAML."""

from __future__ import annotations

from workbench.review.config import DEFAULT_CATEGORIES, DEFAULT_GUIDELINES, DEFAULT_TAXONOMY, Taxonomy


def test_the_default_taxonomy_defines_every_category_with_an_example():
    lines = Taxonomy().guidelines()
    assert [line["category"] for line in lines] == list(DEFAULT_CATEGORIES) == list(DEFAULT_GUIDELINES)
    assert all(line["definition"] and line["example"] for line in lines)
    assert lines[0] == {"key": 1, "category": "terminology", "definition": DEFAULT_GUIDELINES["terminology"][0],
                        "example": DEFAULT_GUIDELINES["terminology"][1]}


def test_the_shipped_yaml_holds_the_same_guidelines():
    shipped = Taxonomy.load(DEFAULT_TAXONOMY)
    assert {n: (shipped.descriptions[n], shipped.examples[n]) for n in shipped.categories} == DEFAULT_GUIDELINES


def test_a_store_holding_categories_only_shows_the_default_guidelines(store):
    store.set_taxonomy(["terminology", "dosage"])  # a list: no text of its own
    lines = store.taxonomy().guidelines()
    assert lines[0]["definition"] == DEFAULT_GUIDELINES["terminology"][0]
    assert lines[1] == {"key": 2, "category": "dosage", "definition": "", "example": ""}


def test_a_project_yaml_gives_definition_and_example(store, tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("categories:\n  dosage:\n    definition: wrong dose or unit\n    example: 50 mg for 5 mg\n"
                    "  citation: a case cited wrongly\n", encoding="utf-8")
    store.set_taxonomy(str(path))
    lines = store.taxonomy().guidelines()
    assert [(x["category"], x["definition"], x["example"]) for x in lines] == [
        ("dosage", "wrong dose or unit", "50 mg for 5 mg"), ("citation", "a case cited wrongly", "")]


def test_a_yaml_category_with_an_unknown_key_is_refused(tmp_path):
    import pytest

    from workbench.errors import WorkbenchError

    path = tmp_path / "taxonomy.yaml"
    path.write_text("categories:\n  dosage:\n    definiton: typo\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="category 'dosage' has the key 'definiton'"):
        Taxonomy.load(path)
