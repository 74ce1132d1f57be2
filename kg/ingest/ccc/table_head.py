"""The head of an A-1 table: its cells, its title, the header / unit / year rows, and the
columns that hold tonnes for a base year.

The title is the table's own first row when that is one text cell, else the caption-like
line above. A projection, BAU, target, activity or emission-factor table is refused by its
title or year row; the title or a unit cell must speak of emissions / GHG / CO2. The unit
of a column comes from a "Unit" row (or a row of units only), else its header cell, else
the title. A column holds values when its header says "Total" or "Scope n" and its unit
is a mass of CO2(e); each base year gives a block of such columns, and years from 2025 on
(projections) give none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kg.ingest.ccc.numbers import looks_numeric
from kg.ingest.ccc.units import PER_RE, unit_factor

YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")
# a "Total" column header ("Total", "Total [t CO2e]"), not "Total by scope"
TOTAL_COL_RE = re.compile(
    r"(?i)^(?:total|sum|totale?|gesamt|summe)(?: emissions?| ghg(?: emissions)?)?\s*(?:[(\[][^)\]]*[)\]])?$"
)
# tables that are not the baseline inventory, whatever else their caption says
_TITLE_HARD_BAD_RE = re.compile(
    r"(?i)\bbau\b|business as usual|projection|forecast|scenario|\bgap\b|target|reduction|residual|"
    r"per capita|consumption[- ]based|activit|emission factor|\b20[3-5]\d\b|economic case"
)
# captions that a "by sector" wording can redeem ("energy use and GHG emissions by sector")
_TITLE_SOFT_BAD_RE = re.compile(r"(?i)energy use|final energy|energy consumption|fuel|primary energy")
_BY_SECTOR_RE = re.compile(r"(?i)emissions? by (?:source )?sector")
_CAPTION_RE = re.compile(r"(?i)^(?:table|tab\.|tabell|tabelle|tabla|tabela|taulukko|tableau|[A-Z]-?\d)")
_TITLE_GOOD_RE = re.compile(r"(?i)emission|ghg|greenhouse|co2|treibhaus|thg|inventor")
_SCOPE_HEADER_RE = re.compile(r"(?i)^scope ?\d")
_UNIT_LABEL_RE = re.compile(r"(?i)^(?:units?|einheit|unidad|unité|unità)\b")
_UNITS_WORD_RE = re.compile(r"(?i)^units?\b")
_YEAR_LABEL_RE = re.compile(r"(?i)^(?:base ?year|baseline year|reference year|year|basic data)\b")
_BAU_RE = re.compile(r"(?i)\bbau\b|business as usual")
_TITLE_YEAR_RE = re.compile(r"(?i)(?:base ?year|year|in)\s*:?\s*(19[5-9]\d|20[0-2]\d)")
_CO2_WORD_RE = re.compile(r"(?i)co2|ghg")

Block = dict[str, list[int]]  # {"total": [column, ...], "scope": [column, ...]}


@dataclass(frozen=True)
class Head:
    """The rows at the top of a table that say what its columns mean."""
    header_i: int | None           # the row naming "Total" / "Scope n" columns
    unit_row: list[str] | None
    year_row: list[str] | None


@dataclass(frozen=True)
class Columns:
    """Where the values are: tonnes per unit of each column, and per base year (None: not
    given) the columns that hold totals and scopes."""
    factors: list[float | None]
    blocks: dict[int | None, Block]


def table_cells(rows: list[str]) -> list[list[str]] | None:
    """Rows "a | b | c" as cells, empty rows dropped, short rows right-aligned to the widest;
    None for fewer than three rows."""
    cells = [[c.strip() for c in r.split(" | ")] for r in rows]
    cells = [r for r in cells if any(r)]
    if len(cells) < 3:
        return None
    width = max(len(r) for r in cells)
    return [[""] * (width - len(r)) + r if len(r) < width else r for r in cells]


def table_title(cells: list[list[str]], caption: list[str]) -> str:
    """The table's own title row wins over the text above it; that text counts when it
    reads like a caption rather than a sentence."""
    first = [c for c in cells[0] if c]
    if len(first) == 1 and not looks_numeric(first[0]):
        return first[0]
    return " ".join(c for c in caption if _CAPTION_RE.match(c) or len(c.split()) <= 12)


def title_refused(title: str) -> bool:
    """A title that says the table is not the baseline inventory."""
    if _TITLE_HARD_BAD_RE.search(title):
        return True
    return bool(_TITLE_SOFT_BAD_RE.search(title)) and not _BY_SECTOR_RE.search(title)


def is_header(row: list[str]) -> bool:
    """A row naming "Scope n" or "Total" columns, with no number in it."""
    return (any(_SCOPE_HEADER_RE.match(c) or TOTAL_COL_RE.match(c) for c in row)
            and not any(looks_numeric(c) for c in row if c))


def _first_cell(row: list[str]) -> str:
    return next((c for c in row if c), "")


def _is_unit_only_row(row: list[str]) -> bool:
    """A row of units only: "Kton CO2e | CO2equivalent/year"."""
    return (any(row) and not any(looks_numeric(c) for c in row if c)
            and unit_factor(_first_cell(row), strict=True) is not None and not is_header(row))


def find_head(cells: list[list[str]]) -> Head:
    """The header, unit and year rows among the first eight rows."""
    head = cells[:8]
    header_i = next((i for i, r in enumerate(head) if is_header(r)), None)
    unit_row = next((r for r in head if _UNIT_LABEL_RE.match(_first_cell(r))), None)
    if unit_row is None:
        unit_row = next((r for r in head if _is_unit_only_row(r)), None)
    year_row = next((r for r in head if any(_YEAR_LABEL_RE.match(c) for c in r)), None)
    return Head(header_i, unit_row, year_row)


def is_bau(head: Head) -> bool:
    """The year row names a business-as-usual projection."""
    return head.year_row is not None and any(_BAU_RE.search(c) for c in head.year_row)


def carried(row: list[str] | None, width: int, keep: Callable[[str], bool]) -> list[str]:
    """Each column's cell of ``row``, a kept cell carried right over the blank cells after
    it (a merged cell spanning several columns)."""
    out, last = [], ""
    for c in row or [""] * width:
        if c and keep(c):
            last = c
        out.append(last)
    return out


def unit_cells(head: Head, width: int) -> list[str]:
    return carried(head.unit_row, width, lambda c: not _UNITS_WORD_RE.match(c))


def year_cells(head: Head, width: int) -> list[str]:
    """The year of each column as text ("" when none)."""
    cells = carried(head.year_row, width, lambda c: bool(YEAR_RE.search(c)))
    return [(YEAR_RE.search(c).group(1) if c else "") for c in cells]  # type: ignore[union-attr]


def title_year(title: str) -> int | None:
    """The base year a title names: after "year" or "in", else its only year."""
    ty = _TITLE_YEAR_RE.search(title)
    if ty:
        return int(ty.group(1))
    years = set(YEAR_RE.findall(title))
    return int(next(iter(years))) if len(years) == 1 else None


def speaks_of_co2(title: str, units: list[str]) -> bool:
    return bool(_TITLE_GOOD_RE.search(title)) or any(_CO2_WORD_RE.search(u) for u in units)


def column_kind(header_cell: str) -> str:
    """"pct", "total", "scope" or "" for a header cell."""
    h = header_cell.lower()
    if "%" in h or "share" in h or "percent" in h or "cap" in h:
        return "pct"
    if TOTAL_COL_RE.match(h):
        return "total"
    if _SCOPE_HEADER_RE.match(h):
        return "scope"
    return ""


def column_factor(unit: str, header_cell: str, title: str, row_factors: set[float]) -> float | None:
    """Tonnes per unit of a column: its unit cell; a unit cell that names no mass borrows
    the unit row's only mass unit ("Kton CO2e | CO2equivalent/year"); else the header
    cell; else the title."""
    if unit:
        f = unit_factor(unit, strict=False)
        if f is None and len(row_factors) == 1 and not PER_RE.search(unit.lower().replace("/year", "")):
            f = next(iter(row_factors))
        return f
    if header_cell and unit_factor(header_cell, strict=False) is not None:
        return unit_factor(header_cell, strict=False)
    return unit_factor(title, strict=True)


def find_columns(cells: list[list[str]], head: Head, title: str) -> Columns | None:
    """The value columns, or None when the table does not speak of CO2 or has no Total or
    Scope column in a mass unit for a base year before 2025."""
    width = len(cells[0])
    header = cells[head.header_i] if head.header_i is not None else [""] * width
    units = unit_cells(head, width)
    years = year_cells(head, width)
    base_year = title_year(title)
    if not speaks_of_co2(title, units):
        return None
    row_factors = {f for f in (unit_factor(u, strict=False) for u in (head.unit_row or []) if u) if f}
    factors = [column_factor(units[j], header[j], title, row_factors) for j in range(width)]
    blocks: dict[int | None, Block] = {}
    for j in range(width):
        kind = column_kind(header[j])
        if kind in ("total", "scope") and factors[j] is not None:
            y = int(years[j]) if years[j] else base_year
            if y is not None and y >= 2025:
                continue  # a projection, not the baseline
            blocks.setdefault(y, {"total": [], "scope": []})[kind].append(j)
    if not blocks:
        return None
    return Columns(factors, blocks)


def body_rows(cells: list[list[str]], head: Head) -> list[list[str]]:
    """The rows after the header, without the unit and year rows."""
    meta = {id(r) for r in (head.unit_row, head.year_row) if r is not None}
    start = head.header_i + 1 if head.header_i is not None else 0
    return [r for r in cells[start:] if id(r) not in meta]
