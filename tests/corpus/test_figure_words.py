"""The corpus figures in the expert's words: each line of the Heaps chart named in its legend, each
figure titled as a person writes it ("PII", not "Pii")."""

from workbench.corpus import plots

PROFILE = {
    "heaps": {"points": [[100, 60], [1000, 400], [10000, 2500]], "K": 2.0, "beta": 0.78},
    "tokens_per_word": 1.25,
    "readiness": {"verdict": "too_small", "floor_tokens": 500_000, "saturation_tokens": 50_000_000},
}


def test_the_heaps_charts_red_lines_are_named_in_the_legend():
    fig = plots.vocabulary_growth(PROFILE)
    red = [t for t in fig.data if t.line.color == "#e45756"]
    assert [t.name for t in red] == [
        "500k tokens (400k words): below this, adapting rarely moves perplexity",
        "50M tokens (40M words): around this, new words become rare",
    ]
    assert [list(t.x) for t in red] == [[400_000, 400_000], [40_000_000, 40_000_000]]  # at tokens / tokens-per-word
    assert not fig.layout.shapes  # no unnamed line left


def test_figure_titles_read_as_words():
    assert plots.figure_title("pii") == "PII"
    assert plots.figure_title("vocabulary") == "Vocabulary growth"
    assert plots.figure_title("removal_funnel") == "Removal funnel"
    assert plots.figure_title("something_new") == "Something new"


def test_the_pii_chart_says_which_kinds_were_looked_for():
    fig = plots.pii_counts({"pii": {"email": 2, "phone": 0}, "documents_with_pii": 2, "pii_types": ["email", "phone"]})
    assert fig.layout.title.text == "PII found: 2 documents contain some (looked for: email, phone)"
