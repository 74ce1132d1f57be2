"""kg.endpoint.serve as a real server: uvicorn in its own process on a free loopback port,
queried with SPARQLWrapper, rdflib's SPARQLStore and raw HTTP for every method and Accept
type; the safety rules tried over real sockets; graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.dom.minidom
from pathlib import Path

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from tests.kg.test_endpoint import (
    CITIES,
    CITY_Q,
    N_TRIPLES,
    PILOTS,
    PL,
    RUNAWAY,
    TAGS,
    make_disk_store,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CITY_NAMES = sorted(name for _, name, _ in CITIES)
CONSTRUCT_Q = f"CONSTRUCT {{ ?c <{PL}country> ?k }} WHERE {{ ?c <{PL}country> ?k }}"

_SERVER = """
import json, sys
from kg.endpoint import EndpointConfig, serve
from tests.kg.test_endpoint import EXAMPLES
serve(sys.argv[1], EndpointConfig(**json.loads(sys.argv[2])), examples=EXAMPLES)
"""


class LiveServer:
    """``serve()`` in a subprocess; its stdout (one JSON line per event/request) is collected."""

    def __init__(self, store_path, **config):
        config = {"port": 0, **config}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(store_path), json.dumps(config)], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.url = None
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(60) or self.url is None:
            self.stop()
            raise RuntimeError("the endpoint did not start:\n" + "\n".join(self.lines))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # workers come up with the lifespan
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        self.sparql = self.url + "/sparql"
        self.port = int(self.url.rsplit(":", 1)[1])

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if '"event": "listening"' in line:
                self.url = json.loads(line)["url"].rstrip("/")
                self._ready.set()
        self._ready.set()

    def events(self) -> list[dict]:
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def health(self) -> dict:
        return httpx.get(self.url + "/healthz", timeout=10).json()

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = make_disk_store(tmp_path_factory.mktemp("live") / "db")
    s = LiveServer(path, query_timeout=2.0, max_results=500, max_body_bytes=100_000)
    pids = s.health()["worker_pids"]
    yield s
    assert s.stop() == 0, "\n".join(s.lines[-20:])
    assert not any(_alive(p) for p in pids)


# ---------------------------------------------------------------------- SPARQLWrapper

@pytest.mark.parametrize("method", ["GET", "POST", "POSTDIRECTLY"])
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_sparqlwrapper_select(server, method, fmt):
    import SPARQLWrapper as sw

    w = sw.SPARQLWrapper(server.sparql)
    w.setQuery(CITY_Q)
    w.setReturnFormat({"json": sw.JSON, "xml": sw.XML, "csv": sw.CSV, "tsv": sw.TSV}[fmt])
    if method == "GET":
        w.setMethod(sw.GET)
    else:
        w.setMethod(sw.POST)
        w.setRequestMethod(sw.POSTDIRECTLY if method == "POSTDIRECTLY" else sw.URLENCODED)
    res = w.query().convert()
    if fmt == "json":
        got = [b["name"]["value"] for b in res["results"]["bindings"]]
    elif fmt == "xml":
        assert isinstance(res, xml.dom.minidom.Document)
        got = [n.firstChild.data for n in res.getElementsByTagName("literal")]
    elif fmt == "csv":
        got = res.decode().splitlines()[1:]
    else:
        got = [line.split("@")[0].strip('"') for line in res.decode().splitlines()[1:]]
    assert got == CITY_NAMES


def test_sparqlwrapper_ask_and_construct(server):
    import SPARQLWrapper as sw

    w = sw.SPARQLWrapper(server.sparql)
    w.setQuery(f"ASK {{ ?c a <{PL}City> }}")
    w.setReturnFormat(sw.JSON)
    assert w.query().convert()["boolean"] is True
    for fmt, parse in [(sw.TURTLE, "turtle"), (sw.RDFXML, None), (sw.JSONLD, None), (sw.N3, "turtle")]:
        w = sw.SPARQLWrapper(server.sparql)
        w.setQuery(CONSTRUCT_Q)
        w.setReturnFormat(fmt)
        w.setMethod(sw.POST)
        res = w.query().convert()
        g = res if isinstance(res, Graph) else Graph().parse(data=res, format=parse)
        assert len(g) == len(CITIES), fmt


def test_sparqlwrapper_sees_errors(server):
    import SPARQLWrapper as sw
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    w = sw.SPARQLWrapper(server.sparql)
    w.setQuery("SELECT * WHERE { ?s ?p }")
    w.setReturnFormat(sw.JSON)
    with pytest.raises(QueryBadFormed, match="syntax error"):
        w.query()


# ---------------------------------------------------------------------- rdflib SPARQLStore

@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("fmt", ["xml", "json", "csv"])
def test_rdflib_sparqlstore(server, method, fmt):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(server.sparql, returnFormat=fmt, method=method)
    g = Graph(store=store)
    rows = g.query(CITY_Q)
    assert sorted(str(r[0]) for r in rows) == CITY_NAMES
    if fmt != "csv":  # SPARQL 1.1 CSV defines no ASK result; rdflib reads it as a one-cell table
        assert bool(g.query(f"ASK {{ ?c a <{PL}City> }}").askAnswer) is True
    cities = set(g.subjects(RDF.type, URIRef(PL + "City")))
    assert len(cities) == len(CITIES)
    built = g.query(CONSTRUCT_Q).graph
    assert (URIRef("https://w3id.org/peerlearn/data/city/lahti"), URIRef(PL + "country"), Literal("FI")) in built
    store.close()


def test_rdflib_dataset_over_sparqlstore(server):
    """``Dataset(store=SPARQLStore(url))``, the common Python client, sends
    ``default-graph-uri=urn:x-rdflib:default`` with every query: read as the default graph."""
    from rdflib import Dataset
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    from tests.kg.test_endpoint import DATASET, TAGS

    ds = Dataset(store=SPARQLStore(server.sparql))
    assert sorted(str(r[0]) for r in ds.query(CITY_Q)) == CITY_NAMES
    graphs = {str(r[0]) for r in ds.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}
    assert {DATASET, TAGS} <= graphs
    # one graph of the Dataset: default-graph-uri=<that graph>
    assert sorted(str(r[0]) for r in ds.get_context(URIRef(DATASET)).query(CITY_Q)) == CITY_NAMES
    assert list(ds.get_context(URIRef(TAGS)).query(CITY_Q)) == []
    ds.close()


# ---------------------------------------------------------------------- raw HTTP, every Accept

SELECT_TYPES = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values"]
GRAPH_TYPES = [("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
               ("application/ld+json", "json-ld")]


def _request(server, how, query, accept, **params):
    headers = {"Accept": accept}
    if how == "get":
        return httpx.get(server.sparql, params={"query": query, **params}, headers=headers, timeout=20)
    if how == "form":
        return httpx.post(server.sparql, data={"query": query, **params}, headers=headers, timeout=20)
    return httpx.post(server.sparql, params=params, content=query.encode(), timeout=20,
                      headers={**headers, "Content-Type": "application/sparql-query"})


@pytest.mark.parametrize("how", ["get", "form", "direct"])
@pytest.mark.parametrize("accept", SELECT_TYPES)
def test_raw_http_select(server, how, accept):
    r = _request(server, how, CITY_Q, accept)
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == accept
    for name in CITY_NAMES:
        assert name in r.text


@pytest.mark.parametrize("how", ["get", "form", "direct"])
@pytest.mark.parametrize("accept, fmt", GRAPH_TYPES)
def test_raw_http_construct(server, how, accept, fmt):
    r = _request(server, how, CONSTRUCT_Q, accept)
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == accept
    assert len(Graph().parse(data=r.content, format=fmt)) == len(CITIES)


def test_raw_http_dataset_and_errors(server):
    r = _request(server, "get", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "application/sparql-results+json",
                 **{"default-graph-uri": TAGS})
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == len(PILOTS) * 2
    assert _request(server, "get", CITY_Q, "image/png").status_code == 406
    assert httpx.put(server.sparql, content=b"x").status_code == 405
    assert httpx.post(server.sparql, content=CITY_Q, headers={"Content-Type": "text/plain"}).status_code == 415
    sd = httpx.get(server.sparql)
    assert sd.status_code == 200 and f"<{server.sparql}>" in sd.text


# ---------------------------------------------------------------------- safety over real sockets

def test_the_server_never_fetches_a_url(server, listener):
    port, hits = listener
    target = f"http://127.0.0.1:{port}"
    for q in [f"SELECT * WHERE {{ SERVICE <{target}/sparql> {{ ?s ?p ?o }} }}",
              f"select * where {{ service silent <{target}/sparql> {{ ?s ?p ?o }} }}",
              f"PREFIX e: <{target}/> SELECT * WHERE {{ SERVICEe:sparql {{ ?s ?p ?o }} }}"]:
        r = httpx.get(server.sparql, params={"query": q})
        assert r.status_code == 400 and "SERVICE" in r.text
    for q in [f"SELECT * FROM <{target}/data.ttl> WHERE {{ ?s ?p ?o }}",
              f"SELECT * FROM NAMED <{target}/data.ttl> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"]:
        assert httpx.get(server.sparql, params={"query": q}).status_code == 200  # a name, not fetched
    r = httpx.post(server.sparql, content=f"LOAD <{target}/data.ttl>",
                   headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer x"})
    assert r.status_code == 403
    time.sleep(0.5)
    assert hits == []


def test_updates_refused(server):
    assert httpx.get(server.sparql, params={"update": "CLEAR ALL"}).status_code == 403
    assert httpx.post(server.sparql, data={"update": "CLEAR ALL"}).status_code == 403
    assert server.health()["triples"] == N_TRIPLES


def test_body_limit_over_a_real_socket(server):
    big = b"SELECT * WHERE { ?s ?p ?o } #" + b"x" * 200_000
    r = httpx.post(server.sparql, content=big, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413

    def chunks():
        for _ in range(50):
            yield b"x" * 10_000

    r = httpx.post(server.sparql, content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413


def test_dns_rebinding_host_is_refused(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")


def test_listens_on_loopback_only(server):
    listening = []
    with open(f"/proc/{server.proc.pid}/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port = local.split(":")
            if state == "0A" and int(port, 16) == server.port:
                listening.append(addr)
    assert listening == ["0100007F"]  # 127.0.0.1


def test_a_runaway_query_over_http_is_stopped_and_others_go_on(server):
    before = server.health()
    out = {}

    def slow():
        t0 = time.monotonic()
        out["r"] = httpx.get(server.sparql, params={"query": RUNAWAY}, timeout=30)
        out["t"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    times = []
    for _ in range(5):
        t0 = time.monotonic()
        assert httpx.get(server.sparql, params={"query": CITY_Q}).status_code == 200
        times.append(time.monotonic() - t0)
    assert "r" not in out  # all answered while the runaway was still running
    t.join(30)
    assert out["r"].status_code == 503 and "query time limit of 2 s exceeded" in out["r"].text
    assert out["t"] < 2 + 3 and max(times) < 1.0
    killed = set(before["worker_pids"]) - set(server.health()["worker_pids"])
    assert killed and not any(_alive(p) for p in killed)


def test_result_limit_over_http(server):
    r = httpx.get(server.sparql, params={"query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"})
    assert r.status_code == 400 and "more than 500 rows" in r.text


def test_keep_alive_requests_are_not_delayed(server):
    """TCP_NODELAY is on: no ~40 ms Nagle/delayed-ACK stall between a response's parts."""
    with httpx.Client() as c:
        c.get(server.sparql, params={"query": "ASK {}"})
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            assert c.get(server.sparql, params={"query": "ASK {}"}).status_code == 200
            times.append(time.perf_counter() - t0)
    assert min(times) < 0.030, times  # with the stall every keep-alive request takes >= 40 ms


