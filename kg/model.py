"""Plain, frozen Python values read out of the knowledge graph (``kg.queries.catalog``).

The recommender works on these, not on triples: a ``Catalog`` holds every city, pilot
activity, twin and concept, with each concept link's status (stated, inferred, tagged),
score and evidence.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from kg.errors import AmbiguousNameError, NotFoundError

SCHEME_NAMES = ("domain", "lever", "barrier", "solution", "module")


@dataclass(frozen=True)
class Concept:
    """A SKOS concept of one of the schemes."""

    iri: str
    code: str
    scheme: str          # one of SCHEME_NAMES
    label: str
    definition: str = ""
    alt_labels: tuple[str, ...] = ()
    related: tuple[str, ...] = ()   # IRIs of related concepts (solution -> barriers/domains/levers)


# Where a concept link comes from, beyond the dataset's own curation and the tagger: the one
# table of derived sources and how much matching trusts them (times the link's score).
# gcom: the Covenant of Mayors plans of the link's city (kg/ingest/gcom/derive.py), trusted like a
# curator's inference (0.7), scaled by the share of the city's actions behind the concept.
# contract: the tagger's reading of the Climate City Contracts of the link's cities
# (recommender/narratives.py::contract_links), trusted like every tag (0.5 x its score).
ORIGIN_WEIGHTS = {"gcom": 0.7, "contract": 0.5}


def link_origin(link_iri: str) -> str:
    """The derived source a twin's or activity's link comes from, by the IRI the tagger gives it
    (``.../tag/contract/<scheme>/<code>``): "contract", else "" (the dataset's or a narrative tag)."""
    return "contract" if "/tag/contract/" in link_iri else ""


@dataclass(frozen=True)
class Link:
    """A link to a concept: ``status`` is stated, inferred (by a curator) or tagged (by peerlearn);
    ``origin`` says which derived source made it (``ORIGIN_WEIGHTS``: ``gcom``, ``contract``), ""
    for the dataset's own links and the tagger's reading of the narratives."""

    concept: str          # concept IRI
    status: str = "stated"
    score: float = 1.0
    evidence: str = ""    # passage IRI or quoted text, for tagged links; an action IRI for gcom
    origin: str = ""

    @property
    def weight(self) -> float:
        """How much matching trusts the link: stated 1.0, inferred 0.7, tagged its score x 0.5;
        a derived source its ``ORIGIN_WEIGHTS`` x score."""
        if self.origin:
            return ORIGIN_WEIGHTS[self.origin] * self.score
        return {"stated": 1.0, "inferred": 0.7}.get(self.status, 0.5 * self.score)

    @property
    def source(self) -> str:
        """What a person reads as the link's source: stated, inferred, tagged (from a narrative) or
        the derived source (gcom, contract)."""
        return self.origin or self.status


@dataclass(frozen=True)
class City:
    id: str
    iri: str
    name: str
    country: str
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    mission_city: bool = False
    alt_names: tuple[str, ...] = ()
    ccc_file: str = ""
    links: tuple[Link, ...] = ()           # derived from the city's own documents (GCoM plans)


@dataclass(frozen=True)
class PilotActivity:
    """A pilot activity run by one or more cities; twins are matched to it."""

    id: str
    iri: str
    cohort: int
    title: str
    acronym: str = ""
    cities: tuple[str, ...] = ()          # city ids
    lead_city: str = ""
    open_to_cohorts: tuple[int, ...] = ()
    capacity: int | None = None
    domains: tuple[Link, ...] = ()
    levers: tuple[Link, ...] = ()
    barriers: tuple[Link, ...] = ()
    solutions: tuple[Link, ...] = ()
    summary: str = ""
    narrative: str = ""
    sources: tuple[str, ...] = ()         # where its description comes from (URLs or names)
    # (field, link) of each link on a concept that a heavier link of the same field already
    # gives: matching never reads these; a profile shows them, so every source is seen
    shadowed: tuple[tuple[str, Link], ...] = ()

    @property
    def display_name(self) -> str:
        """How people see the pilot activity named: its acronym, else its title."""
        return self.acronym or self.title

    @property
    def label(self) -> str:
        return f"{self.id} {self.display_name}"


@dataclass(frozen=True)
class Twin:
    """A city's participation as a twin in one cohort."""

    id: str
    iri: str
    city: str                              # city id
    cohort: int
    interests: str = ""
    domains: tuple[Link, ...] = ()         # interested in
    levers: tuple[Link, ...] = ()          # interested in
    barriers: tuple[Link, ...] = ()        # faces
    experience: tuple[Link, ...] = ()      # domains it brings experience in
    narrative: str = ""
    sources: tuple[str, ...] = ()          # where its stated interests come from
    shadowed: tuple[tuple[str, Link], ...] = ()   # as PilotActivity.shadowed


@dataclass(frozen=True)
class Catalog:
    """Everything the recommender needs, as plain values, keyed by id (concepts by IRI)."""

    cities: dict[str, City] = field(default_factory=dict)
    pilots: dict[str, PilotActivity] = field(default_factory=dict)
    twins: dict[str, Twin] = field(default_factory=dict)
    concepts: dict[str, Concept] = field(default_factory=dict)

    def concepts_in(self, scheme: str) -> list[Concept]:
        return sorted((c for c in self.concepts.values() if c.scheme == scheme), key=lambda c: c.code)

    def city_name(self, city_id: str) -> str:
        c = self.cities.get(city_id)
        return c.name if c else city_id

    def pilot_name(self, pilot_id: str) -> str:
        """The display name of a pilot activity (acronym, else title); an unknown id as it is."""
        p = self.pilots.get(pilot_id)
        return p.display_name if p else pilot_id

    def twin_name(self, twin_id: str) -> str:
        t = self.twins[twin_id]
        return self.city_name(t.city)

    def candidates_for(self, twin: Twin) -> list[PilotActivity]:
        """Pilot activities a twin may join: its own cohort's, and earlier ones opened to it;
        never one its own city runs."""
        return [p for p in self.pilots.values()
                if (p.cohort == twin.cohort or twin.cohort in p.open_to_cohorts)
                and twin.city not in p.cities]

    # -- name resolution: refuse to guess; the one home for looking names up -----------------
    def find_twin(self, name: str, cohort: int | None = None) -> Twin:
        """A twin by id (``T1-belfast``) or city name (any spelling in the data); with
        ``cohort``, only that cohort's twins (a city that was a twin twice)."""
        if name in self.twins:
            return self.twins[name]
        keys: dict[str, set[str]] = {}
        for t in self.twins.values():
            if cohort is not None and t.cohort != cohort:
                continue
            city = self.cities.get(t.city)
            names = {t.id, t.city} | ({city.name, *city.alt_names} if city else set())
            for n in names:
                keys.setdefault(fold(n), set()).add(t.id)

        def label(i: str) -> str:
            return f"{i} ({self.twin_name(i)}, cohort {self.twins[i].cohort})"

        def settle(hits: set[str]) -> str:
            cohorts = sorted({self.twins[i].cohort for i in hits})
            return (f"; or give the cohort (--cohort {' or --cohort '.join(map(str, cohorts))})"
                    if len(cohorts) > 1 else "")
        return self._resolve(name, keys, self.twins, "twin", label, settle)

    def find_pilot(self, name: str) -> PilotActivity:
        """A pilot activity by id (``C1-12``), acronym, title, or the name of its only city."""
        if name in self.pilots:
            return self.pilots[name]
        keys: dict[str, set[str]] = {}
        for p in self.pilots.values():
            names = {p.id, p.title}
            if p.acronym:
                names.add(p.acronym)
            if len(p.cities) == 1:
                city = self.cities.get(p.cities[0])
                names |= {p.cities[0]} | ({city.name, *city.alt_names} if city else set())
            for n in names:
                keys.setdefault(fold(n), set()).add(p.id)
        return self._resolve(name, keys, self.pilots, "pilot activity",
                             lambda i: f"{i} ({self.pilots[i].display_name})", lambda hits: "")

    @staticmethod
    def _resolve(name, keys, table, what, label, settle):
        hits = keys.get(fold(name), set())
        if len(hits) == 1:
            return table[next(iter(hits))]
        if len(hits) > 1:
            raise AmbiguousNameError(
                f"{what} {name!r} is ambiguous: it matches {', '.join(sorted(hits))}; use the id{settle(hits)}")
        ids = close_matches(name, keys)
        hint = f"; close matches: {', '.join(label(i) for i in ids)}" if ids else ""
        raise NotFoundError(f"no {what} named {name!r}{hint}")


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^\w]+", text) if w]


