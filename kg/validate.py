"""SHACL validation of input graphs against ``ontology/shapes.ttl``."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph, URIRef
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


def _short(term) -> str:
    s = str(term)
    for p, ns in PREFIXES.items():
        if s.startswith(ns) and len(s) > len(ns):
            return f"{p}:{s[len(ns):]}"
    return s if not isinstance(term, URIRef) else f"<{s}>"


def violations(data: Graph) -> list[Violation]:
    """Every SHACL violation of ``data``, validated with the ontology as context."""
    from pyshacl import validate

    # The ontology is the shapes' context (concept types for sh:class): validate the union.
    ok, report, _ = validate(data + ontology_graph(), shacl_graph=shapes_graph(),
                             inference="none", advanced=False, allow_warnings=True)
    if ok:
        return []
    out = []
    for res in report.subjects(SH.resultSeverity, SH.Violation):
        focus = report.value(res, SH.focusNode)
        path = report.value(res, SH.resultPath)
        msg = report.value(res, SH.resultMessage)
        out.append(Violation(_short(focus), _short(path) if path is not None else "", str(msg)))
    return sorted(out, key=lambda v: (v.focus, v.path, v.message))


def check(data: Graph, source: str) -> None:
    """Raise ValidationError (one line, naming ``source`` and the first problem) if invalid."""
    found = violations(data)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ValidationError(f"SHACL: {found[0]}{more}", path=source)
