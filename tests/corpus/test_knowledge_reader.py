"""The glossary/ontology reader: CSV, SKOS-like YAML and OBO read into the same concepts, and errors that
name the file, the line and the column."""

from __future__ import annotations

import pytest

from workbench.documents.glossary import Concept, read_knowledge
from workbench.errors import WorkbenchError

OBO = """format-version: 1.4
ontology: tiny

[Term]
id: TX:0001
name: anticoagulant
def: "A drug that slows clotting." [TX:curator]

[Term]
id: TX:0002
name: warfarin
def: "An oral vitamin K antagonist, said \\"war-far-in\\"." []
synonym: "coumadin" EXACT []
is_a: TX:0001 ! anticoagulant
relationship: monitored_by TX:0003 ! INR

[Term]
id: TX:0003
name: INR
synonym: "international normalised ratio" EXACT []

[Term]
id: TX:0004
name: old thing
is_obsolete: true

[Typedef]
id: monitored_by
name: monitored by
"""


def test_a_glossary_csv_reads_terms_definitions_and_the_sample_category(sample_dir):
    concepts = read_knowledge(sample_dir / "glossary.csv")
    assert len(concepts) == 253
    first = concepts[0]
    assert (first.term, first.category, first.line) == ("amiodarone", "drug", 2)
    assert first.definition.startswith("A highly lipophilic class III antiarrhythmic")
    assert first.broader == first.synonyms == first.related == ()


def test_skos_like_csv_cells_hold_several_values(tmp_path):
    path = tmp_path / "onto.csv"
    path.write_text('term,definition,broader,synonyms,related\n'
                    'warfarin,"An anticoagulant, taken by mouth.",anticoagulant,coumadin | Marevan,INR; VKORC1\n'
                    '\n'
                    'INR,,,international normalised ratio,\n', encoding="utf-8")
    concepts = read_knowledge(path)
    assert concepts[0] == Concept("warfarin", "An anticoagulant, taken by mouth.", ("anticoagulant",),
                                  ("coumadin", "Marevan"), ("INR", "VKORC1"), line=2)
    assert concepts[1].term == "INR" and concepts[1].line == 4 and concepts[1].definition == ""


def test_the_sample_ontology_yaml_has_relations(sample_dir):
    concepts = {c.term: c for c in read_knowledge(sample_dir / "ontology.yaml")}
    assert len(concepts) == 20
    assert concepts["warfarin"].broader == ("vitamin K antagonist",)
    assert concepts["direct oral anticoagulant"].synonyms == ("DOAC",)
    assert concepts["apixaban"].related == ("andexanet alfa",)
    assert concepts["anticoagulant"].line == 4


def test_yaml_as_a_mapping_from_term_to_entry(tmp_path):
    path = tmp_path / "onto.yml"
    path.write_text("warfarin:\n  definition: An anticoagulant.\n  synonyms: coumadin\nINR: A clotting test.\n",
                    encoding="utf-8")
    concepts = read_knowledge(path)
    assert [(c.term, c.definition, c.synonyms) for c in concepts] == [
        ("warfarin", "An anticoagulant.", ("coumadin",)), ("INR", "A clotting test.", ())]


def test_obo_stanzas_resolve_ids_to_names_and_skip_obsolete_terms(tmp_path):
    path = tmp_path / "tiny.obo"
    path.write_text(OBO, encoding="utf-8")
    concepts = {c.term: c for c in read_knowledge(path)}
    assert set(concepts) == {"anticoagulant", "warfarin", "INR"}
    warfarin = concepts["warfarin"]
    assert warfarin.definition == 'An oral vitamin K antagonist, said "war-far-in".'
    assert warfarin.synonyms == ("coumadin",) and warfarin.broader == ("anticoagulant",)
    assert warfarin.related == ("INR",) and warfarin.line == 9 and warfarin.extra["id"] == "TX:0002"
    assert concepts["INR"].definition == "" and concepts["INR"].synonyms == ("international normalised ratio",)


@pytest.mark.parametrize("name, text, expected", [
    ("g.csv", "term,definition\nwarfarin,a, b\n", "line 2 has 3 columns, the header 2 (column 3"),
    ("g.csv", "term,definition\n,An orphan definition.\n", "line 2 column 1 ('term') is empty"),
    ("g.csv", "term\nwarfarin\nheparin\nWarfarin\n", "line 4: the term 'Warfarin' is already defined on line 2"),
    ("g.yaml", "- term: warfarin\n  definition: [unclosed\n", "line 3 column 1 is not valid YAML"),
    ("g.yaml", "- term: warfarin\n- definiton: typo\n", "line 2: unknown key 'definiton'"),
    ("g.yaml", "- term: warfarin\n  broader: {a: b}\n", "line 1: 'broader' of 'warfarin' is not a term"),
    ("g.obo", "[Term]\nid: X:1\nname: a\ndef: no quotes\n", "line 4: the def value does not start with a quoted"),
    ("g.obo", "[Term]\nid: X:1\nthis line has no tag\n", "line 3 column 1"),
    ("g.obo", "[Term]\nname: a\n", "line 1: the [Term] stanza has no 'id:' line"),
    ("g.txt", "warfarin\n", "has the suffix '.txt', which is no glossary format"),
    ("g.csv", "", "is empty"),
])
def test_errors_name_the_file_line_and_column(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkbenchError) as info:
        read_knowledge(path)
    assert expected in str(info.value) and str(path) in str(info.value)


def test_non_utf8_names_its_line(tmp_path):
    path = tmp_path / "g.csv"
    path.write_bytes(b"term\nwarfarin\nheparin \xff\n")
    with pytest.raises(WorkbenchError, match="line 3 is not UTF-8"):
        read_knowledge(path)