def close_matches(name: str, keys: dict[str, set[str]], n: int = 5) -> list[str]:
    """The ids whose names best match a name that matched none, best first: names that start
    with it, then names with words that start with its words (``Boi`` finds "Sant Boi de
    Llobregat"), then names that contain it (3 letters or more); only when none of these
    match, names within a small edit distance (typos: ``Westfrod``).

    >>> keys = {"sant boi de llobregat": {"T2-sant"}, "gaziantep": {"T3-gaz"}, "westford": {"T1-w"}}
    >>> close_matches("Sant", keys), close_matches("llobr", keys), close_matches("Westfrod", keys)
    (['T2-sant'], ['T2-sant'], ['T1-w'])
    """
    q = fold(name)
    if not q:
        return []
    qw = _words(q)
    tiers: list[list[str]] = [[], [], []]
    for key in sorted(keys, key=lambda k: (len(k), k)):
        kw = _words(key)
        if key.startswith(q):
            tiers[0].append(key)
        elif qw and all(any(w.startswith(x) for w in kw) for x in qw):
            tiers[1].append(key)
        elif len(q) >= 3 and q in key:
            tiers[2].append(key)
    found = [k for tier in tiers for k in tier] or difflib.get_close_matches(q, list(keys), n=n, cutoff=0.6)
    ids: list[str] = []
    for k in found:
        for i in sorted(keys[k]):
            if i not in ids:
                ids.append(i)
    return ids[:n]


def fold(text: str) -> str:
    """Case- and accent-insensitive key: ``fold("Münster") == fold("munster")``."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in norm if not unicodedata.combining(ch)).casefold().strip()
