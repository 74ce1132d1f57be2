"""kg.endpoint through the ASGI interface (no port): the SPARQL 1.1 Protocol, content
negotiation, the W3C protocol tests' error cases, and every safety rule with an attempt to
break it. The live server (real sockets, SPARQL clients) is in test_endpoint_live.py."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from kg.endpoint import (
    GRAPH_FORMATS,
    SELECT_FORMATS,
    EndpointConfig,
    WorkerPool,
    create_app,
    find_forbidden,
    mount_routes,
    negotiate,
)
from kg.errors import ConfigError, StoreError
from kg.examples import ExampleQuery
from kg.store import OxigraphStore

PL = "https://w3id.org/peerlearn/ontology#"
DATASET = "https://w3id.org/peerlearn/graph/dataset"
TAGS = "https://w3id.org/peerlearn/graph/tags"
FILLER = "urn:x:filler"
CITIES = [("lahti", "Lahti", "FI"), ("kranj", "Kranj", "SI"), ("leipzig", "Leipzig", "DE"),
          ("nantes", "Nantes", "FR"), ("porto", "Porto", "PT")]
PILOTS = [("p1", "lahti"), ("p2", "kranj"), ("p3", "porto")]
N_FILLER = 40


def nquads() -> str:
    """The test graph: 5 cities and 3 pilots in two named graphs, filler, one default-graph triple."""
    d = "https://w3id.org/peerlearn/data/"
    lines = []
    for key, name, country in CITIES:
        c = f"<{d}city/{key}>"
        lines += [f"{c} <{RDF.type}> <{PL}City> <{DATASET}> .",
                  f'{c} <https://schema.org/name> "{name}"@en <{DATASET}> .',
                  f'{c} <{PL}country> "{country}" <{DATASET}> .']
    for key, city in PILOTS:
        p = f"<{d}pilot/{key}>"
        lines += [f"{p} <{RDF.type}> <{PL}PilotActivity> <{TAGS}> .",
                  f"{p} <{PL}city> <{d}city/{city}> <{TAGS}> ."]
    lines += [f'<urn:x:f{i}> <urn:x:p{i % 4}> "{i}" <{FILLER}> .' for i in range(N_FILLER)]
    lines.append('<urn:x:default> <urn:x:p> "in the default graph" .')
    return "\n".join(lines) + "\n"


N_TRIPLES = len(CITIES) * 3 + len(PILOTS) * 2 + N_FILLER + 1
PREFIXES = f"PREFIX pl: <{PL}>\nPREFIX schema: <https://schema.org/>\n"
EXAMPLES = [
    ExampleQuery("cities", "Cities and their names", "Every city in the graph, by name.",
                 PREFIXES + "SELECT ?city ?name WHERE { ?city a pl:City ; schema:name ?name } ORDER BY ?name"),
    ExampleQuery("pilots-by-country", "Pilots by country",
                 "Two hops: pilot -> city -> country.\nBind ?country to narrow it.",
                 PREFIXES + "SELECT ?pilot ?name ?country WHERE {\n  ?pilot a pl:PilotActivity ; pl:city ?c .\n"
                            "  ?c schema:name ?name ; pl:country ?country .\n} ORDER BY ?country",
                 {"country": "an ISO country code, e.g. \"FI\""}),
]
CITY_Q = PREFIXES + "SELECT ?name WHERE { ?c a pl:City ; schema:name ?name } ORDER BY ?name"
# Five-way cartesian product over ~70 triples: ~1.7e9 rows to count, far past any time limit.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
BASE = "http://127.0.0.1:7878"
TIMEOUT = 2.5


def make_store() -> OxigraphStore:
    import pyoxigraph as ox

    s = OxigraphStore()
    s.raw.load(nquads().encode(), format=ox.RdfFormat.N_QUADS)
    return s


def make_disk_store(path) -> str:
    import pyoxigraph as ox

    s = ox.Store(str(path))
    s.load(nquads().encode(), format=ox.RdfFormat.N_QUADS)
    s.flush()
    del s
    return str(path)


def names(resp) -> list[str]:
    return [b["name"]["value"] for b in resp.json()["results"]["bindings"]]


@pytest.fixture(scope="module")
def logs():
    return []


@pytest.fixture(scope="module")
def app(logs):
    return create_app(None, EndpointConfig(query_timeout=TIMEOUT, max_results=50, max_body_bytes=4096),
                      store=make_store(), examples=EXAMPLES, log=logs.append)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, base_url=BASE) as c:
        yield c


# ---------------------------------------------------------------------- the protocol

def test_get_post_form_and_post_direct_give_the_same_answer(client):
    a = client.get("/sparql", params={"query": CITY_Q})
    b = client.post("/sparql", data={"query": CITY_Q})
    c = client.post("/sparql", content=CITY_Q.encode(), headers={"Content-Type": "application/sparql-query"})
    assert a.status_code == b.status_code == c.status_code == 200
    assert names(a) == names(b) == names(c) == ["Kranj", "Lahti", "Leipzig", "Nantes", "Porto"]
    assert a.headers["content-type"] == "application/sparql-results+json"


def test_default_graph_is_the_union_of_all_graphs(client):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    r = client.get("/sparql", params={"query": q})
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == N_TRIPLES


def test_from_in_the_query_is_honoured(client):
    q = f"SELECT (COUNT(*) AS ?n) FROM <{TAGS}> WHERE {{ ?s ?p ?o }}"
    r = client.get("/sparql", params={"query": q})
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == len(PILOTS) * 2


@pytest.mark.parametrize("params, expected", [
    ({"default-graph-uri": TAGS}, len(PILOTS) * 2),
    ({"default-graph-uri": [TAGS, DATASET]}, len(PILOTS) * 2 + len(CITIES) * 3),
    ({"named-graph-uri": TAGS}, 0),  # the protocol's dataset replaces the union default graph
    # rdflib's name of a Dataset's default graph is the endpoint's default graph (the union)
    ({"default-graph-uri": "urn:x-rdflib:default"}, N_TRIPLES),
    ({"default-graph-uri": "urn:x-rdflib:default", "named-graph-uri": TAGS}, N_TRIPLES),
])
def test_default_graph_uri(client, params, expected):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for r in (client.get("/sparql", params={"query": q, **params}),
              client.post("/sparql", data={"query": q, **params}),
              client.post("/sparql", params=params, content=q,
                          headers={"Content-Type": "application/sparql-query"})):
        assert r.status_code == 200, r.text
        assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == expected


def test_rdflib_default_graph_alone_keeps_every_named_graph(client):
    """What rdflib's Dataset sends with every query: the endpoint's whole default dataset."""
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    r = client.get("/sparql", params={"query": q, "default-graph-uri": "urn:x-rdflib:default"})
    assert [b["g"]["value"] for b in r.json()["results"]["bindings"]] == sorted([DATASET, TAGS, FILLER])


def test_relative_iris_resolve_against_the_endpoint_url(client):
    r = client.post("/sparql", content="CONSTRUCT { <s> <p> <../o> } WHERE {}",
                    headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"})
    assert r.status_code == 200, r.text
    assert r.text.strip() == f"<{BASE}/s> <{BASE}/p> <{BASE}/o> ."
    r = client.get("/sparql", params={"query": "BASE <http://example.org/a/> SELECT (<b> AS ?x) {}"})
    assert r.json()["results"]["bindings"][0]["x"]["value"] == "http://example.org/a/b"


def test_named_graph_uri_limits_graph_patterns(client):
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    r = client.get("/sparql", params={"query": q, "named-graph-uri": TAGS, "default-graph-uri": DATASET})
    assert [b["g"]["value"] for b in r.json()["results"]["bindings"]] == [TAGS]
    bad = client.get("/sparql", params={"query": q, "named-graph-uri": "not an iri"})
    assert bad.status_code == 400


@pytest.mark.parametrize("accept, media", [
    (None, "application/sparql-results+json"),
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv; charset=utf-8"),
    ("text/tab-separated-values", "text/tab-separated-values; charset=utf-8"),
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json"),
    ("text/*", "text/csv; charset=utf-8"),
    ("application/sparql-results+json,*/*;q=0.9", "application/sparql-results+json"),  # YASGUI's
])
def test_select_content_negotiation(client, accept, media):
    headers = {"Accept": accept} if accept else {}
    r = client.get("/sparql", params={"query": CITY_Q}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == media
    want = ["Kranj", "Lahti", "Leipzig", "Nantes", "Porto"]
    if "json" in media:
        assert names(r) == want
    elif "xml" in media:
        ns = {"s": "http://www.w3.org/2005/sparql-results#"}
        root = ET.fromstring(r.content)
        lits = root.findall(".//s:binding/s:literal", ns)
        assert [x.text for x in lits] == want
        assert lits[0].get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    elif "csv" in media:
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["name"] and [x[0] for x in rows[1:]] == want
    else:
        lines = r.text.splitlines()
        assert lines[0] == "?name" and lines[1:] == [f'"{n}"@en' for n in want]


@pytest.mark.parametrize("accept, boolean_check", [
    ("application/sparql-results+json", lambda r: r.json()["boolean"] is True),
    ("application/sparql-results+xml", lambda r: b"<boolean>true</boolean>" in r.content),
    ("text/csv", lambda r: r.text.splitlines() == ["boolean", "true"]),
    ("text/tab-separated-values", lambda r: r.text.splitlines() == ["?boolean", "true"]),
])
def test_ask(client, accept, boolean_check):
    r = client.get("/sparql", params={"query": f"ASK {{ ?c a <{PL}City> }}"}, headers={"Accept": accept})
    assert r.status_code == 200 and boolean_check(r)


@pytest.mark.parametrize("accept, media, rdflib_format", [
    (None, "text/turtle; charset=utf-8", "turtle"),
    ("text/turtle", "text/turtle; charset=utf-8", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("text/turtle,*/*;q=0.9", "text/turtle; charset=utf-8", "turtle"),  # YASGUI's
])
def test_construct_content_negotiation(client, accept, media, rdflib_format):
    q = f"CONSTRUCT {{ ?c <{PL}country> ?k }} WHERE {{ ?c <{PL}country> ?k }}"
    headers = {"Accept": accept} if accept else {}
    r = client.post("/sparql", data={"query": q}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == media
    g = Graph().parse(data=r.content, format=rdflib_format)
    assert len(g) == len(CITIES)
    assert (URIRef("https://w3id.org/peerlearn/data/city/lahti"), URIRef(PL + "country"), Literal("FI")) in g


def test_describe(client):
    r = client.get("/sparql", params={"query": "DESCRIBE <https://w3id.org/peerlearn/data/city/lahti>"})
    assert r.status_code == 200
    g = Graph().parse(data=r.content, format="turtle")
    assert len(g) == 3


@pytest.mark.parametrize("query", [CITY_Q, f"CONSTRUCT WHERE {{ ?c a <{PL}City> }}"])
def test_406_for_an_unsupported_accept(client, query):
    r = client.get("/sparql", params={"query": query}, headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert "application/sparql-results+json" in r.text or "text/turtle" in r.text


def test_an_accept_for_the_other_query_form_gets_the_default_format(client):
    """rdflib's SPARQLStore asks for sparql-results+json even for a CONSTRUCT."""
    r = client.get("/sparql", params={"query": CITY_Q}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/sparql-results+json"
    r = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"},
                   headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")


def test_negotiate_unit():
    assert negotiate("application/xml", SELECT_FORMATS) == "xml"
    assert negotiate("application/xml", GRAPH_FORMATS) == "xml"
    assert negotiate("text/plain", GRAPH_FORMATS) == "nt"
    assert negotiate("text/csv;q=0", SELECT_FORMATS) is None
    assert negotiate("*/*;q=0.1, text/csv", SELECT_FORMATS) == "csv"
    assert negotiate("", SELECT_FORMATS) == "json"


def test_service_description(client):
    r = client.get("/sparql")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    fmt = Namespace("http://www.w3.org/ns/formats/")
    g = Graph().parse(data=r.content, format="turtle")
    svc = g.value(predicate=RDF.type, object=sd.Service)
    assert g.value(svc, sd.endpoint) == URIRef(f"{BASE}/sparql")
    assert set(g.objects(svc, sd.supportedLanguage)) == {sd.SPARQL11Query}  # no Update: disabled
    assert {fmt.SPARQL_Results_JSON, fmt.SPARQL_Results_XML, fmt.SPARQL_Results_CSV,
            fmt.SPARQL_Results_TSV, fmt.Turtle, fmt["N-Triples"], fmt.RDF_XML,
            fmt["JSON-LD"]} <= set(g.objects(svc, sd.resultFormat))
    assert sd.UnionDefaultGraph in set(g.objects(svc, sd.feature))
    assert sd.BasicFederatedQuery not in set(g.objects(svc, sd.feature))
    assert {URIRef(DATASET), URIRef(TAGS)} <= set(g.objects(None, sd.name))
    x = client.get("/sparql", headers={"Accept": "application/rdf+xml"})
    assert x.headers["content-type"] == "application/rdf+xml"
    assert len(Graph().parse(data=x.content, format="xml")) == len(g)


# ---------------------------------------------------------------------- W3C protocol test errors

@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_bad_query_method(client, method):
    r = client.request(method, "/sparql", params={"query": CITY_Q})
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_bad_multiple_queries(client):
    r = client.get(f"/sparql?query={quote(CITY_Q)}&query=ASK%7B%7D")
    assert r.status_code == 400
    r = client.post("/sparql", params={"query": "ASK {}"}, content=CITY_Q,
                    headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400


@pytest.mark.parametrize("headers", [
    {"Content-Type": "text/plain"},          # bad_query_wrong_media_type
    {},                                      # bad_query_missing_form_type / missing_direct_type
    {"Content-Type": "multipart/form-data; boundary=x"},
    {"Content-Type": "application/sparql-query; charset=ISO-8859-1"},
])
def test_bad_post_media_type(client, headers):
    r = client.post("/sparql", content=CITY_Q.encode(), headers=headers)
    assert r.status_code == 415, r.text


def test_bad_query_non_utf8(client):
    body = "SELECT * WHERE { ?s ?p \"Malmö\" }".encode("latin-1")
    r = client.post("/sparql", content=body, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400 and "UTF-8" in r.text
    r = client.post("/sparql", content=b"query=SELECT%20%FF",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = client.get("/sparql?query=ASK%7B%FF%7D")
    assert r.status_code == 400


def test_bad_query_syntax_gives_the_parsers_message(client):
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
    assert r.status_code == 400
    assert "syntax error" in r.text and "error at 1:" in r.text


def test_query_and_update_together_and_empty_requests(client):
    assert client.post("/sparql", data={"query": CITY_Q, "update": "CLEAR ALL"}).status_code in (400, 403)
    assert client.post("/sparql", data={}, headers={"Content-Type": "application/x-www-form-urlencoded"}
                       ).status_code == 400
    assert client.get("/sparql", params={"query": "  "}).status_code == 400


# ---------------------------------------------------------------------- safety: updates

@pytest.mark.parametrize("how", ["get", "form", "direct"])
def test_updates_are_refused_by_default(client, how):
    upd = "INSERT DATA { <urn:x:new> <urn:x:p> 1 }"
    if how == "get":
        r = client.get("/sparql", params={"update": upd})
    elif how == "form":
        r = client.post("/sparql", data={"update": upd}, headers={"Authorization": "Bearer anything"})
    else:
        r = client.post("/sparql", content=upd, headers={"Content-Type": "application/sparql-update"})
    assert r.status_code == 403
    ask = client.get("/sparql", params={"query": "ASK { <urn:x:new> ?p ?o }"})
    assert ask.json()["boolean"] is False


@pytest.fixture(scope="module")
def update_client():
    app = create_app(None, EndpointConfig(query_timeout=3, allow_update=True, update_token="s3cret", workers=1),
                     store=make_store(), examples=[], log=lambda line: None)
    with TestClient(app, base_url=BASE) as c:
        yield c


def test_update_needs_the_bearer_token(update_client):
    c = update_client
    upd = "INSERT DATA { GRAPH <urn:x:g> { <urn:x:new> <urn:x:p> 1 } }"
    ct = {"Content-Type": "application/sparql-update"}
    assert c.post("/sparql", content=upd, headers=ct).status_code == 403
    assert c.post("/sparql", content=upd, headers={**ct, "Authorization": "Bearer wrong"}).status_code == 403
    assert c.post("/sparql", content=upd, headers={**ct, "Authorization": "Basic s3cret"}).status_code == 403
    assert c.get("/sparql", params={"update": upd}, headers={"Authorization": "Bearer s3cret"}).status_code == 405
    assert c.get("/sparql", params={"query": "ASK { <urn:x:new> ?p ?o }"}).json()["boolean"] is False
    r = c.post("/sparql", content=upd, headers={**ct, "Authorization": "Bearer s3cret"})
    assert r.status_code == 200, r.text
    assert r.json()["triples"] == N_TRIPLES + 1
    # the query workers re-open the store and see the change
    assert c.get("/sparql", params={"query": "ASK { <urn:x:new> ?p ?o }"}).json()["boolean"] is True
    r = c.post("/sparql", data={"update": "DELETE DATA { GRAPH <urn:x:g> { <urn:x:new> <urn:x:p> 1 } }"},
               headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200
    assert c.get("/sparql", params={"query": "ASK { <urn:x:new> ?p ?o }"}).json()["boolean"] is False
    g = Graph().parse(data=c.get("/sparql").content, format="turtle")
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert sd.SPARQL11Update in set(g.objects(None, sd.supportedLanguage))


@pytest.mark.parametrize("upd", [
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "load silent <http://127.0.0.1:9/data.ttl> INTO GRAPH <urn:x:g>",
    "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
])
def test_update_that_would_fetch_a_url_is_refused_even_with_the_token(update_client, upd):
    r = update_client.post("/sparql", content=upd, headers={"Content-Type": "application/sparql-update",
                                                             "Authorization": "Bearer s3cret"})
    assert r.status_code == 400 and "never fetches" in r.text


def _update(c, text: str, params=None):
    return c.post("/sparql", params=params, content=text,
                  headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer s3cret"})


def _ask(c, q: str) -> bool:
    return c.get("/sparql", params={"query": q}).json()["boolean"]


def test_using_graph_uri_acts_as_using(update_client):
    c = update_client
    out = "urn:x:using-out"
    ins = f"INSERT {{ GRAPH <{out}> {{ ?s <urn:x:seen> ?g }} }} WHERE {{ {{ ?s a ?t BIND('default' AS ?g) }} " \
          f"UNION {{ GRAPH ?g {{ ?s a ?t }} }} }}"
    r = _update(c, ins, {"using-graph-uri": TAGS, "using-named-graph-uri": DATASET})
    assert r.status_code == 200, r.text
    seen = c.get("/sparql", params={"query": f"SELECT ?s ?g {{ GRAPH <{out}> {{ ?s ?p ?g }} }}"}).json()
    got = {(b["s"]["value"].rsplit("/", 1)[1], b["g"]["value"]) for b in seen["results"]["bindings"]}
    assert got == {(p, "default") for p, _ in PILOTS} | {(k, DATASET) for k, _, _ in CITIES}
    # DELETE WHERE gets the dataset too: USING without USING NAMED leaves no named graph to match
    r = _update(c, f"DELETE WHERE {{ GRAPH <{out}> {{ ?s <urn:x:seen> <{DATASET}> }} }}", {"using-graph-uri": TAGS})
    assert r.status_code == 200, r.text
    assert _ask(c, f"ASK {{ GRAPH <{out}> {{ ?s <urn:x:seen> <{DATASET}> }} }}") is True
    assert _update(c, f"DROP GRAPH <{out}>").status_code == 200


@pytest.mark.parametrize("text, params, message", [
    ("WITH <urn:x:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", {"using-graph-uri": TAGS}, "USING or WITH"),
    ("DELETE { ?s ?p ?o } USING <urn:x:g> WHERE { ?s ?p ?o }", {"using-named-graph-uri": TAGS}, "USING or WITH"),
    ("DELETEWHERE { ?s ?p ?o }", {"using-graph-uri": TAGS}, "apart from"),
    # an IRI that would close the clause and smuggle in an operation
    ("INSERT { <urn:x:a> <urn:x:b> 1 } WHERE { }", {"using-graph-uri": "urn:x:g> WHERE {} ; DROP ALL ; "
                                                   "INSERT { <urn:x:a> <urn:x:b> 1 } USING <urn:x:g"},
     "invalid graph IRI"),
])
def test_using_graph_uri_refusals(update_client, text, params, message):
    r = _update(update_client, text, params)
    assert r.status_code == 400 and message in r.text, r.text
    assert _ask(update_client, f"ASK {{ GRAPH <{TAGS}> {{ ?s ?p ?o }} }}") is True


def test_relative_iris_in_an_update_resolve_against_the_endpoint_url(update_client):
    c = update_client
    r = _update(c, "INSERT DATA { GRAPH <urn:x:base> { <urn:x:s> <urn:x:p> <rel> } }")
    assert r.status_code == 200, r.text
    assert _ask(c, f"ASK {{ GRAPH <urn:x:base> {{ <urn:x:s> <urn:x:p> <{BASE}/rel> }} }}") is True
    assert _update(c, "DROP GRAPH <urn:x:base>").status_code == 200


def test_a_runaway_update_is_stopped_and_changes_nothing(update_client):
    upd = ("INSERT { GRAPH <urn:x:g> { ?a <urn:x:q> ?o } } WHERE { GRAPH ?g1 { ?a ?b ?c } GRAPH ?g2 { ?d ?e ?f } "
           "GRAPH ?g3 { ?g ?h ?i } GRAPH ?g4 { ?j ?k ?l } GRAPH ?g5 { ?m ?n ?o } }")  # updates see no union
    t0 = time.monotonic()
    r = update_client.post("/sparql", content=upd, headers={"Content-Type": "application/sparql-update",
                                                             "Authorization": "Bearer s3cret"})
    assert r.status_code == 503 and "query time limit of 3 s exceeded" in r.text
    assert time.monotonic() - t0 < 3 + 5
    assert update_client.get("/sparql", params={"query": "ASK { ?a <urn:x:q> ?o }"}).json()["boolean"] is False


def test_safe_defaults():
    cfg = EndpointConfig()
    assert (cfg.host, cfg.allow_update, cfg.update_token, cfg.query_timeout, cfg.max_results,
            cfg.max_body_bytes, cfg.isolate_network) == ("127.0.0.1", False, None, 10.0, 10000, 1_000_000, True)


def test_any_store_backend_can_be_served(logs):
    """A non-Oxigraph store (here rdflib's) is copied into the workers' private store."""
    from kg.store import RdflibStore

    st = RdflibStore()
    g = Graph()
    g.add((URIRef("urn:x:a"), URIRef(PL + "country"), Literal("FI")))
    st.replace_graph(URIRef(DATASET), g)
    app = create_app(None, EndpointConfig(workers=1), store=st, examples=[], log=logs.append)
    with TestClient(app, base_url=BASE) as c:
        r = c.get("/sparql", params={"query": f"SELECT ?k WHERE {{ GRAPH <{DATASET}> {{ ?s <{PL}country> ?k }} }}"})
        assert [b["k"]["value"] for b in r.json()["results"]["bindings"]] == ["FI"]


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        create_app(None, EndpointConfig(allow_update=True), store=make_store())
    with pytest.raises(ConfigError):
        create_app(tmp_path, store=make_store())
    with pytest.raises(StoreError, match="peerlearn build"):
        create_app(tmp_path / "nothing-here")


# ---------------------------------------------------------------------- safety: sizes

def test_request_body_over_the_limit_is_413(client):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 5000
    r = client.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(10):
            yield b"x" * 1000

    r = client.post("/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    r = client.post("/sparql", content=b"query=" + b"x" * 5000,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "5006"})
    assert r.status_code == 413


def test_query_string_over_the_limit_is_414(client):
    r = client.get("/sparql", params={"query": "ASK {} #" + "x" * 5000})
    assert r.status_code == 414


def test_result_size_limit(client):
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 400 and "result too large: more than 50 rows" in r.text and "LIMIT" in r.text
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 50
    r = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"})
    assert r.status_code == 400 and "more than 50 triples" in r.text


# ---------------------------------------------------------------------- safety: SERVICE

REFUSED = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "select * where { service <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE {SERVICE<http://127.0.0.1:9/sparql>{?s ?p ?o}}",
    "SELECT * WHERE { SERVICESILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "PREFIX ex: <http://127.0.0.1:9/> SELECT * WHERE { SERVICEex:sparql { ?s ?p ?o } }",
    "PREFIX : <http://127.0.0.1:9/> SELECT * WHERE { SERVICE:sparql { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?x) SERVICE ?x { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?x) SERVICE?x { ?s ?p ?o } }",
    "SELECT * WHERE { ?a ?b ?c .SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?a ?b 1.SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?a ?b 1SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    'SELECT * WHERE { ?a ?b "x"@en.SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }',
    "SELECT * WHERE { SERVICE#comment\n<http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE {\tService\t<http://127.0.0.1:9/>\t{ ?s ?p ?o } }",
    "SELECT * WHERE { ?a ?b ?c FILTER EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "SELECT * WHERE { ?a ?b ?c FILTER(?a<?b) SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { { SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } } }",
    "ASK { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { OPTIONAL { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "BASE <http://127.0.0.1:9/> SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }",
    r"SELECT * WHERE { \u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",  # SPARQL's \u escapes
]
ALLOWED = [
    'SELECT * WHERE { ?s ?p "SERVICE <http://127.0.0.1:9/> { }" } LIMIT 1',
    "SELECT * WHERE { ?s ?p 'a service' } LIMIT 1",
    'SELECT * WHERE { ?s ?p """multi\nline SERVICE <http://127.0.0.1:9/> {}""" } LIMIT 1',
    "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://127.0.0.1:9/> { ?s ?p ?o }\nLIMIT 1",
    "SELECT * WHERE { ?service <http://example.org/service> ?o } LIMIT 1",
    "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:service ?o ; ex:a.service ?x } LIMIT 1",
    "PREFIX service: <http://example.org/s#> SELECT * WHERE { ?s service:type ?o } LIMIT 1",
    "PREFIX serviceType: <http://example.org/s#> SELECT * WHERE { ?s serviceType:x ?o } LIMIT 1",
    'SELECT * WHERE { ?s ?p "x"@service } LIMIT 1',
    'SELECT * WHERE { ?s ?p ?o FILTER(CONTAINS(STR(?o), "SERVICE")) } LIMIT 1',
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p LIMIT 1",
]


@pytest.mark.parametrize("query", REFUSED)
def test_service_is_refused_before_evaluation(client, query):
    assert find_forbidden(query) == "SERVICE"
    r = client.get("/sparql", params={"query": query})
    assert r.status_code == 400, r.text
    assert "SERVICE" in r.text and "never fetches" in r.text


@pytest.mark.parametrize("query", ALLOWED)
def test_service_in_strings_comments_iris_and_names_is_no_false_refusal(client, query):
    assert find_forbidden(query) is None
    r = client.get("/sparql", params={"query": query})
    assert r.status_code == 200, r.text


def test_find_forbidden_for_updates():
    assert find_forbidden("LOAD <http://x/>", update=True) == "LOAD"
    assert find_forbidden("LOAD <http://x/>") is None  # queries have no LOAD
    assert find_forbidden('INSERT DATA { <urn:a> <urn:b> "LOAD <http://x/>" }', update=True) is None
    assert find_forbidden("PREFIX ex: <http://x/> INSERT DATA { <urn:a> ex:download 1 }", update=True) is None


def test_workers_have_no_network_even_if_a_service_slipped_through(app, client, listener):
    """Defence in depth: a SERVICE job sent straight to a worker (past the HTTP checks)."""
    port, hits = listener
    pool = app.state.endpoint.pool
    if not pool.stats.get("isolated"):
        pytest.skip("this kernel lets no process make a network namespace; the lexer is the only guard")
    job = {"op": "query", "query": f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
           "default_graphs": None, "named_graphs": None, "has_from": False, "select_format": "json",
           "graph_format": None, "max_results": 10}
    reply = pool.run(job, 5.0)
    assert reply[0] == "err"
    time.sleep(0.3)
    assert hits == []


# ---------------------------------------------------------------------- safety: time and memory

def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_runaway_query_is_killed_and_does_not_block_others(client):
    before = client.get("/healthz").json()
    result = {}

    def slow():
        t0 = time.monotonic()
        result["resp"] = client.get("/sparql", params={"query": RUNAWAY})
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 10
    while client.get("/healthz").json()["busy"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/healthz").json()["busy"] == 1
    fast = []
    for _ in range(5):  # the other worker keeps answering while one is stuck
        t0 = time.monotonic()
        r = client.get("/sparql", params={"query": CITY_Q})
        fast.append(time.monotonic() - t0)
        assert r.status_code == 200
    assert max(fast) < 1.0, fast
    assert "resp" not in result  # all answered while the runaway was still running
    t.join(30)
    resp = result["resp"]
    assert resp.status_code == 503
    assert resp.text.strip() == f"query time limit of {TIMEOUT:g} s exceeded"
    assert TIMEOUT <= result["elapsed"] < TIMEOUT + 3
    after = client.get("/healthz").json()
    assert after["worker_restarts"] == before["worker_restarts"] + 1
    killed = set(before["worker_pids"]) - set(after["worker_pids"])
    assert len(killed) == 1 and not _alive(killed.pop())  # not left burning a core
    def complete(h):  # the short lane and the spares all up (the lane had a spare step in at once)
        return len(h["worker_pids"]) == h["workers"] + h["spare_workers"] == len(before["worker_pids"])

    deadline = time.monotonic() + 15  # replacements come up in the background
    while not complete(client.get("/healthz").json()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert complete(client.get("/healthz").json())
    assert names(client.get("/sparql", params={"query": CITY_Q}))[0] == "Kranj"


def test_a_query_that_eats_memory_kills_only_its_worker(tmp_path):
    pool = WorkerPool(make_disk_store(tmp_path / "db"), 1, memory_mb=900, isolate=False)
    try:
        job = {"op": "query", "query": RUNAWAY.replace("SELECT (COUNT(*) AS ?n)", "SELECT *") +
               " ORDER BY ?c ?f ?i ?l ?o LIMIT 1", "default_graphs": None, "named_graphs": None,
               "has_from": False, "select_format": "json", "graph_format": None, "max_results": 10}
        from kg.endpoint import EndpointError

        with pytest.raises(EndpointError) as e:
            pool.run(job, 30.0)
        assert e.value.status == 503 and "memory" in e.value.message
        ok = dict(job, query="ASK { ?s ?p ?o }")
        assert pool.run(ok, 10.0, wait=20.0)[0] == "ok"  # a fresh worker took over
    finally:
        pool.close()


def test_all_workers_busy_is_503_not_a_hang(tmp_path):
    pool = WorkerPool(make_disk_store(tmp_path / "db"), 1, isolate=False, slice=None)  # no moving aside
    try:
        # Workers up first: otherwise the second query may reach the queue while the first
        # caller is still in start(), take the worker first and never see it busy.
        pool.start()
        job = {"op": "query", "query": RUNAWAY, "default_graphs": None, "named_graphs": None,
               "has_from": False, "select_format": "json", "graph_format": None, "max_results": 10}
        from kg.endpoint import QueryTimeout

        t = threading.Thread(target=lambda: pytest.raises(QueryTimeout, pool.run, job, 2.0))
        t.start()
        time.sleep(0.3)
        from kg.endpoint import EndpointError

        with pytest.raises(EndpointError) as e:
            pool.run(dict(job, query="ASK {}"), 5.0, wait=0.3)
        assert e.value.status == 503 and "busy" in e.value.message
        t.join(10)
    finally:
        pool.close()


# ---------------------------------------------------------------------- health, logs, hosts, routes

def test_healthz(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["triples"] == N_TRIPLES and h["workers"] == 2
    assert h["update_enabled"] is False and isinstance(h["network_isolated"], bool)


def test_one_json_log_line_per_request(client, logs):
    n = len(logs)
    client.get("/sparql", params={"query": CITY_Q})
    client.get("/sparql", params={"query": REFUSED[0]})
    client.put("/sparql")
    new = [json.loads(line) for line in logs[n:]]
    assert len(new) == 3
    assert {"ts", "method", "path", "status", "duration_ms", "bytes", "client"} <= set(new[0])
    assert [(e["method"], e["path"], e["status"]) for e in new] == [
        ("GET", "/sparql", 200), ("GET", "/sparql", 400), ("PUT", "/sparql", 405)]
    assert new[0]["bytes"] > 100 and new[0]["duration_ms"] > 0
    assert new[1]["note"] == "service refused"


@pytest.mark.parametrize("host, status", [
    ("evil.example", 400), ("evil.example:7878", 400), ("127.0.0.1.evil.example", 400),
    ("localhost:7878", 200), ("127.0.0.1", 200), ("[::1]:7878", 200),
])
def test_host_header_check_against_dns_rebinding(client, host, status):
    r = client.get("/healthz", headers={"Host": host})
    assert r.status_code == status


def test_security_headers(client):
    r = client.get("/healthz")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_extra_routes_share_the_app_and_its_workers(logs):
    async def page(request):
        media, body = await request.app.state.endpoint.query(CITY_Q, fmt="csv")
        return PlainTextResponse(body.decode().splitlines()[1])

    app = create_app(None, EndpointConfig(workers=1), store=make_store(), examples=[], log=logs.append,
                     extra_routes=[Route("/facilitator", page)])
    mount_routes(app, [Route("/later", lambda request: PlainTextResponse("later"))])
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/facilitator").text == "Kranj"
        assert c.get("/later").text == "later"
        assert c.get("/later", headers={"Host": "evil.example"}).status_code == 400
    assert json.loads(logs[-1])["path"] == "/later"


def test_a_rebuilt_store_directory_is_picked_up(tmp_path, logs):
    """Served from a path (read-only workers); `peerlearn build` swaps in a new directory."""
    import pyoxigraph as ox

    from kg.store import atomic_oxigraph_dir

    path = make_disk_store(tmp_path / "db")
    app = create_app(path, EndpointConfig(workers=1), examples=[], log=logs.append)
    ask = {"query": "ASK { <urn:x:rebuilt> ?p ?o }"}
    with TestClient(app, base_url=BASE) as c:
        assert c.get("/sparql", params=ask).json()["boolean"] is False
        with atomic_oxigraph_dir(path) as st:
            st.raw.load((nquads() + '<urn:x:rebuilt> <urn:x:p> "1" <urn:x:g> .\n').encode(),
                        format=ox.RdfFormat.N_QUADS)
        assert c.get("/sparql", params=ask).json()["boolean"] is True
        assert c.get("/healthz").json()["triples"] == N_TRIPLES + 1


# ---------------------------------------------------------------------- the UI page

def test_ui_embeds_every_example_as_a_tab(client):
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "connect-src 'self'" in csp and "default-src 'none'" in csp
    start = r.text.index('id="peerlearn-examples">') + len('id="peerlearn-examples">')
    tabs = json.loads(r.text[start:r.text.index("</script>", start)])
    assert [t["name"] for t in tabs] == [e.name for e in EXAMPLES]
    for tab, ex in zip(tabs, EXAMPLES):
        assert ex.text.strip() in tab["query"] and tab["query"].startswith(f"# {ex.title}")
    assert "?country: an ISO country code" in tabs[1]["query"]
    for ref in ("assets/yasgui/yasgui.min.js", "assets/yasgui/yasgui.min.css", "assets/peerlearn/ui.js"):
        assert ref in r.text
    assert "http://" not in r.text.replace("http://www.w3.org", "") and "https://" not in \
        r.text.replace("https://w3id.org", "").replace("https://schema.org", "")


def test_ui_example_json_cannot_break_out_of_its_script_tag(logs):
    evil = ExampleQuery("x", "</script><script>alert(1)</script>", "d", "ASK {} # </script>")
    app = create_app(None, store=make_store(), examples={"x": evil}, log=logs.append)
    r = TestClient(app, base_url=BASE).get("/")
    assert "<script>alert(1)" not in r.text and r.text.count("</script>") == 3


def test_static_assets_and_no_path_traversal(client):
    r = client.get("/assets/peerlearn/ui.js")
    assert r.status_code == 200 and "addTab" in r.text
    assert client.get("/assets/yasgui/../../../package.json").status_code == 404
    # files that exist one and two folders above kg/web_assets: a traversal would serve them
    for escape in ("..%2fstore.py", "..%2f..%2fREADME.md", "%2e%2e/store.py"):
        assert client.get(f"/assets/peerlearn/{escape}").status_code == 404, escape
    js = client.get("/assets/yasgui/yasgui.min.js")
    if not client.app.state.endpoint.assets_dir.exists():
        pytest.skip("YASGUI not installed (make assets)")
    assert js.status_code == 200 and len(js.content) > 100_000


def test_ui_without_node_modules_says_how_to_install(tmp_path, logs):
    app = create_app(None, store=make_store(), examples=EXAMPLES, log=logs.append, assets_dir=tmp_path / "none")
    c = TestClient(app, base_url=BASE)
    r = c.get("/")
    assert r.status_code == 200 and "make assets" in r.text and "npm ci" in r.text
    assert "Cities and their names" in r.text  # the examples still listed, as links
    assert c.get("/assets/yasgui/yasgui.min.js").status_code == 404
    assert c.get("/healthz").json()["ui_assets"] is False


def test_package_json_pins_yasgui_and_is_locked():
    root = Path(__file__).resolve().parents[2]
    pkg = json.loads((root / "package.json").read_text())
    lock = json.loads((root / "package-lock.json").read_text())
    assert pkg["dependencies"] == {"@zazuko/yasgui": "4.6.2"}
    assert lock["packages"]["node_modules/@zazuko/yasgui"]["version"] == "4.6.2"
