"""A real, openly licensed domain corpus for the strategy benchmarks: the Python 3.11 documentation.

Source: Debian's ``python3.11-doc`` package (the HTML documentation of CPython 3.11, under the PSF License
Version 2, which allows copying and derived works with the licence notice kept). The package installs
offline from the Debian archive; this script fetches it with ``apt-get download`` unless ``--deb`` names
a copy, and writes, into ``--out``:

- ``train.jsonl`` and ``domain_eval.jsonl``: one document per section (``<section>`` below a page's title)
  of the library reference, language reference, tutorial and HOWTOs, the text as the page shows it
  (code examples kept, permalinks dropped); sections of under ``--min-words`` words are left out and
  long ones cut at ``--max-words``. Whole pages are held out (a seeded choice), so no held-out section
  shares a page with a training section; ``--eval-docs`` sections are kept for the held-out set.
- ``glossary.csv``: the documentation's own glossary (term, definition), for the glossary recipes.
- ``LICENSE.txt``: the licence page of the documentation, as the licence asks.

Usage::

    python benchmarks/corpora/python_docs.py --out /tmp/python-docs
    OMP_NUM_THREADS=1 python benchmarks/adaptation_quality.py --data /tmp/python-docs/train.jsonl \\
        --domain-eval /tmp/python-docs/domain_eval.jsonl --glossary /tmp/python-docs/glossary.csv ...
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import re
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

PACKAGE = "python3.11-doc"
FOLDERS = ("library", "reference", "tutorial", "howto")
SKIP_CLASSES = {"headerlink", "sphinxsidebar", "related", "footer"}


class _Sections(HTMLParser):
    """Text of the main body of a Sphinx page, cut at the sections under the page's title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_main = False
        self.depth = 0  # open tags inside the main body
        self.skip_depth = 0  # >0 while inside a skipped element
        self.section_depth = 0
        self.title = ""
        self.heading: list[str] | None = None
        self.sections: list[dict] = []
        self.current: list[str] = []
        self.current_title = ""

    def _flush(self) -> None:
        text = _clean("".join(self.current))
        if text:
            self.sections.append({"title": self.current_title or self.title, "text": text})
        self.current = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if not self.in_main:
            if attrs.get("role") == "main":
                self.in_main, self.depth = True, 1
            return
        self.depth += 1
        classes = set((attrs.get("class") or "").split())
        if self.skip_depth or classes & SKIP_CLASSES:
            self.skip_depth += 1
            return
        if tag == "section":
            self.section_depth += 1
            if self.section_depth == 2:  # a section under the page's title: a new document
                self._flush()
        if tag in {"h1", "h2"}:
            self.heading = []
        if tag in {"p", "div", "pre", "li", "dt", "dd", "br", "tr", "h1", "h2", "h3", "h4"}:
            self.current.append("\n")

    def handle_endtag(self, tag):
        if not self.in_main:
            return
        self.depth -= 1
        if self.depth == 0:
            self.in_main = False
            self._flush()
            return
        if self.skip_depth:
            self.skip_depth -= 1
            return
        if tag in {"h1", "h2"} and self.heading is not None:
            text = _clean("".join(self.heading))
            if tag == "h1" and not self.title:
                self.title = text
            elif tag == "h2":
                self.current_title = f"{self.title}: {text}" if self.title else text
            self.heading = None
        if tag == "section":
            self.section_depth -= 1
        if tag in {"p", "pre", "li", "dd", "h1", "h2", "h3", "h4"}:
            self.current.append("\n")

    def handle_data(self, data):
        if not self.in_main or self.skip_depth:
            return
        self.current.append(data)
        if self.heading is not None:
            self.heading.append(data)


def _clean(text: str) -> str:
    text = html.unescape(text).replace("\u00b6", "")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Glossary(HTMLParser):
    """``(term, definition)`` pairs of a Sphinx ``<dl class="glossary">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_glossary = 0
        self.field: str | None = None
        self.skip = 0
        self.term: list[str] = []
        self.definition: list[str] = []
        self.pairs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "dl" and "glossary" in (attrs.get("class") or "").split():
            self.in_glossary = 1
            return
        if not self.in_glossary:
            return
        if tag == "dl":
            self.in_glossary += 1
        if "headerlink" in (attrs.get("class") or "").split():
            self.skip += 1
        elif self.skip:
            self.skip += 1
        if self.in_glossary == 1 and tag == "dt":
            self._emit()
            self.field, self.term = "term", []
        elif self.in_glossary == 1 and tag == "dd":
            self.field, self.definition = "definition", []

    def handle_endtag(self, tag):
        if not self.in_glossary:
            return
        if self.skip:
            self.skip -= 1
            return
        if tag == "dl":
            self.in_glossary -= 1
            if not self.in_glossary:
                self._emit()

    def handle_data(self, data):
        if self.in_glossary and not self.skip and self.field:
            (self.term if self.field == "term" else self.definition).append(data)

    def _emit(self):
        term, definition = _clean("".join(self.term)), " ".join(_clean("".join(self.definition)).split())
        if term and definition and self.field == "definition":
            self.pairs.append((term, definition))
        self.term, self.definition, self.field = [], [], None


def glossary_terms(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs whose term is words a text can use (not the ``>>>`` and ``...`` prompts)."""
    return [(t, d) for t, d in pairs if re.fullmatch(r"[\w .'-]+", t) and re.search(r"[A-Za-z]", t)]


