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


def collect(
    items: list[Item], section_at: dict[int, tuple[str, str]], freq: Counter[str]
) -> tuple[list[tuple[str, str, list[str]]], list[tuple[list[str], list[str]]]]:
    """Cleaned paragraphs per section run, and the tables of module A-1 with their captions."""
    runs: list[tuple[str, str, list[str]]] = []
    cur_sec, cur_title = INTRO, ""
    pars: list[str] = []
    buf: list[str] = []           # lines of the paragraph being built
    buf_table = False
    pending_head: list[str] = []  # sub-headings waiting for their paragraph
    tables: list[tuple[list[str], list[str]]] = []
    a1_context: list[str] = []
    a1_rows: list[str] = []

    def flush_par() -> None:
        nonlocal buf, buf_table
        if buf:
            sep = "\n" if buf_table else " "
            body = sep.join(buf)
            if pending_head:
                body = " ".join(pending_head) + sep + body
                pending_head.clear()
            if not _TEMPLATE_PAR_RE.match(body):
                pars.append(body)
        buf, buf_table = [], False

    def flush_table() -> None:
        nonlocal a1_rows
        if a1_rows:
            tables.append((a1_rows, [c for c in a1_context[-1:] if len(c.split()) <= 30]))
            a1_rows = []

    for idx, it in enumerate(items):
        if idx in section_at:
            flush_par()
            flush_table()
            if pending_head:
                pars.append(" ".join(pending_head))
                pending_head.clear()
            if section_at[idx] != (cur_sec, cur_title):  # ("Part A" text runs on into A-1)
                runs.append((cur_sec, cur_title, pars))
                pars = []
                cur_sec, cur_title = section_at[idx]
            a1_context = [it.text]
            continue
        if it.kind == "table":
            if cur_sec == "A-1" and not it.toc:
                filled = [c for c in it.text.split(" | ") if c.strip()]
                if (len(a1_rows) >= 2 and len(filled) == 1 and LETTER_RE.search(filled[0])
                        and _A1_TABLE_TITLE_RE.match(filled[0])):
                    a1_context = []  # "A-1.4: GHG emissions ...": a new table glued to the last
                    flush_table()
                a1_rows.append(it.text)
            row = _table_row_text(it.text)
            if row is not None:
                if buf and not buf_table:
                    flush_par()
                buf_table = True
                buf.append(row)
            continue
        if cur_sec == "A-1":
            flush_table()
            if it.kind != "blank" and not it.toc:
                a1_context.append(it.text)
        if it.kind == "blank":
            flush_par()
            continue
        t = it.text
        if (it.toc or is_running_line(t, freq)
                or NOISE_LINE_RE.match(t) or (len(t) <= 3 and " " not in t) or _BOILERPLATE_RE.match(t)):
            continue
        if it.kind == "head" or it.level == 8:
            flush_par()
            h = strip_numbering(t)
            if it.event is not None and it.event.kind == "mod" and len(h.split()) <= 3:
                continue  # a bare "Module A-2" repeated carries no words
            pending_head.append(h if h[-1:] in (".", ":", "!", "?") else h + ".")
            continue
        if buf_table:
            flush_par()
        buf.append(t)
    flush_par()
    flush_table()
    if pending_head:
        pars.append(" ".join(pending_head))
    runs.append((cur_sec, cur_title, pars))
    return runs, tables
