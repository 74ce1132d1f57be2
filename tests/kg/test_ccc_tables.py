"""The A-1 emissions-table parser, step by step and whole: table-driven cases (input table
text -> expected rows), each hand-computed from the rules in kg/ingest/ccc/table*.py."""

from __future__ import annotations

import pytest

from kg.ingest.ccc.model import EmissionsRow
from kg.ingest.ccc.numbers import num_candidates, style_votes
from kg.ingest.ccc.sectors import domain
from kg.ingest.ccc.table import choose, drop_subrows, parse_table, row_label, skip_label
from kg.ingest.ccc.table_head import column_kind, table_cells, table_title, title_refused, title_year
from kg.ingest.ccc.units import unit_factor


def _rows(text: str) -> list[str]:
    """A table written one row a line, cells separated by "|" (as the reader joins them)."""
    return [" | ".join(c.strip() for c in line.split("|")) for line in text.strip().splitlines()]


def _out(*rows: tuple[str, str | None, float, int | None]) -> list[EmissionsRow]:
    return [EmissionsRow(*r) for r in rows]


# ---------------------------------------------------------------------- whole tables

TABLES = [
    pytest.param(
        """GHG emissions by sector in 2019 (tCO2e) | | |
        Sector | Scope 1 | Scope 2 | Total
        Buildings | 90000 | 30000 | 120000
        Transport | 80000 | 0 | 80000
        Waste | 10000 | 0 | 10000""",
        [],
        _out(("Buildings", "buildings", 120000.0, 2019), ("Transport", "mobility", 80000.0, 2019),
             ("Waste", "waste", 10000.0, 2019)),
        id="total-column-tonnes-year-from-title",
    ),
    pytest.param(
        """Sector | Scope 1 | Scope 2
        Buildings | 90000 | 30000
        Transport | 80000 | 0
        Waste | 10000 | 0""",
        ["Table 3: GHG emissions in 2020 (t CO2e)"],
        _out(("Buildings", "buildings", 120000.0, 2020), ("Transport", "mobility", 80000.0, 2020),
             ("Waste", "waste", 10000.0, 2020)),
        id="caption-as-title-scopes-summed",
    ),
    pytest.param(
        """GHG emissions inventory | |
        Base year | 2021 |
        Unit | kt CO2e |
        | Scope 1 | Total
        Buildings | 300.5 | 305.5
        Transport | 185.0 | 185.0
        Total | | 490.5""",
        [],
        _out(("Buildings", "buildings", 305500.0, 2021), ("Transport", "mobility", 185000.0, 2021)),
        id="kilotonnes-from-unit-row-carried-right",
    ),
    pytest.param(
        """GHG emissions |
        Sector | Total (t CO2e)
        Buildings | 1.204.330
        Transport | 93.465
        Waste | 20.105""",
        [],
        _out(("Buildings", "buildings", 1204330.0, None), ("Transport", "mobility", 93465.0, None),
             ("Waste", "waste", 20105.0, None)),
        id="dot-thousands-settled-by-an-unambiguous-number",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Buildings | 93.465
        Transport | 120.330""",
        [],
        # as decimals the city would emit 214 t: only the thousands reading is plausible
        _out(("Buildings", "buildings", 93465.0, None), ("Transport", "mobility", 120330.0, None)),
        id="ambiguous-only-one-reading-plausible",
    ),
    pytest.param(
        """GHG emissions (kt CO2e) |
        Sector | Total
        Buildings | 12.345
        Transport | 10.100""",
        [],
        None,  # 22.4 Mt or 22.4 kt: both plausible, nothing settles it
        id="ambiguous-in-kilotonnes-says-nothing",
    ),
    pytest.param(
        """GHG emissions (kt CO2e) |
        Sector | Total
        Buildings | 12.345
        Transport | 10.100
        Total | 22445""",
        [],
        _out(("Buildings", "buildings", 12345000.0, None), ("Transport", "mobility", 10100000.0, None)),
        id="ambiguous-in-kilotonnes-settled-by-the-total-row",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Buildings | 4.493.7
        Transport | 120000""",
        [],
        None,
        id="an-unreadable-number-rejects-the-table",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Transport | 200000
        Road transport | 150000
        Rail | 50000
        Buildings | 300000""",
        [],
        _out(("Transport", "mobility", 200000.0, None), ("Buildings", "buildings", 300000.0, None)),
        id="rows-adding-up-to-the-row-above-are-a-breakdown",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Source | Total
        Natural gas | 200000
        Coal | 150000
        Diesel | 50000""",
        [],
        None,
        id="breakdown-by-fuel-is-not-by-sector",
    ),
    pytest.param(
        """GHG emissions (kt CO2e) | |
        Year | 1990 | 2021
        Sector | Total | Total
        Buildings | 470.3 | 207.9
        Transport | 180.1 | 157.8""",
        [],
        # grouped by year (the breakdown check runs per year)
        _out(("Buildings", "buildings", 470300.0, 1990), ("Transport", "mobility", 180100.0, 1990),
             ("Buildings", "buildings", 207900.0, 2021), ("Transport", "mobility", 157800.0, 2021)),
        id="two-base-years",
    ),
    pytest.param(
        """GHG emissions (t CO2e) | |
        Year | 2019 | 2030
        Sector | Total | Total
        Buildings | 120000 | 60000
        Transport | 80000 | 40000""",
        [],
        _out(("Buildings", "buildings", 120000.0, 2019), ("Transport", "mobility", 80000.0, 2019)),
        id="a-projection-year-column-is-skipped",
    ),
    pytest.param(
        """GHG emissions (t CO2e) | |
        Base year | 2019 | BAU 2030
        Sector | Total | Total
        Buildings | 120000 | 130000
        Transport | 80000 | 90000""",
        [],
        None,
        id="a-business-as-usual-year-row-rejects-the-table",
    ),
    pytest.param(
        """GHG emissions reduction targets (t CO2e) |
        Sector | Total
        Buildings | 120000
        Transport | 80000""",
        [],
        None,
        id="a-target-title-rejects-the-table",
    ),
    pytest.param(
        """Final energy consumption |
        Sector | Total (t)
        Buildings | 120000
        Transport | 80000""",
        [],
        None,
        id="an-energy-title-without-co2-rejects-the-table",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Buildings | 1200
        Transport | 800""",
        [],
        None,
        id="implausibly-small-for-a-city",
    ),
    pytest.param(
        """GHG emissions (t CO2e) | |
        Sector | | Total
        AFOLU | Sources (positive emissions) | 3000
        | Sinks (negative emissions) | -6500
        Buildings | | 120000
        Transport | | 80000""",
        [],
        _out(("AFOLU - Sources (positive emissions)", "green", 3000.0, None),
             ("AFOLU - Sinks (negative emissions)", "green", -6500.0, None),
             ("Buildings", "buildings", 120000.0, None), ("Transport", "mobility", 80000.0, None)),
        id="sources-and-sinks-rows-under-one-sector",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Buildings | 120000
        Transport | 80000
        Total | 200000
        Waste | 10000""",
        [],
        _out(("Buildings", "buildings", 120000.0, None), ("Transport", "mobility", 80000.0, None)),
        id="rows-after-the-total-belong-to-another-table",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Buildings | 120000
        Energy | 70000
        Non-energy | 20000
        Transport | 80000""",
        [],
        # 70000 + 20000 is not 120000, so only the energy/non-energy rule drops them
        _out(("Buildings", "buildings", 120000.0, None), ("Transport", "mobility", 80000.0, None)),
        id="energy-and-non-energy-rows-are-not-sectors",
    ),
    pytest.param(
        """GHG emissions (t CO2e) |
        Sector | Total
        Buildings | 120000
        Road traffic (million vehicle-km) | 80000
        Waste | 10000""",
        [],
        _out(("Buildings", "buildings", 120000.0, None), ("Waste", "waste", 10000.0, None)),
        id="an-activity-row-is-not-a-sector",
    ),
    pytest.param(
        """GHG emissions by sector |
        Sector | Total
        Buildings | 120000
        Transport | 80000""",
        [],
        None,
        id="no-unit-no-rows",
    ),
    pytest.param(
        """Sector | Total
        Buildings | 120000""",
        ["GHG emissions (t CO2e)"],
        None,
        id="fewer-than-three-rows",
    ),
]


@pytest.mark.parametrize(("table", "caption", "expected"), TABLES)
def test_parse_table(table, caption, expected):
    assert parse_table(_rows(table), caption) == expected


# ---------------------------------------------------------------------- the steps


@pytest.mark.parametrize(("cell", "readings"), [
    ("120000", [120000.0]),
    ("1.234.567", [1234567.0]),
    ("1,234,567", [1234567.0]),
    ("12,5", [12.5]),
    ("12.345", [12345.0, 12.345]),     # thousands first, decimal second
    ("1,234.5", [1234.5]),
    ("1.234,5", [1234.5]),
    ("(230)", [-230.0]),               # accounting negative
    ("-25.057", [-25057.0, -25.057]),
    ("0.345", [0.345]),                # "0" is never a thousands group
    ("1 234", [1234.0]),
    ("594.167*", [594167.0, 594.167]),  # footnote mark
    ("4.493.7", []),
    ("n/a", []),
    ("", []),
])
def test_num_candidates(cell, readings):
    assert num_candidates(cell) == readings


@pytest.mark.parametrize(("cells", "votes"), [
    (["1.234.567", "12.345"], {"dot"}),
    (["12,5", "7"], {"dot"}),
    (["1,234,567"], {"comma"}),
    (["12.5"], {"comma"}),
    (["12.345", "120"], set()),
    (["1.234.567", "12.5"], {"dot", "comma"}),
])
def test_style_votes(cells, votes):
    assert style_votes(cells) == votes


@pytest.mark.parametrize(("unit", "strict", "factor"), [
    ("t CO2e", False, 1.0),
    ("tonnes", False, 1.0),
    ("Mg CO2-eq", False, 1.0),
    ("kt CO2e", False, 1e3),
    ("1000 t", False, 1e3),
    ("Gg", False, 1e3),
    ("Mt CO2e", False, 1e6),
    ("million tonnes", False, 1e6),
    ("t CO2e per capita", False, None),
    ("t CO2e/year", False, 1.0),
    ("GWh", False, None),
    ("tonnes", True, None),            # free text needs a CO2 word
    ("emissions in kt CO2e", True, 1e3),
])
def test_unit_factor(unit, strict, factor):
    assert unit_factor(unit, strict=strict) == factor


@pytest.mark.parametrize(("label", "dom"), [
    ("Buildings", "buildings"),
    ("Transport", "mobility"),
    ("Waste and wastewater", "waste"),
    ("Industrial Process and Product Use (IPPU)", "industry"),
    ("Agricultural, Forestry and Land Use (AFOLU)", "green"),
    ("Energy supply", "energy"),
    ("Electricity", "energy"),
    ("Stationary energy", "buildings"),
    ("Buildings, incl. agricultural buildings", "buildings"),  # the first keyword wins
    ("Other", None),
    ("Natural gas", None),
])
def test_domain(label, dom):
    assert domain(label) == dom


@pytest.mark.parametrize(("row", "parent", "expected"), [
    (["Buildings*", "120"], "", ("Buildings", "Buildings")),
    (["Transport²", "80"], "", ("Transport", "Transport")),
    (["Waste1", "10"], "", ("Waste", "Waste")),
    (["", "Sinks (negative)", "-5"], "AFOLU", ("AFOLU - Sinks (negative)", "AFOLU")),
    (["AFOLU", "Sources (positive)", "3"], "", ("AFOLU - Sources (positive)", "AFOLU")),
    (["", "Total", "200"], "AFOLU", ("Total", "AFOLU")),
    (["-", "120"], "Buildings", None),
    (["120", "Buildings"], "", None),
])
def test_row_label(row, parent, expected):
    assert row_label(row, parent) == expected


@pytest.mark.parametrize(("label", "split_rows", "skipped"), [
    ("Buildings", False, False),
    ("Scope 1", False, True),
    ("Energy total", False, True),
    ("Road traffic (vehicle-km)", False, True),
    ("Energy", True, True),
    ("Energy", False, False),
    ("123", False, True),
])
def test_skip_label(label, split_rows, skipped):
    assert skip_label(label, split_rows) is skipped


@pytest.mark.parametrize(("rows", "kept"), [
    ([("T", 200.0, None), ("Road", 150.0, None), ("Rail", 50.0, None), ("B", 300.0, None)],
     [("T", 200.0, None), ("B", 300.0, None)]),
    ([("T", 200.0, None), ("Road", 150.0, None), ("Rail", 50.0, None), ("Air", 0.0, None), ("B", 1.0, None)],
     [("T", 200.0, None), ("B", 1.0, None)]),    # zero-valued children after the run go too
    ([("T", 200.0, None), ("B", 300.0, None)], [("T", 200.0, None), ("B", 300.0, None)]),
    # a run that overshoots the parent stops there: a later negative row does not make it a breakdown
    ([("T", 200.0, None), ("A", 250.0, None), ("S", -50.0, None), ("C", 100.0, None)],
     [("T", 200.0, None), ("A", 250.0, None), ("S", -50.0, None), ("C", 100.0, None)]),
    ([("T", 200.0, 1990), ("B", 200.0, 2021)], [("T", 200.0, 1990), ("B", 200.0, 2021)]),  # per year
])
def test_drop_subrows(rows, kept):
    assert drop_subrows(rows) == kept


@pytest.mark.parametrize(("header", "kind"), [
    ("Total", "total"), ("Total [t CO2e]", "total"), ("Total GHG emissions", "total"),
    ("Total by scope", ""), ("Scope 2", "scope"), ("% of total", "pct"), ("Per capita", "pct"), ("", ""),
])
def test_column_kind(header, kind):
    assert column_kind(header) == kind


@pytest.mark.parametrize(("title", "year"), [
    ("GHG emissions by sector in 2019 (tCO2e)", 2019),
    ("Base year: 2020", 2020),
    ("Emissions 1990 and 2021", None),
    ("Emissions 2018", 2018),
    ("GHG emissions", None),
])
def test_title_year(title, year):
    assert title_year(title) == year


@pytest.mark.parametrize(("title", "refused"), [
    ("GHG emissions by sector", False),
    ("BAU scenario 2030", True),
    ("Emission factors", True),
    ("Final energy consumption", True),
    ("Energy use and GHG emissions by sector", False),
])
def test_title_refused(title, refused):
    assert title_refused(title) is refused


def test_table_cells_drop_empty_rows_and_right_align():
    assert table_cells(["a | b | c", " |  | ", "x | 1", "y | 2 | 3"]) == [
        ["a", "b", "c"], ["", "x", "1"], ["y", "2", "3"]]
    assert table_cells(["a | b", "c | d"]) is None


def test_table_title_own_row_or_caption():
    assert table_title([["My title", "", ""]], ["Table 1: caption"]) == "My title"
    assert table_title([["Sector", "Total"]], ["Table 1: caption"]) == "Table 1: caption"
    long_sentence = "This sentence above the table is far too long to be read as the caption of anything at all."
    assert table_title([["Sector", "Total"]], [long_sentence]) == ""


@pytest.mark.parametrize(("results", "factors", "chosen"), [
    ([], [1.0], None),
    ([(None, False, [("B", 1.0, None)])], [1.0], [("B", 1.0, None)]),
    ([(True, False, [("B", 1000.0, None)]), (False, True, [("B", 1.0, None)])], [1e3], [("B", 1.0, None)]),
    ([(True, False, [("B", 1000.0, None)]), (False, False, [("B", 1.0, None)])], [1.0], [("B", 1000.0, None)]),
    ([(True, False, [("B", 1000.0, None)]), (False, False, [("B", 1.0, None)])], [1e3], None),
])
def test_choose(results, factors, chosen):
    assert choose(results, factors) == chosen
