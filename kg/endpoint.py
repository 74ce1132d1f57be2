"""A SPARQL 1.1 Protocol endpoint over the knowledge graph, safe by default (``peerlearn serve``).

Routes
- ``/sparql``: queries by GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST
  ``application/sparql-query``; ``default-graph-uri`` / ``named-graph-uri`` honoured (without them
  the default graph is the union of all graphs, as in ``kg.store``, unless the query says
  ``FROM``). Results by content negotiation: SELECT/ASK as SPARQL JSON (default), XML, CSV, TSV;
  CONSTRUCT/DESCRIBE as Turtle (default), N-Triples, RDF/XML, JSON-LD; 406 when the Accept
  header names none of these (one that names only the other form's formats, as rdflib's
  SPARQLStore does for a CONSTRUCT, gets the form's default: RFC 9110 allows it). A bare
  GET is answered with a SPARQL 1.1 Service Description. SPARQL Update is refused (403) unless
  ``allow_update`` is set and the request carries ``Authorization: Bearer <update_token>``;
  ``using-graph-uri`` / ``using-named-graph-uri`` act as USING / USING NAMED (``add_using``),
  refused with 400 when the update says USING or WITH itself. Relative IRIs in queries and
  updates resolve against the endpoint's URL as the client named it (``http://host:port/sparql``)
  unless the text says BASE. ``default-graph-uri=urn:x-rdflib:default`` (``RDFLIB_DEFAULT_GRAPH``,
  what rdflib's ``Dataset(store=SPARQLStore(url))`` sends with every query) names the endpoint's
  default graph, the union; alone it leaves the default dataset (union and every named graph).
- ``/``: the YASGUI query UI, served from ``node_modules`` (``make assets`` = ``npm ci``), with
  every example query of ``kg.queries.EXAMPLES`` as a ready-to-run tab. A Content-Security-Policy
  lets the page talk to this server only (YASQE's LOV autocompleters, which would call an
  outside API, are switched off as well).
- ``/healthz``: JSON with the store's triple count and the workers' state.

Error statuses: 400 malformed request or query (the parser's message in the body), a
``SERVICE`` clause, or a result over ``max_results``; 403 update refused; 405 method; 406 no
acceptable format; 413 body over ``max_body_bytes``; 414 query string over it; 415 wrong media
type or charset; 429 one client's share used up (a second long query, too many waiting); 503
``query time limit of N s exceeded``, workers busy, or shutting down. Bodies of errors
are ``text/plain``. Every request is logged as one JSON line (method, path, status, duration
ms, bytes, client, and a note for refusals) through ``log``.

How queries run, and why (measured with pyoxigraph 0.5.13 on the 2-core machine)
- pyoxigraph releases the GIL while it evaluates (a ticker thread kept running through a 10 s
  query), so threads would keep the event loop free; but a thread cannot be stopped. A lazy
  iterator with a deadline check between rows bounds nothing when the first row is the last
  work: ``SELECT (COUNT(*) ...) {?a ?b ?c . ?d ?e ?f . ?g ?h ?i}`` over 300 triples spends
  its whole 10 s inside one ``next()`` call, and ORDER BY / GROUP BY do the same.
- So queries run in long-lived worker processes (``python -c ... _worker_main``) that open the
  store with ``pyoxigraph.Store.read_only`` (60 ms; they see the store as it was when opened)
  and answer over a pipe. The server waits for an answer with ``select`` and a deadline; past
  ``query_timeout`` it SIGKILLs the worker (the runaway query stops burning a core at once) and
  answers 503. A worker also gets an address-space limit (``worker_memory_mb``): a query that
  would eat the machine's memory aborts the worker instead, answered with 503 too. Workers
  ignore SIGINT/SIGTERM (a terminal or service manager signals the whole process group): the
  server stops them once running queries have finished.
- One client cannot stall the others (``WorkerPool``). ``workers`` short-lane workers (default:
  one per core, 2 to 8) take every query from a fair queue: one line per client (its remote
  address; behind a reverse proxy, the proxy), served in turn, so a burst from one client waits
  behind itself; waiting is bounded (``max_queued``, a quarter of it per client: 503 / 429;
  at most ``query_timeout`` s: 503 "busy"). A query that has used ``query_slice`` s of CPU (or
  4 slices of wall time) moves aside: its worker leaves the short lane for the long one (CPU
  niceness 19, SCHED_IDLE: it gets what the short lane leaves), and a pre-started spare (two
  are kept) takes its place at once; the long query runs on to the timeout and its worker is
  then retired. At most ``long_queries`` run at once (default: ``workers``; beyond it 503) and
  ``long_queries_per_client`` per client (default 1; beyond it 429 with Retry-After): such a
  query is stopped at its slice. CPU time rather than wall time, because on a busy machine a
  cheap query can take 0.5 s of wall time. Replacing a worker costs ~0.2 s of CPU (it imports
  this module without ``kg/__init__``, and only the first workers count the store).
- The result-size limit is enforced while rows are read from pyoxigraph's lazy iterator: the
  worker stops at ``max_results + 1`` and the request fails with a 400 that says to add a
  LIMIT (an error rather than a silent truncation, which SPARQL clients cannot see).
- An in-memory ``store=`` (tests, or a non-Oxigraph backend) is first copied into a private
  temporary on-disk store that the workers open; updates then change that copy only.
- Updates (when allowed) run in a one-shot writer process under the same deadline; then the
  query workers re-open the store to see them. They also re-open it when its directory is
  replaced or written to by another process (a ``peerlearn build`` while serving).
- Cost: a query's round trip to a worker is ~0.1 ms; ``scripts/load_endpoint.py`` measures
  throughput and latency with and without runaway queries (figures in README.md).
- Updates see pyoxigraph's real default graph, not the union that queries see (SPARQL Update
  semantics); use ``GRAPH`` / ``WITH`` / ``USING`` (or ``using-graph-uri``) in updates.

The server never fetches a URL for a client. pyoxigraph does perform HTTP for ``SERVICE`` and
``LOAD`` (measured: a listening socket received ``POST /sparql`` from ``Oxigraph/0.5.13``), so:
1. every query and update is lexed (IRIs, strings, comments, variables, prefixed names) and a
   ``SERVICE`` (or ``LOAD``) keyword refused with 400 before evaluation. Oxigraph's PEG parser
   needs no word boundary after a keyword (``SERVICEex:x {}`` is a SERVICE clause), so the
   check looks for the keyword inside code words too, and runs again on the text with
   ``\\uXXXX`` escapes decoded, as SPARQL 1.1 defines them. Words inside strings, comments,
   IRIs, variables and local names never count.
2. where the kernel allows it, each worker moves into an empty network namespace
   (``unshare(CLONE_NEWNET)``) before it opens the store, so even a query that slipped past (1)
   has no network to reach; ``/healthz`` says whether this is in force.
The server binds 127.0.0.1 unless told otherwise and, bound to loopback, answers only requests
whose Host header names the loopback (no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import hmac
import html
import json
import logging
import os
import pickle
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kg.errors import ConfigError, StoreError

__all__ = ["EndpointConfig", "EndpointError", "create_app", "find_forbidden", "mount_routes", "serve"]

ROOT = Path(__file__).resolve().parents[1]
WEB_ASSETS = Path(__file__).resolve().parent / "web_assets"
YASGUI_PACKAGE = "@zazuko/yasgui"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class EndpointConfig:
    """How the endpoint listens and what it allows. Defaults are the safe ones."""

    host: str = "127.0.0.1"
    port: int = 7878                 # 0 picks a free port (``serve`` logs the one it got)
    query_timeout: float = 10.0      # seconds a query may run; then its worker is killed (503)
    max_results: int = 10000         # rows or triples; more -> 400 "result too large"
    max_body_bytes: int = 1_000_000  # request body (and GET query string) limit -> 413 / 414
    allow_update: bool = False       # SPARQL Update needs this AND the bearer token
    update_token: str | None = field(default=None, repr=False)  # a secret: never in a repr
    workers: int = 0                 # short-lane query worker processes; 0: one per core, 2 to 8
    query_slice: float = 0.5         # s of CPU a query may use in the short lane; then it moves aside
    long_queries: int = 0            # long queries running at once (503 beyond); 0: = workers
    long_queries_per_client: int = 1  # ... per client address (429 beyond)
    max_queued: int = 64             # queries waiting for a worker (503 beyond; 429 beyond a
    #                                  quarter of it from one client)
    worker_memory_mb: int | None = 2048  # address-space limit of a worker process
    isolate_network: bool = True     # move workers into an empty network namespace when possible
    allowed_hosts: tuple[str, ...] | None = None  # Host header names; None: loopback names when
    #                                               bound to loopback, anything otherwise


class EndpointError(Exception):
    """A request the endpoint answers with ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None,
                 note: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.note = note


