"""Contract tests, written once and run against every store backend (LensKit/PyKEEN style):
in-memory rdflib, Oxigraph in memory and on disk, and two real remote SPARQL servers
(`oxigraph serve` and Virtuoso Open Source from Debian's package)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from rdflib import BNode, Graph, Literal, URIRef

from kg.build import load_sources, write_graphs
from kg.catalog import catalog, summary
from kg.errors import PeerlearnError, QueryError, StoreError
from kg.examples import EXAMPLES
from kg.namespaces import DOM, GRAPHS
from kg.remote import RemoteStore
from kg.store import atomic_oxigraph_dir, open_store
from tests.conftest import MINI, run_cli

BACKENDS = ["rdflib", "oxigraph-memory", "oxigraph-disk", "remote-oxigraph", "remote-virtuoso"]
REMOTES = ["remote-oxigraph", "remote-virtuoso"]


def remote_store(request, kind: str) -> RemoteStore:
    """A RemoteStore on a real server: a fresh `oxigraph serve`, or the session's Virtuoso."""
    if kind == "remote-oxigraph":
        base = request.getfixturevalue("oxigraph_server")
        return RemoteStore(f"{base}/query", f"{base}/update")
    url = request.getfixturevalue("virtuoso_server")
    return RemoteStore(url, url)


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
        s = remote_store(request, kind)
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
        # every backend, the remote ones included (they pass on what the endpoint answered)
        assert isinstance(e.value, QueryError) and e.value.exit_code == 2
        assert str(e.value).startswith("SPARQL syntax error: ") and "\n" not in str(e.value)

    @pytest.mark.parametrize("text, name, why", [
        ("SELECT ?a WHERE { ?a ?b ?c }", "zz", "no variable of that name"),
        ("SELECT ?a WHERE { ?a ?b ?c }", "b", "SELECT projection"),
        ("SELECT ?a WHERE { ?a ?b ?c . FILTER(?a != \"?q\") } # ?q", "q", "no variable of that name")])
    def test_binding_a_variable_the_query_cannot_take_is_bad_input(self, store, text, name, why):
        with pytest.raises(QueryError, match=rf"cannot bind \?{name}: .*{why}"):
            store.query(text, {name: Literal(1)})

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
             "OPTIONAL { ?c a <https://w3id.org/peerlearn/ontology#MissionCity> . BIND(true AS ?m) } "
             "BIND(<http://www.w3.org/2001/XMLSchema#boolean>(BOUND(?m)) AS ?mission) } ORDER BY ?c")
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

    def test_every_query_the_code_sends_runs_with_the_same_answers(self, store, mini_store):
        """Each query of kg.queries (examples and the catalog's own reads) on this backend
        against the embedded Oxigraph store: same variables, same rows (numbers compared as
        numbers, to 6 significant digits: Virtuoso prints doubles with 6)."""
        from kg import queries

        texts = {name: ex.text for name, ex in EXAMPLES.items()}
        texts |= {name: getattr(queries, name) for name in
                  ("COUNTS", "COUNTS_BY_COHORT", "CONCEPTS", "CITIES", "PILOTS", "TWINS", "LINKS",
                   "NARRATIVES", "PASSAGES")}
        for name, text in texts.items():
            got, want = store.query(text), mini_store.query(text)
            assert got.variables == want.variables, name
            assert sorted(map(_comparable, got.rows)) == sorted(map(_comparable, want.rows)), name

    def test_graph_copies(self, store, mini_store):
        assert len(store.graph(GRAPHS.dataset)) == len(mini_store.graph(GRAPHS.dataset)) > 0
        assert len(store.graph()) == len(mini_store)

    def test_graph_names_and_count_are_peerlearns_own(self, store, mini_store):
        assert store.graph_names() == [GRAPHS.dataset, GRAPHS.ontology]
        assert len(store) == len(mini_store)

    def test_rebuild_clears_derived_graphs(self, store):
        g = Graph()
        g.add((URIRef("http://e/rec"), URIRef("http://e/p"), Literal("old run")))
        store.replace_graph(GRAPHS.recommendations, g)
        assert GRAPHS.recommendations in store.graph_names()
        write_graphs(store, load_sources([MINI]))
        assert GRAPHS.recommendations not in store.graph_names()
        assert len(store.query("SELECT ?o WHERE { <http://e/rec> ?p ?o }")) == 0

    def test_blank_nodes_stay_one_node(self, store):
        g = Graph()
        b = BNode()
        g.add((URIRef("http://e/a"), URIRef("http://e/p"), b))
        g.add((b, URIRef("http://e/q"), Literal("x")))
        store.replace_graph(GRAPHS.tags, g)
        res = store.query("SELECT ?v WHERE { <http://e/a> <http://e/p> ?b . ?b <http://e/q> ?v }")
        assert [str(r[0]) for r in res.rows] == ["x"]


