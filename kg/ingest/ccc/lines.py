"""Markdown lines as items: blank, heading (Markdown or bold-only line), text, table row.
Also the test for running headers and footers (short lines seen on many pages)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from kg.ingest.ccc.clean import NOISE_LINE_RE, clean_inline, normalise_chars
from kg.ingest.ccc.headings import Event

_HTML_ROW_RE = re.compile(r"</tr\s*>", re.I)
_HTML_CELL_RE = re.compile(r"<t[dh][^<>]{0,200}>", re.I)


_TABLE_SEP_RE = re.compile(r"^\|?[\s:|-]*-[\s:|-]*\|?$")
_BOLD_LINE_RE = re.compile(r"^\*\*(.{2,200}?)\*\*:?$")


@dataclass
class Item:
    kind: str            # "blank", "head", "text", "table"
    text: str            # cleaned text (table: cells joined by " | ")
    level: int = 0       # heading level; 7 for bold lines, 8 for plain module lines
    toc: bool = False
    event: Event | None = None


def tokenise(text: str) -> list[Item]:
    text = normalise_chars(text)
    if "<t" in text or "<T" in text:  # HTML tables to pipe rows
        text = _HTML_ROW_RE.sub("|\n", text)
        text = _HTML_CELL_RE.sub("| ", text)
    lines = text.split("\n")
    pipe = [("|" in ln) for ln in lines]
    items: list[Item] = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            items.append(Item("blank", ""))
            continue
        if pipe[i] and (s.startswith("|") or (i > 0 and pipe[i - 1])
                        or (i + 1 < len(lines) and pipe[i + 1])):
            if _TABLE_SEP_RE.match(s):
                continue
            cells = [" ".join(c.split()) for c in clean_inline(s).strip("|").split("|")]
            items.append(Item("table", " | ".join(cells)))
            continue
        if s.startswith("#"):
            level = len(s) - len(s.lstrip("#"))
            t = clean_inline(s.lstrip("#"))
            if not t or NOISE_LINE_RE.match(t):
                items.append(Item("blank", ""))
                continue
            items.append(Item("head", t, level=min(level, 6)))
            continue
        m = _BOLD_LINE_RE.match(s)
        if m and len(s) < 160:
            t = clean_inline(m.group(1))
            if t and not NOISE_LINE_RE.match(t):
                items.append(Item("head", t, level=7))
                continue
        items.append(Item("text", clean_inline(s)))
    return items


def is_running_line(text: str, freq: Counter[str]) -> bool:
    """A short line seen on many pages: a running header or footer."""
    return len(text) < 90 and freq[text.lower()] >= 4 and text.count(" ") < 12
