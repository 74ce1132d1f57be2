"""GCoM into the graph: the SKOS mapping (explicit, complete, tested on action texts), the
derived links and emission shares (hand-computed on the tiny release), the N-Triples with
provenance in a real store, the bundled extract (round trip, and `build` loads it)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import SKOS

from kg.build import GCOM_GRAPH, build, bundled_dataset, bundled_gcom
from kg.ingest.gcom import match_cities, read_release
from kg.ingest.gcom.derive import INSTRUMENTS, MEASURES, SECTORS, derive_links, emission_shares, load_mapping
from kg.ingest.gcom.extract import extract_tables, read_extract
from kg.ingest.gcom.rdf import ntriples
from kg.model import City
from kg.ontology import ontology_graph
from tests.kg.gcom_release import write_release

DOM = "https://w3id.org/peerlearn/concept/domain/"
LEV = "https://w3id.org/peerlearn/concept/lever/"
SOL = "https://w3id.org/peerlearn/concept/solution/"
PREFIX = """PREFIX gcom: <https://w3id.org/peerlearn/gcom#> PREFIX pl: <https://w3id.org/peerlearn/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return read_release(write_release(tmp_path_factory.mktemp("gcom")))


def _codes(cats):
    return [c.iri.rsplit("/", 1)[-1] for c in cats]


def test_every_gcom_category_maps_onto_existing_peerlearn_concepts():
    g = ontology_graph()
    m = load_mapping()
    assert {c.scheme for c in m.categories} == {SECTORS, INSTRUMENTS, MEASURES}
    known = {str(c) for c in g.subjects(SKOS.inScheme, None)}
    for c in m.categories:
        assert c.phrases and c.targets, c.iri
        assert all(t in known for t, _ in c.targets), c.iri
    assert set(m.inventory) >= {"Residential buildings", "Private and commercial transport", "Waste", "Industry-ETS"}


@pytest.mark.parametrize("text, expected", [
    ("building light management replace light", ["public-lighting", "energy-management"]),
    ("building build envelope insulation", ["municipal-buildings", "building-renovation"]),
    ("residential building renewable grant subsidy private", ["residential-buildings", "grants-subsidies"]),
    ("awareness train car share", ["awareness-training", "awareness", "training", "clean-mobility"]),
    # a sector is read at the start only: "transport" later in the text is not the action's sector
    ("local electricity production photovoltaic transport", ["local-electricity"]),
    ("urban regeneration land use planning tree plant", ["land-use", "land-use-planning", "nature-based",
                                                         "urban-regeneration"]),
])
def test_categories_of_action_texts(text, expected):
    assert sorted(_codes(load_mapping().categorise(text))) == sorted(expected)


def test_analysts_can_query_the_mapping_in_the_store():
    st = build([bundled_dataset()], backend="oxigraph")
    rows = st.select_values(PREFIX + """SELECT ?cat WHERE {
        ?cat skos:closeMatch <https://w3id.org/peerlearn/concept/lever/finance> } ORDER BY ?cat""")
    assert [r["cat"].rsplit("/", 1)[-1] for r in rows] == ["grants-subsidies", "third-party-financing"]


def test_links_are_weighted_by_share_and_need_two_actions(release):
    links = derive_links(release.actions["101"])
    # three actions: only sustainable mobility has two behind it ("car share", "public transport")
    assert [(ln.concept, ln.share, ln.score, ln.actions) for ln in links] == [
        (SOL + "sustainable-mobility", 0.6667, 1.0, 2)]
    assert [a.id for a in links[0].evidence] == ["2", "3"]


def test_emission_shares_of_the_latest_inventory(release):
    assert emission_shares(release.latest_inventory("101")) == {DOM + "buildings": 0.75, DOM + "mobility": 0.25}


def test_graph_has_provenance_typed_values_and_evidence(release):
    data, counts = ntriples(release, {"101": ("https://w3id.org/peerlearn/data/city/nis", "name")})
    assert counts["signatories"] == 8 and counts["actions"] == 6 and counts["links"] == 1
    st = ox.Store()
    st.load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(GCOM_GRAPH)))
    q = lambda s: list(st.query(PREFIX + s, use_default_graph_as_union=True))  # noqa: E731
    assert len(q("SELECT ?s WHERE { ?s a gcom:Signatory ; dcterms:license <https://creativecommons.org/licenses/by/4.0/> ;"
                 " dcterms:source ?src }")) == 8
    g = q("SELECT ?r WHERE { <https://w3id.org/peerlearn/graph/gcom> dcterms:rights ?r }")
    assert "Joint Research Centre" in g[0]["r"].value
    row = q("""SELECT ?e ?y WHERE { ?x gcom:signatory/gcom:organisationId "101" ; gcom:year ?y ;
               gcom:sector <https://w3id.org/peerlearn/concept/gcom-inventory-sector/private-transport> ;
               gcom:emissionsTCO2e ?e }""")[0]
    assert (row["e"].value, row["e"].datatype.value, row["y"].value) == (
        "10", "http://www.w3.org/2001/XMLSchema#double", "2018")
    ev = q("""SELECT ?text WHERE { ?sig gcom:describes <https://w3id.org/peerlearn/data/city/nis> ;
              pl:hasConceptLink ?l . ?l pl:concept ?c ; pl:evidence/gcom:actionText ?text } ORDER BY ?text""")
    assert [r["text"].value for r in ev] == ["awareness train car share", "public transport bus electric"]


def test_extract_round_trip(release):
    cities = [City(id="nis", iri="", name="Niš", country="RS"), City(id="liege", iri="", name="Liège", country="BE")]
    tables = extract_tables(release, match_cities(release, cities))
    assert tables["signatories.csv"].count("\n") == 3 and "liege\tmatched\tname\t106" in tables["match.tsv"]


def test_bundled_build_loads_the_extract_with_attribution():
    rel, cities = read_extract(bundled_gcom())
    assert len(cities) >= 130 and sum(len(a) for a in rel.actions.values()) > 4000
    st = build([bundled_dataset()], backend="oxigraph")
    assert GCOM_GRAPH in st.graph_names()
    n = st.select_values(PREFIX + """SELECT (COUNT(DISTINCT ?t) AS ?n) WHERE {
        ?t a pl:TwinCity ; pl:twinCity ?c . ?sig gcom:describes ?c }""")
    assert int(n[0]["n"]) >= 40
