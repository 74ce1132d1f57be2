"""Reader for Climate City Contracts (CCC): Markdown converted from the cities' PDFs.

A CCC Action Plan follows one template of nine modules::

    A-1 greenhouse-gas emissions baseline inventory   B-1 impact pathways / scenarios
    A-2 current policies and strategies               B-2 climate neutrality portfolio design
    A-3 systemic barriers and opportunities           B-3 indicators for monitoring
    C-1 organisational and governance innovation      C-2 social innovation
    C-3 financing of the action portfolio

``read_ccc`` splits a document into passages sized for a sentence-embedding model, each
tagged with the module it belongs to, and reads the A-1 emissions-by-sector table when
that can be done without guessing. A document without any module is an error, or with
``allow_unstructured`` is split at its headings (all ``intro``, no emissions) and marked
``structured=False``. Standard library only; every decision is per line and the regexes
are anchored or run on short strings, so no input can make them backtrack badly.

The steps, one module each (each module's docstring gives its rules):

    clean      characters, inline Markdown/HTML/TeX noise, heading numbering
    lines      Markdown lines -> items (blank, heading, text, table row); running headers
    toc        tables of contents
    headings   what one heading-like line means (module, Investment Plan, part, reset)
    sections   where sections start, from the heading events in order
    collect    paragraphs per section run, and the tables of module A-1
    passages   ``split_passages``: paragraphs packed to about ``target_words``
    table      the A-1 emissions table -> rows, in small steps (with numbers, units, sectors)
    reader     ``read_ccc``: the steps in order
"""

from kg.ingest.ccc.model import CCC_SECTIONS, CccDocument, EmissionsRow, Passage
from kg.ingest.ccc.passages import split_passages
from kg.ingest.ccc.reader import read_ccc

__all__ = [
    "CCC_SECTIONS",
    "CccDocument",
    "EmissionsRow",
    "Passage",
    "read_ccc",
    "split_passages",
]
