"""Where triples live: one interface, three backends.

- ``oxigraph``: pyoxigraph, in memory or on disk (persists between commands). The default:
  measured by ``benchmarks/bench_store.py`` it loads and answers joins and aggregates one to
  two orders of magnitude faster than rdflib's engine (figures in the README).
- ``rdflib``: an rdflib ``Dataset`` in memory; pure Python, handy for small graphs and tests.
- ``remote``: a SPARQL 1.1 server over HTTP (``kg.remote``; tested on Oxigraph and Virtuoso).

Data sits in named graphs (``kg.namespaces.GRAPHS``: ontology, dataset, ccc, tags,
recommendations) so each part can be replaced on its own; queries see the union of all of
them as their default graph. Values are bound, never spliced into query text: pyoxigraph
``substitutions`` on the Oxigraph path (rdflib's prepared queries would fall back to its slow
evaluator there), ``initBindings`` on rdflib, a VALUES block for remote endpoints.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import QueryError, StoreError
from kg.files import staged_dir
from kg.results import QueryResult
from kg.sparql_text import find_forbidden, projection, variables

BACKENDS = ("oxigraph", "rdflib", "remote")


class Store(ABC):
    """The triples of a knowledge graph and SPARQL over them."""

    backend: str = ""

    @abstractmethod
    def replace_graph(self, name: URIRef, graph: Graph) -> None:
        """Replace the content of named graph ``name`` with ``graph``'s triples."""

    def replace_graphs(self, graphs: Mapping[URIRef, Graph], *, clear_others: bool = False) -> None:
        """Replace each named graph of ``graphs``; with ``clear_others``, empty every other
        named graph too (a rebuild: nothing derived from the old data survives)."""
        if clear_others:
            for g in self.graph_names():
                if g not in graphs:
                    self.replace_graph(g, Graph())
        for name, graph in graphs.items():
            self.replace_graph(name, graph)

    def replace_graph_ntriples(self, name: URIRef, data: bytes) -> None:
        """Replace named graph ``name`` with N-Triples ``data`` (fast path for big graphs)."""
        g = Graph()
        g.parse(data=data.decode("utf-8"), format="nt")
        self.replace_graph(name, g)

    def replace_graph_ntriples_file(self, name: URIRef, path: str | os.PathLike) -> None:
        """Replace named graph ``name`` with the N-Triples file at ``path`` (big graphs)."""
        self.replace_graph_ntriples(name, Path(path).read_bytes())

    def query(self, sparql: str, bindings: Mapping[str, Node] | None = None, *,
              limit: int | None = None) -> QueryResult:
        """Run a SPARQL query; ``bindings`` maps variable names to terms.

        A bound variable must appear in the SELECT projection (SPARQL SEP-0007, as Oxigraph
        requires); it then fixes that variable everywhere in the query.

        ``limit`` caps the rows read (``truncated`` is set when more were available).
        Malformed SPARQL raises QueryError (bad input) with the parser's message, and so does
        a federated ``SERVICE``: pyoxigraph and rdflib would call the named endpoint, and
        peerlearn never calls out (the same rule as the SPARQL endpoint's, ``find_forbidden``).
        """
        forbidden = find_forbidden(sparql)
        if forbidden:
            raise QueryError(f"{forbidden} (federated query) is not allowed: peerlearn never calls "
                             "other endpoints")
        if bindings:
            unknown = sorted(set(bindings) - variables(sparql))
            if unknown:
                raise QueryError(f"cannot bind ?{unknown[0]}: the query has no variable of that name")
            shown = projection(sparql)
            hidden = sorted(set(bindings) - shown) if shown is not None else []
            if hidden:
                raise QueryError(f"cannot bind ?{hidden[0]}: a bound variable must be in the SELECT "
                                 "projection (SPARQL SEP-0007)")
        return self._query(sparql, bindings, limit=limit)

    @abstractmethod
    def _query(self, sparql: str, bindings: Mapping[str, Node] | None, *,
               limit: int | None) -> QueryResult:
        """The backend's query, after the checks every backend shares (``query``)."""

    def select_values(self, sparql: str) -> list[dict[str, str | None]]:
        """A SELECT's rows as ``{variable: lexical value or None}``: IRIs and literals as
        plain strings, without building rdflib terms (what ``kg.catalog`` reads; at 100k
        cities the term objects cost more than the query)."""
        res = self.query(sparql)
        return [{v: None if t is None else str(t) for v, t in zip(res.variables, row)} for row in res.rows]

    @abstractmethod
    def graph_names(self) -> list[URIRef]:
        """Named graphs holding data."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of quads (triples over all graphs)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def graph(self, name: URIRef | None = None) -> Graph:
        """A copy of one named graph (or of everything) as an rdflib Graph."""
        if name is None:
            q = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
            return self.query(q).graph
        q = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
        return self.query(q, {"g": name}).graph


# ---------------------------------------------------------------------- Oxigraph

class OxigraphStore(Store):
    """pyoxigraph: in memory (``path=None``) or on disk at ``path``."""

    backend = "oxigraph"

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False):
        import pyoxigraph as ox

        self._ox = ox
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        try:
            if self.path is None:
                self._store = ox.Store()
            elif read_only:
                if not self.path.exists():
                    raise StoreError(f"{self.path}: no store here; run `peerlearn build` first")
                self._store = ox.Store.read_only(str(self.path))
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as e:
            raise StoreError(f"{self.path}: cannot open the Oxigraph store ({e})") from None

    @property
    def raw(self):
        """The underlying ``pyoxigraph.Store`` (for the HTTP endpoint's fast path)."""
        return self._store

    def replace_graph(self, name: URIRef, graph: Graph) -> None:
        self.replace_graph_ntriples(name, graph.serialize(format="nt", encoding="utf-8"))

    def add_ntriples(self, data: bytes, name: URIRef) -> None:
        """Bulk-load N-Triples into a named graph (fast path for large graphs)."""
        ox = self._ox
        self._store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(name)))

    def _emptied(self, name: URIRef):
        """The named graph ``name`` with its triples removed (absent is fine), ready to load."""
        g = self._ox.NamedNode(str(name))
        with contextlib.suppress(OSError, ValueError):
            self._store.remove_graph(g)
        return g

    def replace_graph_ntriples(self, name: URIRef, data: bytes) -> None:
        self._store.load(data, format=self._ox.RdfFormat.N_TRIPLES, to_graph=self._emptied(name))
        if self.path is not None:
            self._store.flush()

    def graph_ntriples(self, name: URIRef) -> bytes:
        """One named graph as N-Triples."""
        ox = self._ox
        return self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(str(name)))

    def replace_graph_ntriples_file(self, name: URIRef, path: str | os.PathLike) -> None:
        """Bulk load (no transaction holding the whole file in memory): remove the graph, then
        stream the file in. The caller has checked the data before, so only I/O can fail here."""
        self._store.bulk_load(path=str(path), format=self._ox.RdfFormat.N_TRIPLES, to_graph=self._emptied(name))
        if self.path is not None:
            self._store.flush()

    def _run(self, sparql, subs=None):
        try:
            return self._store.query(sparql, use_default_graph_as_union=True, substitutions=subs or None)
        except SyntaxError as e:
            raise QueryError(f"SPARQL syntax error: {_one_line(e)}") from None
        except (OSError, ValueError, RuntimeError) as e:
            raise StoreError(f"query failed: {_one_line(e)}") from None

    def _query(self, sparql, bindings=None, *, limit=None):
        ox = self._ox
        res = self._run(sparql, {ox.Variable(k): to_ox(ox, v) for k, v in (bindings or {}).items()})
        if isinstance(res, ox.QueryBoolean):
            return QueryResult("ask", boolean=bool(res))
        if isinstance(res, ox.QuerySolutions):
            variables = [v.value for v in res.variables]
            rows, truncated = [], False
            for i, sol in enumerate(res):
                if limit is not None and i >= limit:
                    truncated = True
                    break
                rows.append(tuple(from_ox(ox, sol[j]) for j in range(len(variables))))
            return QueryResult("select", variables=variables, rows=rows, truncated=truncated)
        g = Graph()
        for i, t in enumerate(res):
            if limit is not None and i >= limit:
                return QueryResult("graph", graph=g, truncated=True)
            g.add((from_ox(ox, t.subject), from_ox(ox, t.predicate), from_ox(ox, t.object)))
        return QueryResult("graph", graph=g)

    def select_values(self, sparql):
        res = self._run(sparql)
        if not isinstance(res, self._ox.QuerySolutions):
            raise StoreError("select_values needs a SELECT query")
        names = [v.value for v in res.variables]
        return [{n: None if (t := sol[j]) is None else t.value for j, n in enumerate(names)} for sol in res]

    def graph_names(self):
        return sorted(URIRef(g.value) for g in self._store.named_graphs()
                      if isinstance(g, self._ox.NamedNode))

    def __len__(self):
        return len(self._store)

    def close(self):
        if self.path is not None and not self.read_only and self._store is not None:
            try:
                self._store.flush()
            except OSError:
                pass
        self._store = None


