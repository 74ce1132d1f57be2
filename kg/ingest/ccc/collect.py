"""Items -> cleaned paragraphs per section run, and the tables of module A-1.

Running headers and footers, page numbers, image placeholders, HTML/TeX markup,
NetZeroCities template boilerplate and TOC lines are dropped. Table rows are kept as
"cell | cell" text when they carry words; bare numbers and column labels ("Scope 1",
"Total") are dropped from them. Sub-headings are kept as the first sentence of the
paragraph they introduce.
"""

from __future__ import annotations

import re
from collections import Counter

from kg.ingest.ccc.clean import LETTER_RE, NOISE_LINE_RE, has_words, strip_numbering
from kg.ingest.ccc.lines import Item, is_running_line
from kg.ingest.ccc.model import INTRO

_TEMPLATE_PAR_RE = re.compile(r'^Module [ABC]-[123] ["“]')


# NetZeroCities template lines that every CCC repeats: they say nothing about the city
_BOILERPLATE_RE = re.compile(
    r"(?i)^(?:(?:net ?zero ?cities )?eu mission platform \| climate neutral and smart cities|"
    r"net ?zero ?cities$|"
    r"the content of this document reflects only the author|"
    r"net ?zero ?cities has received funding|"
    r"this section should draw any necessary conclusions|"
    r"the list of abbreviations and acronyms identifies|"
    r"(?:is|does) the (?:indicator|data source) [^|]{0,120}\? \| (?:yes|no|local|regional|national)\b|"
    r"other indicator systems using this indicator$|"
    r"\(?(?:fill out|please (?:specify|indicate|describe|list|fill))\b)"
)
_NUMERIC_CELL_RE = re.compile(r"^[-+~<>≈]?\s?[€$£]?\s?[\d\s.,%'/()+-]*[€$£%]?$")
_NUMERIC_START = frozenset("0123456789-+~<>≈€$£.,%('/ ")
# header cells that only name a column of numbers
_LABEL_CELL_RE = re.compile(r"(?i)^(?:scope ?\d\*?|total|sum|% of total|share|unit|base ?year|year|20\d\d)$")


def _table_row_text(text: str) -> str | None:
    """A table row as text when it carries words; numeric-only rows are dropped."""
    cells: list[str] = []
    numbers = 0
    for c in text.split(" | "):
        c = c.strip()
        if not c:
            continue
        if c[0] in _NUMERIC_START and _NUMERIC_CELL_RE.match(c):
            numbers += 1  # a bare number: noise for semantic search
            continue
        if c in ("x", "X", "N/A", "n/a", "n.a.") or (len(c) <= 12 and _LABEL_CELL_RE.match(c)):
            continue  # a tick or a column label
        if c not in cells:
            cells.append(c)
    if not cells or (numbers and len(cells) == 1 and len(cells[0].split()) <= 8):
        return None  # "Transport | 123 | 456": a label and its numbers
    row = " | ".join(cells)
    if not has_words(row, 3) or _BOILERPLATE_RE.match(row):
        return None
    return row


_A1_TABLE_TITLE_RE = re.compile(r"(?i)^(?:table\s*)?[A-Z]{1,2}[-.]?\d+(?:\.\d+)*[a-z]?\b")


Run = tuple[str, str, list[str]]             # (section, title, paragraphs)
Table = tuple[list[str], list[str]]          # (rows "a | b | c", caption lines)


class _Paragraphs:
    """Paragraphs per section run. Lines join into a paragraph until a blank line, a
    heading, or a switch between text and table rows; sub-headings wait for the paragraph
    they introduce."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.section, self.title = INTRO, ""
        self.pars: list[str] = []
        self.buf: list[str] = []           # lines of the paragraph being built
        self.buf_table = False
        self.pending_head: list[str] = []  # sub-headings waiting for their paragraph

    def flush(self) -> None:
        if self.buf:
            sep = "\n" if self.buf_table else " "
            body = sep.join(self.buf)
            if self.pending_head:
                body = " ".join(self.pending_head) + sep + body
                self.pending_head.clear()
            if not _TEMPLATE_PAR_RE.match(body):
                self.pars.append(body)
        self.buf, self.buf_table = [], False

    def _flush_headings(self) -> None:
        if self.pending_head:
            self.pars.append(" ".join(self.pending_head))
            self.pending_head.clear()

    def start(self, section: tuple[str, str]) -> None:
        self.flush()
        self._flush_headings()
        if section != (self.section, self.title):  # ("Part A" text runs on into A-1)
            self.runs.append((self.section, self.title, self.pars))
            self.pars = []
            self.section, self.title = section

    def table_row(self, row: str) -> None:
        if self.buf and not self.buf_table:
            self.flush()
        self.buf_table = True
        self.buf.append(row)

    def heading(self, item: Item) -> None:
        self.flush()
        h = strip_numbering(item.text)
        if item.event is not None and item.event.kind == "mod" and len(h.split()) <= 3:
            return  # a bare "Module A-2" repeated carries no words
        self.pending_head.append(h if h[-1:] in (".", ":", "!", "?") else h + ".")

    def line(self, text: str) -> None:
        if self.buf_table:
            self.flush()
        self.buf.append(text)

    def finish(self) -> list[Run]:
        self.flush()
        self._flush_headings()
        self.runs.append((self.section, self.title, self.pars))
        return self.runs


class _A1Tables:
    """The tables of module A-1, each with the last line above it as its caption."""

    def __init__(self) -> None:
        self.tables: list[Table] = []
        self.context: list[str] = []
        self.rows: list[str] = []

    def flush(self) -> None:
        if self.rows:
            self.tables.append((self.rows, [c for c in self.context[-1:] if len(c.split()) <= 30]))
            self.rows = []

    def start(self, heading: str) -> None:
        self.flush()
        self.context = [heading]

    def row(self, text: str) -> None:
        filled = [c for c in text.split(" | ") if c.strip()]
        if (len(self.rows) >= 2 and len(filled) == 1 and LETTER_RE.search(filled[0])
                and _A1_TABLE_TITLE_RE.match(filled[0])):
            self.context = []  # "A-1.4: GHG emissions ...": a new table glued to the last
            self.flush()
        self.rows.append(text)

    def other(self, item: Item) -> None:
        self.flush()
        if item.kind != "blank" and not item.toc:
            self.context.append(item.text)


def _is_noise(item: Item, freq: Counter[str]) -> bool:
    """A TOC line, running header or footer, page number, stray mark, or boilerplate."""
    t = item.text
    return bool(item.toc or is_running_line(t, freq) or NOISE_LINE_RE.match(t)
                or (len(t) <= 3 and " " not in t) or _BOILERPLATE_RE.match(t))


def collect(items: list[Item], section_at: dict[int, tuple[str, str]], freq: Counter[str]
            ) -> tuple[list[Run], list[Table]]:
    """Cleaned paragraphs per section run, and the tables of module A-1 with their captions."""
    pars = _Paragraphs()
    a1 = _A1Tables()
    for idx, it in enumerate(items):
        if idx in section_at:
            pars.start(section_at[idx])
            a1.start(it.text)
            continue
        if it.kind == "table":
            if pars.section == "A-1" and not it.toc:
                a1.row(it.text)
            row = _table_row_text(it.text)
            if row is not None:
                pars.table_row(row)
            continue
        if pars.section == "A-1":
            a1.other(it)
        if it.kind == "blank":
            pars.flush()
        elif _is_noise(it, freq):
            continue
        elif it.kind == "head" or it.level == 8:
            pars.heading(it)
        else:
            pars.line(it.text)
    runs = pars.finish()
    a1.flush()
    return runs, a1.tables
