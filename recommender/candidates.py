"""Candidate generation: a short list of pilot activities per twin, so that scoring is not
quadratic in the number of twins and pilots.

Exhaustive scoring (``Matcher.rank_pilots``) scores every eligible pilot of a twin: with ``T``
twins and ``P`` pilots per cohort that is ``T x P`` pairs per cohort, each costing every signal
and its evidence paths. ``candidate_pairs`` proposes at most ``2 k`` pilots per twin from two
cheap sources, then only those are scored:

(a) **narrative neighbours**: the ``k`` eligible pilots whose profile vectors are nearest the
    twin's (FAISS, through ``NarrativeIndex``; one index per cohort over the pilots eligible in
    it, queried with all of the cohort's twins at once);
(b) **concept overlap**: an inverted index concept -> pilots over barriers, domains and levers
    (link weights as in scoring: stated 1.0, inferred 0.7, tagged 0.5 x score); a pilot's
    overlap with a twin is the sum over shared concepts of twin weight x pilot weight (the
    twin's barriers against the pilot's barriers, its domains of interest and of experience
    against the pilot's domains, its levers against the pilot's levers); the ``k`` best;
(c) **graph neighbours** (``k_graph``, with ``proximity``): the eligible pilots with the most
    personalised-PageRank mass from the twin (``Matcher.context.proximity``, the
    ``graph_proximity`` signal), which reaches pilots through shared concepts, solutions,
    cities and countries at once;
(d) **context neighbours** (``k_context``, default 5): pilots run in the twin's country, then
    the nearest by great-circle distance, the ``context`` signal's terms. This keeps a twin
    that states no concept (and, without a model, has no narrative source) from getting no
    candidates at all.

Both sources keep to ``Catalog.candidates_for``: the twin's cohort's pilots and earlier pilots
opened to its cohort, never a pilot the twin's own city runs. The result is their union,
narrative hits first (nearest first), then concept hits (largest overlap first), then graph
and context neighbours; ties break on the pilot id, so the output is deterministic. Planted or known pairings are never read here.

>>> from kg.model import Catalog, City, Link, PilotActivity, Twin
>>> B = "https://w3id.org/peerlearn/concept/barrier/"
>>> cat = Catalog(
...     cities={c: City(c, c, c.title(), "DE") for c in ("a", "b", "c", "t")},
...     pilots={"P1": PilotActivity("P1", "p1", 1, "Retrofit", cities=("a",), barriers=(Link(B + "financial"),)),
...             "P2": PilotActivity("P2", "p2", 1, "Heat", cities=("b",), barriers=(Link(B + "data"),)),
...             "P3": PilotActivity("P3", "p3", 2, "Later", cities=("c",), barriers=(Link(B + "financial"),)),
...             "P4": PilotActivity("P4", "p4", 1, "Own", cities=("t",), barriers=(Link(B + "financial"),))},
...     twins={"T1": Twin("T1", "t1", "t", 1, barriers=(Link(B + "financial"),))})
>>> candidate_pairs(cat, k=5, k_context=0)  # P3 is another cohort's, P4 run by the twin's city
{'T1': ['P1']}
>>> candidate_pairs(cat, k=5, k_context=0, encoder_vectors=({"T1": [1.0, 0.0]},
...                                            {"P1": [0.0, 1.0], "P2": [1.0, 0.1], "P4": [1.0, 0.0]}))
{'T1': ['P2', 'P1']}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from kg.model import Catalog, Link, PilotActivity, Twin

__all__ = ["candidate_pairs", "candidate_split", "concept_index", "eligible_by_cohort", "recall"]

# twin field -> pilot field it is matched against
CONCEPT_FIELDS = (("barriers", "barriers"), ("domains", "domains"), ("experience", "domains"),
                  ("levers", "levers"))


def _catalog(source) -> Catalog:
    return source if isinstance(source, Catalog) else source.catalog


def eligible_by_cohort(cat: Catalog, cohorts: Iterable[int]) -> dict[int, list[PilotActivity]]:
    """Cohort -> pilots a twin of that cohort may join (own cohort's, or opened to it), in
    catalog order, before the own-city exclusion."""
    out: dict[int, list[PilotActivity]] = {c: [] for c in cohorts}
    for p in cat.pilots.values():
        for c in {p.cohort, *p.open_to_cohorts}:
            if c in out:
                out[c].append(p)
    return out


def concept_index(pilots: Iterable[PilotActivity]) -> dict[tuple[str, str], list[tuple[str, float]]]:
    """Inverted index ``(pilot field, concept IRI) -> [(pilot id, link weight), ...]``."""
    index: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for p in pilots:
        for field in ("barriers", "domains", "levers"):
            for link in getattr(p, field):
                index.setdefault((field, link.concept), []).append((p.id, link.weight))
    return index


def _best(links: Sequence[Link]) -> dict[str, float]:
    out: dict[str, float] = {}
    for link in links:
        out[link.concept] = max(out.get(link.concept, 0.0), link.weight)
    return out


def _concept_hits(twin: Twin, index, excluded: set[str], k: int) -> list[str]:
    score: dict[str, float] = {}
    for tfield, pfield in CONCEPT_FIELDS:
        for concept, tw in _best(getattr(twin, tfield)).items():
            for pid, pw in index.get((pfield, concept), ()):
                score[pid] = score.get(pid, 0.0) + tw * pw
    ranked = sorted((pid for pid in score if pid not in excluded), key=lambda pid: (-score[pid], pid))
    return ranked[:k]


def candidate_split(limit: int) -> tuple[int, int, int, int]:
    """``matching.candidates`` -> first picks per source (narrative, concept, graph, context):
    a fifth, a half, a fifth and a tenth of ``limit``; ``candidate_pairs`` then fills the list
    up to ``limit`` from the sources in turns. The shares come from candidate recall against
    exhaustive ranking on synthetic cities (``benchmarks/bench_scale.py``), never from known
    or planted pairs.

    >>> candidate_split(50)
    (10, 25, 10, 5)
    """
    k, k_concept, k_graph, k_context = (max(1, round(limit * f)) for f in (0.2, 0.5, 0.2, 0.1))
    return k, k_concept, k_graph, k_context


def candidate_pairs(source, twin_ids: Iterable[str] | None = None, *, k: int = 20,
                    encoder_vectors: tuple[Mapping[str, Sequence[float]], Mapping[str, Sequence[float]]]
                    | None = None, k_concept: int | None = None, k_context: int = 5,
                    proximity=None, k_graph: int = 0, limit: int | None = None,
                    model_id: str = "profile-vectors") -> dict[str, list[str]]:
    """Up to ``k`` narrative neighbours, ``k_concept`` (default ``k``) concept-overlap pilots,
    ``k_graph`` graph neighbours and ``k_context`` context neighbours for each twin of
    ``twin_ids`` (default: every twin), as ``{twin id: [pilot id, ...]}`` (at most
    ``k + k_concept + k_graph + k_context`` ids, no repeats).

    ``source`` is a ``Catalog`` or anything with a ``.catalog`` (a ``Matcher``).
    ``encoder_vectors`` is ``({twin id: vector}, {pilot id: vector})`` of unit-length profile
    vectors (``recommender.profiles.profile_vectors``); without it only the concept source runs (the
    ``encoder=False`` / ``--no-model`` path). A twin or pilot without a vector is simply not
    reached by the narrative source. ``proximity`` maps (twin id, pilot id) to a pair whose
    first item is the twin->pilot proximity (``MatchContext.proximity``); without it the
    graph source does not run. With ``limit``, the lists are then filled up to ``limit`` ids
    (or every eligible pilot, if fewer) from the sources' further hits, taken in turns, so
    overlap between sources does not shrink the list. ``model_id`` labels the FAISS index only.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    k_concept = k if k_concept is None else k_concept
    cat = _catalog(source)
    twins = [cat.twins[t] for t in (twin_ids if twin_ids is not None else cat.twins)]
    by_cohort: dict[int, list[Twin]] = {}
    for t in twins:
        by_cohort.setdefault(t.cohort, []).append(t)
    eligible = eligible_by_cohort(cat, by_cohort)
    run_by: dict[str, set[str]] = {}
    for p in cat.pilots.values():
        for c in p.cities:
            run_by.setdefault(c, set()).add(p.id)

    quotas = (k if encoder_vectors is not None else 0, k_concept,
              k_graph if proximity is not None else 0, k_context)
    depth = [max(q, limit or 0) if q > 0 else 0 for q in quotas]   # how far each source is read
    ranked: dict[str, list[list[str]]] = {t.id: [[], [], [], []] for t in twins}
    for cohort, members in sorted(by_cohort.items()):
        pilots = eligible[cohort]
        if not pilots:
            continue
        if depth[0]:
            for tid, hits in _narrative_hits(members, pilots, encoder_vectors, run_by, depth[0], model_id).items():
                ranked[tid][0] = hits
        if depth[1]:
            index = concept_index(pilots)
            for t in members:
                ranked[t.id][1] = _concept_hits(t, index, run_by.get(t.city, set()), depth[1])
        if depth[2]:
            for t in members:
                ranked[t.id][2] = _graph_hits(t, pilots, proximity, run_by, depth[2])
        if depth[3]:
            for tid, hits in _context_hits(cat, members, pilots, run_by, depth[3]).items():
                ranked[tid][3] = hits
    return {tid: _merge(lists, quotas, limit) for tid, lists in ranked.items()}


def _merge(lists: list[list[str]], quotas: Sequence[int], limit: int | None) -> list[str]:
    """Each source's first ``quota`` ids in source order, without repeats; with ``limit``, then
    the sources' further ids in turns (one from each) until ``limit`` ids are chosen.

    >>> _merge([["a", "b", "c"], ["b", "d", "e"]], (1, 1), None)
    ['a', 'b']
    >>> _merge([["a", "b", "c"], ["b", "d", "e"]], (1, 1), 4)
    ['a', 'b', 'd', 'c']
    """
    out: list[str] = []
    seen: set[str] = set()

    def take(pid: str) -> None:
        if pid not in seen:
            seen.add(pid)
            out.append(pid)

    for hits, q in zip(lists, quotas):
        for pid in hits[:q]:
            take(pid)
    if limit is not None:
        rest = [iter(hits[q:]) for hits, q in zip(lists, quotas)]
        while len(out) < limit and rest:
            for it in list(rest):
                pid = next(it, None)
                if pid is None:
                    rest.remove(it)
                elif len(out) < limit:
                    take(pid)
        del out[limit:]
    return out


def _graph_hits(twin: Twin, pilots: list[PilotActivity], proximity, run_by, k: int) -> list[str]:
    """The ``k`` eligible pilots with the largest twin->pilot proximity (> 0), then by id.
    A ``PairTable`` is read a row at a time (numpy); a plain mapping pair by pair."""
    own = run_by.get(twin.city, set())
    ids = sorted(p.id for p in pilots if p.id not in own)
    if hasattr(proximity, "row"):
        vals = proximity.row(twin.id, ids)
    else:
        vals = np.array([proximity.get((twin.id, pid), (0.0, 0.0))[0] for pid in ids], dtype=float)
    order = np.argsort(-vals, kind="stable")        # ties stay in id order
    return [ids[j] for j in order[:k] if vals[j] > 0]


def _context_hits(cat: Catalog, twins: list[Twin], pilots: list[PilotActivity], run_by,
                  k: int) -> dict[str, list[str]]:
    """Per twin, the ``k`` eligible pilots run in its country, then nearest (km), then by id."""
    lat = np.full(len(pilots), np.nan)
    lon = np.full(len(pilots), np.nan)
    countries = []
    for j, p in enumerate(pilots):
        cs = [cat.cities[c] for c in p.cities if c in cat.cities]
        countries.append({c.country for c in cs})
        located = [c for c in cs if c.latitude is not None and c.longitude is not None]
        if located:
            lat[j], lon[j] = located[0].latitude, located[0].longitude
    plat, plon = np.radians(lat), np.radians(lon)
    out = {}
    for t in twins:
        city = cat.cities.get(t.city)
        if city is None:
            continue
        same = np.array([city.country in cs for cs in countries], dtype=float)
        if city.latitude is not None and city.longitude is not None:
            tl, tg = np.radians(city.latitude), np.radians(city.longitude)
            a = np.sin((plat - tl) / 2) ** 2 + np.cos(tl) * np.cos(plat) * np.sin((plon - tg) / 2) ** 2
            dist = np.nan_to_num(2 * 6371.0 * np.arcsin(np.sqrt(a)), nan=1e9)
        else:
            dist = np.zeros(len(pilots))
        own = run_by.get(t.city, set())
        order = sorted((j for j, p in enumerate(pilots) if p.id not in own),
                       key=lambda j: (-same[j], dist[j], pilots[j].id))
        out[t.id] = [pilots[j].id for j in order[:k]]
    return out


def _narrative_hits(twins: list[Twin], pilots: list[PilotActivity], vectors, run_by, k: int,
                    model_id: str) -> dict[str, list[str]]:
    from recommender.index import NarrativeIndex

    tvecs, pvecs = vectors
    pids = [p.id for p in pilots if p.id in pvecs]
    queries = [t for t in twins if t.id in tvecs]
    if not pids or not queries:
        return {}
    index = NarrativeIndex().fit(pids, np.asarray([pvecs[p] for p in pids], dtype=np.float32),
                                 model_id=model_id)
    pset = set(pids)
    # ask for enough rows that k remain after dropping pilots the twin's own city runs
    extra = max((len(run_by.get(t.city, set()) & pset) for t in queries), default=0)
    found = index.search(np.asarray([tvecs[t.id] for t in queries], dtype=np.float32), k + extra)
    out = {}
    for t, row in zip(queries, found):
        own = run_by.get(t.city, set())
        ranked = sorted(((pid, s) for pid, s in row if pid not in own), key=lambda x: (-x[1], x[0]))
        out[t.id] = [pid for pid, _ in ranked[:k]]
    return out


def recall(candidates: Mapping[str, Sequence[str]], reference: Mapping[str, Sequence[str]],
           top: int = 5) -> float:
    """Mean over twins of the share of the first ``top`` of ``reference[twin]`` (e.g. the
    exhaustive ranking) found in ``candidates[twin]``; twins with an empty reference are skipped.

    >>> recall({"T": ["a", "b"]}, {"T": ["a", "c", "b", "d"]}, top=2)
    0.5
    """
    shares = []
    for tid, ranked in reference.items():
        want = list(ranked)[:top]
        if want:
            have = set(candidates.get(tid, ()))
            shares.append(sum(1 for p in want if p in have) / len(want))
    return sum(shares) / len(shares) if shares else 0.0