def to_ox(ox, term: Node):
    """rdflib term -> pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, str):
        return ox.Literal(term)
    raise StoreError(f"cannot bind a value of type {type(term).__name__}")


def from_ox(ox, term) -> Node | None:
    """pyoxigraph term -> rdflib term."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        if dt == "http://www.w3.org/2001/XMLSchema#string":
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(dt))
    return Literal(str(term))


# ---------------------------------------------------------------------- rdflib

class RdflibStore(Store):
    """An rdflib Dataset in memory; queries see the union of the named graphs."""

    backend = "rdflib"

    def __init__(self):
        self._ds = Dataset(default_union=True)

    def replace_graph(self, name, graph):
        self._ds.remove_graph(self._ds.graph(name))
        target = self._ds.graph(name)
        for t in graph:
            target.add(t)

    def _query(self, sparql, bindings=None, *, limit=None):
        from rdflib.plugins.sparql import prepareQuery

        try:  # parsing and translating: what fails here is the query's fault
            prepared = prepareQuery(sparql, initNs=dict(self._ds.namespaces()))
        except Exception as e:  # pyparsing's ParseException, or an undeclared prefix
            raise QueryError(f"SPARQL syntax error: {_one_line(e)}") from None
        try:
            res = self._ds.query(prepared, initBindings=dict(bindings or {}))
        except Exception as e:  # rdflib raises assorted errors while evaluating
            raise StoreError(f"SPARQL error: {_one_line(e)}") from None
        return _from_rdflib_result(res, limit)

    def graph_names(self):
        return sorted(c.identifier for c in self._ds.graphs()
                      if isinstance(c.identifier, URIRef) and len(c) > 0
                      and c.identifier != URIRef("urn:x-rdflib:default"))

    def __len__(self):
        return sum(len(c) for c in self._ds.graphs())


