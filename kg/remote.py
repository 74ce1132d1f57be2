"""A SPARQL 1.1 server over HTTP as a store (backend ``remote``): tested against ``oxigraph
serve`` and Virtuoso Open Source 7.2 (README: Stores).

Plain SPARQL 1.1 Protocol POSTs (``query=``/``update=`` forms) with an explicit ``Accept``:
SPARQL JSON for SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE, so the answer's format
never depends on the client's hash seed or the server's preferences.

Writes never leave a graph half-replaced: the new triples go into a staging graph in batches
small enough for common servers (a refused batch is split and retried), then one update
request moves every staging graph into place; if anything fails before that, the previous
graphs stay as they were and the staging graphs are dropped.

Only peerlearn's own graphs (``kg.namespaces.GRAPHS``) are counted, listed or cleared: a
server may hold others (Virtuoso has system graphs).

Credentials (HTTP basic or digest) come from the URL's userinfo or from
``PEERLEARN_STORE_USER``/``PEERLEARN_STORE_PASSWORD``; they are sent only when the server asks,
never printed, and removed from every message.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from urllib.error import HTTPError
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit
from urllib.request import (
    HTTPBasicAuthHandler,
    HTTPDigestAuthHandler,
    HTTPPasswordMgrWithDefaultRealm,
    Request,
    build_opener,
)

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import QueryError, StoreError
from kg.namespaces import GRAPHS
from kg.results import QueryResult
from kg.store import Store

USER_ENV = "PEERLEARN_STORE_USER"
PASSWORD_ENV = "PEERLEARN_STORE_PASSWORD"

OWN_GRAPHS = str(GRAPHS)  # every graph peerlearn writes starts with this
STAGING = "https://w3id.org/peerlearn/staging/"  # outside OWN_GRAPHS: never counted or listed

# Triples and bytes per INSERT request. Virtuoso 7.2 refuses requests of about 1,000 triples
# or 10,000 lines (SP030/SP031); a refused batch is halved and retried down to one triple.
BATCH_TRIPLES = 500
BATCH_BYTES = 100_000
_SPLIT_ON = {400, 413, 414, 500, 503}

XSD = "http://www.w3.org/2001/XMLSchema#"
_FORM = re.compile(
    r"(?:\s+|#[^\n]*|(?:PREFIX\s+[^\s:]*:\s*|BASE\s*)<[^>]*>)*(SELECT|ASK|CONSTRUCT|DESCRIBE)\b",
    re.IGNORECASE)
_BNODE = re.compile(r"_:[A-Za-z0-9_\-.]+")


def query_form(sparql: str) -> str | None:
    """``select``, ``ask``, ``construct`` or ``describe`` (None if the text does not say)."""
    m = _FORM.match(sparql)
    return m.group(1).lower() if m else None


class RemoteStore(Store):
    """A SPARQL 1.1 endpoint over HTTP. Writes need ``update_endpoint``.

    The endpoint must present the union of its named graphs as the default graph (Oxigraph:
    ``--union-default-graph``; Fuseki: ``tdb:unionDefaultGraph true``; GraphDB and Virtuoso do
    by default), as the embedded backends do.
    """

    backend = "remote"

    def __init__(self, endpoint: str, update_endpoint: str | None = None, *, timeout: float = 30.0,
                 user: str | None = None, password: str | None = None,
                 batch_triples: int = BATCH_TRIPLES, batch_bytes: int = BATCH_BYTES):
        self.endpoint, q_user, q_pw = _split_userinfo(endpoint)
        self.update_endpoint, u_user, u_pw = _split_userinfo(update_endpoint) if update_endpoint else (None, None, None)
        user = user or q_user or u_user or os.environ.get(USER_ENV) or None
        password = password or q_pw or u_pw or os.environ.get(PASSWORD_ENV) or None
        self._secrets = [s for s in (password,) if s]
        self.timeout = timeout
        self.batch_triples, self.batch_bytes = batch_triples, batch_bytes
        handlers = []
        if user:
            mgr = HTTPPasswordMgrWithDefaultRealm()
            for url in (self.endpoint, self.update_endpoint):
                if url:
                    mgr.add_password(None, url, user, password or "")
            handlers = [HTTPBasicAuthHandler(mgr), HTTPDigestAuthHandler(mgr)]
        self._opener = build_opener(*handlers)

    # ------------------------------------------------------------------ HTTP

    def _post(self, url: str, field: str, text: str, accept: str):
        """POST one form field; (headers, body) or StoreError with the server's own message."""
        req = Request(url, data=urlencode({field: text}).encode("utf-8"), method="POST", headers={
            "Accept": accept, "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "User-Agent": "peerlearn"})
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.headers, resp.read()
        except HTTPError as e:
            try:
                body = e.read(4000).decode("utf-8", "replace")
            except OSError:
                body = ""
            raise RemoteError(url, e.code, self._redact(_server_message(body) or str(e.reason))) from None
        except OSError as e:  # URLError, timeouts, refused connections
            reason = getattr(e, "reason", e)
            raise StoreError(f"{url}: cannot reach the SPARQL server ({self._redact(_one_line(reason))})") from None

    def _redact(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def update(self, text: str) -> None:
        """Run one SPARQL Update request."""
        if not self.update_endpoint:
            raise StoreError(f"{self.endpoint}: read-only remote store (no update endpoint set)")
        self._post(self.update_endpoint, "update", text, "*/*")

    # ------------------------------------------------------------------ reads

    def _query(self, sparql, bindings=None, *, limit=None):
        form = query_form(sparql)
        text = sparql + _values_block(bindings or {})
        graph_form = form in ("construct", "describe")
        accept = "application/n-triples, text/turtle;q=0.5" if graph_form else "application/sparql-results+json"
        try:
            headers, body = self._post(self.endpoint, "query", text, accept)
        except RemoteError as e:
            if e.status == 400:  # the protocol's answer to a query the server cannot parse
                raise QueryError(f"SPARQL syntax error: {e.url} refused the query ({e.message})") from None
            raise StoreError(f"{e.url}: query refused (HTTP {e.status}: {e.message})") from None
        cap = _row_cap(headers)
        ctype = headers.get_content_type()
        if graph_form or ctype in ("application/n-triples", "text/turtle", "text/plain"):
            g = Graph()
            try:
                g.parse(data=body.decode("utf-8"), format="turtle" if ctype == "text/turtle" else "nt")
            except Exception as e:  # rdflib raises assorted parser errors
                raise StoreError(f"{self.endpoint}: unreadable {ctype} answer ({_one_line(e)})") from None
            self._check_cap(cap, len(g), limit)
            if limit is not None and len(g) > limit:
                cut = Graph()
                for i, t in enumerate(g):
                    if i >= limit:
                        break
                    cut.add(t)
                return QueryResult("graph", graph=cut, truncated=True)
            return QueryResult("graph", graph=g)
        try:
            doc = json.loads(body)
        except ValueError:
            raise StoreError(f"{self.endpoint}: answer is not SPARQL JSON (got {ctype or 'no content type'})") from None
        if "boolean" in doc:
            return QueryResult("ask", boolean=bool(doc["boolean"]))
        variables = list(doc.get("head", {}).get("vars", []))
        bindings_ = doc.get("results", {}).get("bindings", [])
        if form == "ask":  # Virtuoso answers ASK as one row of __ASK_RETVAL (1) or none
            return QueryResult("ask", boolean=any(v.get("value") in ("1", "true")
                                                  for b in bindings_ for v in b.values()))
        self._check_cap(cap, len(bindings_), limit)
        rows, truncated = [], False
        for i, b in enumerate(bindings_):
            if limit is not None and i >= limit:
                truncated = True
                break
            rows.append(tuple(_term(b[v]) if v in b else None for v in variables))
        return QueryResult("select", variables=variables, rows=rows, truncated=truncated)

    def _check_cap(self, cap: int | None, n: int, limit: int | None) -> None:
        """Fail when the server cut the answer at its row cap, unless the caller wanted fewer rows."""
        if cap is not None and n >= cap and (limit is None or limit >= cap):
            raise StoreError(f"{self.endpoint}: the server stopped the answer at its row cap of {cap} rows "
                             "(Virtuoso: ResultSetMaxRows in virtuoso.ini [SPARQL]); raise the cap above "
                             "the largest answer peerlearn needs, or the answer would be incomplete")

    def graph(self, name=None):
        """A copy of one named graph (or of all of peerlearn's), read through SELECT: Virtuoso
        cuts CONSTRUCT answers at its row cap without saying so, SELECT answers it flags."""
        where = (f"GRAPH <{name}> {{ ?s ?p ?o }}" if name is not None else
                 f'GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{OWN_GRAPHS}"))')
        g = Graph()
        for s, p, o in self.query(f"SELECT ?s ?p ?o WHERE {{ {where} }}").rows:
            g.add((s, p, o))
        return g

    def graph_names(self):
        res = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                         f'FILTER(STRSTARTS(STR(?g), "{OWN_GRAPHS}")) }}')
        return sorted(r[0] for r in res.rows if isinstance(r[0], URIRef))

    def __len__(self):
        res = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                         f'FILTER(STRSTARTS(STR(?g), "{OWN_GRAPHS}")) }}')
        return int(res.rows[0][0]) if res.rows else 0

    # ------------------------------------------------------------------ writes

    def replace_graph(self, name, graph):
        self.replace_graphs({name: graph})

    def replace_graphs(self, graphs: Mapping[URIRef, Graph], *, clear_others: bool = False) -> None:
        """Load every graph into a staging graph, then swap all of them in with one request
        (``MOVE``; graphs with no triples are dropped; with ``clear_others`` every other
        peerlearn graph is dropped in the same request). A failure keeps the previous graphs."""
        if not self.update_endpoint:
            raise StoreError(f"{self.endpoint}: read-only remote store (no update endpoint set)")
        run = uuid.uuid4().hex
        stages = {name: f"{STAGING}{run}/{i}" for i, name in enumerate(graphs)}
        staged: dict[URIRef, str] = {}
        try:
            for name, graph in graphs.items():
                if self._insert(stages[name], graph.serialize(format="nt", encoding="utf-8").decode("utf-8")):
                    staged[name] = stages[name]
            ops = []
            if clear_others:  # a rebuild: also staging graphs an interrupted run left behind
                ops += [f"DROP SILENT GRAPH <{g}>" for g in self.graph_names() if g not in graphs]
                ops += [f"DROP SILENT GRAPH <{g}>" for g in self._staging_graphs() if g not in staged.values()]
            for name in graphs:
                ops.append(f"MOVE GRAPH <{staged[name]}> TO GRAPH <{name}>" if name in staged
                           else f"DROP SILENT GRAPH <{name}>")
            self.update(" ;\n".join(ops))
        except RemoteError as e:
            self._drop_quietly(stages.values())
            raise StoreError(f"{e.url}: update refused, previous graphs kept (HTTP {e.status}: {e.message})") from None
        except BaseException:
            self._drop_quietly(stages.values())
            raise

    def _staging_graphs(self) -> list[str]:
        res = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                         f'FILTER(STRSTARTS(STR(?g), "{STAGING}")) }}')
        return [str(r[0]) for r in res.rows]

    def _insert(self, graph_iri: str, ntriples: str) -> bool:
        """INSERT the N-Triples lines into ``graph_iri`` in batches; False if there were none."""
        units = _units(ntriples)
        if not units:
            return False
        for batch in _batches(units, self.batch_triples, self.batch_bytes):
            self._insert_batch(graph_iri, batch)
        return True

    def _insert_batch(self, graph_iri: str, units: list[list[str]]) -> None:
        lines = [ln for u in units for ln in u]
        body = "\n".join(lines)
        # Virtuoso refuses blank nodes in INSERT DATA; a template keeps one unit's nodes together.
        text = (f"INSERT {{ GRAPH <{graph_iri}> {{\n{body}\n}} }} WHERE {{}}" if any("_:" in ln for ln in lines)
                else f"INSERT DATA {{ GRAPH <{graph_iri}> {{\n{body}\n}} }}")
        try:
            self.update(text)
        except RemoteError as e:
            if e.status not in _SPLIT_ON or len(units) < 2:
                raise
            half = len(units) // 2
            self._insert_batch(graph_iri, units[:half])
            self._insert_batch(graph_iri, units[half:])

    def _drop_quietly(self, iris) -> None:
        iris = list(iris)
        if iris:
            try:
                self.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in iris))
            except StoreError:
                pass


