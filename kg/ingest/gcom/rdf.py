"""A GCoM release (or an extract of it) as N-Triples for its own named graph ``graph/gcom``.

Each signatory, action plan, planned action, inventory entry and target is a resource under
``data/gcom/``; the graph node itself, every signatory and every plan carry ``dcterms:source``
(the JRC collection) and ``dcterms:license`` (CC BY 4.0), and the graph node
``dcterms:rights`` the attribution. A signatory matched to a dataset city says so
(``gcom:describes`` the city, with ``gcom:matchKind``); its concept links
(``pl:ConceptLink``, status ``pl:Inferred``, ``dcterms:source`` the JRC collection) carry the
share and score of ``derive.derive_links`` and up to five of the actions behind them as
``pl:evidence``; its latest inventory gives ``gcom:EmissionShare``s per emission domain.

Written as N-Triples text (not an rdflib graph): the whole release is about 1.76 million
triples (290 MB), streamed to a file that the store bulk-loads.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import IO
from urllib.parse import quote

from kg.ingest.gcom.derive import GCOM_NS, derive_links, emission_shares, load_mapping
from kg.ingest.gcom.derive import Mapping as GcomMapping
from kg.ingest.gcom.release import ATTRIBUTION, LICENSE, SOURCE, Release, Signatory
from kg.namespaces import DATA, GRAPHS

GCOM_GRAPH = GRAPHS["gcom"]
PL = "https://w3id.org/peerlearn/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
SCHEMA = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
LINK_PROPERTY = {"domain": PL + "worksInDomain", "lever": PL + "usesLever", "solution": PL + "implementsSolution"}
BASE = str(DATA) + "gcom/"


def _esc(s: str) -> str:
    return (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r"))


def _lit(v: object, dtype: str | None = None) -> str:
    if isinstance(v, bool):
        return f'"{"true" if v else "false"}"^^<{XSD}boolean>'
    if isinstance(v, int):
        return f'"{v}"^^<{XSD}integer>'
    if isinstance(v, float):
        return f'"{v!r}"^^<{XSD}{dtype or "double"}>'
    return f'"{_esc(str(v))}"' + (f"^^<{XSD}{dtype}>" if dtype else "")


def _id(s: str) -> str:
    return quote(s, safe="")


def signatory_iri(org: str) -> str:
    return f"{BASE}signatory/{_id(org)}"


def plan_iri(plan: str) -> str:
    return f"{BASE}plan/{_id(plan)}"


def action_iri(plan: str, action: str) -> str:
    return f"{BASE}action/{_id(plan)}-{_id(action)}"


class _Out:
    """Triples as N-Triples lines, written to ``fh`` in chunks."""

    def __init__(self, fh: IO[str]) -> None:
        self.fh, self.lines, self.count = fh, [], 0

    def t(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"<{s}> <{p}> {o} .\n")

    def iri(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"<{s}> <{p}> <{o}> .\n")

    def flush(self) -> None:
        self.count += len(self.lines)
        self.fh.write("".join(self.lines))
        self.lines = []


def _signatory(o: _Out, s: Signatory, city: tuple[str, str] | None) -> str:
    iri = signatory_iri(s.id)
    g = GCOM_NS
    o.iri(iri, RDF_TYPE, g + "Signatory")
    o.t(iri, g + "organisationId", _lit(s.id))
    o.t(iri, SCHEMA + "name", _lit(s.name))
    o.t(iri, SCHEMA + "addressCountry", _lit(s.country))
    if s.population is not None:
        o.t(iri, g + "population", _lit(s.population))
    if s.latitude is not None and s.longitude is not None:
        o.t(iri, SCHEMA + "latitude", _lit(s.latitude))
        o.t(iri, SCHEMA + "longitude", _lit(s.longitude))
    for c in s.commitments:
        o.t(iri, g + "commitment", _lit(c))
    if s.adhesion_date:
        o.t(iri, g + "adhesionDate", _lit(s.adhesion_date.isoformat(), "date"))
    o.t(iri, g + "group", _lit(s.group))
    if s.status:
        o.t(iri, g + "signatoryStatus", _lit(s.status))
    o.iri(iri, DCT + "source", SOURCE)
    o.iri(iri, DCT + "license", LICENSE)
    if city:
        o.iri(iri, g + "describes", city[0])
        o.t(iri, g + "matchKind", _lit(city[1]))
    return iri


def ntriples(rel: Release, cities: Mapping[str, tuple[str, str]] | None = None, *,
             orgs: Iterable[str] | None = None, mapping: GcomMapping | None = None,
             progress: Callable[[int, int], None] | None = None) -> tuple[bytes, dict[str, int]]:
    """N-Triples of ``rel`` (the signatories ``orgs``, default all) and counts of what was written.
    ``cities`` maps organisation id -> (dataset city IRI, match kind)."""
    buf = io.StringIO()
    counts = write_ntriples(buf, rel, cities, orgs=orgs, mapping=mapping, progress=progress)
    return buf.getvalue().encode("utf-8"), counts


def write_ntriples(fh: IO[str], rel: Release, cities: Mapping[str, tuple[str, str]] | None = None, *,
                   orgs: Iterable[str] | None = None, mapping: GcomMapping | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """``ntriples`` written to a text file as it goes (the whole release: about 290 MB)."""
    m = mapping or load_mapping()
    cities = cities or {}
    g = GCOM_NS
    o = _Out(fh)
    graph = str(GCOM_GRAPH)
    o.iri(graph, DCT + "source", SOURCE)
    o.iri(graph, DCT + "license", LICENSE)
    o.t(graph, DCT + "rights", _lit(ATTRIBUTION))
    ids = sorted(rel.signatories if orgs is None else orgs, key=lambda x: (len(x), x))
    counts = dict(signatories=0, plans=0, actions=0, inventory_entries=0, links=0, emission_shares=0)
    plans_by_org: dict[str, set[str]] = {}
    for plan, org in rel.plan_org.items():
        plans_by_org.setdefault(org, set()).add(plan)
    for n, org in enumerate(ids):
        s = rel.signatories.get(org)
        if s is None:
            continue
        if n % 500 == 0:
            o.flush()
            if progress:
                progress(n, len(ids))
        siri = _signatory(o, s, cities.get(org))
        counts["signatories"] += 1
        for plan in sorted(plans_by_org.get(org, ()), key=lambda x: (len(x), x)):
            piri = plan_iri(plan)
            o.iri(piri, RDF_TYPE, g + "ActionPlan")
            o.iri(piri, g + "signatory", siri)
            o.iri(piri, DCT + "source", SOURCE)
            o.iri(piri, DCT + "license", LICENSE)
            counts["plans"] += 1
            for t in rel.targets.get(plan, ()):
                tiri = f"{piri}/target/{_id(t.horizon)}"
                o.iri(piri, g + "target", tiri)
                o.iri(tiri, RDF_TYPE, g + "Target")
                o.t(tiri, g + "horizon", _lit(t.horizon))
                if t.reduction is not None:
                    o.t(tiri, g + "reduction", _lit(round(t.reduction, 4), "decimal"))
                if t.base_year is not None:
                    o.t(tiri, g + "baseYear", _lit(t.base_year))
                if t.kind:
                    o.t(tiri, g + "reductionType", _lit(t.kind))
        actions = rel.actions.get(org, [])
        for a in actions:
            airi = action_iri(a.plan, a.id)
            o.iri(airi, RDF_TYPE, g + "Action")
            o.iri(airi, g + "plan", plan_iri(a.plan))
            o.t(airi, g + "actionId", _lit(a.id))
            o.t(airi, g + "actionText", _lit(a.text))
            for c in m.categorise(a.text):
                o.iri(airi, g + "category", c.iri)
        counts["actions"] += len(actions)
        for k, ln in enumerate(rel.inventories.get(org, ())):
            eiri = f"{BASE}inventory/{_id(ln.inventory or 'x')}/{k}"
            o.iri(eiri, RDF_TYPE, g + "InventoryEntry")
            o.iri(eiri, g + "signatory", siri)
            if ln.plan:
                o.iri(eiri, g + "plan", plan_iri(ln.plan))
            o.t(eiri, g + "inventory", _lit(ln.inventory))
            o.t(eiri, g + "year", _lit(ln.year))
            o.t(eiri, g + "baseline", _lit(ln.baseline))
            sector = m.inventory_concept.get(ln.sector)
            if sector:
                o.iri(eiri, g + "sector", sector)
            else:
                o.t(eiri, g + "sector", _lit(ln.sector))
            if ln.carrier:
                o.t(eiri, g + "carrier", _lit(ln.carrier))
            if ln.energy_mwh is not None:
                o.t(eiri, g + "energyMWh", _lit(ln.energy_mwh))
            if ln.emission_t is not None:
                o.t(eiri, g + "emissionsTCO2e", _lit(ln.emission_t))
            counts["inventory_entries"] += 1
        latest = rel.latest_inventory(org)
        year = latest[0].year if latest else None
        for dom, share in emission_shares(latest, m).items():
            es = f"{siri}/emission-share/{dom.rstrip('/').rsplit('/', 1)[-1]}"
            o.iri(siri, g + "emissionShare", es)
            o.iri(es, RDF_TYPE, g + "EmissionShare")
            o.iri(es, g + "domain", dom)
            o.t(es, g + "share", _lit(share, "decimal"))
            o.t(es, g + "year", _lit(year))
            counts["emission_shares"] += 1
        for link in derive_links(actions, m):
            code = link.concept.rstrip("/").rsplit("/", 1)[-1]
            liri = f"{siri}/link/{link.scheme}/{code}"
            o.iri(siri, PL + "hasConceptLink", liri)
            o.iri(liri, RDF_TYPE, PL + "ConceptLink")
            o.iri(liri, PL + "concept", link.concept)
            o.iri(liri, PL + "linkProperty", LINK_PROPERTY[link.scheme])
            o.iri(liri, PL + "status", PL + "Inferred")
            o.t(liri, PL + "score", _lit(float(link.score)))
            o.t(liri, g + "share", _lit(float(link.share), "decimal"))
            o.t(liri, g + "actions", _lit(link.actions))
            o.iri(liri, DCT + "source", SOURCE)
            for a in link.evidence:
                o.iri(liri, PL + "evidence", action_iri(a.plan, a.id))
            counts["links"] += 1
    o.flush()
    if progress:
        progress(len(ids), len(ids))
    counts["triples"] = o.count
    return counts
