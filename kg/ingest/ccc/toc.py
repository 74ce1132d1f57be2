"""Tables of contents: the region after a "Table of contents" heading (up to the first prose
line or the first heading it listed) and lines with dot leaders and page numbers."""

from __future__ import annotations

import re

from kg.ingest.ccc.clean import TOC_TAIL_RE, norm_key, strip_numbering
from kg.ingest.ccc.headings import code_of
from kg.ingest.ccc.lines import Item

_TOC_TITLE_RE = re.compile(
    r"^(?:table of contents?|contents?|index|summary of contents|list of (?:figures|tables|"
    r"abbreviations|acronyms|mandatory tables|boxes|maps|graphs|charts)|índice|indice|"
    r"sommaire|table des matières|inhaltsverzeichnis|inhalt|spis treści|sisällys(?:luettelo)?|"
    r"innehåll(?:sförteckning)?|indholdsfortegnelse|innholdsfortegnelse|obsah|tartalom(?:jegyzék)?|"
    r"cuprins|turinys|saturs|sadržaj|kazalo|περιεχόμενα|πίνακας περιεχομένων|içindekiler|"
    r"inhoud(?:sopgave)?|sommario|efnisyfirlit|съдържание)$",
    re.I,
)


def _is_toc_line(s: str) -> bool:
    if s[-1:] not in _TOC_END_CHARS:
        return False
    tail = s[-60:]  # only the tail matters; dot leaders or an underscore rule must be there
    return (".." in tail or "…" in tail or ". ." in tail or "___" in tail) and bool(TOC_TAIL_RE.search(tail))


_TOC_END_CHARS = frozenset("0123456789.…_")


def mark_toc(items: list[Item]) -> None:
    """Flag table-of-contents regions and TOC-looking lines (dot leaders, page numbers)."""
    n = len(items)
    i = 0
    while i < n:
        it = items[i]
        if it.kind in ("head", "text") and len(it.text) < 60 and _TOC_TITLE_RE.match(
            strip_numbering(it.text).rstrip(":").strip()
        ):
            it.toc = True
            seen: set[str] = set()
            codes: set[str] = set()
            j = i + 1
            limit = min(n, i + 400)
            while j < limit:
                jt = items[j]
                if jt.kind == "blank":
                    j += 1
                    continue
                words = jt.text.count(" ") + 1
                if jt.kind == "text" and words >= 22 and not _is_toc_line(jt.text):
                    break
                key = norm_key(jt.text)
                if jt.kind == "head" and key and key in seen and not _is_toc_line(jt.text):
                    break  # a heading the TOC listed: the body starts here
                if jt.kind == "head" and _TOC_TITLE_RE.match(strip_numbering(jt.text).rstrip(":")):
                    jt.toc = True
                    j += 1
                    continue
                code = code_of(jt.text)
                if code and jt.kind == "head" and code in codes and not _is_toc_line(jt.text):
                    break
                if code:
                    codes.add(code)
                if key:
                    seen.add(key)
                jt.toc = True
                j += 1
            i = j
            continue
        if it.kind in ("head", "text") and _is_toc_line(it.text):
            it.toc = True
        i += 1
