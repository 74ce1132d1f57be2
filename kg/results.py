"""Query results in one shape for every store backend, and their serialisations.

A SELECT gives variables and rows of rdflib terms (``None`` for unbound), an ASK a boolean,
a CONSTRUCT/DESCRIBE an rdflib graph. ``serialize`` writes the formats of ``kg.sparql_formats``
(the one writer the HTTP endpoint uses too, so ``peerlearn query`` and ``/sparql`` give the same
bytes): SPARQL JSON, SPARQL XML, CSV, TSV; graphs as Turtle, N-Triples, RDF/XML or JSON-LD
(pyoxigraph's writer). Only the plain-text ``table`` is the CLI's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as TypingLiteral

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg import sparql_formats
from kg.errors import PeerlearnError

SELECT_FORMATS = ("table", *sparql_formats.SELECT_FORMATS)
GRAPH_FORMATS = tuple(sparql_formats.GRAPH_FORMATS)


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
        if fmt == "table":
            return _table(self)
        if fmt not in sparql_formats.SELECT_FORMATS:
            raise PeerlearnError(
                f"unknown result format {fmt!r} for a {self.kind.upper()} query; "
                f"choose one of {', '.join(SELECT_FORMATS)}")
        if self.kind == "ask":
            return sparql_formats.write_solutions(fmt, None, None, bool(self.boolean))
        rows = ([_term(t) for t in row] for row in self.rows)
        return sparql_formats.write_solutions(fmt, list(self.variables), rows, None)


def serialize_graph(graph: Graph, fmt: str) -> bytes:
    """An rdflib graph in ``fmt`` (one of GRAPH_FORMATS), written by pyoxigraph as the endpoint does."""
    if fmt not in sparql_formats.GRAPH_FORMATS:
        raise PeerlearnError(
            f"unknown graph format {fmt!r}; choose one of {', '.join(GRAPH_FORMATS)}")
    import pyoxigraph as ox

    def ox_term(t):
        if isinstance(t, URIRef):
            return ox.NamedNode(str(t))
        if isinstance(t, BNode):
            return ox.BlankNode(str(t))
        if t.language:
            return ox.Literal(str(t), language=t.language)
        return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)) if t.datatype else None)

    triples = [ox.Triple(ox_term(s), ox_term(p), ox_term(o)) for s, p, o in graph]
    return sparql_formats.write_graph(ox, triples, fmt)


def _term(term: Node | None):
    """An rdflib term as the plain tuple kg.sparql_formats writes."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("uri", str(term))
    if isinstance(term, BNode):
        return ("bnode", str(term))
    if isinstance(term, Literal):
        dt = str(term.datatype) if term.datatype is not None else None
        return ("literal", str(term), term.language, dt)
    return ("literal", str(term), None, None)


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
    if result.kind == "ask":
        return b"yes\n" if result.boolean else b"no\n"
    cells = [[_short(t, sparql_formats.PREFIXES) for t in row] for row in result.rows]
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