# ============================================================== the SPARQL lexer (refusals)

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\r\n]|\\.)*"
              |'(?:[^'\\\r\n]|\\.)*')
  | (?P<var>[?$](?:[A-Za-z0-9_]|[^\x00-\x7f])+)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<word>(?:[A-Za-z0-9_.:%-]|[^\x00-\x7f]|\\.)+)
  | (?P<punct>.)
""", re.VERBOSE | re.DOTALL)

_UESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _token_spans(text: str, offset: int = 0) -> list[tuple[str, str, int]]:
    """SPARQL terminals as (kind, text, start), whitespace and comments dropped."""
    out = []
    prev = ""  # the previous significant token's kind
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind == "langtag" and prev != "string":
            # '@' outside a literal's language tag is no LANGTAG: lex what follows as code.
            out.append(("punct", "@", offset + m.start()))
            out.extend(_token_spans(m.group()[1:], offset + m.start() + 1))
            prev = "word"
            continue
        out.append((kind, m.group(), offset + m.start()))
        prev = kind
    return out


def _tokens(text: str) -> list[tuple[str, str]]:
    """SPARQL terminals as (kind, text), whitespace and comments dropped."""
    return [(kind, value) for kind, value, _ in _token_spans(text)]


def _declared_prefixes(tokens: list[tuple[str, str]]) -> set[str]:
    found = set()
    for (k1, v1), (k2, v2) in zip(tokens, tokens[1:]):
        if k1 == "word" and v1.lower() == "prefix" and k2 == "word" and v2.endswith(":"):
            found.add(v2[:-1])
    return found


def _reads_keyword(word: str, keyword: str, prefixes: set[str]) -> bool:
    """Could Oxigraph's parser read ``keyword`` (+ an operand) somewhere in this code word?

    Its PEG grammar needs no word boundary (``SERVICEex:x`` = SERVICE + ``ex:x``; ``1SERVICE``
    = 1 + SERVICE), so any occurrence before the word's first ':' counts when what follows it
    can be the keyword's operand: nothing (a separate IRI, variable or '{' follows), optional
    SILENT, or a prefixed name whose prefix the query declares. Text after the first ':' is a
    local name, which the lexer reads greedily, so it never hides a keyword.
    """
    head = word.split(":", 1)[0].lower()
    start = head.find(keyword)
    while start >= 0:
        rest = word[start + len(keyword):]
        if rest.lower().startswith("silent"):
            rest = rest[len("silent"):]
        if rest == "" or (":" in rest and rest.split(":", 1)[0] in prefixes):
            return True
        start = head.find(keyword, start + 1)
    return False


def find_forbidden(text: str, *, update: bool = False) -> str | None:
    """The first construct the endpoint refuses to run (``SERVICE``; ``LOAD`` in updates), or None.

    >>> find_forbidden('SELECT * { service <http://x/sparql> { ?s ?p ?o } }')
    'SERVICE'
    >>> find_forbidden('SELECT * { ?s ?p "SERVICE <http://x/> {}" } # SERVICE <http://y/> {}')
    """
    keywords = ("service", "load") if update else ("service",)
    texts = [text]
    decoded = _UESCAPE.sub(_decode_escape, text)
    if decoded != text:
        texts.append(decoded)
    for t in texts:
        tokens = _tokens(t)
        prefixes = _declared_prefixes(tokens)
        after_prefix = False
        for kind, value in tokens:
            if kind == "word" and not after_prefix:
                for kw in keywords:
                    if _reads_keyword(value, kw, prefixes):
                        return kw.upper()
            after_prefix = kind == "word" and value.lower() == "prefix"
    return None


def _decode_escape(m: re.Match) -> str:
    code = int(m.group(1) or m.group(2), 16)
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return "\ufffd"


def _has_from(text: str) -> bool:
    """Does the query name its own dataset (FROM / FROM NAMED)?"""
    return any(k == "word" and v.lower() == "from" for k, v in _tokens(text))


# An absolute IRI that can stand between '<' and '>' in SPARQL text as it is (no escapes).
_PLAIN_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:[^<>"{}|^`\\\x00-\x20]*')


def _names_dataset(update: str) -> bool:
    """Does the update say USING, USING NAMED or WITH (outside braces, read as Oxigraph reads them)?"""
    tokens = _tokens(update)
    prefixes = _declared_prefixes(tokens)
    depth, prev = 0, ("", "")
    for kind, value in tokens:
        if kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
        elif (kind == "word" and depth == 0 and prev != ("word", "prefix")
              and (_reads_keyword(value, "using", prefixes) or _reads_keyword(value, "with", prefixes))):
            return True
        prev = (kind, value.lower())
    return False


def add_using(update: str, using: Sequence[str], using_named: Sequence[str]) -> str:
    """The update with the protocol's ``using-graph-uri`` / ``using-named-graph-uri`` written in.

    SPARQL 1.1 Protocol 2.2.3: they act as ``USING`` / ``USING NAMED`` clauses of every
    operation with a WHERE (DELETE/INSERT ... WHERE; ``DELETE WHERE {P}`` becomes
    ``DELETE {P} USING ... WHERE {P}``, its meaning); INSERT DATA, CLEAR and the like are not
    affected. The caller refuses an update that says USING or WITH itself and checks the IRIs
    (``_PLAIN_IRI``). Every top-level ``WHERE`` of an update belongs to such an operation; a
    ``WHERE`` glued to another word (Oxigraph reads ``DELETEWHERE{...}``) is refused (ValueError)
    rather than left without the dataset.

    >>> add_using('INSERT { ?s a <http://x/D> } WHERE { ?s a <http://x/C> }', ['http://g/1'], [])
    'INSERT { ?s a <http://x/D> } USING <http://g/1> WHERE { ?s a <http://x/C> }'
    >>> add_using('INSERT DATA { <a> <b> <c> } ; DELETE WHERE { ?s ?p 1 }', [], ['http://g/2'])
    'INSERT DATA { <a> <b> <c> } ; DELETE { ?s ?p 1 } USING NAMED <http://g/2> WHERE { ?s ?p 1 }'
    """
    clause = "".join(f"USING <{u}> " for u in using) + "".join(f"USING NAMED <{u}> " for u in using_named)
    tokens = _token_spans(update)
    prefixes = _declared_prefixes([(k, v) for k, v, _ in tokens])
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in text order
    depth = 0
    prev = ("", "")
    for i, (kind, value, start) in enumerate(tokens):
        if kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
        elif kind == "word" and depth == 0 and prev != ("word", "prefix"):
            word = value.lower()
            if word == "where" and prev == ("word", "delete"):
                end = _group_end(tokens, i + 1)
                if end is None:
                    raise ValueError("DELETE WHERE without a { ... } pattern")
                pattern = update[tokens[i + 1][2]:end]
                edits.append((start, end, f"{pattern} {clause}WHERE {pattern}"))
            elif word == "where":
                edits.append((start, start, clause))
            elif _reads_keyword(value, "where", prefixes):
                raise ValueError(f"write WHERE apart from the word before it ({value!r})")
        prev = (kind, value.lower())
    for start, end, text in reversed(edits):
        update = update[:start] + text + update[end:]
    return update


def _group_end(tokens: list[tuple[str, str, int]], i: int) -> int | None:
    """The end offset of the ``{ ... }`` group opening at token ``i`` (None if there is none)."""
    if i >= len(tokens) or tokens[i][:2] != ("punct", "{"):
        return None
    depth = 0
    for kind, value, start in tokens[i:]:
        if kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
            if depth == 0:
                return start + 1
    return None


# ============================================================== formats and negotiation

# key -> (media type sent, media ranges accepted for it)
SELECT_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "json": ("application/sparql-results+json",
             ("application/sparql-results+json", "application/json")),
    "xml": ("application/sparql-results+xml",
            ("application/sparql-results+xml", "application/xml", "text/xml")),
    "csv": ("text/csv; charset=utf-8", ("text/csv",)),
    "tsv": ("text/tab-separated-values; charset=utf-8", ("text/tab-separated-values",)),
}
GRAPH_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "turtle": ("text/turtle; charset=utf-8", ("text/turtle", "application/x-turtle")),
    "nt": ("application/n-triples", ("application/n-triples", "text/plain")),
    "rdfxml": ("application/rdf+xml", ("application/rdf+xml", "application/xml", "text/xml")),
    "jsonld": ("application/ld+json", ("application/ld+json", "application/json")),
}


def _parse_accept(header: str) -> list[tuple[str, str, float]]:
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        mtype, _, sub = fields[0].lower().partition("/")
        q = 1.0
        for f in fields[1:]:
            name, _, value = f.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((mtype, sub or "*", q))
    return ranges


def negotiate(accept: str | None, offers: Mapping[str, tuple[str, tuple[str, ...]]]) -> str | None:
    """The key of the offer the Accept header prefers (ties: the first offer); None if none fits.

    >>> negotiate("text/csv;q=0.5, application/sparql-results+xml", SELECT_FORMATS)
    'xml'
    >>> negotiate(None, GRAPH_FORMATS), negotiate("image/png", GRAPH_FORMATS)
    ('turtle', None)
    """
    if not accept or not accept.strip():
        return next(iter(offers))
    ranges = _parse_accept(accept)
    best, best_rank = None, (0.0, False)
    for key, (_, types) in offers.items():
        rank = (0.0, False)  # (q, matched through the offer's own media type rather than an alias)
        for i, t in enumerate(types):
            mtype, _, sub = t.partition("/")
            spec, q_t = -1, 0.0
            for rt, rs, q in ranges:  # the most specific range decides the q of a type
                s = 2 if (rt, rs) == (mtype, sub) else 1 if (rt == mtype and rs == "*") else \
                    0 if (rt, rs) == ("*", "*") else -1
                if s > spec:
                    spec, q_t = s, q
            if spec >= 0 and q_t > 0:
                rank = max(rank, (q_t, i == 0))
        if rank > best_rank:
            best, best_rank = key, rank
    return best


# ============================================================== worker processes

_FRAME = struct.Struct(">I")
_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "https://schema.org/",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "pl": "https://w3id.org/peerlearn/ontology#",
}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# The name rdflib gives a Dataset's default graph; its SPARQLStore sends it as default-graph-uri.
RDFLIB_DEFAULT_GRAPH = "urn:x-rdflib:default"


def _send_frame(fp, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fp.write(_FRAME.pack(len(data)) + data)
    fp.flush()


def _recv_frame_blocking(fp):
    head = fp.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (n,) = _FRAME.unpack(head)
    return pickle.loads(fp.read(n))


def _isolate_network() -> bool:
    """Move this (still single-threaded) process into a new, empty network namespace."""
    if not sys.platform.startswith("linux"):
        return False
    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    if libc.unshare(clone_newnet) == 0:
        return True
    return libc.unshare(clone_newuser | clone_newnet) == 0


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(70)


def _worker_main() -> None:
    """A query worker (or, with mode "writer", a one-shot update writer). See WorkerPool."""
    args = json.loads(sys.argv[1])
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints must not corrupt the frame stream
    inp = sys.stdin.buffer
    isolated = _isolate_network() if args["isolate"] else False
    if args.get("memory_mb"):
        import resource

        limit = int(args["memory_mb"]) * 2**20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threading.Thread(target=_watch_parent, args=(args["parent"],), daemon=True).start()
    # The server's Ctrl-C / SIGTERM (sent to the whole process group by terminals and service
    # managers) is the server's to handle: it lets running queries finish, then stops workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    import pyoxigraph as ox

    def open_store():
        if args["mode"] == "writer":
            return ox.Store(args["path"])
        return ox.Store.read_only(args["path"])

    try:
        store = open_store()
    except OSError as e:
        _send_frame(out, ("err", 500, f"cannot open the store: {e}"))
        return
    counted = _stats(ox, store) if args.get("stats", True) else {}  # len() reads the whole store
    _send_frame(out, ("ready", {"pid": os.getpid(), "isolated": isolated, **counted}))
    while True:
        job = _recv_frame_blocking(inp)
        if job is None:
            return
        try:
            if job["op"] == "query":
                reply = _run_query(ox, store, job)
            elif job["op"] == "update":
                store.update(job["update"], base_iri=job.get("base_iri"))
                store.flush()
                reply = ("ok", _stats(ox, store))
            elif job["op"] == "reopen":
                del store
                store = open_store()
                reply = ("ok", _stats(ox, store))
            else:
                reply = ("err", 500, f"unknown job {job['op']!r}")
        except SyntaxError as e:
            reply = ("err", 400, f"SPARQL syntax error: {_one_line(e)}")
        except MemoryError:
            reply = ("err", 503, "the query needs more memory than a worker may use")
        except Exception as e:  # pyoxigraph raises OSError, RuntimeError, ValueError
            reply = ("err", 500, f"{job['op']} failed: {_one_line(e)}")
        _send_frame(out, reply)


def _stats(ox, store) -> dict:
    graphs = []
    for g in store.named_graphs():
        if isinstance(g, ox.NamedNode):
            graphs.append(g.value)
            if len(graphs) >= 1000:
                break
    return {"triples": len(store), "graphs": sorted(graphs)}


def _run_query(ox, store, job) -> tuple:
    kw: dict[str, Any] = {}
    dg, ng = job.get("default_graphs"), job.get("named_graphs")
    try:
        if dg is not None or ng is not None:
            kw["default_graph"] = [ox.NamedNode(u) for u in dg or () if u != RDFLIB_DEFAULT_GRAPH]
            if RDFLIB_DEFAULT_GRAPH in (dg or ()):  # the endpoint's default graph: the union
                kw["default_graph"] += [ox.DefaultGraph(), *store.named_graphs()]
            kw["named_graphs"] = [ox.NamedNode(u) for u in ng or ()]
        elif not job.get("has_from"):
            kw["use_default_graph_as_union"] = True
    except ValueError as e:
        return ("err", 400, f"invalid graph IRI in default-graph-uri/named-graph-uri: {_one_line(e)}")
    res = store.query(job["query"], base_iri=job.get("base_iri"), **kw)
    limit = job["max_results"]
    # Accept may name only the other query form's formats (rdflib's SPARQLStore sends
    # sparql-results+json for a CONSTRUCT): then the form's default format is sent.
    if isinstance(res, ox.QueryBoolean):
        fmt = job["select_format"] or "json"
        return ("ok", fmt, _serialize_solutions(ox, fmt, None, None, bool(res)), 1)
    if isinstance(res, ox.QuerySolutions):
        fmt = job["select_format"] or "json"
        variables = [v.value for v in res.variables]
        rows = []
        for sol in res:
            if len(rows) >= limit:
                return ("err", 400, _too_large(limit, "rows"))
            rows.append([sol[i] for i in range(len(variables))])
        return ("ok", fmt, _serialize_solutions(ox, fmt, variables, rows, None), len(rows))
    fmt = job["graph_format"] or "turtle"
    triples = []
    for t in res:
        if len(triples) >= limit:
            return ("err", 400, _too_large(limit, "triples"))
        triples.append(t)
    rdf_format = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
                  "rdfxml": ox.RdfFormat.RDF_XML, "jsonld": ox.RdfFormat.JSON_LD}[fmt]
    prefixes = _PREFIXES if fmt in ("turtle", "rdfxml") else None
    return ("ok", fmt, ox.serialize(triples, format=rdf_format, prefixes=prefixes), len(triples))


def _too_large(limit: int, what: str) -> str:
    return (f"result too large: more than {limit} {what} (the endpoint's max_results); "
            f"add a LIMIT or narrow the query")


def _serialize_solutions(ox, fmt: str, variables, rows, boolean) -> bytes:
    """SPARQL results (JSON, XML, CSV, TSV) straight from pyoxigraph terms."""
    if fmt == "json":
        if boolean is not None:
            return json.dumps({"head": {}, "boolean": boolean}).encode()
        bindings = [{v: _term_json(ox, t) for v, t in zip(variables, row) if t is not None}
                    for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False).encode()
    if fmt == "xml":
        from xml.sax.saxutils import quoteattr

        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        if boolean is not None:
            out.append(f"</head>\n<boolean>{'true' if boolean else 'false'}</boolean>")
        else:
            out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
            out.append("</head>\n<results>")
            for row in rows:
                cells = "".join(f"<binding name={quoteattr(v)}>{_term_xml(ox, t)}</binding>"
                                for v, t in zip(variables, row) if t is not None)
                out.append(f"<result>{cells}</result>")
            out.append("</results>")
        out.append("</sparql>\n")
        return "\n".join(out).encode()
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        if boolean is not None:
            w.writerows([["boolean"], ["true" if boolean else "false"]])
        else:
            w.writerow(variables)
            w.writerows([[_term_csv(ox, t) for t in row] for row in rows])
        return buf.getvalue().encode()
    if boolean is not None:  # tsv
        return b"?boolean\n" + (b"true\n" if boolean else b"false\n")
    lines = ["\t".join(f"?{v}" for v in variables)]
    lines += ["\t".join("" if t is None else str(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _term_json(ox, t) -> dict:
    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.Literal):
        d = {"type": "literal", "value": t.value}
        if t.language:
            d["xml:lang"] = t.language
        elif t.datatype.value != _XSD_STRING:
            d["datatype"] = t.datatype.value
        return d
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    return {"type": "triple", "value": {"subject": _term_json(ox, t.subject),
                                        "predicate": _term_json(ox, t.predicate),
                                        "object": _term_json(ox, t.object)}}


def _term_xml(ox, t) -> str:
    from xml.sax.saxutils import escape, quoteattr

    if isinstance(t, ox.NamedNode):
        return f"<uri>{escape(t.value)}</uri>"
    if isinstance(t, ox.Literal):
        if t.language:
            return f"<literal xml:lang={quoteattr(t.language)}>{escape(t.value)}</literal>"
        if t.datatype.value != _XSD_STRING:
            return f"<literal datatype={quoteattr(t.datatype.value)}>{escape(t.value)}</literal>"
        return f"<literal>{escape(t.value)}</literal>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{escape(t.value)}</bnode>"
    return (f"<triple><subject>{_term_xml(ox, t.subject)}</subject><predicate>"
            f"{_term_xml(ox, t.predicate)}</predicate><object>{_term_xml(ox, t.object)}</object></triple>")


def _term_csv(ox, t) -> str:
    if t is None:
        return ""
    if isinstance(t, ox.BlankNode):
        return f"_:{t.value}"
    if isinstance(t, (ox.NamedNode, ox.Literal)):
        return t.value
    return str(t)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


class QueryTimeout(Exception):
    pass


class _Worker:
    __slots__ = ("proc", "info", "generation", "lane", "client")

    def __init__(self, proc: subprocess.Popen, info: dict, generation: int):
        self.proc, self.info, self.generation = proc, info, generation
        self.lane = "new"  # "short", "long", "spare", or "gone" once retired
        self.client: str | None = None  # whose query a short-lane worker runs


def default_workers() -> int:
    """Short-lane query workers when none are configured: one per usable core, 2 to 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 2
    return max(2, min(8, cores))


# The client of the request being handled (its remote address), set by _Frontdoor; the pool's
# fair queue and its per-client limit of long queries key on it.
_CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("peerlearn_endpoint_client", default="")


class _Waiter:
    __slots__ = ("client", "event", "worker")

    def __init__(self, client: str):
        self.client, self.event, self.worker = client, threading.Event(), None


class FairQueue:
    """Queries waiting for a short-lane worker: one line per client, the lines served in turn.

    A client that sends many queries at once waits behind its own queries only. ``limit`` bounds
    the waiting queries in all, ``per_client`` those of one client. Not thread-safe: WorkerPool
    calls it under its lock.

    >>> q = FairQueue(limit=10, per_client=3)
    >>> [q.push(c)[0].client for c in "aaab"]
    ['a', 'a', 'a', 'b']
    >>> q.push("a")
    (None, 'client')
    >>> "".join(q.pop().client for _ in range(3))
    'aba'
    >>> q.pop(lambda client: client != "a") is None  # a client at its limit is skipped
    True
    """

    def __init__(self, limit: int, per_client: int):
        self.limit, self.per_client = max(1, limit), max(1, per_client)
        self._lines: dict[str, deque[_Waiter]] = {}
        self._turns: deque[str] = deque()  # clients with waiting queries, next to serve first
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def push(self, client: str) -> tuple[_Waiter | None, str | None]:
        """(a new waiter, None), or (None, "full" / "client") when a bound is reached."""
        line = self._lines.get(client)
        if line is not None and len(line) >= self.per_client:
            return None, "client"
        if self.n >= self.limit:
            return None, "full"
        if line is None:
            line = self._lines[client] = deque()
            self._turns.append(client)
        w = _Waiter(client)
        line.append(w)
        self.n += 1
        return w, None

    def pop(self, eligible: Callable[[str], bool] | None = None) -> _Waiter | None:
        """The oldest waiter of the next client in turn (skipping those ``eligible`` refuses)."""
        client = next((c for c in self._turns if eligible is None or eligible(c)), None)
        if client is None:
            return None
        self._turns.remove(client)
        line = self._lines[client]
        w = line.popleft()
        self.n -= 1
        if line:
            self._turns.append(client)
        else:
            del self._lines[client]
        return w

    def remove(self, w: _Waiter) -> None:
        line = self._lines.get(w.client)
        if line is None or w not in line:
            return
        line.remove(w)
        self.n -= 1
        if not line:
            del self._lines[w.client]
            self._turns.remove(w.client)


_LONG_NICE = 19  # a worker moved to the long lane: niceness 19 and SCHED_IDLE (short lane: 0)


class WorkerPool:
    """Query worker processes over the on-disk store at ``path``; thread-safe, loop-free.

    Two lanes keep cheap queries fast while expensive ones run (see the module docstring):
    ``size`` short-lane workers take every query, handed out through a FairQueue (``max_queued``
    waiting at most, a quarter of that per client, each for at most ``wait`` s); when several
    clients wait, those holding less than half of the workers go first. A query still
    running after ``slice`` s moves aside: its worker leaves the short lane for the long one
    (reniced) and one of ``spares`` pre-started workers takes its place; a new spare starts in
    the background. The long query runs on to the timeout; its worker is retired afterwards. At
    most ``long_limit`` long queries run at once (503 beyond), ``long_per_client`` per client
    (429 beyond): such a query is stopped at its slice. ``slice=None``: queries keep their
    worker until the timeout. ``run(job)`` blocks (call it from a thread).
    """

    def __init__(self, path: str | os.PathLike, size: int = 2, *, memory_mb: int | None = None,
                 isolate: bool = True, log: Callable[[str], None] | None = None,
                 slice: float | None = 0.5, long_limit: int | None = None, long_per_client: int = 1,
                 max_queued: int = 64, spares: int = 2):
        self.path = str(path)
        self.size = max(1, int(size))
        self.memory_mb = memory_mb
        self.isolate = isolate
        self.slice = slice
        self.long_limit = max(1, int(long_limit or self.size))
        self.long_per_client = max(1, int(long_per_client))
        self.short_per_client = max(1, self.size // 2)
        self.spares = max(0, int(spares))
        self._log = log or (lambda line: None)
        self._queue = FairQueue(max_queued, max(1, max_queued // 4))
        self._idle: list[_Worker] = []               # short lane, free
        self._short: set[_Worker] = set()            # short lane, free or busy
        self._spare: list[_Worker] = []
        self._long: dict[_Worker, tuple[str, float]] = {}  # -> (client, deadline)
        self._long_by_client: dict[str, int] = {}
        self._short_by_client: dict[str, int] = {}
        self._pending = 0                            # spawns in progress
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._started = False
        self.closed = False
        self.generation = 0
        self.stats: dict[str, Any] = {"triples": None, "graphs": [], "isolated": None}
        self.restarts = 0
        self._signature = _dir_signature(self.path)
        self._finalizer = weakref.finalize(self, _kill_all, self._procs)

    # -- life cycle
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        spawned: list[_Worker | BaseException] = []

        def one():
            try:
                spawned.append(self._spawn())
            except BaseException as e:  # reported below
                spawned.append(e)

        threads = [threading.Thread(target=one) for _ in range(self.size + self.spares)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [w for w in spawned if isinstance(w, BaseException)]
        if errors:
            self.close()
            raise StoreError(f"query workers failed to start: {errors[0]}")
        with self._lock:
            for w in spawned:
                assert isinstance(w, _Worker)
                if len(self._short) < self.size:
                    w.lane = "short"
                    self._short.add(w)
                    self._idle.append(w)
                else:
                    w.lane = "spare"
                    self._spare.append(w)
            self._dispatch()

    def close(self) -> None:
        """Stop every worker; queries waiting for one get 503. No worker starts afterwards."""
        with self._lock:
            self.closed = True
            while (waiter := self._queue.pop()) is not None:
                waiter.event.set()
            self._idle.clear()
        _kill_all(self._procs)

    def pids(self) -> list[int]:
        return sorted(self._procs)

    @property
    def busy(self) -> int:
        """Workers running a query (either lane)."""
        return len(self._short) - len(self._idle) + len(self._long)

    def lanes(self) -> dict[str, int]:
        with self._lock:
            return {"busy": self.busy, "long_queries": len(self._long), "spare_workers": len(self._spare),
                    "queued": len(self._queue)}

    def _spawn(self, mode: str = "worker", *, stats: bool = True) -> _Worker:
        args = json.dumps({"path": self.path, "mode": mode, "isolate": self.isolate,
                           "memory_mb": self.memory_mb, "parent": os.getpid(), "stats": stats})
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT, args, str(ROOT / "kg")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        self._procs[proc.pid] = proc
        try:
            reply = self._recv(proc, time.monotonic() + 60)
        except (TimeoutError, EOFError, OSError, ValueError) as e:  # OSError/ValueError: closed meanwhile
            self._kill(proc)
            raise StoreError(f"a query worker did not start ({type(e).__name__})") from None
        if reply[0] != "ready":
            self._kill(proc)
            raise StoreError(reply[2])
        info = reply[1]
        self.stats.update({k: info[k] for k in ("triples", "graphs", "isolated") if k in info})
        return _Worker(proc, info, self.generation)

    def _kill(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError):
            proc.kill()
        for f in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                f.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self._procs.pop(proc.pid, None)

    # -- lanes (the _lock is held by the callers of _dispatch, _hold, _unhold)
    def _dispatch(self) -> None:
        """Free short-lane workers to waiting queries, in fair order, within the client limit."""
        while self._idle:
            # clients under their share first; the rest when none of those waits (no worker idles)
            waiter = self._queue.pop(self._may_hold) or self._queue.pop()
            if waiter is None:
                return
            w = self._idle.pop()
            self._hold(w, waiter.client)
            waiter.worker = w
            waiter.event.set()

    def _may_hold(self, client: str) -> bool:
        return self._short_by_client.get(client, 0) < self.short_per_client

    def _hold(self, w: _Worker, client: str) -> None:
        w.client = client
        self._short_by_client[client] = self._short_by_client.get(client, 0) + 1

    def _unhold(self, w: _Worker) -> None:
        if w.client is not None:
            left = self._short_by_client.pop(w.client) - 1
            if left:
                self._short_by_client[w.client] = left
            w.client = None

    def _acquire(self, client: str, give_up: float) -> _Worker:
        while True:
            waiter = None
            with self._lock:
                if self.closed:
                    raise _closing()
                if self._idle and not self._queue:
                    w = self._idle.pop()
                    self._hold(w, client)
                else:
                    waiter, why = self._queue.push(client)
                    if why == "client":
                        raise EndpointError(429, f"this client already has {self._queue.per_client} "
                                                 "queries waiting; send fewer at once",
                                            headers={"Retry-After": "1"}, note="busy")
                    if why == "full":
                        raise EndpointError(503, f"{len(self._queue)} queries are waiting already; "
                                                 "try again shortly", headers={"Retry-After": "1"}, note="busy")
                    self._dispatch()
            if waiter is not None:
                waiter.event.wait(max(0.0, give_up - time.monotonic()))
                with self._lock:
                    w = waiter.worker
                    if w is None:
                        self._queue.remove(waiter)
                        if self.closed:
                            raise _closing()
                        raise EndpointError(503, f"all {self.size} query workers are busy; try again "
                                                 "shortly", headers={"Retry-After": "1"}, note="busy")
            if w.proc.poll() is None:
                return w
            self._retire(w, failed=True)  # died while idle (e.g. the OOM killer): take another

    def _release(self, w: _Worker) -> None:
        """After a query: a short-lane worker serves on; a long-lane one is retired."""
        with self._lock:
            if w.lane == "short" and not self.closed and w.proc.poll() is None:
                self._unhold(w)
                self._idle.append(w)
                self._dispatch()
                return
        self._retire(w, failed=w.lane == "short" and not self.closed)

    def _retire(self, w: _Worker, *, failed: bool) -> None:
        """Stop a worker (idempotent) and top the short lane and the spares up again."""
        with self._lock:
            lane, w.lane = w.lane, "gone"
            if lane == "gone":
                return
            if lane == "short":
                self._short.discard(w)
                self._unhold(w)
                if w in self._idle:
                    self._idle.remove(w)
            elif lane == "long":
                client, _ = self._long.pop(w)
                left = self._long_by_client.pop(client) - 1
                if left:
                    self._long_by_client[client] = left
            elif lane == "spare":
                self._spare.remove(w)
            if failed:
                self.restarts += 1
        self._kill(w.proc)
        self._top_up()

    def _move_aside(self, w: _Worker, client: str, deadline: float) -> None:
        """The query on ``w`` outlived its slice: to the long lane, or stopped (429 / 503)."""
        refusal = None
        with self._lock:
            mine = self._long_by_client.get(client, 0)
            if self.closed:
                refusal = _closing()
            elif mine >= self.long_per_client:
                ends = [d for c, d in self._long.values() if c == client]
                wait = max(1, int(max(ends) - time.monotonic() + 1)) if ends else 1
                refusal = EndpointError(
                    429, f"this query ran past {self.slice:g} s while this client already runs "
                         f"{mine} long quer{'y' if mine == 1 else 'ies'} (at most {self.long_per_client} "
                         "at a time); send it again when that one has finished",
                    headers={"Retry-After": str(wait)}, note="long refused")
            elif len(self._long) >= self.long_limit:
                refusal = EndpointError(
                    503, f"this query ran past {self.slice:g} s and {len(self._long)} long queries "
                         "are running already (the endpoint's limit); try again shortly",
                    headers={"Retry-After": "2"}, note="long refused")
            else:
                self._short.discard(w)
                self._unhold(w)
                w.lane = "long"
                self._long[w] = (client, deadline)
                self._long_by_client[client] = mine + 1
        if refusal is not None:
            self._retire(w, failed=True)
            raise refusal
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, w.proc.pid, _LONG_NICE)
            os.sched_setscheduler(w.proc.pid, os.SCHED_IDLE, os.sched_param(0))
        self._top_up()

    def _top_up(self) -> None:
        """Spares fill gaps in the short lane; spawn what is missing in the background."""
        with self._lock:
            if self.closed or not self._started:
                return
            while len(self._short) < self.size and self._spare:
                w = self._spare.pop()
                w.lane = "short"
                self._short.add(w)
                self._idle.append(w)
            self._dispatch()  # also for a client whose share of the short lane just freed up
            need = max(0, self.size + self.spares - len(self._short) - len(self._spare) - self._pending)
            self._pending += need
        for _ in range(need):
            threading.Thread(target=self._spawn_one, daemon=True).start()

    def _spawn_one(self) -> None:
        w = None
        for attempt in range(3):
            if self.closed:
                break
            try:
                w = self._spawn(stats=False)
                break
            except StoreError as e:
                if self.closed:  # killed by close(): no failure to report
                    break
                self._log(json.dumps({"event": "worker_restart_failed", "error": str(e)}))
                time.sleep(0.5 * (attempt + 1))
        with self._lock:
            self._pending -= 1
            keep = w is not None and not self.closed
            if keep:
                w.lane = "spare"
                self._spare.append(w)
        if keep:
            self._top_up()
        elif w is not None:
            self._kill(w.proc)

    # -- talking to a worker
    def _send(self, proc: subprocess.Popen, job: dict) -> None:
        _send_frame(proc.stdin, job)

    def _recv(self, proc: subprocess.Popen, deadline: float):
        fd = proc.stdout.fileno()
        head = _read_exact(fd, _FRAME.size, deadline)
        (n,) = _FRAME.unpack(head)
        return pickle.loads(_read_exact(fd, n, deadline))

    def _call(self, w: _Worker, job: dict, deadline: float):
        self._send(w.proc, job)
        return self._recv(w.proc, deadline)

    def run(self, job: dict, timeout: float, wait: float | None = None, *, client: str | None = None) -> tuple:
        """Run one job; returns the worker's reply or raises QueryTimeout / EndpointError.

        ``client`` (default: the remote address of the request being handled) keys the fair
        queue and the per-client limit of long queries.
        """
        self.start()
        self._check_store_changed()
        client = _CLIENT.get() if client is None else client
        w = self._acquire(client, time.monotonic() + (timeout if wait is None else wait))
        try:
            if w.generation != self.generation:
                gen = self.generation
                reply = self._call(w, {"op": "reopen"}, time.monotonic() + 60)
                w.generation = gen
                if reply[0] == "ok":
                    self.stats.update(reply[1])
            start = time.monotonic()
            cpu0 = _cpu_seconds(w.proc.pid) if self.slice is not None else None
            self._send(w.proc, job)
            if self.slice is not None and self.slice < timeout:
                self._watch_slice(w, client, start, start + timeout, cpu0)
            reply = self._recv(w.proc, start + timeout)
        except TimeoutError:
            self._retire(w, failed=True)
            raise QueryTimeout() from None
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            try:
                code = w.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            closing = self.closed
            self._retire(w, failed=not closing)
            if closing:
                raise _closing() from None
            if code is not None and code in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
                raise EndpointError(503, "the query needs more memory than a worker may use "
                                         f"(worker_memory_mb={self.memory_mb})", note="oom") from None
            raise EndpointError(500, f"the query worker stopped unexpectedly (exit {code})",
                                note="crash") from None
        except BaseException:
            self._retire(w, failed=True)  # e.g. refused at its slice: already retired
            raise
        self._release(w)
        return reply

    def _watch_slice(self, w: _Worker, client: str, start: float, deadline: float, cpu0: float | None) -> None:
        """Move the query aside once it has used ``slice`` s of CPU (so a cheap query that is
        only slow because the machine is busy stays), or 4 slices of wall time (I/O-bound)."""
        fd = w.proc.stdout.fileno()
        check = start + self.slice
        while not _readable(fd, min(check, deadline)):
            now = time.monotonic()
            if now >= deadline:
                return  # _recv raises TimeoutError
            cpu = _cpu_seconds(w.proc.pid)
            used = None if cpu is None or cpu0 is None else cpu - cpu0
            if used is None or used >= self.slice or now - start >= 4 * self.slice:
                self._move_aside(w, client, deadline)
                return
            check = now + max(0.05, self.slice - used)

    def _check_store_changed(self) -> None:
        """A store directory replaced (``peerlearn build``) or written to: workers re-open it."""
        sig = _dir_signature(self.path)
        if sig != self._signature:
            with self._lock:
                if sig != self._signature:
                    self._signature = sig
                    self.generation += 1

    def update(self, text: str, timeout: float, base_iri: str | None = None) -> dict:
        """Run a SPARQL Update in a one-shot writer process; workers re-open afterwards."""
        with self._write_lock:
            w = self._spawn("writer")
            try:
                reply = self._call(w, {"op": "update", "update": text, "base_iri": base_iri},
                                   time.monotonic() + timeout)
            except TimeoutError:
                raise QueryTimeout() from None
            except (EOFError, OSError):
                raise EndpointError(500, "the update writer stopped unexpectedly", note="crash") from None
            finally:
                self._kill(w.proc)
            if reply[0] == "ok":
                self.stats.update(reply[1])
                with self._lock:
                    self.generation += 1
                    self._signature = _dir_signature(self.path)
                return reply[1]
            raise EndpointError(reply[1], reply[2])


# A worker imports this module without running kg/__init__ (rdflib and the rest of the package):
# that import is most of a worker's start-up cost, paid again for every replacement.
_WORKER_BOOT = """
import sys, types
kg = types.ModuleType("kg")
kg.__path__ = [sys.argv[2]]
sys.modules["kg"] = kg
from kg.endpoint import _worker_main
_worker_main()
"""


def _closing() -> EndpointError:
    return EndpointError(503, "the endpoint is shutting down", headers={"Connection": "close"},
                         note="closing")


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def _readable(fd: int, deadline: float) -> bool:
    """Has the worker started answering by ``deadline``?"""
    remaining = deadline - time.monotonic()
    ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
    return bool(ready)


def _dir_signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _kill_all(procs: dict[int, subprocess.Popen]) -> None:
    for proc in list(procs.values()):
        with contextlib.suppress(OSError):
            proc.kill()
    for pid, proc in list(procs.items()):
        for f in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                f.close()
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            proc.wait(timeout=5)
        procs.pop(pid, None)


def _snapshot(store) -> str:
    """Copy a kg.store.Store into a private on-disk Oxigraph store; returns its directory."""
    import pyoxigraph as ox

    tmp = tempfile.mkdtemp(prefix="peerlearn-endpoint-")
    target = os.path.join(tmp, "db")
    snap = ox.Store(target)
    raw = getattr(store, "raw", None)
    if isinstance(raw, ox.Store):
        snap.bulk_load(raw.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
    else:
        for name in store.graph_names():
            data = store.graph(name).serialize(format="nt", encoding="utf-8")
            snap.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(name)))
    snap.flush()
    del snap
    return target


# ============================================================== HTTP

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
           "has_from": _has_from(text), "select_format": select_fmt, "graph_format": graph_fmt,
           "max_results": cfg.max_results, "base_iri": base_iri}
    try:
        reply = await run_in_threadpool(state.pool.run, job, cfg.query_timeout)
    except QueryTimeout:
        raise EndpointError(503, f"query time limit of {cfg.query_timeout:g} s exceeded",
                            note="timeout") from None
    if reply[0] == "err":
        raise EndpointError(reply[1], reply[2], note="query error")
    _, key, body, _n = reply
    media = (SELECT_FORMATS.get(key) or GRAPH_FORMATS[key])[0]
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
    return url if _PLAIN_IRI.fullmatch(url) else None


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
        bad = next((u for u in using + using_named if not _PLAIN_IRI.fullmatch(u)), None)
        if bad is not None:
            raise EndpointError(400, f"invalid graph IRI in using-graph-uri/using-named-graph-uri: {bad!r}")
        if _names_dataset(text):
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
    rdflib_fmt = {"turtle": "turtle", "nt": "nt", "rdfxml": "xml", "jsonld": "json-ld"}[fmt]
    out = g.serialize(format=rdflib_fmt)
    return Response(out.encode() if isinstance(out, str) else out, media_type=GRAPH_FORMATS[fmt][0],
                    headers={"Vary": "Accept"})


async def _healthz(request: Request) -> Response:
    state: EndpointState = request.app.state.endpoint
    try:
        await run_in_threadpool(state.pool.start)
    except StoreError as e:
        return JSONResponse({"status": "error", "error": str(e)}, status_code=503)
    pool = state.pool
    return JSONResponse({
        "status": "ok",
        "triples": pool.stats.get("triples"),
        "graphs": len(pool.stats.get("graphs") or []),
        "workers": pool.size, "worker_pids": pool.pids(), **pool.lanes(),
        "worker_restarts": pool.restarts,
        "network_isolated": pool.stats.get("isolated"),
        "update_enabled": state.config.allow_update,
        "ui_assets": (state.assets_dir / "yasgui.min.js").is_file(),
        "uptime_s": round(time.time() - state.started, 1),
        **{name: svc.health() for name, svc in request.app.state.services.items()},
    })


_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")


def _example_tabs(examples: list) -> list[dict]:
    tabs = []
    for ex in examples:
        head = [f"# {ex.title}"]
        head += [f"# {line}" for line in (ex.description or "").splitlines() if line.strip()]
        if ex.parameters:
            head.append("# Parameters (bind with VALUES to narrow the answer):")
            head += [f"#   ?{var}: {what}" for var, what in ex.parameters.items()]
        tabs.append({"name": ex.name, "title": ex.title, "description": ex.description,
                     "parameters": dict(ex.parameters), "query": "\n".join(head) + "\n" + ex.text.strip() + "\n"})
    return tabs


async def _ui(request: Request) -> Response:
    state: EndpointState = request.app.state.endpoint
    tabs = _example_tabs(state.examples)
    installed = (state.assets_dir / "yasgui.min.js").is_file()
    data = json.dumps(tabs, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    if installed:
        page = (WEB_ASSETS / "index.html").read_text(encoding="utf-8")
        page = page.replace("{{EXAMPLES_JSON}}", data).replace("{{N_EXAMPLES}}", str(len(tabs)))
        return HTMLResponse(page, headers={"Content-Security-Policy": _CSP})
    items = "".join(
        f'<li><a href="sparql?query={html.escape(_quote(t["query"]))}">{html.escape(t["title"])}</a>'
        f" ({html.escape(t['name'])})</li>" for t in tabs)
    page = (WEB_ASSETS / "missing_assets.html").read_text(encoding="utf-8")
    page = page.replace("{{ASSETS_DIR}}", html.escape(str(state.assets_dir))).replace("{{EXAMPLES}}", items)
    return HTMLResponse(page, headers={"Content-Security-Policy": _CSP})


class _OptionalStatic:
    """StaticFiles over a directory that may not exist (yet): 404 until it does."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._files: StaticFiles | None = None

    async def __call__(self, scope, receive, send):
        if self._files is None:
            if not self.directory.is_dir():
                await Response("not installed (make assets)\n", status_code=404,
                               media_type="text/plain; charset=utf-8")(scope, receive, send)
                return
            self._files = StaticFiles(directory=self.directory)
        await self._files(scope, receive, send)


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


class _Frontdoor:
    """ASGI middleware: Host check, security headers, one JSON log line per request."""

    def __init__(self, app, log: Callable[[str], None], allowed_hosts: tuple[str, ...] | None):
        self.app = app
        self.log = log
        self.allowed = None if allowed_hosts is None or "*" in allowed_hosts else \
            {h.lower().strip("[]") for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, sent = [0], [0]

        async def _send(msg):
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
                headers = list(msg.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                msg = {**msg, "headers": headers}
            elif msg["type"] == "http.response.body":
                sent[0] += len(msg.get("body", b""))
            await send(msg)

        client = scope.get("client") or ("", 0)
        client_token = _CLIENT.set(client[0])
        try:
            if self.allowed is not None and _host_name(scope) not in self.allowed:
                scope.setdefault("state", {})["log_note"] = "host refused"
                await Response("invalid Host header\n", status_code=400,
                               media_type="text/plain; charset=utf-8")(scope, receive, _send)
            else:
                await self.app(scope, receive, _send)
        finally:
            _CLIENT.reset(client_token)
            entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "method": scope.get("method"), "path": scope.get("path"),
                     "status": status[0] or 500, "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                     "bytes": sent[0], "client": client[0]}
            note = (scope.get("state") or {}).get("log_note")
            if note:
                entry["note"] = note
            with contextlib.suppress(Exception):
                self.log(json.dumps(entry))


def _host_name(scope) -> str:
    for k, v in scope.get("headers", []):
        if k == b"host":
            host = v.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1:].split("]", 1)[0]
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _default_log(line: str) -> None:
    logging.getLogger("peerlearn.endpoint").info(line)


def create_app(store_path: str | os.PathLike | None = None, config: EndpointConfig = EndpointConfig(), *,
               examples: Mapping[str, Any] | Iterable[Any] | None = None, store=None,
               extra_routes: Sequence[BaseRoute] = (), log: Callable[[str], None] | None = None,
               assets_dir: str | os.PathLike | None = None, services: Mapping[str, Any] | None = None) -> Starlette:
    """The endpoint as a Starlette app (workers start with the app's lifespan or on first use).

    ``store_path``: an on-disk Oxigraph store, opened read-only by the workers; or ``store``: a
    ``kg.store.Store`` whose content is copied into a private temporary store. ``examples``:
    ExampleQuery objects (a dict or a list), default ``kg.queries.EXAMPLES``. ``extra_routes``:
    more Starlette routes on the same app (``mount_routes`` adds them later). ``assets_dir``:
    where YASGUI's ``build/`` is (default ``node_modules/@zazuko/yasgui/build`` at the repo root,
    or ``$PEERLEARN_YASGUI_DIR``). ``services``: name -> object with ``start(log)``, called once
    the workers are up (it must not block), and ``health()``, a dict shown under ``name`` in
    ``/healthz`` (the facilitator pages' warm-up).
    """
    if (store_path is None) == (store is None):
        raise ConfigError("create_app needs exactly one of store_path and store")
    if config.allow_update and not config.update_token:
        raise ConfigError("allow_update needs an update_token (clients send it as a bearer token)")
    if config.query_timeout <= 0 or config.max_results < 1 or config.max_body_bytes < 1:
        raise ConfigError("query_timeout, max_results and max_body_bytes must be positive")
    if min(config.workers, config.long_queries) < 0 or config.query_slice <= 0 or \
            config.long_queries_per_client < 1 or config.max_queued < 1:
        raise ConfigError("workers and long_queries must be 0 (automatic) or more; query_slice, "
                          "long_queries_per_client and max_queued positive")
    log = log or _default_log
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if store is not None:
        path = _snapshot(store)
        tmp_root = os.path.dirname(path)
        cleanup = lambda: shutil.rmtree(tmp_root, ignore_errors=True)  # noqa: E731
    else:
        path = str(store_path)
        if not Path(path).is_dir():
            raise StoreError(f"{path}: no store here; run `peerlearn build` first")
    if examples is None:
        from kg.queries import EXAMPLES

        examples = EXAMPLES
    example_list = list(examples.values()) if isinstance(examples, Mapping) else list(examples)
    if assets_dir is None:
        assets_dir = os.environ.get("PEERLEARN_YASGUI_DIR") or ROOT / "node_modules" / YASGUI_PACKAGE / "build"
    assets = Path(assets_dir)
    pool = WorkerPool(path, config.workers or default_workers(), memory_mb=config.worker_memory_mb,
                      isolate=config.isolate_network, log=log, slice=config.query_slice,
                      long_limit=config.long_queries or None,
                      long_per_client=config.long_queries_per_client, max_queued=config.max_queued)
    state = EndpointState(pool, config, example_list, assets, cleanup)
    weakref.finalize(state, cleanup)

    @asynccontextmanager
    async def lifespan(app):
        import anyio.to_thread

        # Every running or waiting query holds a thread: room for all of them, and for pages.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens,
                                   pool.size + pool.long_limit + config.max_queued + 16)
        await run_in_threadpool(pool.start)
        log(json.dumps({"event": "workers_started", "workers": pool.size, "pids": pool.pids(),
                        "triples": pool.stats.get("triples"),
                        "network_isolated": pool.stats.get("isolated")}))
        for svc in app.state.services.values():
            svc.start(log)
        try:
            yield
        finally:
            state.close()

    routes: list[BaseRoute] = [
        Route("/", _ui, methods=["GET"], name="ui"),
        Route("/sparql", _sparql, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
              name="sparql"),
        Route("/healthz", _healthz, methods=["GET"], name="healthz"),
        Mount("/assets/yasgui", _OptionalStatic(assets), name="yasgui"),
        Mount("/assets/peerlearn", StaticFiles(directory=WEB_ASSETS), name="peerlearn_assets"),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.endpoint = state
    app.state.services = dict(services or {})
    hosts = config.allowed_hosts
    if hosts is None and _is_loopback(config.host):
        hosts = LOOPBACK_HOSTS
    app.add_middleware(_Frontdoor, log=log, allowed_hosts=hosts)
    return app


def mount_routes(app: Starlette, routes: Iterable[BaseRoute]) -> None:
    """Add routes (e.g. facilitator pages) to an endpoint app; they share its Host check and log.

    Route handlers can run queries through the endpoint's workers with
    ``await request.app.state.endpoint.query(sparql)``.
    """
    app.router.routes.extend(routes)


def serve(store_path: str | os.PathLike | None, config: EndpointConfig = EndpointConfig(), *,
          examples=None, log: Callable[[str], None] = print, store=None,
          extra_routes: Sequence[BaseRoute] = (), services: Mapping[str, Any] | None = None) -> None:
    """Run the endpoint with uvicorn until SIGINT/SIGTERM, then shut down gracefully."""
    import uvicorn

    def log_line(line: str) -> None:
        log(line)
        with contextlib.suppress(Exception):
            sys.stdout.flush()

    app = create_app(store_path, config, examples=examples, store=store, extra_routes=extra_routes,
                     log=log_line, services=services)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only then; without
    # it every keep-alive response waits ~40 ms (Nagle + delayed ACK between headers and body).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {config.host}:{config.port} ({e})") from None
    sock.listen(128)
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if family == socket.AF_INET6 else config.host
    if not _is_loopback(config.host):
        log_line(json.dumps({"event": "warning", "message": f"listening on {config.host}, reachable "
                             "from other machines; the endpoint has no user accounts"}))
    log_line(json.dumps({"event": "listening", "url": f"http://{host}:{port}/", "sparql":
                         f"http://{host}:{port}/sparql", "pid": os.getpid()}))
    class _Server(uvicorn.Server):
        loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets=None):
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets=sockets)

        def handle_exit(self, sig, frame):  # stop gracefully, then return (uvicorn would re-raise)
            first = not self.should_exit
            super().handle_exit(sig, frame)
            with contextlib.suppress(AttributeError):
                self._captured_signals.clear()
            if first and self.loop is not None:  # not from here: a signal handler may not log
                with contextlib.suppress(RuntimeError):
                    self.loop.call_soon_threadsafe(self.stop_accepting, sig)

        def stop_accepting(self, sig):
            # At once, not at uvicorn's next 0.1 s tick: no new connection, idle keep-alive
            # connections closed; requests in flight finish (then the lifespan stops workers).
            for s in getattr(self, "servers", []):
                s.close()
            for conn in list(self.server_state.connections):
                with contextlib.suppress(Exception):
                    conn.shutdown()
            log_line(json.dumps({"event": "stopping", "signal": signal.Signals(sig).name,
                                 "running": app.state.endpoint.pool.busy}))

    server = _Server(uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", proxy_headers=False,
        server_header=False, timeout_graceful_shutdown=max(5, int(config.query_timeout) + 2),
        h11_max_incomplete_event_size=max(65536, config.max_body_bytes + 16384)))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        log_line(json.dumps({"event": "stopped"}))
