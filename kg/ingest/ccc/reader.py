"""``read_ccc``: one file -> a ``CccDocument``, running the steps in order (load, lines, TOC,
sections, paragraphs and tables, passages, emissions)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from kg.errors import InputError
from kg.ingest.ccc.clean import has_words
from kg.ingest.ccc.collect import collect
from kg.ingest.ccc.lines import tokenise
from kg.ingest.ccc.model import CccDocument, Passage
from kg.ingest.ccc.passages import split_passages
from kg.ingest.ccc.sections import find_sections, heading_sections
from kg.ingest.ccc.table import emissions
from kg.ingest.ccc.toc import mark_toc


def _load(path: Path) -> str:
    if not path.exists():
        raise InputError("file not found", path=str(path))
    if not path.is_file():
        raise InputError("not a file", path=str(path))
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror or e})", path=str(path)) from e
    if not data.strip():
        raise InputError("empty file", path=str(path))
    if b"\x00" in data:
        raise InputError("binary file (contains NUL bytes), expected Markdown text", path=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"binary file or not UTF-8 text (undecodable byte at offset {e.start})", path=str(path)
        ) from e


def read_ccc(path: str | Path, *, target_words: int = 120, max_words: int = 200,
             allow_unstructured: bool = False) -> CccDocument:
    """Read one CCC Markdown file into module-tagged passages and A-1 emission rows.

    Raises ``InputError`` (message naming the file) when the file is missing, empty,
    binary / not UTF-8, or has no recognisable Action Plan module (A-1 ... C-3). With
    ``allow_unstructured``, a document without modules is read instead as passages split
    by its headings (section ``intro``, no emissions) and marked ``structured=False``; it
    is still an error when that gives no passage at all."""
    p = Path(path)
    items = tokenise(_load(p))
    mark_toc(items)
    # short lines repeated on many pages: running headers and footers
    freq = Counter(it.text.lower() for it in items if it.kind in ("text", "head") and len(it.text) < 90)
    section_at, sections = find_sections(items, freq)
    structured = bool(sections)
    if not structured:
        if not allow_unstructured:
            raise InputError("no Climate City Contract modules (A-1 ... C-3) found", path=str(p))
        section_at = heading_sections(items, freq)
    runs, tables = collect(items, section_at, freq)

    passages: list[Passage] = []
    seen: set[str] = set()
    for sec, title, pars in runs:
        if not pars:
            continue
        for chunk in split_passages("\n\n".join(pars), target_words=target_words, max_words=max_words):
            if chunk.count(" ") < 7 or not has_words(chunk, 5) or chunk in seen:
                continue  # a fragment, mostly numbers, or the same text again
            seen.add(chunk)
            passages.append(Passage(sec, title, len(passages), chunk))
    if not structured and not passages:
        raise InputError("no Climate City Contract modules (A-1 ... C-3) and no passage of text found",
                         path=str(p))
    return CccDocument(
        path=str(p),
        sections=tuple(sections),
        passages=tuple(passages),
        emissions=tuple(emissions(tables)) if structured else (),
        structured=structured,
    )