class RemoteError(StoreError):
    """The server answered with an HTTP error; ``message`` is its own text (secrets removed)."""

    def __init__(self, url: str, status: int, message: str):
        self.url, self.status, self.message = url, status, message
        super().__init__(f"{url}: HTTP {status}: {message}")


# ---------------------------------------------------------------------- helpers

def _split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """(url without user:password@, user, password)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def _server_message(body: str) -> str:
    """The server's error text on one line: Virtuoso's echo of the query and HTML tags removed."""
    body = body.split("\nSPARQL query:", 1)[0]
    body = re.sub(r"<[^>]+>", " ", body)
    text = " ".join(body.split())
    return text[:400] + ("..." if len(text) > 400 else "")


def _one_line(e) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _row_cap(headers) -> int | None:
    """The row cap a server says it applied (Virtuoso sends X-SPARQL-MaxRows when it cut)."""
    v = headers.get("X-SPARQL-MaxRows")
    try:
        return int(v) if v else None
    except ValueError:
        return None


def _values_block(bindings: Mapping[str, Node]) -> str:
    """A trailing VALUES block binding ``bindings`` (terms written as N-Triples, never raw text)."""
    if not bindings:
        return ""
    names, terms = [], []
    for k, v in bindings.items():
        if isinstance(v, str) and not isinstance(v, (URIRef, Literal)):
            v = Literal(v)
        if not isinstance(v, (URIRef, Literal)):
            raise StoreError(f"cannot bind a value of type {type(v).__name__} on a remote store")
        names.append(f"?{k}")
        terms.append(_nt(v))
    return f"\nVALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }}"


def _nt(term: Node) -> str:
    from rdflib.plugins.serializers.nt import _nt_row

    # one triple's N-Triples line, object position: escapes quotes, newlines and IRIs alike
    return _nt_row((URIRef("urn:x"), URIRef("urn:x"), term)).split(" ", 2)[2].rsplit(" .", 1)[0]


def _term(d: dict) -> Node:
    """A SPARQL JSON term as an rdflib term; Virtuoso's 1/0 booleans read as true/false."""
    t, v = d.get("type"), d.get("value", "")
    if t == "uri":
        return URIRef(v)
    if t == "bnode":
        return BNode(v)
    dt = d.get("datatype")
    if dt:
        if dt == XSD + "boolean" and v in ("1", "0"):
            v = "true" if v == "1" else "false"
        if dt == XSD + "string":
            return Literal(v)
        return Literal(v, datatype=URIRef(dt))
    return Literal(v, lang=d.get("xml:lang") or None)


def _units(ntriples: str) -> list[list[str]]:
    """N-Triples lines grouped so that lines sharing a blank node stay together."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    plain, with_b = [], []
    for ln in ntriples.splitlines():
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        labels = _BNODE.findall(ln) if "_:" in ln else []
        if not labels:
            plain.append([ln])
            continue
        root = find(labels[0])
        for other in labels[1:]:
            parent[find(other)] = root
        with_b.append((labels[0], ln))
    groups: dict[str, list[str]] = {}
    for label, ln in with_b:
        groups.setdefault(find(label), []).append(ln)
    return plain + list(groups.values())


def _batches(units: list[list[str]], max_triples: int, max_bytes: int) -> Iterator[list[list[str]]]:
    batch, n, size = [], 0, 0
    for u in units:
        u_size = sum(len(ln) + 1 for ln in u)
        if batch and (n + len(u) > max_triples or size + u_size > max_bytes):
            yield batch
            batch, n, size = [], 0, 0
        batch.append(u)
        n += len(u)
        size += u_size
    if batch:
        yield batch
