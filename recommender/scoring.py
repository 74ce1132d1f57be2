"""Signals and the two directional scores of a (twin, pilot activity) pair.

Each signal is a named function ``f(ctx, twin, pilot) -> float`` in [0, 1]; higher is better.
Twin side (what the twin can learn from the pilot): barrier_fit, domain_fit, lever_fit,
solution_fit, narrative_similarity, graph_proximity, context. Pilot side (what the pilot can
learn from the twin): shared_challenge, experience_fit, narrative_similarity, graph_proximity,
context. A side's score is the weighted mean of its signals; the pair's score is the harmonic
mean of the two sides, so a pair valued by one side only cannot rank high (reciprocal
recommenders). Known pairings are never an input here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kg.errors import NotFoundError
from kg.model import Catalog, City, Link, PilotActivity, Twin
from recommender import phrases
from recommender.places import shared_languages
from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT, Evidence, PairScore
from recommender.words import COUNTRY_NAMES

# ------------------------------------------------------------------- context


class PairTable(Mapping):
    """A read-only ``{(twin id, pilot id): value}`` mapping over dense arrays indexed by
    twin row and pilot column: a precomputed signal for every pair in ``O(twins + pilots)``
    Python objects, where a dict of pairs would need one per pair (25M at 100k cities).
    With one array the value is a float; with several, a tuple of floats.

    >>> t = PairTable(["T1", "T2"], ["P1"], np.array([[0.5], [0.25]]))
    >>> t[("T2", "P1")], t.get(("T3", "P1")), len(t)
    (0.25, None, 2)
    """

    def __init__(self, twins: Sequence[str], pilots: Sequence[str], *arrays: np.ndarray):
        self._t = {t: i for i, t in enumerate(twins)}
        self._p = {p: j for j, p in enumerate(pilots)}
        self._arrays = arrays
        for a in arrays:
            if a.shape != (len(self._t), len(self._p)):
                raise ValueError(f"array of shape {a.shape} for {len(self._t)} twins x {len(self._p)} pilots")

    def __getitem__(self, key):
        t, p = key
        i, j = self._t[t], self._p[p]
        if len(self._arrays) == 1:
            return float(self._arrays[0][i, j])
        return tuple(float(a[i, j]) for a in self._arrays)

    def row(self, twin: str, pilots: Sequence[str], which: int = 0) -> np.ndarray:
        """Values of array ``which`` for ``twin`` and each of ``pilots``, as one numpy read."""
        return self._arrays[which][self._t[twin], [self._p[p] for p in pilots]].astype(float)

    def __contains__(self, key) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and key[0] in self._t and key[1] in self._p

    def __iter__(self):
        return ((t, p) for t in self._t for p in self._p)

    def __len__(self) -> int:
        return len(self._t) * len(self._p)


@dataclass
class MatchContext:
    """What signals read: the catalog, its graph, and precomputed similarities.

    ``narrative`` maps (twin id, pilot id) to the cosine of their narrative embeddings;
    ``proximity`` maps (twin id, pilot id) to (twin->pilot, pilot->twin) personalised-PageRank
    mass, each normalised over the twin's (pilot's) eligible partners. Either may be a dict
    or a ``PairTable``.
    """

    catalog: Catalog
    narrative: Mapping[tuple[str, str], float] = field(default_factory=dict)
    proximity: Mapping[tuple[str, str], tuple[float, float]] = field(default_factory=dict)


def _weights(links: Iterable[Link]) -> dict[str, float]:
    return {link.concept: link.weight for link in links}


def _coverage(wanted: dict[str, float], offered: dict[str, float]) -> float:
    """Share of ``wanted`` (by weight) that ``offered`` covers, each match scaled by the offer's
    trust. ``_coverage({"a": 1, "b": 1}, {"a": 0.7}) == 0.35``."""
    total = sum(wanted.values())
    if total == 0:
        return 0.0
    return sum(w * offered[c] for c, w in wanted.items() if c in offered) / total


# ------------------------------------------------------------------- twin side

def barrier_fit(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Share of the twin's barriers the pilot addresses. Higher: the pilot works on what holds
    the twin back. 0 when the twin states no barrier."""
    return _coverage(_weights(twin.barriers), _weights(pilot.barriers))


