"""Contracts in both profiles (issue 13, item 4): a city's Climate City Contract informs its
twin and every pilot activity the city runs, with the real bundled model."""

from __future__ import annotations

import shutil

import pytest

from kg import build, catalog
from recommender.narratives import contract_links, ingest_ccc, tag_store
from tests.conftest import MINI, ROOT

WESTFORD_CCC = ROOT / "tests" / "fixtures" / "ccc" / "westford.md"


def test_an_activity_weighs_each_city_contract_equally():
    """Hand-computed: three cities run the activity, two have contracts; a concept one of
    those two contracts gives keeps half its score, one both give their mean."""
    passages = {"a": [("pa", "A-3", "x")], "b": [("pb", "A-3", "y")]}       # city c has no contract
    by_city = {"a": {"bar:financial": ("barrier", 0.6, "pa"), "bar:capacity": ("barrier", 0.5, "pa")},
               "b": {"bar:financial": ("barrier", 0.4, "pb")}}
    links = contract_links(["a", "b", "c"], passages, by_city)
    assert links == {"bar:capacity": ("barrier", 0.25, ["pa"]),
                     "bar:financial": ("barrier", pytest.approx(0.5), ["pa", "pb"])}
    assert contract_links(["a"], passages, by_city)["bar:capacity"] == ("barrier", 0.5, ["pa"])
    assert contract_links(["c"], passages, by_city) == {}


def test_a_pilot_city_contract_gives_the_activity_links_with_passages(tmp_path, encoder):
    """P2 is run by Southby and Eastwick; only Southby has a contract (Westford's text under
    Southby's name). P2 gets contract links whose evidence are Southby's passages, with the
    scores the same contract gives the twin T1-westford; matching reads them as tags."""
    store = build([MINI], backend="oxigraph", path=tmp_path / "store")
    southby = tmp_path / "southby.md"
    shutil.copy(WESTFORD_CCC, southby)
    ingest_ccc(store, [WESTFORD_CCC, southby], say=lambda s: None)
    tag_store(store, encoder, threshold=0.35, say=lambda s: None)
    rows = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
        SELECT ?owner ?link ?concept ?score ?p WHERE {
          ?s pl:hasConceptLink ?link ; <http://purl.org/dc/terms/identifier> ?owner .
          ?link pl:concept ?concept ; pl:score ?score ; pl:evidence ?p .
          FILTER(CONTAINS(STR(?link), "/tag/contract/"))
          ?nar pl:passage ?p . ?city pl:narrative ?nar ; <http://purl.org/dc/terms/identifier> ?cityId }""")
    got: dict[str, dict[str, float]] = {}
    for r in rows.records():
        got.setdefault(str(r["owner"]), {})[str(r["concept"])] = float(r["score"])
    assert {"P2", "T1-westford"} <= set(got)
    assert "P1" not in got and "P3" not in got      # Northam's document has no modules, Eastwick no contract
    assert got["P2"] == got["T1-westford"]           # one city with a contract: its scores, undiluted
    assert any("barrier" in c for c in got["P2"]) and any("domains" in c or "/domain" in c for c in got["P2"])
    evidence = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
        SELECT DISTINCT ?city WHERE { <https://w3id.org/peerlearn/data/pilot/P2> pl:hasConceptLink ?l .
          ?l pl:evidence ?p . ?n pl:passage ?p . ?c pl:narrative ?n ; <http://purl.org/dc/terms/identifier> ?city }""")
    assert [str(r["city"]) for r in evidence.records()] == ["southby"]
    p2 = catalog(store).pilots["P2"]
    assert any(link.status == "tagged" and link.evidence.startswith("https://w3id.org/peerlearn/data/ccc/southby")
               for link in p2.barriers + p2.domains + p2.levers)


def test_contracts_move_profile_vectors_halfway(tmp_path, encoder):
    """Northam's twin says nothing of itself (its profile text is its name); with a contract
    for Northam its vector is the bisector of its text vector and the contract's mean passage
    vector, and the matcher's narrative similarities use it."""
    import numpy as np

    from recommender.matcher import Matcher
    from recommender.narratives import contract_texts
    from recommender.profiles import profile_vectors
    from recommender.settings import load_settings

    store = build([MINI], backend="oxigraph", path=tmp_path / "store")
    cat = catalog(store)
    plain_t, plain_p = profile_vectors(cat, encoder)
    before = Matcher.from_store(store, load_settings(), encoder=encoder).context.narrative
    northam = tmp_path / "northam.md"
    shutil.copy(WESTFORD_CCC, northam)
    ingest_ccc(store, [northam], say=lambda s: None)
    texts = contract_texts(store)
    assert set(texts) == {"northam"} and texts["northam"]
    with_t, with_p = profile_vectors(cat, encoder, contracts=texts)
    mean = encoder.encode(texts["northam"]).mean(axis=0)
    mean /= np.linalg.norm(mean)
    v, text_v = with_t["T1-northam"], plain_t["T1-northam"]
    assert float(v @ text_v) == pytest.approx(float(v @ mean), abs=1e-5)     # halfway between them
    assert float(v @ mean) > float(text_v @ mean)
    assert np.allclose(with_p["P1"], (plain_p["P1"] + mean) / np.linalg.norm(plain_p["P1"] + mean), atol=1e-5)
    assert np.allclose(with_t["T1-riverton"], plain_t["T1-riverton"])        # no contract: unchanged
    after = Matcher.from_store(store, load_settings(), encoder=encoder).context.narrative
    key = ("T1-westford", "P1")                       # P1 is Northam's activity
    assert after[key] != pytest.approx(before[key], abs=1e-4)
    assert after[("T1-westford", "P3")] == pytest.approx(before[("T1-westford", "P3")], abs=1e-6)


def test_index_holds_module_passages_not_the_text_around_them(tmp_path, encoder):
    """A structured contract's text outside its modules (cover, foreword) is not indexed; a
    document without modules is indexed by its headings (all "intro")."""
    from recommender.search import build_indexes, collect_items

    store = build([MINI], backend="oxigraph", path=tmp_path / "store")
    text = WESTFORD_CCC.read_text(encoding="utf-8")
    foreword = ("## Foreword by the mayor\n\nOur city thanks every resident, partner and colleague who "
                "worked on this plan over two years of meetings, workshops and consultations.\n\n")
    westford = tmp_path / "westford.md"
    westford.write_text(text.replace("## Module A-1", foreword + "## Module A-1", 1), encoding="utf-8")
    northam = ROOT / "tests" / "fixtures" / "ccc" / "northam.md"
    ingest_ccc(store, [westford, northam], say=lambda s: None)
    sections = {}
    for it in collect_items(store)["passage"]:
        sections.setdefault(it.id.split("/passage/")[0].rsplit("/", 1)[-1], []).append(it.source.rsplit(" ", 1)[-1])
    assert "intro" not in sections["westford"] and {"A-3", "B-2"} <= set(sections["westford"])
    assert set(sections["northam"]) == {"intro"} and len(sections["northam"]) == 4
    counts = build_indexes(store, encoder, tmp_path / "index")
    assert counts["passage"] == len(sections["westford"]) + 4
