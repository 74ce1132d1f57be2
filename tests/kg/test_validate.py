"""The SPARQL validation engine against pyshacl (the reference): the same (focus, path)
violations on valid data and on graphs broken one constraint at a time, and a clear error
for SHACL the compiler does not implement."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.namespace import XSD as _XSD

from kg.build import bundled_dataset, load_sources
from kg.namespaces import BAR, DOM, LEV, PL
from kg.validate import UnsupportedShapeError, compile_shapes, pyshacl_violations, sparql_violations

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"
D = "https://w3id.org/peerlearn/data/"
SDO = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
CITY = URIRef(D + "city/westford")
MISSION_CITY = URIRef(D + "city/northam")
PILOT = URIRef(D + "pilot/P1")
TWIN = URIRef(D + "twin/T1-riverton")
LINK = URIRef(D + "twin/T1-riverton/link/interestedInLever/participation")
NARRATIVE = URIRef(D + "narrative/P3/1")
COHORT = URIRef(D + "cohort/1")
NEW = URIRef(D + "test/new")


def sdo(name: str) -> URIRef:
    return URIRef(SDO + name)


def dct(name: str) -> URIRef:
    return URIRef(DCT + name)


@lru_cache(maxsize=1)
def _mini() -> Graph:
    return load_sources([MINI])


def mini() -> Graph:
    g = Graph()
    g += _mini()
    return g


def keys(found) -> set[tuple[str, str]]:
    return {(v.focus, v.path) for v in found}


def assert_same(g: Graph, shapes: Graph | None = None) -> set[tuple[str, str]]:
    fast, ref = sparql_violations(g, shapes), pyshacl_violations(g, shapes)
    assert keys(fast) == keys(ref), {"sparql only": keys(fast) - keys(ref), "pyshacl only": keys(ref) - keys(fast)}
    # Where the shape has an sh:message, both engines report it.
    given = _shape_messages() if shapes is None else {str(m) for m in shapes.objects(None, SH.message)}
    assert {(v.focus, v.path, v.message) for v in ref if v.message in given} <= \
        {(v.focus, v.path, v.message) for v in fast}
    return keys(fast)


@lru_cache(maxsize=1)
def _shape_messages() -> frozenset[str]:
    from kg.ontology import shapes_graph

    return frozenset(str(m) for m in shapes_graph().objects(None, SH.message))


def _set(s, p, o):
    return lambda g: (g.remove((s, p, None)), g.add((s, p, o)))


def _add(*triples):
    return lambda g: [g.add(t) for t in triples]


def _drop(s, p):
    return lambda g: g.remove((s, p, None))


BROKEN = {
    # CityShape (MissionCity is a subclass of City: its instances are targets too)
    "city-without-name": _drop(CITY, sdo("name")),
    "mission-city-without-name": _drop(MISSION_CITY, sdo("name")),
    "city-two-names": _add((CITY, sdo("name"), Literal("Other"))),
    "city-name-not-literal": _set(CITY, sdo("name"), URIRef(D + "names/westford")),
    "city-without-country": _drop(CITY, sdo("addressCountry")),
    "city-two-countries": _add((CITY, sdo("addressCountry"), Literal("FR"))),
    "country-not-iso": _set(CITY, sdo("addressCountry"), Literal("Netherlands")),
    "country-lower-case": _set(CITY, sdo("addressCountry"), Literal("ie")),
    "country-blank-node": _set(CITY, sdo("addressCountry"), BNode("country1")),
    "population-string": _set(CITY, sdo("population"), Literal("60000")),
    "population-decimal": _set(CITY, sdo("population"), Literal("1.5", datatype=_XSD.decimal)),
    "population-ill-typed": _set(CITY, sdo("population"), Literal("many", datatype=_XSD.integer)),
    "population-negative": _set(CITY, sdo("population"), Literal(-5)),
    "population-two": _add((CITY, sdo("population"), Literal(7))),
    # rdflib (so pyshacl) reads " 60000" as an integer: no violation in either engine.
    "population-lenient-lexical-form": _set(CITY, sdo("population"), Literal(" 60000", datatype=_XSD.integer)),
    "latitude-above-90": _set(CITY, sdo("latitude"), Literal(95.0)),
    "latitude-below-minus-90": _set(CITY, sdo("latitude"), Literal(-90.5)),
    "latitude-integer": _set(CITY, sdo("latitude"), Literal(50)),
    "latitude-iri": _set(CITY, sdo("latitude"), URIRef(D + "somewhere")),
    "longitude-out-of-range": _set(CITY, sdo("longitude"), Literal(-181.0)),
    "geonames-id-string": _add((CITY, PL.geonamesId, Literal("2964180"))),
    # CohortShape
    "cohort-without-number": _drop(COHORT, PL.cohortNumber),
    "cohort-number-zero": _set(COHORT, PL.cohortNumber, Literal(0)),
    # PilotActivityShape
    "pilot-without-identifier": _drop(PILOT, dct("identifier")),
    "pilot-two-titles": _add((PILOT, dct("title"), Literal("Another title"))),
    "pilot-without-cohort": _drop(PILOT, PL.cohort),
    "pilot-cohort-is-a-city": _set(PILOT, PL.cohort, CITY),
    "pilot-run-by-a-concept": _add((PILOT, PL.runBy, DOM.energy)),
    "pilot-capacity-negative": _set(PILOT, PL.capacity, Literal(-1)),
    "pilot-domain-is-a-barrier": _add((PILOT, PL.worksInDomain, BAR.financial)),
    "pilot-domain-is-a-lever": _add((PILOT, PL.worksInDomain, LEV.finance)),
    "pilot-lever-is-a-domain": _add((PILOT, PL.usesLever, DOM.energy)),
    "pilot-barrier-is-a-literal": _add((PILOT, PL.addressesBarrier, Literal("financial"))),
    "pilot-solution-is-a-lever": _add((PILOT, PL.implementsSolution, LEV.finance)),
    # TwinCityShape
    "twin-without-city": _drop(TWIN, PL.twinCity),
    "twin-city-is-a-pilot": _set(TWIN, PL.twinCity, PILOT),
    "twin-two-cohorts": _add((TWIN, PL.cohort, URIRef(D + "cohort/2")), (URIRef(D + "cohort/2"), RDF.type, PL.Cohort),
                             (URIRef(D + "cohort/2"), PL.cohortNumber, Literal(2))),
    "twin-interest-is-a-lever": _add((TWIN, PL.interestedInDomain, LEV.finance)),
    "twin-barrier-is-a-domain": _add((TWIN, PL.facesBarrier, DOM.energy)),
    "twin-experience-is-a-literal": _add((TWIN, PL.experienceInDomain, Literal("energy"))),
    # ConceptLinkShape
    "link-concept-not-a-concept": _set(LINK, PL.concept, CITY),
    "link-without-property": _drop(LINK, PL.linkProperty),
    "link-status-not-in-list": _set(LINK, PL.status, PL.LinkStatus),
    "link-status-literal": _set(LINK, PL.status, Literal("Stated")),
    "link-two-statuses": _add((LINK, PL.status, PL.Inferred)),
    "link-score-above-1": _set(LINK, PL.score, Literal(1.5)),
    "link-score-string": _set(LINK, PL.score, Literal("high")),
    # NarrativeShape (sh:or of a language-tagged text and passages)
    "narrative-without-text-or-passage": _drop(NARRATIVE, PL.text),
    "narrative-text-without-language": _set(NARRATIVE, PL.text, Literal("no language tag")),
    "narrative-empty-text": _set(NARRATIVE, PL.text, Literal("", lang="en")),
    "narrative-two-texts": _add((NARRATIVE, PL.text, Literal("a second text", lang="en"))),
    "narrative-passages-instead-of-text": lambda g: (g.remove((NARRATIVE, PL.text, None)),
                                                     g.add((NARRATIVE, PL.passage, NEW))),
    # PassageShape
    "passage-incomplete": _add((NEW, RDF.type, PL.Passage), (NEW, PL.section, Literal(3)),
                               (NEW, PL.position, Literal("first"))),
    # EmissionsRecordShape
    "emissions-record-incomplete": _add((NEW, RDF.type, PL.EmissionsRecord), (NEW, PL.tonnesCO2e, Literal(12))),
    # RecommendationShape
    "recommendation-incomplete": _add((NEW, RDF.type, PL.Recommendation), (NEW, PL.pilot, PILOT),
                                      (NEW, PL.twinScore, Literal("0.5"))),
    # LearningTopicShape
    "learning-topic-incomplete": _add((NEW, RDF.type, PL.LearningTopic), (NEW, PL.direction, PL.Stated),
                                      (NEW, PL.module, LEV.finance)),
    # a blank node as focus node
    "blank-node-city": _add((BNode("city1"), RDF.type, PL.City), (BNode("city1"), sdo("name"), Literal("X"))),
}


def test_valid_mini_fixture_agrees():
    assert assert_same(mini()) == set()


def test_valid_bundled_dataset_agrees():
    assert assert_same(load_sources([bundled_dataset()])) == set()


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_graph_gives_the_same_violations(case):
    g = mini()
    BROKEN[case](g)
    found = assert_same(g)
    lenient = case in ("population-lenient-lexical-form", "narrative-passages-instead-of-text")
    assert bool(found) is not lenient, found


def test_all_breakages_at_once():
    g = mini()
    for edit in BROKEN.values():
        edit(g)
    assert len(assert_same(g)) > 30


def test_rdf_file_input_is_validated(tmp_path):
    g = mini()
    g.parse(data='@prefix pl: <https://w3id.org/peerlearn/ontology#> .\n'
                 '<https://w3id.org/peerlearn/data/twin/X> a pl:TwinCity .\n', format="turtle")
    assert ("data:twin/X", "pl:twinCity") in assert_same(g)


def test_sh_message_is_reported():
    g = mini()
    _drop(CITY, sdo("name"))(g)
    [v] = sparql_violations(g)
    assert str(v) == "data:city/westford schema:name: a city needs exactly one schema:name"


PREFIXES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix pl: <https://w3id.org/peerlearn/ontology#> .
@prefix schema: <https://schema.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def test_other_shapes_agree_too():
    """Counts other than 1 and sh:or on a property shape (not in shapes.ttl, but supported)."""
    shapes = Graph().parse(data=PREFIXES + """
