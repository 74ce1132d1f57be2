"""The A-1 emissions table -> rows by sector (conservative: nothing rather than a guess).

From the first table of A-1 that reads as a baseline inventory by sector (see
``table_head`` for the title, unit and column rules). The value of a row is its "Total"
column, else the sum of its "Scope n" columns; each base-year column block gives its own
rows. "1.234" vs "1,234" is settled by the table's unambiguous numbers, then by its own
Total row, then (tonnes only) as thousands; a number that cannot be read rejects the whole
table. Rows that break down the row above (their values add up to it), breakdowns by fuel
or gas, and subtotals are dropped; the whole table must be plausible for a city (1e4 ..
2e8 t). Sector labels map to domains in ``sectors``.

``parse_table`` runs the steps in order; each step is a function with one job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kg.ingest.ccc.clean import LETTER_RE
from kg.ingest.ccc.model import EmissionsRow
from kg.ingest.ccc.numbers import looks_numeric, num_candidates, pick, style_votes
from kg.ingest.ccc.sectors import domain
from kg.ingest.ccc.table_head import (
    Block,
    body_rows,
    find_columns,
    find_head,
    is_bau,
    table_cells,
    table_title,
    title_refused,
)

Row = tuple[str, float, "int | None"]  # (sector label, tonnes CO2e, base year)
Reading = Callable[[str, int], "tuple[float | None, bool]"]  # (cell, column) -> (tonnes, unreadable?)

_TOTAL_RE = re.compile(
    r"(?i)^(?:total|totals|sum|summe|gesamt|insgesamt|totale|totaal|yhteensä|razem|celkem|összesen|"
    r"grand total|all(?: sectors)?$)\b"
)
_SKIP_LABEL_RE = re.compile(
    r"(?i)^(?:base ?year|baseline year|reference year|unit|units|year|scope|sectors?|source sectors?|"
    r"emissions?|ghg emissions|basic data|population|note|source|\(?fuel type|type of fuel|\*)"
)
_ACTIVITY_LABEL_RE = re.compile(r"(?i)\([^)]*(?:km|wh\b|wh/|tj|gj|tonnes|m3|m³|/year|/yr|%|€)[^)]*\)")
_SIGN_RE = re.compile(r"(?i)^(?:sources?|sinks?)\b|positive|negative")
_FOOTNOTE_RE = re.compile(r"\^\{?[^}\s]*\}?|[*¹²³⁴⁵⁶⁷⁸⁹]+")
_TRAILING_NOTE_RE = re.compile(r"(?<=[a-z)])\d{1,2}$")
_SIGN_TAIL_RE = re.compile(r"(?i)\s*-\s*(?:sources?|sinks?)\b.*$")
_TOTAL_WORD_RE = re.compile(r"(?i)\btotal\b")
_NON_ENERGY_RE = re.compile(r"(?i)^non-energy\b")
_ENERGY_SPLIT_RE = re.compile(r"(?i)^(?:non-)?energy$")
_NO_TEXT = ("-", "x", "X")


# ------------------------------------------------------------------------------ cell values

@dataclass(frozen=True)
class CellReader:
    """Reads value cells in tonnes: the columns' units and the table's number style."""
    factors: list[float | None]
    style: str | None   # "dot" or "comma" thousands, when the table's numbers say so
    mixed: bool         # the table uses both styles: an ambiguous number cannot be read

    def value(self, cell: str, j: int, thousands: bool | None) -> tuple[float | None, bool]:
        """(tonnes or None, unreadable?) for ``cell`` in column ``j``; ``thousands`` settles
        an ambiguous "12.345" when the style does not."""
        if not cell or not looks_numeric(cell):
            return None, False
        cands = num_candidates(cell)
        if not cands or (self.mixed and len(cands) > 1):
            return None, True
        v = pick(cands, cell, self.style, thousands)
        if v is None:
            return None, True
        return v * (self.factors[j] or 0.0), False


def value_cells(body: list[list[str]], blocks: dict[int | None, Block]) -> list[str]:
    return [r[j] for r in body for cols in blocks.values() for j in cols["total"] + cols["scope"]]


def cell_reader(cells: list[str], factors: list[float | None]) -> CellReader:
    votes = style_votes(cells)
    return CellReader(factors, next(iter(votes)) if len(votes) == 1 else None, len(votes) > 1)


def thousands_options(reader: CellReader, cells: list[str]) -> tuple[bool | None, ...]:
    """How to read "12.345": as the style says (None), or both ways when nothing settles it."""
    ambiguous = reader.style is None and not reader.mixed and any(len(num_candidates(c)) == 2 for c in cells)
    return (True, False) if ambiguous else (None,)


# ------------------------------------------------------------------------------ row labels

def row_texts(row: list[str]) -> list[str]:
    """The text cells before the first number."""
    texts: list[str] = []
    for c in row:
        if looks_numeric(c):
            break
        if c and c not in _NO_TEXT:
            texts.append(c)
    return texts


def row_label(row: list[str], parent: str) -> tuple[str, str] | None:
    """(sector label, the parent for the rows below) or None for a row without text. A row
    with an empty first cell continues the sector above ("AFOLU - Sinks"); footnote marks
    go."""
    texts = row_texts(row)
    if not texts:
        return None
    label = texts[0]
    if not row[0] and parent and not _TOTAL_RE.match(label):
        label = f"{parent} - {label}"  # a second row of the sector above
    elif len(texts) > 1 and _SIGN_RE.search(texts[1]):
        label = f"{label} - {texts[1]}"
    label = _FOOTNOTE_RE.sub("", label)
    label = _TRAILING_NOTE_RE.sub("", label).strip(" :-")
    if row[0]:
        parent = _SIGN_TAIL_RE.sub("", label)
    return label, parent


def is_total(label: str) -> bool:
    return bool(_TOTAL_RE.match(label))


def skip_label(label: str, split_rows: bool) -> bool:
    """Not a sector: a column label, a subtotal, an activity, an energy/non-energy split."""
    return bool(
        _SKIP_LABEL_RE.match(label) or not LETTER_RE.search(label) or len(label) > 90
        or _TOTAL_WORD_RE.search(label) or _ACTIVITY_LABEL_RE.search(label)
        or (split_rows and _ENERGY_SPLIT_RE.match(label))
    )


def has_energy_split(body: list[list[str]]) -> bool:
    """The template splits each sector into "energy" / "non-energy" rows: breakdowns."""
    return any(_NON_ENERGY_RE.match(r[0] or "") for r in body)


# ------------------------------------------------------------------------------ row values

def block_value(row: list[str], block: Block, read: Reading) -> tuple[float | None, bool, bool]:
    """(tonnes or None, unreadable?, summed from scopes?) of a row in one year's block: the
    first Total cell, else the sum of the Scope cells."""
    v, bad = None, False
    for j in block["total"]:
        v, bad = read(row[j], j)
        if v is not None or bad:
            break
    if v is not None or bad:
        return v, bad, False
    acc, found = 0.0, False
    for j in block["scope"]:
        x, b = read(row[j], j)
        if b:
            return None, True, False
        if x is not None:
            acc += x
            found = True
    return (acc, False, True) if found else (None, False, False)


@dataclass
class _Rows:
    rows: list[Row]
    from_scopes: set[int]              # indexes in ``rows`` of values summed from scopes
    totals: dict[int | None, float]    # the table's own Total row, per year
    unreadable: bool = False


def read_rows(body: list[list[str]], blocks: dict[int | None, Block], read: Reading, split_rows: bool) -> _Rows:
    """Sector rows and the table's totals, up to its Total row."""
    got = _Rows([], set(), {})
    parent = ""
    for r in body:
        labelled = row_label(r, parent)
        if labelled is None:
            continue
        label, parent = labelled
        total_row = is_total(label)
        if not total_row and skip_label(label, split_rows):
            continue
        for y, block in blocks.items():
            v, bad, scoped = block_value(r, block, read)
            got.unreadable |= bad
            if v is None or bad:
                continue
            if total_row:
                got.totals[y] = v
                continue
            if scoped and block["total"]:
                got.from_scopes.add(len(got.rows))
            got.rows.append((label, v, y))
        if total_row:
            break  # whatever follows a total row belongs to another table
    return got


