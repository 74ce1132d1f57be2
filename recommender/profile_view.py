"""A twin's, pilot activity's or city's profile as one result, read once from the store and the
catalog, that ``peerlearn profile`` (text, ``--json``) and the facilitator's twin and pilot pages
(HTML, CSV, JSON) format.

A profile is every concept link of the item: those the matcher reads (one per concept: the
strongest source wins, ``kg.catalog``) and, marked not used, the weaker ones on the same concept
from other sources (``shadowed``), each with its source (``Link.source``: stated, inferred, tagged from
the item's narrative, contract, gcom), weight (``Link.weight``) and evidence (the IRI of a
passage or GCoM action, with its text), and the context facts of its cities with their source
(the dataset, GeoNames, the JRC's GCoM release). Store values are bound as query parameters,
never spliced into SPARQL text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rdflib import URIRef

from kg.errors import NotFoundError
from kg.model import Catalog, City, PilotActivity, Twin, fold
from kg.queries import PREFIXES
from kg.store import Store

# per kind: (field of the dataclass, relation in words)
FIELDS = {"twin": (("domains", "interested in domain"), ("levers", "interested in lever"),
                   ("barriers", "faces barrier"), ("experience", "experience in domain")),
          "pilot": (("domains", "works in domain"), ("levers", "uses lever"),
                    ("barriers", "addresses barrier"), ("solutions", "implements solution")),
          "city": (("links", "GCoM plan implies"),)}
GCOM_SOURCE = "JRC GCoM - MyCovenant (CC BY 4.0)"

# The text behind an evidence IRI: a GCoM action's text, a passage's (narrative sentence,
# contract passage).
EVIDENCE_TEXT = PREFIXES + """
SELECT ?e ?text WHERE { { ?e gcom:actionText ?text } UNION { ?e pl:text ?text } }
"""

# A city's GCoM context facts: signatory, match, population, commitments, emission shares.
GCOM_FACTS = PREFIXES + """
SELECT ?city ?fact ?value WHERE { ?sig gcom:describes ?city .
  { ?sig schema:name ?value BIND("GCoM signatory" AS ?fact) }
  UNION { ?sig gcom:matchKind ?value BIND("GCoM match kind" AS ?fact) }
  UNION { ?sig gcom:population ?value BIND("GCoM population" AS ?fact) }
  UNION { ?sig gcom:commitment ?value BIND("GCoM commitment" AS ?fact) }
  UNION { ?sig gcom:emissionShare ?e . ?e gcom:domain/skos:notation ?d ; gcom:share ?s ; gcom:year ?y
          BIND(CONCAT("emission share ", STR(?d), " (", STR(?y), ")") AS ?fact) BIND(STR(?s) AS ?value) }
} ORDER BY ?fact ?value
"""


@dataclass(frozen=True)
class ProfileLink:
    relation: str          # e.g. "interested in domain"
    concept: str           # the concept's label
    concept_iri: str
    source: str            # stated, inferred, tagged, contract, gcom (``kg.model.Link.source``)
    weight: float          # how much matching trusts it, rounded to 3 decimals
    evidence: str = ""     # an IRI (passage, GCoM action) or a quoted text; "" for curated links
    evidence_text: str = ""   # the text behind an evidence IRI
    used: bool = True      # read by matching (false: a heavier link on the same concept wins)

    @property
    def evidence_iri(self) -> str:
        return self.evidence if self.evidence.startswith(("http://", "https://")) else ""


@dataclass(frozen=True)
class ProfileFact:
    fact: str              # e.g. "Matosinhos: GCoM population"
    value: str
    source: str            # dataset, dataset (GeoNames), the GCoM release


@dataclass(frozen=True)
class ProfileView:
    kind: str                           # twin, pilot or city
    id: str
    title: str
    links: tuple[ProfileLink, ...]
    facts: tuple[ProfileFact, ...]

    def link_rows(self) -> list[dict]:
        """One row per link (``recommender.tables.TABLES["profile_links"]``)."""
        return [asdict(x) for x in self.links]

    def fact_rows(self) -> list[dict]:
        """One row per fact (``recommender.tables.TABLES["profile_facts"]``)."""
        return [asdict(f) for f in self.facts]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "title": self.title, "links": self.link_rows(),
                "facts": self.fact_rows()}

    def text_lines(self) -> list[str]:
        lines = [self.title, "concept links (matching reads one per concept, the strongest; "
                             "the others are marked not used):"]
        for x in self.links:
            ev = x.evidence_text or x.evidence
            lines.append(f"  {x.relation}: {x.concept}  [{x.source}, weight {x.weight}{'' if x.used else ', not used'}]"
                         + (f"\n      evidence: {ev[:160]}" if ev else ""))
        lines.append("context facts:")
        lines += [f"  {f.fact}: {f.value}  [{f.source}]" for f in self.facts]
        return lines


def find_profile(cat: Catalog, name: str) -> tuple[str, Twin | PilotActivity | City]:
    """A twin, else a pilot activity, else a city, by any name the data knows; NotFoundError
    otherwise."""
    for kind, find in (("twin", cat.find_twin), ("pilot", cat.find_pilot)):
        try:
            return kind, find(name)
        except NotFoundError:
            pass
    key = fold(name)
    for c in cat.cities.values():
        if key in {fold(c.id), fold(c.name), *map(fold, c.alt_names)}:
            return "city", c
    raise NotFoundError(f"no twin, pilot activity or city named {name!r}")


def profile_view(store: Store, cat: Catalog, kind: str, item: Twin | PilotActivity | City) -> ProfileView:
    """The profile of ``item`` (a ``kind`` of ``FIELDS``) as the catalog's links (by relation,
    those matching reads, strongest first, then the shadowed ones) and the store's evidence
    texts and GCoM facts."""
    by_weight = lambda x: (-round(x.weight, 3), x.concept)   # noqa: E731
    shadowed = getattr(item, "shadowed", ())
    links = [(label, x, used) for f, label in FIELDS[kind]
             for used, xs in ((True, getattr(item, f)), (False, [x for g, x in shadowed if g == f]))
             for x in sorted(xs, key=by_weight)]
    texts = evidence_texts(store, {x.evidence for _, x, _ in links})
    rows = tuple(ProfileLink(
        relation=label, concept=cat.concepts[x.concept].label if x.concept in cat.concepts else x.concept,
        concept_iri=x.concept, source=x.source, weight=round(x.weight, 3), evidence=x.evidence,
        evidence_text=texts.get(x.evidence, ""), used=used) for label, x, used in links)
    city_ids = (item.city,) if kind == "twin" else item.cities if kind == "pilot" else (item.id,)
    facts: list[ProfileFact] = []
    for cid in city_ids:
        c = cat.cities.get(cid)
        if c is None:
            continue
        facts += [ProfileFact(f"{c.name}: country", c.country, "dataset"),
                  ProfileFact(f"{c.name}: Mission City", str(c.mission_city).lower(), "dataset")]
        if c.population is not None:
            facts.append(ProfileFact(f"{c.name}: population", str(c.population), "dataset (GeoNames)"))
        facts += [ProfileFact(f"{c.name}: {fact}", value, GCOM_SOURCE) for fact, value in gcom_facts(store, c.iri)]
    title = (f"twin {item.id} ({cat.city_name(item.city)})" if kind == "twin" else
             f"pilot activity {item.label}" if kind == "pilot" else f"city {item.name}")
    return ProfileView(kind, item.id, title, rows, tuple(facts))


def evidence_texts(store: Store, evidence: set[str]) -> dict[str, str]:
    """Evidence IRI -> the text behind it (the IRIs among ``evidence``; one bound query each)."""
    out = {}
    for iri in sorted(e for e in evidence if e.startswith(("http://", "https://"))):
        for r in store.query(EVIDENCE_TEXT, {"e": URIRef(iri)}).records():
            out.setdefault(iri, str(r["text"]))
    return out


def gcom_facts(store: Store, city_iri: str) -> list[tuple[str, str]]:
    """(fact, value) of the GCoM signatory that describes the city (bound query)."""
    return [(str(r["fact"]), str(r["value"])) for r in store.query(GCOM_FACTS, {"city": URIRef(city_iri)}).records()]