def _comparable(row):
    """A row with typed numbers rounded to 6 significant digits and booleans as 1/0 (what every
    tested engine agrees on), numbers as strings (``STR``) compared in full, everything else as its lexical form with the parts of a
    GROUP_CONCAT in sorted order (engines concatenate in any order)."""
    out = []
    for t in row:
        if isinstance(t, Literal) and t.datatype is not None and isinstance(t.toPython(), (bool, int, float, Decimal)):
            v = t.toPython()
            out.append(float(f"{float(v):.6g}"))
        elif isinstance(t, Literal) and _is_number(str(t)):  # STR(number): full precision
            out.append(float(str(t)))
        else:
            out.append(None if t is None else " ".join(sorted(re.split(r"[;\s]+", str(t)))))
    return tuple(out)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "infinity", "-infinity")


@pytest.mark.parametrize("kind", REMOTES)
class TestRemoteWrites:
    @pytest.mark.parametrize("batch", [None, 6_000])
    def test_big_graph_is_written_in_batches_the_server_accepts(self, request, kind, batch):
        """Default batches; and batches of 6,000 triples, which Virtuoso refuses (SP030/SP031):
        then each refused batch is split and retried."""
        s = remote_store(request, kind)
        if batch:
            s.batch_triples, s.batch_bytes = batch, 10**8
        g = Graph()
        n = 6_000 if batch else 12_000  # 6,000 in one batch: refused once, then two halves
        for i in range(n):
            g.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(f"value number {i} " * 3)))
        s.replace_graph(GRAPHS.tags, g)
        res = s.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s <http://e/p> ?o } }")
        assert int(res.rows[0][0]) == n

    def test_failed_write_keeps_the_previous_graph_and_says_why(self, request, kind):
        s = remote_store(request, kind)
        write_graphs(s, load_sources([MINI]))
        before = len(s)
        bad = load_sources([MINI])
        bad.add((URIRef("http://e/not\tan-iri"), URIRef("http://e/p"), Literal(1)))  # a tab: refused
        with pytest.raises(StoreError) as e:
            s.replace_graph(GRAPHS.dataset, bad)
        msg = str(e.value)
        assert "previous graphs kept" in msg and re.search(r"HTTP 4\d\d: \S", msg), msg
        assert summary(s)["pilots"] == 3
        assert len(s) == before
        staged = s.query('SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } '
                         'FILTER(STRSTARTS(STR(?g), "https://w3id.org/peerlearn/staging/")) }')
        assert int(staged.rows[0][0]) == 0

    def test_rebuild_drops_staging_graphs_left_by_an_interrupted_write(self, request, kind):
        s = remote_store(request, kind)
        s.update('INSERT DATA { GRAPH <https://w3id.org/peerlearn/staging/crashed/0> { <http://e/a> <http://e/p> "x" } }')
        write_graphs(s, load_sources([MINI]))
        left = s.query('ASK { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), "https://w3id.org/peerlearn/staging/")) }')
        assert left.boolean is False

    def test_read_only_remote_refuses_writes(self, request, kind):
        s = remote_store(request, kind)
        ro = RemoteStore(s.endpoint)
        with pytest.raises(StoreError, match="read-only"):
            ro.replace_graph(GRAPHS.tags, Graph())