def _adds_up(rows: list[Row], totals: dict[int | None, float]) -> bool:
    """Every year's rows add up to the table's Total (within 2%)."""
    return all(y in totals and abs(sum(v for _, v, yy in rows if yy == y) - totals[y]) <= 0.02 * abs(totals[y])
               for y in {r[2] for r in rows})


def keep_scoped(got: _Rows) -> list[Row]:
    """Rows with a Total next to rows summed from scopes: the latter usually break the former
    down, and are kept only when the table's own total says they belong."""
    if not got.from_scopes or len(got.rows) - len(got.from_scopes) < 2 or _adds_up(got.rows, got.totals):
        return got.rows
    return [r for k, r in enumerate(got.rows) if k not in got.from_scopes]


def drop_subrows(rows: list[Row]) -> list[Row]:
    """Drop rows that break down the row above them: one or more following rows (same
    year) whose values add up to that row's value (within 1%)."""
    years: list[int | None] = []
    for r in rows:
        if r[2] not in years:
            years.append(r[2])
    if len(years) > 1:
        return [r for y in years for r in drop_subrows([x for x in rows if x[2] == y])]
    out: list[Row] = []
    i, n = 0, len(rows)
    while i < n:
        out.append(rows[i])
        end = _children_end(rows, i)
        i = end if end is not None else i + 1
    return out


