"""The one table of SPARQL result formats and prefixes, and the one writer of SELECT/ASK results.

Standard library only: the endpoint's query workers import this module (they may load only the
stdlib and pyoxigraph), and so does ``kg.results`` for ``peerlearn query``; both therefore give
the same bytes for the same answer.

A term is a plain tuple, whatever library produced it: ``("uri", iri)``, ``("bnode", label)``,
``("literal", lexical, language or None, datatype IRI or None)`` (None datatype: xsd:string),
``None`` for an unbound variable.

Why not pyoxigraph's own ``QuerySolutions.serialize``: it consumes the whole solution iterator
in one call, so the endpoint could not stop at ``max_results`` while writing (it would first
serialise every row of a runaway query), and ``peerlearn query`` also answers from the rdflib and
remote backends, whose rows are not pyoxigraph solutions. The price, measured by
``benchmarks/bench_result_writers.py`` (200,000 rows, one run): iterating the solutions in Python
and writing them here takes 6-7x the time of pyoxigraph's writer for the same rows (JSON 3.19 s
vs 0.53 s, TSV 1.62 s vs 0.24 s), but stopping at max_results=10,000 costs 0.3x of pyoxigraph
writing that runaway query whole. Graphs have no such limit: both sides collect the (bounded) triples and write them with pyoxigraph's ``serialize`` (see ``kg.results``
and ``kg.endpoint.worker``).
"""

from __future__ import annotations

import csv
import io
import json
from xml.sax.saxutils import escape, quoteattr

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

# The one prefix table: Turtle/RDF-XML output, the CLI's table view and validation messages.
PREFIXES: dict[str, str] = {
    "pl": "https://w3id.org/peerlearn/ontology#",
    "dom": "https://w3id.org/peerlearn/concept/domain/",
    "lev": "https://w3id.org/peerlearn/concept/lever/",
    "bar": "https://w3id.org/peerlearn/concept/barrier/",
    "sol": "https://w3id.org/peerlearn/concept/solution/",
    "mod": "https://w3id.org/peerlearn/concept/module/",
    "data": "https://w3id.org/peerlearn/data/",
    "gcom": "https://w3id.org/peerlearn/gcom#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "https://schema.org/",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# The one format table. Keys are the names `peerlearn query --format` takes and the endpoint's
# negotiation keys: name -> (media type sent, media ranges accepted for it).
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
    "xml": ("application/rdf+xml", ("application/rdf+xml", "application/xml", "text/xml")),
    "json-ld": ("application/ld+json", ("application/ld+json", "application/json")),
}
# pyoxigraph's RdfFormat member for each graph format, and which formats get the prefix table.
RDF_FORMAT_NAMES = {"turtle": "TURTLE", "nt": "N_TRIPLES", "xml": "RDF_XML", "json-ld": "JSON_LD"}
PREFIXED_GRAPH_FORMATS = ("turtle", "xml")


def write_solutions(fmt: str, variables: list[str] | None, rows, boolean: bool | None) -> bytes:
    """SPARQL results of a SELECT (``variables``, ``rows`` of term tuples) or an ASK (``boolean``)
    as ``fmt``, one of SELECT_FORMATS. ``rows`` may be any iterable (the endpoint passes one that
    stops at its max_results)."""
    return _WRITERS[fmt](variables, rows, boolean)


def _json(variables, rows, boolean) -> bytes:
    if boolean is not None:
        return json.dumps({"head": {}, "boolean": boolean}).encode()
    bindings = [{v: _term_json(t) for v, t in zip(variables, row) if t is not None} for row in rows]
    return json.dumps({"head": {"vars": list(variables)}, "results": {"bindings": bindings}},
                      ensure_ascii=False).encode()


def _term_json(t) -> dict:
    if t[0] == "literal":
        d = {"type": "literal", "value": t[1]}
        if t[2]:
            d["xml:lang"] = t[2]
        elif t[3] and t[3] != XSD_STRING:
            d["datatype"] = t[3]
        return d
    if t[0] == "triple":
        return {"type": "triple", "value": {k: _term_json(x) for k, x in
                                            zip(("subject", "predicate", "object"), t[1])}}
    return {"type": t[0], "value": t[1]}


def _xml(variables, rows, boolean) -> bytes:
    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
    if boolean is not None:
        out.append(f"</head>\n<boolean>{'true' if boolean else 'false'}</boolean>")
    else:
        out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
        out.append("</head>\n<results>")
        for row in rows:
            cells = "".join(f"<binding name={quoteattr(v)}>{_term_xml(t)}</binding>"
                            for v, t in zip(variables, row) if t is not None)
            out.append(f"<result>{cells}</result>")
        out.append("</results>")
    out.append("</sparql>\n")
    return "\n".join(out).encode()


def _term_xml(t) -> str:
    if t[0] == "literal":
        if t[2]:
            return f"<literal xml:lang={quoteattr(t[2])}>{escape(t[1])}</literal>"
        if t[3] and t[3] != XSD_STRING:
            return f"<literal datatype={quoteattr(t[3])}>{escape(t[1])}</literal>"
        return f"<literal>{escape(t[1])}</literal>"
    if t[0] == "triple":
        s, p, o = (_term_xml(x) for x in t[1])
        return f"<triple><subject>{s}</subject><predicate>{p}</predicate><object>{o}</object></triple>"
    tag = "uri" if t[0] == "uri" else "bnode"
    return f"<{tag}>{escape(t[1])}</{tag}>"


def _csv(variables, rows, boolean) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if boolean is not None:
        w.writerows([["boolean"], ["true" if boolean else "false"]])
    else:
        w.writerow(variables)
        w.writerows([[_term_csv(t) for t in row] for row in rows])
    return buf.getvalue().encode()


def _term_csv(t) -> str:
    if t is None:
        return ""
    if t[0] == "bnode":
        return f"_:{t[1]}"
    if t[0] == "triple":
        return " ".join(_term_tsv(x) for x in t[1])
    return t[1]


def _tsv(variables, rows, boolean) -> bytes:
    if boolean is not None:
        return b"?boolean\n" + (b"true\n" if boolean else b"false\n")
    lines = ["\t".join(f"?{v}" for v in variables)]
    lines += ["\t".join("" if t is None else _term_tsv(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _term_tsv(t) -> str:
    """A term in its Turtle/N-Triples form, escaped so that no tab or newline is left raw."""
    if t[0] == "uri":
        return f"<{t[1]}>"
    if t[0] == "bnode":
        return f"_:{t[1]}"
    if t[0] == "triple":
        return "<< " + " ".join(_term_tsv(x) for x in t[1]) + " >>"
    text = f'"{t[1].translate(_TSV_ESCAPES)}"'
    if t[2]:
        return f"{text}@{t[2]}"
    if t[3] and t[3] != XSD_STRING:
        return f"{text}^^<{t[3]}>"
    return text


_WRITERS = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}


def write_graph(ox, triples, fmt: str) -> bytes:
    """pyoxigraph ``triples`` as ``fmt`` (one of GRAPH_FORMATS) with pyoxigraph's own writer, in
    one canonical order (by their N-Triples text) so that every caller gives the same bytes.
    ``ox`` is the pyoxigraph module, passed in so that this module stays stdlib-only."""
    rdf_format = getattr(ox.RdfFormat, RDF_FORMAT_NAMES[fmt])
    prefixes = PREFIXES if fmt in PREFIXED_GRAPH_FORMATS else None
    ordered = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(ordered, format=rdf_format, prefixes=prefixes)
