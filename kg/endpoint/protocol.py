"""The SPARQL 1.1 Protocol route (``/sparql``): parameters, bodies, updates, the service
description, and ``EndpointState``, what the routes share."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kg.endpoint.config import EndpointConfig, EndpointError
from kg.endpoint.negotiate import GRAPH_FORMATS, SELECT_FORMATS, negotiate
from kg.endpoint.pool import QueryTimeout, WorkerPool
from kg.endpoint.worker import RDFLIB_DEFAULT_GRAPH
from kg.sparql_text import PLAIN_IRI, add_using, find_forbidden, has_from, names_dataset


class EndpointState:
    """What the routes share; ``app.state.endpoint``. ``query`` serves other pages too."""

    def __init__(self, pool: WorkerPool, config: EndpointConfig, examples: list, assets_dir: Path,
                 cleanup: Callable[[], None]):
        self.pool = pool
        self.config = config
        self.examples = examples
        self.assets_dir = assets_dir
        self._cleanup = cleanup
        self.started = time.time()

    async def query(self, sparql: str, *, fmt: str = "json", default_graphs: Sequence[str] | None = None,
                    named_graphs: Sequence[str] | None = None) -> tuple[str, bytes]:
        """Run a read-only query through the workers (same limits); returns (media type, body)."""
        return await _run(self, sparql, SELECT_FORMATS.get(fmt) and fmt, GRAPH_FORMATS.get(fmt) and fmt,
                          default_graphs, named_graphs)

    def close(self) -> None:
        self.pool.close()
        self._cleanup()


async def _run(state: EndpointState, text: str, select_fmt, graph_fmt, dg, ng,
               base_iri: str | None = None) -> tuple[str, bytes]:
    forbidden = find_forbidden(text)
    if forbidden:
        raise EndpointError(400, f"{forbidden} (federated query) is not allowed: this endpoint never "
                                 "fetches other servers on a client's behalf", note="service refused")
    cfg = state.config
    job = {"op": "query", "query": text, "default_graphs": dg, "named_graphs": ng,
           "has_from": has_from(text), "select_format": select_fmt, "graph_format": graph_fmt,
           "max_results": cfg.max_results, "base_iri": base_iri}
    try:
        reply = await run_in_threadpool(state.pool.run, job, cfg.query_timeout)
    except QueryTimeout:
        raise EndpointError(503, f"query time limit of {cfg.query_timeout:g} s exceeded",
                            note="timeout") from None
    if reply[0] == "err":
        raise EndpointError(reply[1], reply[2], note="query error")
    _, media, body, _n = reply  # the worker names the media type: "xml" is a key of both tables
    return media, body


def _error(e: EndpointError, request: Request | None = None) -> Response:
    if request is not None and e.note:
        request.scope.setdefault("state", {})["log_note"] = e.note
    return Response(e.message + "\n", status_code=e.status, media_type="text/plain; charset=utf-8",
                    headers=e.headers)


def _parse_params(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        text = raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise EndpointError(400, f"the {what} is not valid UTF-8") from None


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > limit:
                raise EndpointError(413, f"request body over the limit of {limit} bytes", note="too large")
        except ValueError:
            raise EndpointError(400, "bad Content-Length") from None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise EndpointError(413, f"request body over the limit of {limit} bytes", note="too large")
    return bytes(body)


def _media_type(request: Request) -> tuple[str, dict[str, str]]:
    raw = request.headers.get("content-type", "")
    parts = [p.strip() for p in raw.split(";")]
    params = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.strip().lower()] = v.strip().strip('"').lower()
    return parts[0].lower(), params


async def _sparql(request: Request) -> Response:
    state: EndpointState = request.app.state.endpoint
    try:
        return await _sparql_inner(request, state)
    except EndpointError as e:
        return _error(e, request)


async def _sparql_inner(request: Request, state: EndpointState) -> Response:
    cfg = state.config
    method = request.method
    if method not in ("GET", "HEAD", "POST"):
        raise EndpointError(405, f"method {method} not allowed; use GET or POST",
                            headers={"Allow": "GET, HEAD, POST"})
    raw_qs = request.scope.get("query_string", b"")
    if len(raw_qs) > cfg.max_body_bytes:
        raise EndpointError(414, f"query string over the limit of {cfg.max_body_bytes} bytes",
                            note="too large")
    params = _parse_params(raw_qs, "query string")
    direct_query = direct_update = None
    if method == "POST":
        mtype, mparams = _media_type(request)
        accepted = ("application/x-www-form-urlencoded", "application/sparql-query",
                    "application/sparql-update")
        if mtype not in accepted:
            raise EndpointError(415, f"POST needs Content-Type {', '.join(accepted)} (got "
                                     f"{mtype or 'none'})")
        charset = mparams.get("charset", "utf-8")
        if charset not in ("utf-8", "utf8"):
            raise EndpointError(415, f"only UTF-8 is accepted (charset={charset})")
        body = await _read_body(request, cfg.max_body_bytes)
        if mtype == "application/x-www-form-urlencoded":
            params += _parse_params(body, "form body")
        else:
            try:
                text = body.decode("utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError:
                raise EndpointError(400, "the request body is not valid UTF-8") from None
            if mtype == "application/sparql-query":
                direct_query = text
            else:
                direct_update = text
    queries = [v for k, v in params if k == "query"] + ([direct_query] if direct_query is not None else [])
    updates = [v for k, v in params if k == "update"] + ([direct_update] if direct_update is not None else [])
    if queries and updates:
        raise EndpointError(400, "a request carries either a query or an update, not both")
    if len(queries) > 1 or len(updates) > 1:
        raise EndpointError(400, "more than one query or update in the request")
    base_iri = _base_iri(request)
    if updates:
        return await _update(request, state, updates[0], params, base_iri)
    if not queries:
        if method == "POST":
            raise EndpointError(400, "no query in the request (a 'query' parameter or an "
                                     "application/sparql-query body)")
        return await _service_description(request, state)
    text = queries[0]
    if not text.strip():
        raise EndpointError(400, "the query is empty")
    dg = [v for k, v in params if k == "default-graph-uri"]
    ng = [v for k, v in params if k == "named-graph-uri"]
    if not ng and dg and set(dg) == {RDFLIB_DEFAULT_GRAPH}:
        dg = []  # rdflib's Dataset asking for the endpoint's default graph: no dataset given
    accept = request.headers.get("accept")
    select_fmt = negotiate(accept, SELECT_FORMATS)
    graph_fmt = negotiate(accept, GRAPH_FORMATS)
    if select_fmt is None and graph_fmt is None:
        raise EndpointError(406, "no acceptable result format; this endpoint offers: " + ", ".join(
            mt.split(";")[0] for mt, _ in (*SELECT_FORMATS.values(), *GRAPH_FORMATS.values())))
    media, body = await _run(state, text, select_fmt, graph_fmt,
                             dg if (dg or ng) else None, ng if (dg or ng) else None, base_iri)
    return Response(body, media_type=media, headers={"Vary": "Accept"})


def _base_iri(request: Request) -> str | None:
    """The endpoint's URL as the client named it: relative IRIs in a query or update resolve
    against it (SPARQL 1.1 Protocol: the base IRI "MAY be the service endpoint")."""
    url = str(request.url_for("sparql"))
    return url if PLAIN_IRI.fullmatch(url) else None


async def _update(request: Request, state: EndpointState, text: str, params,
                  base_iri: str | None = None) -> Response:
    cfg = state.config
    if not cfg.allow_update:
        raise EndpointError(403, "SPARQL Update is disabled on this endpoint", note="update refused")
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if not (scheme.lower() == "bearer" and cfg.update_token
            and hmac.compare_digest(token.strip().encode(), cfg.update_token.encode())):
        raise EndpointError(403, "SPARQL Update needs 'Authorization: Bearer <update token>'",
                            note="update refused")
    if request.method != "POST":
        raise EndpointError(405, "SPARQL Update must be sent by POST", headers={"Allow": "POST"})
    using = [v for k, v in params if k == "using-graph-uri"]
    using_named = [v for k, v in params if k == "using-named-graph-uri"]
    if using or using_named:
        bad = next((u for u in using + using_named if not PLAIN_IRI.fullmatch(u)), None)
        if bad is not None:
            raise EndpointError(400, f"invalid graph IRI in using-graph-uri/using-named-graph-uri: {bad!r}")
        if names_dataset(text):
            raise EndpointError(400, "using-graph-uri/using-named-graph-uri and a USING or WITH clause "
                                     "in the update: give the dataset one way only")
        try:
            text = add_using(text, using, using_named)
        except ValueError as e:
            raise EndpointError(400, f"cannot apply using-graph-uri/using-named-graph-uri: {e}") from None
    forbidden = find_forbidden(text, update=True)
    if forbidden:
        raise EndpointError(400, f"{forbidden} is not allowed: this endpoint never fetches other "
                                 "servers on a client's behalf", note="service refused")
    try:
        stats = await run_in_threadpool(state.pool.update, text, cfg.query_timeout, base_iri)
    except QueryTimeout:
        raise EndpointError(503, f"query time limit of {cfg.query_timeout:g} s exceeded",
                            note="timeout") from None
    return JSONResponse({"ok": True, "triples": stats["triples"]})


async def _service_description(request: Request, state: EndpointState) -> Response:
    from rdflib import BNode, Graph, Namespace, URIRef
    from rdflib.namespace import RDF

    fmt = negotiate(request.headers.get("accept"), GRAPH_FORMATS)
    if fmt is None:
        raise EndpointError(406, "the service description comes as " + ", ".join(
            mt.split(";")[0] for mt, _ in GRAPH_FORMATS.values()))
    await run_in_threadpool(state.pool.start)
    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    formats = Namespace("http://www.w3.org/ns/formats/")
    g = Graph()
    g.bind("sd", sd)
    g.bind("formats", formats)
    svc = BNode()
    g.add((svc, RDF.type, sd.Service))
    g.add((svc, sd.endpoint, URIRef(str(request.url_for("sparql")))))
    g.add((svc, sd.supportedLanguage, sd.SPARQL11Query))
    if state.config.allow_update:
        g.add((svc, sd.supportedLanguage, sd.SPARQL11Update))
    for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                 "SPARQL_Results_TSV", "Turtle", "N-Triples", "RDF_XML", "JSON-LD"):
        g.add((svc, sd.resultFormat, formats[name]))
    g.add((svc, sd.feature, sd.UnionDefaultGraph))
    dataset, default = BNode(), BNode()
    g.add((svc, sd.defaultDataset, dataset))
    g.add((dataset, RDF.type, sd.Dataset))
    g.add((dataset, sd.defaultGraph, default))
    g.add((default, RDF.type, sd.Graph))
    for name in state.pool.stats.get("graphs") or []:
        ng = BNode()
        g.add((dataset, sd.namedGraph, ng))
        g.add((ng, RDF.type, sd.NamedGraph))
        g.add((ng, sd.name, URIRef(name)))
    out = g.serialize(format=fmt)  # the format keys are rdflib's format names too
    return Response(out.encode() if isinstance(out, str) else out, media_type=GRAPH_FORMATS[fmt][0],
                    headers={"Vary": "Accept"})
