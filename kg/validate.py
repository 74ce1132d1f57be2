"""SHACL validation of input graphs against ``ontology/shapes.ttl``.

Two engines give the same violations:

* ``sparql_violations`` (the default behind ``violations``) compiles the shapes graph, read at
  run time, into one SPARQL query per constraint of each shape and runs the queries on an
  in-memory Oxigraph store holding the data and the ontology. It supports the SHACL Core
  subset that ``shapes.ttl`` uses (targets by ``sh:targetClass``; ``sh:minCount``,
  ``sh:maxCount``, ``sh:nodeKind``, ``sh:pattern``, ``sh:datatype``, ``sh:minInclusive``,
  ``sh:maxInclusive``, ``sh:class``, ``sh:in``, ``sh:minLength``, ``sh:or``, ``sh:message``
  on predicate paths) and raises ``UnsupportedShapeError`` for anything else in the ``sh:``
  namespace, so a new kind of constraint is never silently skipped.
* ``pyshacl_violations`` runs pyshacl, the reference (``tests/kg/test_validate.py`` checks
  that both find the same violations), about 5-6x slower (`benchmarks/bench_validate.py`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from kg.errors import ValidationError
from kg.namespaces import PREFIXES
from kg.ontology import ontology_graph, shapes_graph


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.focus} {self.path}".strip()
        return f"{where}: {self.message}"


class UnsupportedShapeError(ValueError):
    """The shapes graph uses SHACL that the SPARQL engine does not implement."""


def _short(term) -> str:
    s = str(term)
    for p, ns in PREFIXES.items():
        if s.startswith(ns) and len(s) > len(ns):
            return f"{p}:{s[len(ns):]}"
    return s if not isinstance(term, URIRef) else f"<{s}>"


def _label(term) -> str:
    """``_short``, and ``sh:`` for SHACL terms (in messages about shapes)."""
    s = str(term)
    return f"sh:{s[len(str(SH)):]}" if isinstance(term, URIRef) and s.startswith(str(SH)) else _short(term)


def _sorted(found: list[Violation]) -> list[Violation]:
    return sorted(found, key=lambda v: (v.focus, v.path, v.message))


def violations(data: Graph) -> list[Violation]:
    """Every SHACL violation of ``data``, validated with the ontology as context."""
    return sparql_violations(data)


def check(data: Graph, source: str) -> None:
    """Raise ValidationError (one line, naming ``source`` and the first problem) if invalid."""
    found = violations(data)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ValidationError(f"SHACL: {found[0]}{more}", path=source)


# ---------------------------------------------------------------------- pyshacl (reference)

def pyshacl_violations(data: Graph, shapes: Graph | None = None) -> list[Violation]:
    """The violations pyshacl finds in ``data`` plus the ontology (the reference engine)."""
    from pyshacl import validate

    # The ontology is the shapes' context (concept types for sh:class): validate the union.
    ok, report, _ = validate(data + ontology_graph(), shacl_graph=shapes if shapes is not None else shapes_graph(),
                             inference="none", advanced=False, allow_warnings=True, inplace=True)
    if ok:
        return []
    out = []
    for res in report.subjects(SH.resultSeverity, SH.Violation):
        focus = report.value(res, SH.focusNode)
        path = report.value(res, SH.resultPath)
        msg = report.value(res, SH.resultMessage)
        out.append(Violation(_short(focus), _short(path) if path is not None else "", str(msg)))
    return _sorted(out)


# ---------------------------------------------------------------------- shapes -> SPARQL

_TYPE_OF = f"<{RDF.type}>/<{RDFS.subClassOf}>*"  # SHACL instance: rdf:type/rdfs:subClassOf*

# Predicates that carry no constraint (documentation, form layout); everything else in sh: that
# the compiler does not handle is an error.
_NON_VALIDATING = {SH.name, SH.description, SH.order, SH.group, SH.defaultValue}
_SHAPE_TYPES = {SH.NodeShape, SH.PropertyShape}
_VALUE_PARAMS = (SH.nodeKind, SH.datatype, SH.minInclusive, SH.maxInclusive, SH["class"], SH["in"],
                 SH.pattern, SH.minLength)
_NODE_PARAMS = {SH.targetClass, SH.property, SH.message, SH.severity, SH.deactivated, SH["or"], *_VALUE_PARAMS}
_PROPERTY_PARAMS = {SH.path, SH.minCount, SH.maxCount, SH.message, SH.severity, SH.deactivated, SH["or"],
                    *_VALUE_PARAMS}
# sh:flags and the rest are rejected with a clear message where they are met.
_SUPPORTED = _NODE_PARAMS | _PROPERTY_PARAMS | _NON_VALIDATING | {SH.flags}
_NODE_KINDS = {
    SH.IRI: "!isIRI({v})", SH.Literal: "!isLiteral({v})", SH.BlankNode: "!isBlank({v})",
    SH.BlankNodeOrIRI: "isLiteral({v})", SH.BlankNodeOrLiteral: "isIRI({v})", SH.IRIOrLiteral: "isBlank({v})",
}
# Datatypes whose lexical forms Oxigraph checks (a cast to the datatype fails on an ill-typed literal).
_CASTABLE = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.boolean, XSD.date, XSD.dateTime, XSD.time}


@dataclass(frozen=True)
class Check:
    """One SPARQL query for one constraint of one shape: its rows are the violations."""

    shape: str              # the shape, for messages (``pl:CityShape`` or ``pl:CityShape schema:name``)
    component: str          # e.g. ``sh:MinCountConstraintComponent``
    path: URIRef | None     # the result path (None for node-level constraints)
    message: str | None     # the shape's sh:message, if it has one
    default: str            # message template, with ``{focus}`` and ``{value}``
    query: str              # SELECT ?this [?value]


def _sparql_term(t) -> str:
    if isinstance(t, URIRef):
        return f"<{t}>"
    if isinstance(t, Literal):
        return t.n3()
    raise UnsupportedShapeError(f"blank node {t} used as a constraint value")


def _sparql_string(s: str) -> str:
    esc = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{esc}"'


class _Compiler:
    def __init__(self, sg: Graph):
        self.sg = sg
        self._n = itertools.count()
        self.paths: set[URIRef] = set()

    def var(self, stem: str) -> str:
        return f"?{stem}{next(self._n)}"

    def name(self, shape) -> str:
        return _label(shape) if isinstance(shape, URIRef) else "[]"

    def one(self, shape, param, name: str):
        vals = list(self.sg.objects(shape, param))
        if len(vals) > 1:
            raise UnsupportedShapeError(f"{name}: more than one {_label(param)}")
        return vals[0] if vals else None

    def integer(self, shape, param, name: str) -> int | None:
        v = self.one(shape, param, name)
        if v is None:
            return None
        if not (isinstance(v, Literal) and isinstance(v.value, int) and v.value >= 0):
            raise UnsupportedShapeError(f"{name}: {_label(param)} must be a non-negative integer")
        return int(v.value)

    def check_supported(self, shape, allowed: set, name: str) -> None:
        for p, o in self.sg.predicate_objects(shape):
            if p == RDF.type:
                if o not in _SHAPE_TYPES:
                    raise UnsupportedShapeError(f"{name}: unsupported shape type {_label(o)} "
                                                "(implicit class targets are not implemented)")
            elif str(p).startswith(str(SH)) and p not in allowed and p not in _NON_VALIDATING:
                raise UnsupportedShapeError(f"{name}: unsupported SHACL parameter {_label(p)}")
        sev = self.one(shape, SH.severity, name)
        if sev is not None and sev != SH.Violation:
            raise UnsupportedShapeError(f"{name}: only sh:Violation severity is supported")
        if self.one(shape, SH.deactivated, name) is not None:
            raise UnsupportedShapeError(f"{name}: sh:deactivated is not supported")

    # -- constraints

    def shape_constraints(self, shape, focus: str) -> Iterator[tuple[str, str, str | None, str, object, object]]:
        """Every constraint of ``shape`` with ``focus`` as its focus node, as
        (component, pattern, value var, default message, path, owner shape); a pattern has
        solutions exactly when ``focus`` violates that constraint (for the value var's value)."""
        path = self.one(shape, SH.path, self.name(shape))
        if path is None:
            yield from self.node_shape(shape, focus)
        else:
            yield from self.property_shape(shape, focus, path)

    def node_shape(self, shape, focus: str):
        name = self.name(shape)
        self.check_supported(shape, _NODE_PARAMS, name)
        for comp, expr, default in self.value_constraints(shape, focus, name):
            yield comp, f"FILTER({expr})", None, default, None, shape
        yield from self.or_constraint(shape, focus, focus, "", None, name)
        for ps in self.sg.objects(shape, SH.property):
            if self.one(ps, SH.path, self.name(ps)) is None:
                raise UnsupportedShapeError(f"{name}: an sh:property shape without sh:path")
            yield from self.property_shape(ps, focus, self.one(ps, SH.path, ""))

    def property_shape(self, shape, focus: str, path):
        name = f"{self.name(shape)}({_label(path)})"
        self.check_supported(shape, _PROPERTY_PARAMS, name)
        if not isinstance(path, URIRef):
            raise UnsupportedShapeError(f"{name}: only predicate paths (an IRI) are supported")
        self.paths.add(path)
        p = f"<{path}>"
        lo = self.integer(shape, SH.minCount, name)
        if lo:
            vs = [self.var("n") for _ in range(lo)]
            yield ("sh:MinCountConstraintComponent",
                   f"FILTER NOT EXISTS {{ {self.distinct_values(focus, p, vs)} }}", None,
                   f"Less than {lo} values on {{focus}}->{_label(path)}", path, shape)
        hi = self.integer(shape, SH.maxCount, name)
        if hi is not None:
            vs = [self.var("x") for _ in range(hi + 1)]
            yield ("sh:MaxCountConstraintComponent", self.distinct_values(focus, p, vs), None,
                   f"More than {hi} values on {{focus}}->{_label(path)}", path, shape)
        w = "?value" if focus == "?this" else self.var("w")
        for comp, expr, default in self.value_constraints(shape, w, name):
            yield comp, f"{focus} {p} {w} . FILTER({expr})", w, default, path, shape
        value = self.var("v")
        yield from self.or_constraint(shape, value, focus, f"{focus} {p} {value} .", path, name)

    @staticmethod
    def distinct_values(focus: str, p: str, vs: list[str]) -> str:
        """A pattern matching when ``focus`` has at least len(vs) distinct values for ``p``."""
        triples = " ".join(f"{focus} {p} {v} ." for v in vs)
        pairs = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(vs, 2)]
        return triples + (f" FILTER({' && '.join(pairs)})" if pairs else "")

    def or_constraint(self, shape, value: str, focus: str, bind: str, path, name: str):
        for head in self.sg.objects(shape, SH["or"]):
            members = list(Collection(self.sg, head))
            if not members:
                raise UnsupportedShapeError(f"{name}: empty sh:or list")
            fails = []
            for m in members:
                pats = [pat for _, pat, *_ in self.shape_constraints(m, value)]
                # A member with no constraints is always satisfied, so the sh:or can never fail.
                fails.append("EXISTS { " + " UNION ".join(f"{{ {pat} }}" for pat in pats) + " }"
                             if pats else "false")
            yield ("sh:OrConstraintComponent", f"{bind} FILTER({' && '.join(fails)})",
                   value if bind else None,
                   f"Node {{value}} does not conform to any shape of the sh:or of {name}", path, shape)

    def value_constraints(self, shape, v: str, name: str) -> Iterator[tuple[str, str, str]]:
        """(component, SPARQL expression true when value ``v`` violates it, default message)."""
        kind = self.one(shape, SH.nodeKind, name)
        if kind is not None:
            if kind not in _NODE_KINDS:
                raise UnsupportedShapeError(f"{name}: unknown sh:nodeKind {_label(kind)}")
            yield ("sh:NodeKindConstraintComponent", _NODE_KINDS[kind].format(v=v),
                   f"Value {{value}} is not of node kind {_label(kind)}")
        dt = self.one(shape, SH.datatype, name)
        if dt is not None:
            if not isinstance(dt, URIRef):
                raise UnsupportedShapeError(f"{name}: sh:datatype must be an IRI")
            if dt == RDF.langString:
                ok = f"(isLiteral({v}) && LANG({v}) != \"\")"
            else:
                ok = f"(isLiteral({v}) && sameTerm(DATATYPE({v}), <{dt}>)"
                if dt in _CASTABLE:
                    ok += f" && COALESCE(isLiteral(<{dt}>({v})), false)"
                ok += ")"
            yield ("sh:DatatypeConstraintComponent", f"!{ok}",
                   f"Value {{value}} is not a literal with datatype {_label(dt)}")
        for param, op, comp in ((SH.minInclusive, ">=", "sh:MinInclusiveConstraintComponent"),
                                (SH.maxInclusive, "<=", "sh:MaxInclusiveConstraintComponent")):
            bound = self.one(shape, param, name)
            if bound is not None:
                if not isinstance(bound, Literal):
                    raise UnsupportedShapeError(f"{name}: {_label(param)} must be a literal")
                # An incomparable value (IRI, string against a number, ill-typed) is a violation.
                yield (comp, f"!COALESCE({v} {op} {_sparql_term(bound)}, false)",
                       f"Value {{value}} is not {op} {bound}")
        cls = self.one(shape, SH["class"], name)
        if cls is not None:
            yield ("sh:ClassConstraintComponent", f"NOT EXISTS {{ {v} {_TYPE_OF} {_sparql_term(cls)} }}",
                   f"Value {{value}} is not an instance of {_label(cls)}")
        members = self.one(shape, SH["in"], name)
        if members is not None:
            items = list(Collection(self.sg, members))
            expr = " || ".join(f"sameTerm({v}, {_sparql_term(t)})" for t in items) or "false"
            yield ("sh:InConstraintComponent", f"!({expr})",
                   f"Value {{value}} is not in ({', '.join(_label(t) for t in items)})")
        pattern = self.one(shape, SH.pattern, name)
        if pattern is not None:
            if self.one(shape, SH.flags, name) is not None:
                raise UnsupportedShapeError(f"{name}: sh:flags is not supported")
            yield ("sh:PatternConstraintComponent",
                   f"(isBlank({v}) || !REGEX(STR({v}), {_sparql_string(str(pattern))}))",
                   f"Value {{value}} does not match pattern '{pattern}'")
        n = self.integer(shape, SH.minLength, name)
        if n is not None:
            yield ("sh:MinLengthConstraintComponent", f"(isBlank({v}) || STRLEN(STR({v})) < {n})",
                   f"Value {{value}} is shorter than {n} characters")

    # -- top level

    def compile(self) -> list[Check]:
        sg = self.sg
        shapes = set(sg.subjects(RDF.type, SH.NodeShape)) | set(sg.subjects(SH.targetClass, None))
        for target in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
            for s in sg.subjects(target, None):
                raise UnsupportedShapeError(f"{self.name(s)}: unsupported target {_label(target)}")
        for p in set(sg.predicates()):
            if str(p).startswith(str(SH)) and p not in _SUPPORTED:
                raise UnsupportedShapeError(f"unsupported SHACL parameter {_label(p)}")
        checks = []
        for shape in sorted(shapes, key=str):
            classes = list(sg.objects(shape, SH.targetClass))
            if not classes:
                continue
            target = " UNION ".join(f"{{ ?this {_TYPE_OF} {_sparql_term(c)} }}" for c in classes)
            msg = self.one(shape, SH.message, self.name(shape))
            own = {shape: msg}
            for comp, pat, value, default, path, owner in self.shape_constraints(shape, "?this"):
                if owner not in own:
                    own[owner] = self.one(owner, SH.message, self.name(owner))
                proj = f"?this {value}" if value else "?this"
                label = self.name(shape) + (f" {_label(path)}" if owner != shape and path is not None else "")
                checks.append(Check(label, comp, path,
                                    None if own[owner] is None else str(own[owner]), default,
                                    f"SELECT DISTINCT {proj} WHERE {{ {target} {pat} }}"))
        return checks


