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


# ------------------------------------------------------------------ names (Catalog.find_twin / find_pilot)

def _cities_catalog():
    from kg.model import City, Twin

    cities = {c: City(c, f"urn:c:{c}", name, cc) for c, name, cc in [
        ("sant-boi", "Sant Boi de Llobregat", "ES"), ("gaziantep", "Gaziantep", "TR"),
        ("vari-voula", "Vari-Voula-Vouliagmeni", "GR"), ("larisa", "Larisa", "GR"),
        ("santander", "Santander", "ES"), ("braga", "Braga", "PT")]}
    twins = {t.id: t for t in [
        Twin("T2-sant-boi", "urn:t:1", "sant-boi", 2), Twin("T3-gaziantep", "urn:t:2", "gaziantep", 3),
        Twin("T1-vari-voula", "urn:t:3", "vari-voula", 1), Twin("T3-larisa", "urn:t:4", "larisa", 3),
        Twin("T1-braga", "urn:t:5", "braga", 1), Twin("T2-braga", "urn:t:6", "braga", 2)]}
    pilots = {"C1-1": PilotActivity("C1-1", "urn:p:1", 1, "Santander Retrofit Hub", cities=("santander",))}
    return Catalog(cities=cities, pilots=pilots, twins=twins)


def _exc(fn):
    import pytest

    from kg.errors import NotFoundError

    with pytest.raises(NotFoundError) as e:
        fn()
    return e.value


def _error(fn):
    return str(_exc(fn))


def test_prefixes_and_words_are_suggested_before_edit_distance():
    cat = _cities_catalog()
    # before: difflib alone suggested T3-gaziantep for "Sant" and T3-larisa for "Vari"
    assert _error(lambda: cat.find_twin("Sant")).endswith("close matches: T2-sant-boi (Sant Boi de Llobregat, cohort 2)")
    assert _error(lambda: cat.find_twin("Vari")).endswith("close matches: T1-vari-voula (Vari-Voula-Vouliagmeni, cohort 1)")
    assert "T2-sant-boi" in _error(lambda: cat.find_twin("llobregat"))              # a later word
    assert "T2-sant-boi" in _error(lambda: cat.find_twin("boi llob"))               # words in any place
    assert "T3-gaziantep" in _error(lambda: cat.find_twin("Gazaintep"))              # a typo: edit distance
    assert "C1-1 (Santander Retrofit Hub)" in _error(lambda: cat.find_pilot("Retrofit"))
    assert "close matches" not in _error(lambda: cat.find_twin("Zzyzx"))


def test_an_ambiguous_twin_says_the_cohort_settles_it():
    from kg.errors import AmbiguousNameError

    cat = _cities_catalog()
    msg = _error(lambda: cat.find_twin("Braga"))
    assert msg == ("twin 'Braga' is ambiguous: it matches T1-braga, T2-braga; use the id; "
                   "or give the cohort (--cohort 1 or --cohort 2)")
    assert isinstance(_exc(lambda: cat.find_twin("braga")), AmbiguousNameError)
    assert cat.find_twin("Braga", cohort=2).id == "T2-braga"