def domain_fit(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Share of the twin's domains of interest the pilot works in. Higher is better."""
    return _coverage(_weights(twin.domains), _weights(pilot.domains))


def lever_fit(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Share of the twin's levers of interest the pilot uses. Higher is better."""
    return _coverage(_weights(twin.levers), _weights(pilot.levers))


def solution_fit(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Share of the pilot's solution types that answer a barrier the twin faces or sit in a
    domain the twin wants (through the vocabulary's skos:related). Higher is better."""
    if not pilot.solutions:
        return 0.0
    wanted = set(_weights(twin.barriers)) | set(_weights(twin.domains))
    if not wanted:
        return 0.0
    hits = sum(1 for s in pilot.solutions
               if wanted & set(ctx.catalog.concepts.get(s.concept, _NO).related))
    return hits / len(pilot.solutions)


class _NoConcept:
    related: tuple[str, ...] = ()


_NO = _NoConcept()

# ------------------------------------------------------------------- pilot side


def shared_challenge(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Share of the pilot's barriers the twin faces too: the pilot learns how its answer holds
    in another setting. Higher is better; 0 when the pilot names no barrier."""
    return _coverage(_weights(pilot.barriers), _weights(twin.barriers))


def experience_fit(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Share of the pilot's domains where the twin brings experience of its own (or, at half
    weight, interest). Higher: the twin has something to teach. 0 with no overlap."""
    offered = {c: w for c, w in _weights(twin.domains).items()}
    offered = {c: 0.5 * w for c, w in offered.items()}
    offered.update(_weights(twin.experience))
    return _coverage(_weights(pilot.domains), offered)


# ------------------------------------------------------------------- both sides

def narrative_similarity(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Cosine of the twin's and pilot's narrative embeddings, rescaled from [0.1, 0.7] to
    [0, 1] (all-MiniLM-L6-v2 puts unrelated texts near 0.1 and close paraphrases near 0.7).
    Higher: the two describe similar work. Symmetric."""
    cos = ctx.narrative.get((twin.id, pilot.id))
    if cos is None:
        return 0.0
    return min(1.0, max(0.0, (cos - 0.1) / 0.6))


def graph_proximity(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Personalised-PageRank mass from the twin on the pilot, relative to the twin's best
    candidate (1.0 = closest candidate in the knowledge graph). Higher is better."""
    return ctx.proximity.get((twin.id, pilot.id), (0.0, 0.0))[0]


def graph_proximity_reverse(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """Personalised-PageRank mass from the pilot on the twin, relative to the pilot's best
    candidate twin. Higher is better."""
    return ctx.proximity.get((twin.id, pilot.id), (0.0, 0.0))[1]


def context(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> float:
    """How alike the settings are: same country (1/0), similar size (1 - |log10 ratio| / 2)
    and nearness (exp(-km / 1500)), averaged over what is known. Higher: easier transfer."""
    cat = ctx.catalog
    tc = cat.cities.get(twin.city)
    pcs = [cat.cities[c] for c in pilot.cities if c in cat.cities]
    if tc is None or not pcs:
        return 0.0
    parts = [1.0 if any(p.country == tc.country for p in pcs) else 0.0]
    pops = [p.population for p in pcs if p.population]
    if tc.population and pops:
        ratio = abs(math.log10(tc.population) - math.log10(sum(pops) / len(pops)))
        parts.append(max(0.0, 1.0 - ratio / 2))
    dists = [km(tc.latitude, tc.longitude, p.latitude, p.longitude) for p in pcs
             if None not in (tc.latitude, tc.longitude, p.latitude, p.longitude)]
    if dists:
        parts.append(math.exp(-min(dists) / 1500.0))
    return sum(parts) / len(parts)


def km(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance in km. ``round(km(52.52, 13.40, 48.86, 2.35))`` is 878."""
    r = math.radians
    a = (math.sin(r(lat2 - lat1) / 2) ** 2
         + math.cos(r(lat1)) * math.cos(r(lat2)) * math.sin(r(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(a))


TWIN_SIGNALS = {
    "barrier_fit": barrier_fit, "domain_fit": domain_fit, "lever_fit": lever_fit,
    "solution_fit": solution_fit, "narrative_similarity": narrative_similarity,
    "graph_proximity": graph_proximity, "context": context,
}
PILOT_SIGNALS = {
    "shared_challenge": shared_challenge, "experience_fit": experience_fit,
    "narrative_similarity": narrative_similarity, "graph_proximity": graph_proximity_reverse,
    "context": context,
}
SIGNALS = sorted(set(TWIN_SIGNALS) | set(PILOT_SIGNALS))


def harmonic(a: float, b: float) -> float:
    """Harmonic mean; 0 when either side is 0. ``harmonic(0.5, 1.0)`` is 0.666..."""
    return 0.0 if a <= 0 or b <= 0 else 2 * a * b / (a + b)


def _side(parts: dict[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.get(k, 0.0) for k in parts)
    if total <= 0:
        return 0.0
    return sum(v * weights.get(k, 0.0) for k, v in parts.items()) / total


def score_pairs(ctx: MatchContext, pairs: Iterable[tuple[str, str]],
                weights: Mapping[str, float]) -> Iterable[PairScore]:
    """Yield a PairScore per (twin id, pilot id), in order (the networkx link-prediction way:
    the pairs are read first and every id is checked)."""
    pairs = list(pairs)
    cat = ctx.catalog
    for t, p in pairs:
        if t not in cat.twins:
            raise NotFoundError(f"no twin {t!r} in the knowledge graph")
        if p not in cat.pilots:
            raise NotFoundError(f"no pilot activity {p!r} in the knowledge graph")
    twin_fns = [(k, f) for k, f in TWIN_SIGNALS.items() if weights.get(k, 0) > 0]
    pilot_fns = [(k, f) for k, f in PILOT_SIGNALS.items() if weights.get(k, 0) > 0]
    for t, p in pairs:
        twin, pilot = cat.twins[t], cat.pilots[p]
        tp = {k: float(f(ctx, twin, pilot)) for k, f in twin_fns}
        # signals of both sides (context, narrative_similarity) are computed once per pair
        pp = {k: tp[k] if TWIN_SIGNALS.get(k) is f else float(f(ctx, twin, pilot)) for k, f in pilot_fns}
        a, b = _side(tp, weights), _side(pp, weights)
        yield PairScore(t, p, a, b, harmonic(a, b), tp, pp, tuple(evidence(ctx, twin, pilot)))


# ------------------------------------------------------------------- evidence paths

def country(code: str) -> str:
    """A country's name for a code (``"GB"`` -> ``"United Kingdom"``), else the code as it is."""
    return COUNTRY_NAMES.get(code, code)


NEAR_KM = 1000          # a distance is stated as evidence up to this (a day's travel)
SIMILAR_SIZE = 2.0      # populations within this factor are "of similar size"


def context_evidence(tc: City, pcs: list[City], tname: str, pname: str) -> list[Evidence]:
    """What the setting offers, as facts that hold: the same country, else an official language
    both countries share; a similar size, with both populations; the distance in km when the
    cities are near. Nothing is said of a pair that shares none of these (that two cities are in
    different countries explains no match).

    >>> from kg.model import City
    >>> t = City("t", "urn:t", "Belfast", "GB", 345000, 54.60, -5.93)
    >>> p = City("p", "urn:p", "Galway", "IE", 85000, 53.27, -9.05)
    >>> [e.words for e in context_evidence(t, [p], "Belfast", "GCNZ")]
    ['Belfast (United Kingdom) shares an official language, English, with GCNZ in Galway (Ireland)', 'Belfast is 250 km from GCNZ in Galway']
    """
    out: list[Evidence] = []
    same = [p for p in pcs if p.country == tc.country]
    if same:
        out.append(Evidence("context", TWIN_FROM_PILOT,
                            (tname, "is in the same country as", pname, "in",
                             f"{', '.join(p.name for p in same)} ({country(tc.country)})"), "", 0.3))
    else:
        for p in pcs:
            langs = shared_languages(tc.country, p.country)
            if langs:
                out.append(Evidence("context", TWIN_FROM_PILOT,
                                    (f"{tname} ({country(tc.country)})", "shares an official language,", f"{' and '.join(langs)},",
                                     "with", pname, "in", f"{p.name} ({country(p.country)})"), "", 0.25))
                break
    sized = [p for p in pcs if p.population]
    if tc.population and sized:
        p = min(sized, key=lambda c: abs(math.log(c.population / tc.population)))
        if max(p.population, tc.population) <= SIMILAR_SIZE * min(p.population, tc.population):
            out.append(Evidence("context", PILOT_FROM_TWIN,
                                (f"{tname} ({tc.population:,} inhabitants)", "is of similar size to",
                                 f"{p.name} ({p.population:,})", "where", pname, "runs"), "", 0.2))
    placed = [(km(tc.latitude, tc.longitude, p.latitude, p.longitude), p.name) for p in pcs
              if None not in (tc.latitude, tc.longitude, p.latitude, p.longitude)]
    if placed:
        d, where = min(placed)
        if d <= NEAR_KM:
            out.append(Evidence("context", TWIN_FROM_PILOT,
                                (tname, "is", f"{_round_km(d)} km from", pname, "in", where), "", 0.15))
    return out


def _round_km(d: float) -> str:
    """``_round_km(7.4)`` is '7'; ``_round_km(254.0)`` is '250'."""
    return f"{round(d):,}" if d < 100 else f"{round(d, -1):,.0f}"


def evidence(ctx: MatchContext, twin: Twin, pilot: PilotActivity) -> list[Evidence]:
    """Short knowledge-graph paths that explain a pair, strongest first, varied by kind."""
    cat = ctx.catalog
    tname, pname = cat.city_name(twin.city), pilot.display_name
    # labels stand inside a sentence: lower case, acronyms kept (recommender.phrases)
    label = lambda iri: phrases.mid(cat.concepts[iri].label) if iri in cat.concepts else iri  # noqa: E731
    out: list[Evidence] = []
    tb, pb = _weights(twin.barriers), _weights(pilot.barriers)
    for c in sorted(set(tb) & set(pb)):
        out.append(Evidence("shared_barrier", TWIN_FROM_PILOT,
                            (tname, "faces", label(c), "which", pname, "addresses"), c, tb[c] * pb[c]))
    td, pd = _weights(twin.domains), _weights(pilot.domains)
    for c in sorted(set(td) & set(pd)):
        out.append(Evidence("domain", TWIN_FROM_PILOT,
                            (tname, "wants to work on", label(c), "where", pname, "works"), c, td[c] * pd[c]))
    tl, pl = _weights(twin.levers), _weights(pilot.levers)
    for c in sorted(set(tl) & set(pl)):
        out.append(Evidence("lever", TWIN_FROM_PILOT,
                            (tname, "wants to use", label(c), "which", pname, "uses"), c, tl[c] * pl[c]))
    wanted = set(tb) | set(td)
    for s in pilot.solutions:
        concept = cat.concepts.get(s.concept)
        if concept is None:
            continue
        for c in sorted(wanted & set(concept.related)):
            out.append(Evidence("solution", TWIN_FROM_PILOT,
                                (tname, "faces" if c in tb else "wants to work on", label(c), "and", pname,
                                 "implements", phrases.a(phrases.mid(concept.label)), "for it"), s.concept,
                                0.8 * s.weight * (tb.get(c) or td.get(c, 0))))
    te = _weights(twin.experience)
    for c in sorted(set(te) & set(pd)):
        out.append(Evidence("experience", PILOT_FROM_TWIN,
                            (tname, "has experience in", label(c), "where", pname, "works"), c, te[c] * pd[c]))
    for c in sorted(set(pb) & set(tb)):
        out.append(Evidence("shared_barrier", PILOT_FROM_TWIN,
                            (pname, "addresses", label(c), "which", tname, "also faces"), c, tb[c] * pb[c]))
    tc = cat.cities.get(twin.city)
    pcs = [cat.cities[c] for c in pilot.cities if c in cat.cities]
    if tc and pcs:
        out.extend(context_evidence(tc, pcs, tname, pname))
    cos = ctx.narrative.get((twin.id, pilot.id))
    if cos is not None and cos >= 0.35:
        out.append(Evidence("narrative", TWIN_FROM_PILOT,
                            (tname, "and", pname, "describe similar work", f"(narrative cosine {cos:.2f})"),
                            "", cos, passage=pilot.summary))
    return sorted(out, key=lambda e: (-e.weight, e.kind, e.words))