def test_virtuoso_row_cap_is_an_error_not_a_short_answer(request):
    s = remote_store(request, "remote-virtuoso")
    write_graphs(s, load_sources([MINI]))
    q = "SELECT ?a ?b WHERE { ?a a ?c . ?b a ?d }"  # more rows than the server's cap of 10,000
    with pytest.raises(StoreError, match="row cap of 10000"):
        s.query(q)
    res = s.query(q, limit=5)
    assert len(res) == 5 and res.truncated
    big = Graph()
    for i in range(10_001):
        big.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(i)))
    s.replace_graph(GRAPHS.tags, big)
    with pytest.raises(StoreError, match="row cap"):  # a CONSTRUCT would stop at 10,000 silently
        s.graph(GRAPHS.tags)


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


class TestCredentials:
    """HTTP digest (Virtuoso's /sparql-auth, real) and basic auth; the password never shows."""

    def test_digest_from_url_userinfo_and_from_the_environment(self, virtuoso_server, monkeypatch):
        auth = virtuoso_server.replace("/sparql", "/sparql-auth")
        host = auth.split("//", 1)[1]
        s = RemoteStore(f"http://dba:dba@{host}", f"http://dba:dba@{host}")
        assert s.endpoint == auth  # the credentials are not part of the URL it shows
        s.replace_graph(GRAPHS.tags, Graph())  # an update through digest auth
        assert s.query("ASK { ?s ?p ?o }").boolean is True
        monkeypatch.setenv("PEERLEARN_STORE_USER", "dba")
        monkeypatch.setenv("PEERLEARN_STORE_PASSWORD", "dba")
        assert RemoteStore(auth).query("ASK { ?s ?p ?o }").boolean is True

    def test_refused_credentials_are_not_repeated(self, virtuoso_server, monkeypatch):
        auth = virtuoso_server.replace("/sparql", "/sparql-auth")
        host = auth.split("//", 1)[1]
        with pytest.raises(StoreError) as e:
            RemoteStore(f"http://dba:Wr0ng-s3cret@{host}").query("ASK { ?s ?p ?o }")
        assert "401" in str(e.value) and "Wr0ng-s3cret" not in str(e.value)
        monkeypatch.setenv("PEERLEARN_STORE_PASSWORD", "Wr0ng-s3cret")
        with pytest.raises(StoreError) as e:
            RemoteStore(f"http://dba@{host}").query("ASK { ?s ?p ?o }")
        assert "401" in str(e.value) and "Wr0ng-s3cret" not in str(e.value)

    def test_cli_with_a_refused_password_says_so_without_it(self, virtuoso_server, tmp_path):
        host = virtuoso_server.replace("/sparql", "/sparql-auth").split("//", 1)[1]
        (tmp_path / "peerlearn.toml").write_text(
            f'[store]\nbackend = "remote"\nendpoint = "http://dba@{host}"\n', encoding="utf-8")
        res = run_cli("query", "ASK { ?s ?p ?o }", cwd=tmp_path, env={"PEERLEARN_STORE_PASSWORD": "Wr0ng-s3cret"})
        assert res.returncode != 0 and "401" in res.stderr
        assert "Wr0ng-s3cret" not in res.stderr + res.stdout
        ok = run_cli("query", "ASK { ?s ?p ?o }", cwd=tmp_path, env={"PEERLEARN_STORE_PASSWORD": "dba"})
        assert ok.returncode == 0, ok.stderr

    def test_basic_auth_is_sent_when_the_server_asks(self):
        import base64
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"ann:pa ss").decode():
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="sparql"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"head": {}, "boolean": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        try:
            url = f"http://ann:pa%20ss@127.0.0.1:{srv.server_address[1]}/sparql"
            assert RemoteStore(url).query("ASK {}").boolean is True
            assert seen[0] is None and seen[-1].startswith("Basic ")  # sent only when asked
        finally:
            srv.shutdown()
            srv.server_close()