def _children_end(rows: list[Row], i: int) -> int | None:
    """End of the closest run of rows after ``i`` that adds up to row ``i`` (zero-valued rows
    right after it included), or None."""
    v = rows[i][1]
    n = len(rows)
    acc, end, best = 0.0, None, 0.01 * abs(v)
    for j in range(i + 1, n):
        acc += rows[j][1]
        if v and abs(acc - v) <= best:  # the closest run of children wins
            end, best = j + 1, abs(acc - v)
        if v > 0 and acc > v * 1.02:
            break
    if end is not None:
        while end < n and rows[end][1] == 0:  # zero-valued children after the run
            end += 1
    return end


# ------------------------------------------------------------------------------ the checks

def by_sector(rows: list[Row]) -> bool:
    """At least two rows, and half of them, name a sector with a domain (not a fuel or gas)."""
    mapped = sum(1 for lab, _, _ in rows if domain(lab))
    return mapped >= 2 and 2 * mapped >= len(rows)


def check_totals(rows: list[Row], totals: dict[int | None, float]) -> tuple[bool, bool]:
    """(plausible for a city: 1e4 .. 2e8 t a year, matches the table's own total)."""
    plausible, matches = True, True
    for y in {r[2] for r in rows}:
        s = sum(v for _, v, yy in rows if yy == y)
        tot = totals.get(y)
        if not 1e4 <= max(abs(s), abs(tot) if tot is not None else 0.0) <= 2e8:
            plausible = False
        if tot is not None and abs(s - tot) > 0.02 * abs(tot):
            matches = False
    return plausible, matches


def choose(results: list[tuple[bool | None, bool, list[Row]]], factors: list[float | None]) -> list[Row] | None:
    """One reading of the plausible ones (thousands?, matches its total?, rows): the one that
    matches the table's total; else, in tonnes, "12.345" as 12345 t; else none."""
    if not results:
        return None
    if len(results) > 1:
        agreeing = [r for r in results if r[1]]
        if len(agreeing) == 1:
            results = agreeing
        elif {f for f in factors if f is not None} == {1.0}:
            results = [r for r in results if r[0] is True]  # tonnes: "12.345" means 12345 t
        else:
            return None  # kt or Mt with "12.345": cannot tell, so say nothing
    return results[0][2]


# ------------------------------------------------------------------------------ the parser

def parse_table(rows: list[str], caption: list[str]) -> list[EmissionsRow] | None:
    """One Markdown table (rows as "a | b | c") -> emission rows, or None if it is not a
    readable emissions-by-sector table with a known unit and a plausible total."""
    cells = table_cells(rows)
    if cells is None:
        return None
    title = table_title(cells, caption)
    if title_refused(title):
        return None
    head = find_head(cells)
    if is_bau(head):
        return None
    cols = find_columns(cells, head, title)
    if cols is None:
        return None
    body = body_rows(cells, head)
    values = value_cells(body, cols.blocks)
    reader = cell_reader(values, cols.factors)
    split_rows = has_energy_split(body)
    results: list[tuple[bool | None, bool, list[Row]]] = []
    for opt in thousands_options(reader, values):
        got = read_rows(body, cols.blocks, lambda c, j, t=opt: reader.value(c, j, t), split_rows)
        if got.unreadable:
            return None  # a number we cannot read (e.g. "4.493.7"): trust none of the table
        found = drop_subrows(keep_scoped(got))
        if not by_sector(found):
            continue  # a breakdown by fuel or gas, not by sector
        plausible, matches = check_totals(found, got.totals)
        if plausible:
            results.append((opt, matches, found))
    chosen = choose(results, cols.factors)
    return None if chosen is None else [EmissionsRow(lab, domain(lab), round(v, 3), y) for lab, v, y in chosen]


def emissions(tables: list[tuple[list[str], list[str]]]) -> list[EmissionsRow]:
    """Rows of the first readable emissions-by-sector table of module A-1."""
    for rows, caption in tables:
        try:
            parsed = parse_table(rows, caption)
        except (ValueError, IndexError):  # a malformed table is skipped, never fatal
            parsed = None
        if parsed:
            return parsed
    return []
