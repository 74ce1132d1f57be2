"""What runs inside a query worker process: the frame protocol over its pipes, network
isolation, the job loop; results are written by ``kg.sparql_formats`` (stdlib only).

A worker imports this module alone (``pool._WORKER_BOOT`` stubs the ``kg`` and ``kg.endpoint``
packages so that neither ``kg/__init__`` nor ``kg/endpoint/__init__`` runs): it must import only
the standard library, ``kg.sparql_formats`` (stdlib only) and, lazily, pyoxigraph.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import Any

from kg.sparql_formats import GRAPH_FORMATS, SELECT_FORMATS, write_graph, write_solutions

_FRAME = struct.Struct(">I")
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
        return ("ok", SELECT_FORMATS[fmt][0], write_solutions(fmt, None, None, bool(res)), 1)
    if isinstance(res, ox.QuerySolutions):
        fmt = job["select_format"] or "json"
        variables = [v.value for v in res.variables]
        rows = []
        for sol in res:
            if len(rows) >= limit:
                return ("err", 400, _too_large(limit, "rows"))
            rows.append([_term(ox, sol[i]) for i in range(len(variables))])
        return ("ok", SELECT_FORMATS[fmt][0], write_solutions(fmt, variables, rows, None), len(rows))
    fmt = job["graph_format"] or "turtle"
    triples = []
    for t in res:
        if len(triples) >= limit:
            return ("err", 400, _too_large(limit, "triples"))
        triples.append(t)
    return ("ok", GRAPH_FORMATS[fmt][0], write_graph(ox, triples, fmt), len(triples))


def _too_large(limit: int, what: str) -> str:
    return (f"result too large: more than {limit} {what} (the endpoint's max_results); "
            f"add a LIMIT or narrow the query")


def _term(ox, t):
    """A pyoxigraph term as the plain tuple kg.sparql_formats writes."""
    if t is None:
        return None
    if isinstance(t, ox.NamedNode):
        return ("uri", t.value)
    if isinstance(t, ox.BlankNode):
        return ("bnode", t.value)
    if isinstance(t, ox.Literal):
        return ("literal", t.value, t.language, t.datatype.value)
    return ("triple", (_term(ox, t.subject), _term(ox, t.predicate), _term(ox, t.object)))


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
