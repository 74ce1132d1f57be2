"""`peerlearn query --format F` and a live `/sparql` with the matching Accept give the same bytes.

Both read the same on-disk Oxigraph store; the answer holds every kind of term that a writer can
get wrong: a literal with a tab, a newline, a quote and a backslash, a language tag, a typed
literal, a blank node, an IRI and an unbound variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph

from kg.sparql_formats import GRAPH_FORMATS, SELECT_FORMATS
from tests.kg.test_endpoint_live import LiveServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
E = "http://example.org/"
DATA = rf"""
<{E}a> <{E}note> "tab\there\nnew \"quoted\" back\\slash" <{E}g> .
<{E}a> <{E}label> "Stadt"@de <{E}g> .
<{E}a> <{E}count> "42"^^<http://www.w3.org/2001/XMLSchema#integer> <{E}g> .
<{E}a> <{E}knows> _:b1 <{E}g> .
_:b1 <{E}label> "anon" <{E}g> .
"""
SELECT = "SELECT ?s ?p ?o ?unbound WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
ASK = f"ASK {{ <{E}a> <{E}label> ?x }}"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import pyoxigraph as ox

    tmp = tmp_path_factory.mktemp("writers")
    store = ox.Store(str(tmp / "store"))
    store.load(DATA.encode(), format=ox.RdfFormat.N_QUADS)
    store.flush()
    del store
    config = tmp / "peerlearn.toml"
    config.write_text(f'[store]\nbackend = "oxigraph"\npath = "{tmp / "store"}"\n', encoding="utf-8")
    server = LiveServer(tmp / "store")
    try:
        yield config, server
    finally:
        server.stop()


def _cli(config: Path, query: str, fmt: str) -> bytes:
    exe = Path(sys.executable).with_name("peerlearn")
    res = subprocess.run([str(exe), "--config", str(config), "query", query, "--format", fmt],
                         capture_output=True, timeout=300, cwd=config.parent,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout


def _http(server: LiveServer, query: str, media: str) -> bytes:
    import httpx

    r = httpx.get(server.sparql, params={"query": query}, headers={"Accept": media}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    return r.content


@pytest.mark.parametrize("fmt", list(SELECT_FORMATS))
@pytest.mark.parametrize("query", [SELECT, ASK], ids=["select", "ask"])
def test_select_and_ask_bytes_agree(setup, fmt, query):
    config, server = setup
    cli = _cli(config, query, fmt)
    assert cli == _http(server, query, SELECT_FORMATS[fmt][0])
    if query == SELECT and fmt == "tsv":  # no raw tab or newline inside a term
        assert all(len(line.split(b"\t")) == 4 for line in cli.splitlines())


@pytest.mark.parametrize("fmt", list(GRAPH_FORMATS))
def test_graph_bytes_agree(setup, fmt):
    config, server = setup
    cli = _cli(config, CONSTRUCT, fmt)
    http = _http(server, CONSTRUCT, GRAPH_FORMATS[fmt][0])
    assert cli == http  # both write pyoxigraph's serialisation of the triples in one sorted order
    assert len(Graph().parse(data=cli, format=fmt)) == 5  # the format keys are rdflib's names too