@dataclass(frozen=True)
class CompiledShapes:
    checks: tuple[Check, ...]
    predicates: frozenset[URIRef]   # every predicate a check reads: only these triples are loaded


def compile_shapes(shapes: Graph) -> CompiledShapes:
    """The SPARQL checks for ``shapes``; UnsupportedShapeError if it uses unsupported SHACL."""
    c = _Compiler(shapes)
    checks = tuple(c.compile())
    return CompiledShapes(checks, frozenset(c.paths | {RDF.type, RDFS.subClassOf}))


@lru_cache(maxsize=1)
def default_shapes() -> CompiledShapes:
    """``ontology/shapes.ttl``, compiled (read and compiled once per process)."""
    return compile_shapes(shapes_graph())


@lru_cache(maxsize=1)
def _ontology_ntriples() -> bytes:
    return ontology_graph().serialize(format="nt", encoding="utf-8")


def _nt(term) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    lex = str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    if term.language:
        return f'"{lex}"@{term.language}'
    if term.datatype is not None:
        return f'"{lex}"^^<{term.datatype}>'
    return f'"{lex}"'


def _ntriples(data: Graph, predicates) -> tuple[bytes, bytes]:
    """N-Triples of the triples of ``data`` whose predicate is in ``predicates``: those without
    and those with a blank node."""
    names: dict = {}
    lines, with_bnodes = [], []
    for p in predicates:
        ps = _nt(p)
        for s, _, o in data.triples((None, p, None)):
            ss = names.get(s)
            if ss is None:
                ss = names[s] = _nt(s)
            os_ = names.get(o)
            if os_ is None:
                os_ = names[o] = _nt(o)
            (with_bnodes if isinstance(s, BNode) or isinstance(o, BNode) else lines).append(f"{ss} {ps} {os_} .\n")
    return "".join(lines).encode("utf-8"), "".join(with_bnodes).encode("utf-8")


