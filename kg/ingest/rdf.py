"""Readers for RDF files: Turtle, N-Triples and JSON-LD.

Files are parsed by pyoxigraph, whose errors give the line and a readable reason
(``data.ttl:12: Unexpected end of file``). It never loads a remote JSON-LD ``@context``; a
document that names one is refused before parsing, with the URL in the message, so reading a
file never opens a connection.

The input is closed-world, as in the tabular reader (an unknown column is an error): every
property must be one the ontology declares or uses (``allowed_properties``). A JSON-LD key that
the context maps to no IRI, which JSON-LD processing would silently drop, is an error too.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDFS, SH, SKOS

from kg.errors import InputError

FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt",
           ".jsonld": "json-ld", ".json-ld": "json-ld"}
_OX_FORMATS = {"turtle": "TURTLE", "nt": "N_TRIPLES", "json-ld": "JSON_LD"}
_LABELS = {"turtle": "Turtle", "nt": "N-Triples", "json-ld": "JSON-LD"}

# Standard properties the ontology reuses for data (see the header of ontology/peerlearn.ttl)
# beyond those it declares, uses in its own statements or names in the SHACL shapes.
REUSED = (RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso, OWL.sameAs, SKOS.altLabel,
          SKOS.prefLabel, DCTERMS.source, DCTERMS.abstract, DCTERMS.date, DCTERMS.description,
          PROV.wasGeneratedBy, PROV.wasDerivedFrom, PROV.used, PROV.wasAssociatedWith,
          PROV.startedAtTime, PROV.endedAtTime)
_PROPERTY_TYPES = (RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
# JSON-LD keys that the context does not map land here when looking for them (never stored).
_UNMAPPED = "urn:peerlearn:unmapped-json-ld-key:"


def is_rdf_file(path: Path) -> bool:
    return path.suffix.lower() in FORMATS


@lru_cache(maxsize=1)
def allowed_properties() -> frozenset[URIRef]:
    """Every property an RDF input may use: declared in the ontology (TBox and vocabularies),
    used in its statements, a SHACL ``sh:path``, or one of the reused standard ``REUSED``."""
    from kg.ontology import ontology_graph, shapes_graph

    onto = ontology_graph()
    declared = {s for t in _PROPERTY_TYPES for s in onto.subjects(RDF.type, t)}
    used = set(onto.predicates())
    paths = set(shapes_graph().objects(None, SH.path))
    return frozenset(p for p in declared | used | paths | set(REUSED) if isinstance(p, URIRef))


def read_rdf(path: str | Path) -> Graph:
    """Parse one RDF file; malformed content or a property outside the ontology raises
    InputError naming the file (and the line, for syntax errors)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unknown RDF file type {path.suffix!r} (use .ttl, .nt or .jsonld)", path=path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path) from None
    if not raw.strip():
        raise InputError("empty file", path=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[e.start]:02x})", path=path, line=line) from None
    base = path.resolve().as_uri()
    if fmt == "json-ld":
        doc = _json(text, path)
        _refuse_remote_contexts(doc, path)
    g = Graph()
    for t in _parse(text, fmt, base, path):
        g.add(t)
    if fmt == "json-ld":
        _refuse_unmapped_keys(doc, base, path)
    _check_properties(g, path)
    return g


def _parse(text: str, fmt: str, base: str, path: Path):
    """The triples of ``text`` as rdflib terms (blank nodes renamed apart per file)."""
    import pyoxigraph as ox

    from kg.store import from_ox

    return [(from_ox(ox, q.subject), from_ox(ox, q.predicate), from_ox(ox, q.object))
            for q in _ox_quads(text, fmt, base, path)]


def _ox_quads(text: str, fmt: str, base: str, path: Path, *, lenient: bool = False) -> list:
    import pyoxigraph as ox

    try:
        return list(ox.parse(text.encode("utf-8"), format=getattr(ox.RdfFormat, _OX_FORMATS[fmt]),
                             base_iri=base, without_named_graphs=True, rename_blank_nodes=True,
                             lenient=lenient))
    except SyntaxError as e:
        raise InputError(f"not valid {_LABELS[fmt]}: {_reason(e)}", path=path, line=e.lineno) from None
    except (OSError, ValueError) as e:
        raise InputError(f"cannot parse {fmt}: {_one_line(str(e))}", path=path) from None


def _reason(e: SyntaxError) -> str:
    """pyoxigraph's reason without its location prefix (the location goes into file:line)."""
    msg = e.msg or str(e)
    m = re.match(r"^Parser error ((?:at|between) .*?): (.*)$", msg, re.S)
    if m:
        where, msg = m.groups()
        # the first line goes into file:line; "at line 3 between columns 1 and 4" -> "between columns 1 and 4"
        where = re.sub(r"^(?:at )?(between|at) line \d+ (?:(between) )?", lambda m: f"{m[2] or m[1]} ", where)
        msg = f"{msg} ({where})"
    return _one_line(msg)


def _one_line(msg: str) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= 300 else msg[:300] + "..."


def _json(text: str, path: Path):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    except RecursionError:
        raise InputError("not valid JSON-LD: nested too deeply", path=path) from None


def _refuse_remote_contexts(doc, path: Path) -> None:
    """A context given by URL (``"@context": "https://..."`` or ``@import``) is never fetched."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("@context", "@import"):
                    for ctx in value if isinstance(value, list) else [value]:
                        if isinstance(ctx, str):
                            raise InputError(f"remote JSON-LD context {ctx!r} is never fetched; "
                                             "put the context inline in the file", path=path)
                stack.append(value)


def _with_vocab(doc):
    """``doc`` with a default vocabulary that catches the keys its own context leaves unmapped
    (a context that sets ``@vocab`` itself still wins)."""
    catch = {"@vocab": _UNMAPPED}
    if isinstance(doc, dict) and "@context" in doc:
        ctx = doc["@context"]
        return {**doc, "@context": [catch, *(ctx if isinstance(ctx, list) else [ctx])]}
    if isinstance(doc, dict):
        return {"@context": catch, **doc}
    return {"@context": catch, "@graph": doc}


def _refuse_unmapped_keys(doc, base: str, path: Path) -> None:
    # lenient: a key that is no IRI even under the catch-all vocabulary ("nick name") is kept too
    caught = _ox_quads(json.dumps(_with_vocab(doc)), "json-ld", base, path, lenient=True)
    unmapped = {q.predicate.value[len(_UNMAPPED):] for q in caught if q.predicate.value.startswith(_UNMAPPED)}
    if unmapped:
        key = sorted(unmapped)[0]
        more = f" (and {len(unmapped) - 1} more)" if len(unmapped) > 1 else ""
        raise InputError(f"the @context maps this key to no IRI, so JSON-LD would drop it; map it to a "
                         f"property of the ontology{more}", path=path, field=key)


def _check_properties(g: Graph, path: Path) -> None:
    allowed = allowed_properties()
    unknown = sorted({str(p) for p in g.predicates() if p not in allowed})
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise InputError(f"property <{unknown[0]}> is not in the peerlearn ontology{more}", path=path)