def _from_rdflib_result(res, limit) -> QueryResult:
    if res.type == "ASK":
        return QueryResult("ask", boolean=bool(res.askAnswer))
    if res.type in ("CONSTRUCT", "DESCRIBE"):
        g = Graph()
        for i, t in enumerate(res.graph if res.graph is not None else res):
            if limit is not None and i >= limit:
                return QueryResult("graph", graph=g, truncated=True)
            g.add(t)
        return QueryResult("graph", graph=g)
    variables = [str(v) for v in res.vars]
    rows, truncated = [], False
    for i, row in enumerate(res):
        if limit is not None and i >= limit:
            truncated = True
            break
        rows.append(tuple(row))
    return QueryResult("select", variables=variables, rows=rows, truncated=truncated)


# ---------------------------------------------------------------------- remote

def __getattr__(name: str):
    """``kg.store.RemoteStore`` lives in ``kg.remote`` (HTTP, batching, credentials)."""
    if name == "RemoteStore":
        from kg.remote import RemoteStore

        return RemoteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _one_line(e: BaseException) -> str:
    from kg.redact import scrub

    return scrub(" ".join(str(e).split())) or type(e).__name__


# ---------------------------------------------------------------------- opening

def open_store(backend: str = "oxigraph", *, path: str | os.PathLike | None = None,
               endpoint: str | None = None, update_endpoint: str | None = None,
               read_only: bool = False) -> Store:
    """Open a store. ``path=None`` with ``oxigraph`` gives an in-memory store."""
    if backend == "oxigraph":
        return OxigraphStore(path, read_only=read_only)
    if backend == "rdflib":
        return RdflibStore()
    if backend == "remote":
        if not endpoint:
            raise StoreError("the remote backend needs an endpoint URL (setting store.endpoint)")
        from kg.remote import RemoteStore

        return RemoteStore(endpoint, update_endpoint)
    raise StoreError(f"unknown store backend {backend!r}; choose one of {', '.join(BACKENDS)}")


@contextmanager
def atomic_oxigraph_dir(target: str | os.PathLike) -> Iterator[OxigraphStore]:
    """Build an on-disk Oxigraph store in a staging folder beside ``target`` and move it into
    place only if the block succeeds: a failed build leaves the previous store intact."""
    with staged_dir(target) as tmp:
        store = OxigraphStore(tmp)
        try:
            yield store
        finally:
            store.close()