def _load_store(data: Graph, predicates):
    import pyoxigraph as ox

    nt = ox.RdfFormat.N_TRIPLES
    store = ox.Store()
    store.bulk_load(_ontology_ntriples(), format=nt)
    plain, with_bnodes = _ntriples(data, predicates)
    store.bulk_load(plain, format=nt)
    if with_bnodes:
        # Store.load gives blank nodes fresh ids; keep rdflib's, so results name the same nodes.
        store.extend(ox.Quad(t.subject, t.predicate, t.object)
                     for t in ox.parse(with_bnodes, format=nt, rename_blank_nodes=False))
    _align_lexical_forms(ox, store)
    return store


def _align_lexical_forms(ox, store) -> None:
    """Rewrite literals that Oxigraph finds ill-typed but rdflib (and so pyshacl) accepts, such as
    ``" 5"^^xsd:integer``, to rdflib's canonical form, so both engines agree on their values."""
    alts = " || ".join(f"(sameTerm(?d, <{d}>) && !COALESCE(isLiteral(<{d}>(?o)), false))" for d in _CASTABLE)
    q = f"SELECT DISTINCT ?o WHERE {{ ?s ?p ?o . FILTER(isLiteral(?o)) BIND(DATATYPE(?o) AS ?d) FILTER({alts}) }}"
    found = list(store.query(q))
    if not found:
        return
    log = logging.getLogger("rdflib.term")  # it logs a traceback for every ill-typed literal made
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        values = [(lit, Literal(lit.value, datatype=URIRef(lit.datatype.value))) for (lit,) in found]
    finally:
        log.setLevel(level)
    for lit, value in values:
        if value.ill_typed or value.value is None:
            continue
        fixed = ox.Literal(str(Literal(value.value, datatype=value.datatype)), datatype=lit.datatype)
        for quad in list(store.quads_for_pattern(None, None, lit)):
            store.remove(quad)
            store.add(ox.Quad(quad.subject, quad.predicate, fixed, quad.graph_name))


