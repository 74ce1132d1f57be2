"""Read a store into a ``Catalog`` of plain Python values (a handful of SELECTs)."""

from __future__ import annotations

from kg import queries as Q
from kg.model import Catalog, City, Concept, Link, PilotActivity, Twin, link_origin
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


FIELD_OF_SCHEME = {"domain": "domains", "lever": "levers", "solution": "solutions"}


def combine_city_links(cities: list[City]) -> list[Link]:
    """The derived links of an activity run by several cities: per concept, the mean score over
    the cities that have derived links at all (a city without GCoM data is unknown, not a zero;
    a city with data but without the concept counts 0), with the evidence of the strongest city."""
    known = [c for c in cities if c.links]
    best: dict[str, Link] = {}
    total: dict[str, float] = {}
    for c in known:
        for link in c.links:
            total[link.concept] = total.get(link.concept, 0.0) + link.score
            if link.concept not in best or link.score > best[link.concept].score:
                best[link.concept] = link
    return [Link(k, best[k].status, round(total[k] / len(known), 4), best[k].evidence, best[k].origin)
            for k in sorted(best)]


def catalog(store: Store, *, gcom: bool = True, contracts: bool = True, narrative_tags: bool = True) -> Catalog:
    """Everything the recommender needs from ``store``, as frozen dataclasses. With ``gcom``,
    twins and pilot activities also get the concept links their cities' Covenant of Mayors
    plans imply (``graph/gcom``; a twin its city's, an activity ``combine_city_links``).
    ``contracts`` / ``narrative_tags`` false leave out the tagger's links from the cities'
    contracts / from the narratives (the ablations of ``evaluate --by-source``)."""
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
    derived: dict[str, list[Link]] = {}
    if gcom:
        for r in store.select_values(Q.GCOM_LINKS):
            if str(r["concept"]) in concepts:
                derived.setdefault(str(r["city"]), []).append(Link(
                    concept=str(r["concept"]), status="inferred", score=float(r["score"]),
                    evidence=_s(r["evidence"]), origin="gcom"))
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
            ccc_file=_s(r["ccc"]),
            links=tuple(sorted(derived.get(str(r["c"]), []), key=lambda x: x.concept)))
    links: dict[str, dict[str, list[Link]]] = {}
    for r in store.select_values(Q.LINKS):
        field = LINK_FIELDS.get(str(r["prop"]))
        if field is None:
            continue
        link = Link(concept=str(r["concept"]), status=STATUS.get(str(r["status"]), "stated"),
                    score=float(r["score"]) if r["score"] is not None else 1.0,
                    evidence=_s(r["evidence"]), origin=link_origin(str(r["l"])))
        if (link.origin == "contract" and not contracts) or (
                link.status == "tagged" and not link.origin and not narrative_tags):
            continue
        links.setdefault(str(r["s"]), {}).setdefault(field, []).append(link)
    narratives: dict[str, list[str]] = {}
    for r in store.select_values(Q.NARRATIVES):
        narratives.setdefault(str(r["s"]), []).append(str(r["text"]))

    sources: dict[str, list[str]] = {}
    for r in store.select_values(Q.SOURCES):
        sources.setdefault(str(r["s"]), []).append(str(r["src"]))

    def of_field(derived_links: list[Link] | tuple[Link, ...], field: str) -> list[Link]:
        return [x for x in derived_links if FIELD_OF_SCHEME.get(concepts[x.concept].scheme) == field]

    shadowed: dict[str, list[tuple[str, Link]]] = {}

    def ls(iri: str, field: str, extra: list[Link] | tuple[Link, ...] = ()) -> tuple[Link, ...]:
        """One link per concept, the heaviest (the first of equals); the other links on the
        concept go to ``shadowed``. A link stored with several evidence passages (an activity's
        contract tag: one per city) comes as one row per passage: the rows after its first are
        the same link, not another one."""
        every = [*links.get(iri, {}).get(field, []), *of_field(extra, field)]
        best: dict[str, Link] = {}
        for link in every:
            old = best.get(link.concept)
            if old is None or link.weight > old.weight:
                best[link.concept] = link
        same = lambda x: (x.concept, x.status, x.origin, x.score)   # noqa: E731
        seen = {same(x) for x in best.values()}
        for link in every:
            if same(link) not in seen:
                seen.add(same(link))
                shadowed.setdefault(iri, []).append((field, link))
        return tuple(sorted(best.values(), key=lambda x: x.concept))

    def lost(iri: str) -> tuple[tuple[str, Link], ...]:
        return tuple(sorted(shadowed.get(iri, ()), key=lambda fx: (fx[0], fx[1].concept, -fx[1].weight, fx[1].source, fx[1].evidence)))

    pilots = {}
    for r in store.select_values(Q.PILOTS):
        iri, pid = str(r["p"]), str(r["id"])
        ex = combine_city_links([cities[c] for c in _s(r["cities"]).split() if c in cities])
        pilots[pid] = PilotActivity(
            id=pid, iri=iri, cohort=int(r["cohort"]), title=str(r["title"]), acronym=_s(r["acronym"]),
            cities=tuple(sorted(_s(r["cities"]).split())), lead_city=_s(r["lead"]),
            open_to_cohorts=tuple(sorted(int(x) for x in _s(r["opens"]).split())),
            capacity=int(r["capacity"]) if r["capacity"] is not None else None,
            domains=ls(iri, "domains", ex), levers=ls(iri, "levers", ex), barriers=ls(iri, "barriers"),
            solutions=ls(iri, "solutions", ex), summary=_s(r["summary"]),
            narrative="\n\n".join(narratives.get(iri, [])),
            sources=tuple(sources.get(iri, ())), shadowed=lost(iri))
    twins = {}
    for r in store.select_values(Q.TWINS):
        iri, tid = str(r["t"]), str(r["id"])
        city = cities.get(str(r["cityId"]))
        ex = city.links if city else ()
        twins[tid] = Twin(
            id=tid, iri=iri, city=str(r["cityId"]), cohort=int(r["cohort"]), interests=_s(r["interests"]),
            domains=ls(iri, "domains", ex), levers=ls(iri, "levers", ex), barriers=ls(iri, "barriers"),
            experience=ls(iri, "experience"), narrative="\n\n".join(narratives.get(iri, [])),
            sources=tuple(sources.get(iri, ())), shadowed=lost(iri))
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
