"""Read a store into a ``Catalog`` of plain Python values (a handful of SELECTs)."""

from __future__ import annotations

from kg import queries as Q
from kg.model import Catalog, City, Concept, Link, PilotActivity, Twin
from kg.namespaces import PL
from kg.store import Store

SCHEME_BY_IRI = {
    "https://w3id.org/peerlearn/concept/domain/": "domain",
    "https://w3id.org/peerlearn/concept/lever/": "lever",
    "https://w3id.org/peerlearn/concept/barrier/": "barrier",
    "https://w3id.org/peerlearn/concept/solution/": "solution",
    "https://w3id.org/peerlearn/concept/module/": "module",
}
STATUS = {str(PL.Stated): "stated", str(PL.Inferred): "inferred", str(PL.Tagged): "tagged"}
# direct property -> (role, field of the dataclass)
LINK_FIELDS = {
    str(PL.worksInDomain): "domains", str(PL.usesLever): "levers",
    str(PL.addressesBarrier): "barriers", str(PL.implementsSolution): "solutions",
    str(PL.interestedInDomain): "domains", str(PL.interestedInLever): "levers",
    str(PL.facesBarrier): "barriers", str(PL.experienceInDomain): "experience",
}


def _s(v) -> str:
    return "" if v is None else str(v)


def catalog(store: Store) -> Catalog:
    """Everything the recommender needs from ``store``, as frozen dataclasses."""
    concepts = {}
    for r in store.select_values(Q.CONCEPTS):
        scheme = SCHEME_BY_IRI.get(_s(r["scheme"]))
        if scheme is None:
            continue
        concepts[str(r["c"])] = Concept(
            iri=str(r["c"]), code=str(r["code"]), scheme=scheme, label=str(r["label"]),
            definition=_s(r["definition"]),
            alt_labels=tuple(sorted(a for a in _s(r["alts"]).split("\t") if a)),
            related=tuple(sorted(_s(r["related"]).split())))
    cities = {}
    for r in store.select_values(Q.CITIES):
        cid = str(r["id"])
        cities[cid] = City(
            id=cid, iri=str(r["c"]), name=str(r["name"]), country=str(r["country"]),
            population=int(r["population"]) if r["population"] is not None else None,
            latitude=float(r["lat"]) if r["lat"] is not None else None,
            longitude=float(r["lon"]) if r["lon"] is not None else None,
            mission_city=r["mission"] in ("true", "1"),
            alt_names=tuple(sorted(a for a in _s(r["alts"]).split("\t") if a)),
            ccc_file=_s(r["ccc"]))
    links: dict[str, dict[str, list[Link]]] = {}
    for r in store.select_values(Q.LINKS):
        field = LINK_FIELDS.get(str(r["prop"]))
        if field is None:
            continue
        link = Link(concept=str(r["concept"]), status=STATUS.get(str(r["status"]), "stated"),
                    score=float(r["score"]) if r["score"] is not None else 1.0,
                    evidence=_s(r["evidence"]))
        links.setdefault(str(r["s"]), {}).setdefault(field, []).append(link)
    narratives: dict[str, list[str]] = {}
    for r in store.select_values(Q.NARRATIVES):
        narratives.setdefault(str(r["s"]), []).append(str(r["text"]))

    sources: dict[str, list[str]] = {}
    for r in store.select_values(Q.SOURCES):
        sources.setdefault(str(r["s"]), []).append(str(r["src"]))

    def ls(iri: str, field: str) -> tuple[Link, ...]:
        best: dict[str, Link] = {}
        for link in links.get(iri, {}).get(field, []):
            old = best.get(link.concept)
            if old is None or link.weight > old.weight:
                best[link.concept] = link
        return tuple(sorted(best.values(), key=lambda x: x.concept))

    pilots = {}
    for r in store.select_values(Q.PILOTS):
        iri, pid = str(r["p"]), str(r["id"])
        pilots[pid] = PilotActivity(
            id=pid, iri=iri, cohort=int(r["cohort"]), title=str(r["title"]), acronym=_s(r["acronym"]),
            cities=tuple(sorted(_s(r["cities"]).split())), lead_city=_s(r["lead"]),
            open_to_cohorts=tuple(sorted(int(x) for x in _s(r["opens"]).split())),
            capacity=int(r["capacity"]) if r["capacity"] is not None else None,
            domains=ls(iri, "domains"), levers=ls(iri, "levers"), barriers=ls(iri, "barriers"),
            solutions=ls(iri, "solutions"), summary=_s(r["summary"]),
            narrative="\n\n".join(narratives.get(iri, [])), sources=tuple(sources.get(iri, ())))
    twins = {}
    for r in store.select_values(Q.TWINS):
        iri, tid = str(r["t"]), str(r["id"])
        twins[tid] = Twin(
            id=tid, iri=iri, city=str(r["cityId"]), cohort=int(r["cohort"]), interests=_s(r["interests"]),
            domains=ls(iri, "domains"), levers=ls(iri, "levers"), barriers=ls(iri, "barriers"),
            experience=ls(iri, "experience"), narrative="\n\n".join(narratives.get(iri, [])),
            sources=tuple(sources.get(iri, ())))
    return Catalog(cities=dict(sorted(cities.items())), pilots=dict(sorted(pilots.items())),
                   twins=dict(sorted(twins.items())), concepts=dict(sorted(concepts.items())))


def summary(store: Store) -> dict:
    """Counts a user checks after a build: cities, Mission Cities, pilots, twins, per cohort."""
    r = store.query(Q.COUNTS).records()[0]
    out = {k: int(v) if v is not None else 0 for k, v in r.items()}
    out["triples"] = len(store)
    out["by_cohort"] = {int(x["cohort"]): {"pilots": int(x["pilots"]), "twins": int(x["twins"])}
                        for x in store.query(Q.COUNTS_BY_COHORT).records()}
    return out