def test_request_log_lines(server):
    httpx.get(server.sparql, params={"query": CITY_Q, "marker": "log-test"})
    time.sleep(0.2)
    reqs = [e for e in server.events() if "method" in e]
    assert reqs and all({"method", "path", "status", "duration_ms", "bytes"} <= set(e) for e in reqs)
    assert any(e["path"] == "/sparql" and e["status"] == 200 and e["bytes"] > 0 for e in reqs)
    assert any(e.get("event") == "workers_started" for e in server.events())


# ---------------------------------------------------------------------- graceful shutdown

def test_sigterm_lets_the_running_query_finish_then_stops(tmp_path):
    s = LiveServer(make_disk_store(tmp_path / "db"), query_timeout=10.0)
    pids = s.health()["worker_pids"]
    out = {}
    q = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:x:filler> { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } }"

    def run():
        out["r"] = httpx.get(s.sparql, params={"query": q}, timeout=30)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 10
    while s.health()["busy"] == 0 and time.monotonic() < deadline:  # the query is running
        time.sleep(0.05)
    s.proc.send_signal(signal.SIGTERM)
    t.join(30)
    assert out["r"].status_code == 200  # ~1 s of counting, finished after the signal
    assert out["r"].json()["results"]["bindings"][0]["n"]["value"] == str(40 ** 4)
    assert s.proc.wait(20) == 0
    assert not any(_alive(p) for p in pids)
    assert any(e.get("event") == "stopped" for e in s.events())
    with pytest.raises(httpx.ConnectError):
        httpx.get(s.url + "/healthz", timeout=2)
