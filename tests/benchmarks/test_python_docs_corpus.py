"""The public-domain-style corpus builder of the strategy benchmarks, on hand-made Sphinx pages."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("python_docs", ROOT / "benchmarks" / "corpora" / "python_docs.py")
python_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(python_docs)

PAGE = """<html><body><div class="sphinxsidebar">Navigation words</div>
<div class="body" role="main"><section id="m"><h1>json &#8212; JSON<a class="headerlink" href="#m">\u00b6</a></h1>
<p>Intro of the page.</p>
<section id="a"><h2>Basic use<a class="headerlink" href="#a">\u00b6</a></h2><p>First &amp; second
 paragraph.</p><div class="highlight"><pre>json.dumps([1, 2])</pre></div></section>
<section id="b"><h2>Encoders</h2><p>Encoder text.</p><section id="c"><h3>Sub</h3><p>Nested part.</p></section></section>
</section></div><div class="footer">Copyright</div></body></html>"""

GLOSSARY = """<div role="main"><dl class="glossary">
<dt id="term-0"><code>&gt;&gt;&gt;</code><a class="headerlink" href="#term-0">\u00b6</a></dt><dd><p>The prompt.</p></dd>
<dt id="term-abc">abstract base class<a class="headerlink" href="#t">\u00b6</a></dt><dd><p>Defines
 interfaces.</p><dl><dt>inner</dt><dd>not a term</dd></dl></dd>
<dt id="term-gil">global interpreter lock</dt><dd><p>A lock.</p></dd></dl></div>"""


def test_sections_under_the_title_become_documents_with_their_text_as_shown():
    parser = python_docs._Sections()
    parser.feed(PAGE)
    assert [s["title"] for s in parser.sections] == ["json \u2014 JSON", "json \u2014 JSON: Basic use",
                                                     "json \u2014 JSON: Encoders"]
    assert [s["text"] for s in parser.sections] == [
        "json \u2014 JSON\n\nIntro of the page.",
        "Basic use\n\nFirst & second\nparagraph.\n\njson.dumps([1, 2])",  # no permalink sign, code kept
        "Encoders\n\nEncoder text.\n\nSub\n\nNested part.",  # a subsection stays in its section's document
    ]
    assert all("Navigation" not in s["text"] and "Copyright" not in s["text"] for s in parser.sections)


def test_the_glossary_gives_terms_and_definitions_without_nested_lists_or_prompts():
    parser = python_docs._Glossary()
    parser.feed(GLOSSARY)
    assert parser.pairs[0] == (">>>", "The prompt.")
    assert parser.pairs[1][0] == "abstract base class" and parser.pairs[1][1].startswith("Defines interfaces.")
    assert [t for t, _ in python_docs.glossary_terms(parser.pairs)] == ["abstract base class", "global interpreter lock"]


def test_held_out_pages_share_no_page_with_training_and_long_sections_are_cut():
    pages = {f"library/p{i}": [{"title": f"p{i}", "text": f"p{i} s{j} " * 50} for j in range(3)] for i in range(10)}
    train, held = python_docs.split(pages, eval_docs=4, seed=3)
    assert len(held) == 4 and len({d["page"] for d in held}) == 4
    assert not {d["page"] for d in held} & {d["page"] for d in train}
    assert len(train) == 6 * 3
    assert python_docs.split(pages, eval_docs=4, seed=3) == (train, held)  # seeded
    assert python_docs._cut("a b c\nd e f", 4) == "a b c\nd"
