"""Contract tests, written once and run against every store backend (LensKit/PyKEEN style):
in-memory rdflib, Oxigraph in memory and on disk, and a real remote SPARQL server."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef

from kg.build import load_sources, write_graphs
from kg.catalog import catalog, summary
from kg.errors import PeerlearnError, QueryError, StoreError
from kg.namespaces import DOM, GRAPHS
from kg.queries import EXAMPLES
from kg.store import RemoteStore, atomic_oxigraph_dir, open_store
from tests.conftest import MINI

BACKENDS = ["rdflib", "oxigraph-memory", "oxigraph-disk", "remote"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    kind = request.param
    if kind == "rdflib":
        s = open_store("rdflib")
    elif kind == "oxigraph-memory":
        s = open_store("oxigraph")
    elif kind == "oxigraph-disk":
        s = open_store("oxigraph", path=tmp_path / "db")
    else:
        base = request.getfixturevalue("oxigraph_server")
        s = RemoteStore(f"{base}/query", f"{base}/update")
    write_graphs(s, load_sources([MINI]))
    yield s
    s.close()


class TestStoreContract:
    def test_counts(self, store):
        s = summary(store)
        assert (s["cities"], s["missionCities"], s["pilots"], s["twins"], s["narratives"]) == (5, 2, 3, 3, 5)

    def test_bound_value_narrows_the_result(self, store):
        q = EXAMPLES["pilots-by-domain"].text
        every = store.query(q)
        energy = store.query(q, {"domain": DOM.energy})
        assert len(every) == 4
        assert [str(r["title"]) for r in energy.records()] == ["Solar Neighbourhoods"]

    def test_bound_literal_is_not_spliced(self, store):
        q = "SELECT ?c ?name WHERE { ?c <https://schema.org/name> ?name }"
        res = store.query(q, {"name": Literal('Northam" } UNION { ?c ?p ?o')})
        assert len(res) == 0

    def test_ask_and_construct(self, store):
        assert store.query("ASK { ?p a <https://w3id.org/peerlearn/ontology#PilotActivity> }").boolean is True
        g = store.query("CONSTRUCT { ?c a <https://w3id.org/peerlearn/ontology#City> } "
                        "WHERE { ?c a <https://w3id.org/peerlearn/ontology#City> }").graph
        assert len(g) == 5

    def test_limit_truncates(self, store):
        res = store.query("SELECT ?s WHERE { ?s ?p ?o }", limit=3)
        assert len(res) == 3 and res.truncated

    @pytest.mark.parametrize("text", ["SELEC ?x WHERE {", "SELECT ?x WHERE { ?x ?p }",
                                      "SELECT ?x WHERE { ?x undeclared:p ?o }"])
    def test_syntax_error_is_bad_input_with_the_parsers_message(self, store, text):
        with pytest.raises(PeerlearnError) as e:
            store.query(text)
        if store.backend != "remote":  # the remote store reports what the endpoint answered
            assert isinstance(e.value, QueryError) and e.value.exit_code == 2
            assert str(e.value).startswith("SPARQL syntax error: ") and "\n" not in str(e.value)

    def test_replace_graph_replaces(self, store):
        g = Graph()
        g.add((URIRef("http://e/a"), URIRef("http://e/p"), Literal(1)))
        store.replace_graph(GRAPHS.tags, g)
        store.replace_graph(GRAPHS.tags, g)
        res = store.query("SELECT ?o WHERE { <http://e/a> <http://e/p> ?o }")
        assert len(res) == 1
        assert GRAPHS.tags in store.graph_names()

    def test_select_values_are_the_lexical_forms_of_query_rows(self, store):
        q = ("SELECT ?c ?name ?population ?lat ?mission WHERE { ?c <https://schema.org/name> ?name . "
             "OPTIONAL { ?c <https://schema.org/population> ?population } "
             "OPTIONAL { ?c <https://schema.org/latitude> ?lat } "
             "BIND(EXISTS { ?c a <https://w3id.org/peerlearn/ontology#MissionCity> } AS ?mission) } ORDER BY ?c")
        plain = store.select_values(q)
        rows = store.query(q).records()
        assert len(plain) == len(rows) == 5
        for got, want in zip(plain, rows):
            assert got["c"] == str(want["c"]) and got["name"] == str(want["name"])
            assert got["mission"] in ("true", "false") and (got["mission"] == "true") == want["mission"].toPython()
            for k in ("population", "lat"):
                assert (got[k] is None) == (want[k] is None)
                if got[k] is not None:
                    assert float(got[k]) == float(want[k].toPython())

    def test_catalog_is_the_same_everywhere(self, store, mini_catalog):
        assert catalog(store) == mini_catalog

    def test_every_example_query_runs(self, store):
        for ex in EXAMPLES.values():
            store.query(ex.text)


def test_atomic_build_keeps_old_store_on_failure(tmp_path):
    target = tmp_path / "store"
    with atomic_oxigraph_dir(target) as s:
        write_graphs(s, load_sources([MINI]))
    with pytest.raises(RuntimeError), atomic_oxigraph_dir(target) as s:
        s.replace_graph(GRAPHS.dataset, Graph())
        raise RuntimeError("crash mid-build")
    s = open_store("oxigraph", path=target, read_only=True)
    assert summary(s)["pilots"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["store"]


def test_unknown_backend():
    with pytest.raises(StoreError, match="unknown store backend"):
        open_store("mongodb")


def test_read_only_store_missing_is_clear(tmp_path):
    with pytest.raises(StoreError, match="run `peerlearn build` first"):
        open_store("oxigraph", path=tmp_path / "none", read_only=True)
