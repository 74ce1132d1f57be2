"""The ontology files (package ``ontology``) loaded as rdflib graphs, and vocabulary lookups."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from rdflib import RDF, SKOS, Graph

VOCABULARIES = ("domains.ttl", "levers.ttl", "barriers.ttl", "solutions.ttl", "modules.ttl", "gcom.ttl")
SCHEME_OF_FILE = {"domains.ttl": "domain", "levers.ttl": "lever", "barriers.ttl": "barrier",
                  "solutions.ttl": "solution", "modules.ttl": "module"}


def _read(name: str) -> str:
    root = resources.files("ontology")
    path = root.joinpath(*name.split("/"))
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _tbox_text() -> str:
    return _read("peerlearn.ttl")


def ontology_graph() -> Graph:
    """The TBox and every concept scheme, as one (new) graph."""
    g = Graph()
    g.parse(data=_tbox_text(), format="turtle")
    for f in VOCABULARIES:
        g.parse(data=_read(f"vocabularies/{f}"), format="turtle")
    return g


def vocabulary_graph(name: str) -> Graph:
    """One vocabulary file (``gcom.ttl``) as a graph."""
    return Graph().parse(data=_read(f"vocabularies/{name}"), format="turtle")


def shapes_graph() -> Graph:
    return Graph().parse(data=_read("shapes.ttl"), format="turtle")


@lru_cache(maxsize=1)
def vocabulary_codes() -> dict[str, frozenset[str]]:
    """Scheme name -> the ``skos:notation`` codes of its concepts (``{"domain": {"energy", ...}}``)."""
    out: dict[str, frozenset[str]] = {}
    for f, scheme in SCHEME_OF_FILE.items():
        g = Graph().parse(data=_read(f"vocabularies/{f}"), format="turtle")
        out[scheme] = frozenset(str(n) for c in g.subjects(RDF.type, SKOS.Concept)
                                for n in g.objects(c, SKOS.notation))
    return out