def fetch_deb(folder: Path) -> Path:
    """``apt-get download`` the package into ``folder`` (Debian's archive, no other network)."""
    subprocess.run(["apt-get", "download", PACKAGE], cwd=folder, check=True, capture_output=True)
    return next(folder.glob(f"{PACKAGE}_*.deb"))


def extract(deb: Path, folder: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True)
    html_root = next(folder.glob("usr/share/doc/python3*/html"))
    return html_root


def sections(html_root: Path, min_words: int, max_words: int) -> dict[str, list[dict]]:
    """Documents by page: ``{"library/json": [{"title", "text"}, ...]}``."""
    pages = {}
    for name in FOLDERS:
        for path in sorted((html_root / name).glob("*.html")):
            if path.stem in {"index"}:
                continue
            parser = _Sections()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            docs = []
            for s in parser.sections:
                words = s["text"].split()
                if len(words) < min_words:
                    continue
                text = s["text"] if len(words) <= max_words else _cut(s["text"], max_words)
                docs.append({"title": s["title"], "text": text})
            if docs:
                pages[f"{name}/{path.stem}"] = docs
    return pages


def _cut(text: str, max_words: int) -> str:
    """The first ``max_words`` words of ``text``, its line breaks kept."""
    out, count = [], 0
    for line in text.split("\n"):
        words = line.split()
        if count + len(words) > max_words:
            out.append(" ".join(words[: max_words - count]))
            break
        out.append(line)
        count += len(words)
    return "\n".join(out).strip()


def split(pages: dict[str, list[dict]], eval_docs: int, seed: int) -> tuple[list[dict], list[dict]]:
    """Whole pages held out in a seeded order until ``eval_docs`` sections are held out (one per page at
    most, so the held-out set spreads over the documentation); every section of the other pages trains."""
    def rank(page: str) -> str:
        return hashlib.sha256(f"{seed}:{page}".encode()).hexdigest()

    held, train = [], []
    for page in sorted(pages, key=rank):
        docs = [{"id": f"{page}#{i}", "page": page, **d} for i, d in enumerate(pages[page])]
        if len(held) < eval_docs:
            held.append(docs[int(rank(page + ":pick"), 16) % len(docs)])  # the page's other sections are dropped
        else:
            train.extend(docs)
    return train, sorted(held, key=lambda d: d["id"])


def write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for train.jsonl, domain_eval.jsonl, glossary.csv")
    parser.add_argument("--deb", default=None, help=f"a downloaded {PACKAGE} .deb (default: apt-get download it)")
    parser.add_argument("--eval-docs", type=int, default=24)
    parser.add_argument("--min-words", type=int, default=80)
    parser.add_argument("--max-words", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        deb = Path(args.deb) if args.deb else fetch_deb(Path(tmp))
        html_root = extract(deb, Path(tmp) / "x")
        pages = sections(html_root, args.min_words, args.max_words)
        train, held = split(pages, args.eval_docs, args.seed)
        glossary = _Glossary()
        glossary.feed((html_root / "glossary.html").read_text(encoding="utf-8"))
        licence = _Sections()
        licence.feed((html_root / "license.html").read_text(encoding="utf-8"))
    write_jsonl(out / "train.jsonl", train)
    write_jsonl(out / "domain_eval.jsonl", held)
    terms = glossary_terms(glossary.pairs)
    with (out / "glossary.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["term", "definition", "category"])
        writer.writerows([term, definition, "python"] for term, definition in terms)
    (out / "LICENSE.txt").write_text("\n\n".join(s["text"] for s in licence.sections) + "\n", encoding="utf-8")
    words = sum(len(d["text"].split()) for d in train)
    print(f"{len(train)} training sections ({words:,} words) from {len(pages) - len(held)} pages; "
          f"{len(held)} held-out sections from as many pages; {len(terms)} glossary terms; "
          f"written to {out}")


if __name__ == "__main__":
    main()