pl:S a sh:NodeShape ; sh:targetClass pl:City ;
    sh:property [ sh:path schema:name ; sh:minCount 2 ; sh:maxCount 2 ] ;
    sh:property [ sh:path schema:population ;
                  sh:or ( [ sh:datatype xsd:string ] [ sh:datatype xsd:integer ; sh:maxInclusive 70000 ] ) ] .
""", format="turtle")
    g = mini()
    g.add((CITY, sdo("name"), Literal("Second name")))
    found = assert_same(g, shapes)
    assert ("data:city/westford", "schema:name") not in found
    assert ("data:city/northam", "schema:population") in found


@pytest.mark.parametrize("shape", [
    "pl:S a sh:NodeShape ; sh:targetClass pl:City ; sh:property [ sh:path schema:name ; sh:maxLength 5 ] .",
    "pl:S a sh:NodeShape ; sh:targetClass pl:City ; sh:property [ sh:path schema:name ; sh:node pl:T ] .",
    "pl:S a sh:NodeShape ; sh:targetNode pl:x ; sh:property [ sh:path schema:name ; sh:minCount 1 ] .",
    "pl:S a sh:NodeShape ; sh:targetClass pl:City ; sh:property [ sh:path [ sh:inversePath schema:name ] ;"
    " sh:minCount 1 ] .",
    "pl:S a sh:NodeShape ; sh:targetClass pl:City ; sh:property [ sh:path schema:name ; sh:pattern \"a\" ;"
    " sh:flags \"i\" ] .",
    "pl:S a sh:NodeShape ; sh:targetClass pl:City ; sh:closed true .",
    "pl:S a sh:NodeShape ; sh:targetClass pl:City ; sh:property [ sh:path schema:name ; sh:severity sh:Warning ;"
    " sh:minCount 1 ] .",
], ids=["maxLength", "node", "targetNode", "inversePath", "flags", "closed", "severity"])
def test_unsupported_shacl_is_an_error(shape):
    shapes = Graph().parse(data=PREFIXES + shape, format="turtle")
    with pytest.raises(UnsupportedShapeError, match=r"sh:|predicate paths"):
        compile_shapes(shapes)
    with pytest.raises(UnsupportedShapeError):
        sparql_violations(mini(), shapes)
