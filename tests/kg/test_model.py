"""The plain-value model: how a pilot activity is named to people (one rule, used everywhere)."""

from __future__ import annotations

from kg.model import Catalog, PilotActivity


def test_a_pilot_is_shown_by_its_acronym_else_its_title():
    named = PilotActivity("C1-1", "urn:p:1", 1, "Heat pumps for every street", acronym="HP4A")
    plain = PilotActivity("C1-2", "urn:p:2", 1, "Green roofs")
    assert (named.display_name, plain.display_name) == ("HP4A", "Green roofs")
    assert (named.label, plain.label) == ("C1-1 HP4A", "C1-2 Green roofs")
    cat = Catalog(pilots={"C1-1": named, "C1-2": plain})
    assert [cat.pilot_name(p) for p in ("C1-1", "C1-2", "C9-9")] == ["HP4A", "Green roofs", "C9-9"]