def _to_rdflib(ox, term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    dt = term.datatype.value
    return Literal(term.value) if dt == str(XSD.string) else Literal(term.value, datatype=URIRef(dt))


def _run(checks, store) -> Iterator[Violation]:
    import pyoxigraph as ox

    for c in checks:
        for row in store.query(c.query):
            focus = _to_rdflib(ox, row[0])
            value = _to_rdflib(ox, row[1]) if len(row) > 1 else focus
            msg = c.message or c.default.format(focus=_short(focus), value=_describe(value))
            yield Violation(_short(focus), _short(c.path) if c.path is not None else "", msg)


def _describe(term) -> str:
    return term.n3() if isinstance(term, Literal) else _short(term)


def sparql_violations(data: Graph, shapes: Graph | None = None) -> list[Violation]:
    """The violations of ``data`` plus the ontology, found by the compiled SPARQL checks."""
    compiled = default_shapes() if shapes is None else compile_shapes(shapes)
    try:
        store = _load_store(data, compiled.predicates)
    except SyntaxError:
        # Oxigraph is stricter than rdflib about some terms (an IRI with a space in it, say):
        # rather than validate less, let the reference engine judge such a graph.
        return pyshacl_violations(data, shapes)
    return _sorted(list(_run(compiled.checks, store)))

