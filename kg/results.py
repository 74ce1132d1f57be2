"""Query results in one shape for every store backend, and their serialisations.

A SELECT gives variables and rows of rdflib terms (``None`` for unbound), an ASK a boolean,
a CONSTRUCT/DESCRIBE an rdflib graph. ``serialize`` writes the W3C formats the CLI and the
HTTP endpoint offer: SPARQL JSON, SPARQL XML, CSV, TSV and a plain-text table; graphs as
Turtle, N-Triples, RDF/XML or JSON-LD.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Literal as TypingLiteral
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import PeerlearnError

SELECT_FORMATS = ("table", "csv", "tsv", "json", "xml")
GRAPH_FORMATS = ("turtle", "nt", "xml", "json-ld")

MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "table": "text/plain; charset=utf-8",
    "turtle": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
    "rdfxml": "application/rdf+xml",
    "json-ld": "application/ld+json",
}


@dataclass
class QueryResult:
    """The answer to one SPARQL query, whatever store produced it."""

    kind: TypingLiteral["select", "ask", "graph"]
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None
    truncated: bool = False

    def __len__(self) -> int:
        if self.kind == "select":
            return len(self.rows)
        if self.kind == "graph":
            return len(self.graph) if self.graph is not None else 0
        return 1

    def records(self) -> list[dict[str, Node | None]]:
        """Rows as dicts keyed by variable name (unbound variables map to None)."""
        return [dict(zip(self.variables, row)) for row in self.rows]

    def column(self, name: str) -> list[Node | None]:
        i = self.variables.index(name)
        return [row[i] for row in self.rows]

    def serialize(self, fmt: str) -> bytes:
        """Serialise to ``fmt``: one of SELECT_FORMATS for SELECT/ASK, GRAPH_FORMATS for graphs."""
        if self.kind == "graph":
            return serialize_graph(self.graph if self.graph is not None else Graph(), fmt)
        writer = {
            "table": _table, "csv": _csv, "tsv": _tsv, "json": _json, "xml": _xml,
        }.get(fmt)
        if writer is None:
            raise PeerlearnError(
                f"unknown result format {fmt!r} for a {self.kind.upper()} query; "
                f"choose one of {', '.join(SELECT_FORMATS)}")
        return writer(self)


def serialize_graph(graph: Graph, fmt: str) -> bytes:
    rdflib_format = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt",
                     "xml": "xml", "rdfxml": "xml", "json-ld": "json-ld", "jsonld": "json-ld"}.get(fmt)
    if rdflib_format is None:
        raise PeerlearnError(
            f"unknown graph format {fmt!r}; choose one of {', '.join(GRAPH_FORMATS)}")
    out = graph.serialize(format=rdflib_format)
    return out.encode("utf-8") if isinstance(out, str) else out


def _plain(term: Node | None) -> str:
    if term is None:
        return ""
    return str(term)


def _csv(result: QueryResult) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if result.kind == "ask":
        w.writerow(["boolean"])
        w.writerow(["true" if result.boolean else "false"])
    else:
        w.writerow(result.variables)
        for row in result.rows:
            w.writerow([_csv_term(t) for t in row])
    return buf.getvalue().encode("utf-8")


def _csv_term(term: Node | None) -> str:
    if isinstance(term, BNode):
        return f"_:{term}"
    return _plain(term)


def _tsv_term(term: Node | None) -> str:
    if term is None:
        return ""
    return term.n3()


def _tsv(result: QueryResult) -> bytes:
    if result.kind == "ask":
        return b"?boolean\n" + (b"true\n" if result.boolean else b"false\n")
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join(_tsv_term(t).replace("\t", "\\t").replace("\n", "\\n") for t in row))
    return ("\n".join(lines) + "\n").encode("utf-8")


def term_to_json(term: Node) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": str(term)}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype is not None:
            out["datatype"] = str(term.datatype)
        return out
    return {"type": "literal", "value": str(term)}


def _json(result: QueryResult) -> bytes:
    if result.kind == "ask":
        doc: dict = {"head": {}, "boolean": bool(result.boolean)}
    else:
        doc = {
            "head": {"vars": list(result.variables)},
            "results": {"bindings": [
                {v: term_to_json(t) for v, t in zip(result.variables, row) if t is not None}
                for row in result.rows
            ]},
        }
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _xml(result: QueryResult) -> bytes:
    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
           "<head>"]
    if result.kind == "ask":
        out.append("</head>")
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
    else:
        out.extend(f"<variable name={quoteattr(v)}/>" for v in result.variables)
        out.append("</head>")
        out.append("<results>")
        for row in result.rows:
            out.append("<result>")
            for v, t in zip(result.variables, row):
                if t is None:
                    continue
                out.append(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
            out.append("</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out).encode("utf-8")


def _xml_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<uri>{escape(str(term))}</uri>"
    if isinstance(term, BNode):
        return f"<bnode>{escape(str(term))}</bnode>"
    if isinstance(term, Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(str(term))}</literal>"
        if term.datatype is not None:
            return f"<literal datatype={quoteattr(str(term.datatype))}>{escape(str(term))}</literal>"
        return f"<literal>{escape(str(term))}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def _short(term: Node | None, prefixes: dict[str, str]) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        s = str(term)
        for p, ns in prefixes.items():
            if s.startswith(ns) and len(s) > len(ns):
                return f"{p}:{s[len(ns):]}"
        return s
    return str(term)


def _table(result: QueryResult, max_width: int = 60) -> bytes:
    from kg.namespaces import PREFIXES

    if result.kind == "ask":
        return b"yes\n" if result.boolean else b"no\n"
    cells = [[_short(t, PREFIXES) for t in row] for row in result.rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "\u2026" for c in row]
             for row in cells]
    widths = [len(v) for v in result.variables]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(result.variables, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    n = len(result.rows)
    lines.append(f"({n} row{'s' if n != 1 else ''}{', truncated' if result.truncated else ''})")
    return ("\n".join(lines) + "\n").encode("utf-8")
