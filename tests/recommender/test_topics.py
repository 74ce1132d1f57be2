"""Grounded topics on the mini dataset: every topic quotes a passage that stands verbatim in the
graph, with its source; both directions reach the modules; the Replication Plan holds only
measures a passage names; a new passage source plugs in; sentences about the record are never
quoted; the journey is made from the pair's topics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from recommender.grounding import EvidenceFinder, Passage, ProfileSource
from recommender.journey import MODULE_MONTHS, PROGRAMME_MONTHS, learning_journey
from recommender.matcher import Matcher
from recommender.settings import Settings
from recommender.topics import named_thing, topics_for_pair
from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT

PAIRS = [("T1-westford", "P1"), ("T1-riverton", "P2"), ("T1-riverton", "P3"), ("T1-westford", "P2")]


@pytest.fixture(scope="module")
def matcher(mini_catalog):
    return Matcher.from_catalog(mini_catalog, Settings(), encoder=False)


def _texts(cat) -> str:
    parts = [p.summary for p in cat.pilots.values()] + [p.narrative for p in cat.pilots.values()]
    parts += [t.interests for t in cat.twins.values()] + [t.narrative for t in cat.twins.values()]
    return "\n".join(parts)


@pytest.mark.parametrize("twin,pilot", PAIRS)
def test_every_topic_quotes_a_real_passage_with_its_source(matcher, twin, pilot):
    corpus = _texts(matcher.catalog)
    topics = matcher.topics(twin, pilot)
    assert topics
    for t in topics:
        assert t.quotes, t.title
        for q in t.quotes:
            assert q.text in corpus and q.document and q.owner in (twin, pilot)
        assert t.evidence.passage == t.quotes[0].text


def test_westford_and_hrh_reach_every_module_both_ways(matcher):
    topics = matcher.topics("T1-westford", "P1")
    twin_side = {t.module for t in topics if t.direction == TWIN_FROM_PILOT}
    pilot_side = {t.module for t in topics if t.direction == PILOT_FROM_TWIN}
    assert twin_side == {"getting-started", "co-creating", "capitalising"}
    assert len(pilot_side) >= 2
    # a shared barrier quotes both sides: HRH's passage and Westford's own words
    shared = [t for t in topics if t.evidence.kind == "shared_barrier" and t.direction == TWIN_FROM_PILOT]
    assert shared and {q.owner for q in shared[0].quotes} == {"P1", "T1-westford"}
    # the link of the pilot's published source travels with the quote
    assert any(q.link == "https://example.org/p1" for t in topics for q in t.quotes if q.owner == "P1")


def test_replication_plan_holds_only_named_measures_with_their_quote(matcher):
    for twin, pilot in PAIRS:
        plan = matcher.plan(twin, pilot)
        topics = {t.title: t for t in matcher.topics(twin, pilot)}
        for _module, what, _whom, evidence in plan.items if plan else ():
            t = topics[what]
            assert t.measure and t.evidence.kind in ("solution", "replication", "domain")
            assert evidence.startswith("“") and t.quotes[0].cite in evidence
        titles = {i[1] for i in plan.items} if plan else set()
        assert not any(t.evidence.kind in ("context", "shared_barrier", "narrative") for t in topics.values()
                       if t.title in titles)


def test_a_new_source_plugs_in_and_is_quoted(mini_catalog):
    class Covenant:
        """A source as a Covenant of Mayors action list would be: actions the twin plans."""
        name = "covenant"

        def passages(self, cat, owner):
            if owner != "T1-westford":
                return []
            return [Passage(owner, "Westford plans municipal grants for the building renovation of old homes.",
                            "Covenant of Mayors action plan of Westford", "action", "buildings",
                            "https://example.org/covenant/westford")]

    m = Matcher.from_catalog(mini_catalog, Settings(), encoder=False)
    pair = m.score([("T1-westford", "P1")])[0]
    finder = EvidenceFinder(mini_catalog, [ProfileSource(), Covenant()])
    topics = topics_for_pair(mini_catalog, pair, finder=finder)
    quoted = [q for t in topics for q in t.quotes if q.document.startswith("Covenant")]
    assert quoted and quoted[0].link == "https://example.org/covenant/westford"


def test_sentences_about_the_record_are_never_quoted(mini_catalog):
    twin = mini_catalog.twins["T1-westford"]
    note = "No public source states its barriers, so no emission domains or barriers are recorded for it."
    cat = replace(mini_catalog, twins={**mini_catalog.twins,
                                      "T1-westford": replace(twin, narrative=note + " " + twin.narrative)})
    finder = EvidenceFinder(cat)
    barrier = "https://w3id.org/peerlearn/concept/barrier/capacity"
    assert all(p.text != note for p in finder.find("T1-westford", barrier, k=5))
    m = Matcher.from_catalog(cat, Settings(), encoder=False)
    assert not any(q.text == note for t in m.topics("T1-westford", "P1") for q in t.quotes)


@pytest.mark.parametrize("twin,pilot", PAIRS)
def test_journey_is_made_of_the_pairs_topics(matcher, twin, pilot):
    topics = matcher.topics(twin, pilot)
    sessions = learning_journey(topics)
    assert PROGRAMME_MONTHS == 20 and max(hi for _, hi in MODULE_MONTHS.values()) == 20
    assert all(s["topics"] for s in sessions)
    assert len(sessions) <= len(topics)
    assert sorted(t["title"] for s in sessions for t in s["topics"]) == sorted(t.title for t in topics)
    kinds = {t.title: t.evidence.kind for t in topics}
    measures = {t.title for t in topics if t.measure}
    for s in sessions:
        for x in s["topics"]:
            if kinds[x["title"]] == "replication":
                assert s["format"] == ("peer review" if x["title"] in measures else "online meeting")
            if kinds[x["title"]] == "transfer":
                assert s["format"] == "visit from the pilot"
    assert sessions[0]["month"] == 1 and sessions[0]["title"].startswith("Kick-off")


def test_topics_quote_an_ingested_contract_with_its_section(tmp_path):
    """Real store, real contract ingestion: Westford's contract passages become a source."""
    from kg import build
    from recommender.narratives import ccc_passages, ingest_ccc
    from tests.conftest import MINI, ROOT

    store = build([MINI], backend="oxigraph", path=tmp_path / "store")
    try:
        ingest_ccc(store, [ROOT / "tests" / "fixtures" / "ccc" / "westford.md"], say=lambda s: None)
        contract = {text for _, _, text in ccc_passages(store)["westford"]}
        m = Matcher.from_store(store, Settings(), encoder=False)
    finally:
        store.close()
    assert [s.name for s in m.passage_sources] == ["profiles", "contracts"]
    quotes = [q for t in m.topics("T1-westford", "P1") for q in t.quotes if q.document.startswith("Climate City")]
    assert quotes, "no topic quotes Westford's contract"
    for q in quotes:
        assert q.text in contract and q.document == "Climate City Contract of Westford"
        assert q.section.startswith(("A-3", "B-2", "C-"))


@pytest.mark.parametrize("text, avoid, thing", [
    # a place, then a joining word and one capitalised word: no name of a thing
    # (before: "the Győri", so a title read "Testing MODENT's the Győri against ...")
    ("Each city transforms a model area step by step, in Miskolc the Győri kapu area, addressing homes.",
     {"Miskolc"}, ""),
    ("The city opened the Warm Home Hub for renovation advice.", set(), "Warm Home Hub"),
    ("It runs a 'House of Change' for citizens.", set(), "House of Change"),
])
def test_named_thing(text, avoid, thing):
    assert named_thing(text, avoid) == thing
