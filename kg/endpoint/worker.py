"""What runs inside a query worker process: the frame protocol over its pipes, network
isolation, the job loop and the result serialisers over pyoxigraph terms.

A worker imports this module alone (``pool._WORKER_BOOT`` stubs the ``kg`` and ``kg.endpoint``
packages so that neither ``kg/__init__`` nor ``kg/endpoint/__init__`` runs): it must import only
the standard library and, lazily, pyoxigraph.
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
