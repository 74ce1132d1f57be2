"""The one place that wires the steps: sources -> KG -> profiles -> scores -> assignment ->
topics -> outputs. The CLI, the web pages and the reports all call it; none of them holds
matching logic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg.catalog import catalog as read_catalog
from kg.errors import NotFoundError
from kg.model import Catalog, PilotActivity, Twin
from recommender.assignment import Overrides, assign
from recommender.graph import knowledge_graph, ppr_matrix
from recommender.scoring import MatchContext, PairTable, score_pairs
from recommender.topics import ReplicationPlan, replication_plan, topics_for_pair
from recommender.types import Assignment, LearningTopic, PairScore


def profile_text(cat: Catalog, item: Twin | PilotActivity) -> str:
    """The text embedded for a twin or pilot: its narrative, summary or interests, and labels."""
    if isinstance(item, PilotActivity):
        parts = [item.title, item.summary, item.narrative]
    else:
        city = cat.cities.get(item.city)
        parts = [city.name if city else item.city, item.interests, item.narrative]
    return "\n".join(p for p in parts if p).strip()


@dataclass
class Matcher:
    """Scores, rankings, assignments and topics over one catalog with fixed settings.

    A twin's *eligible* pilots follow ``Catalog.candidates_for`` (its cohort's, earlier ones
    opened to it, never one its own city runs). Its *candidates*, the pilots actually scored
    for its ranking and the cohort assignment, are the eligible ones, unless
    ``candidate_map`` gives a shorter list for it (after ``from_catalog``, twins with more than
    ``candidate_limit`` eligible pilots get one, made per cohort on first use or all at once
    by ``prepare_candidates``; ``recommender/candidates.py``).
    """

    catalog: Catalog
    weights: dict[str, float]
    capacity: int = 2
    per_twin: int = 1
    overload_penalty: float = 0.15
    topics_per_direction: int = 4
    context: MatchContext | None = None
    candidate_limit: int = 0
    candidate_map: dict[str, list[str]] | None = None

    def __post_init__(self):
        if self.context is None:
            self.context = MatchContext(self.catalog)
        self._vectors = None            # profile vectors for the narrative candidate source
        self._generate = False          # from_catalog: make candidate lists when first needed
        self._by_cohort: dict[int, list[PilotActivity]] = {}
        for p in self.catalog.pilots.values():
            for c in dict.fromkeys((p.cohort, *p.open_to_cohorts)):
                self._by_cohort.setdefault(c, []).append(p)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_store(cls, store, settings, *, encoder=None) -> Matcher:
        """Read the catalog from ``store`` and precompute similarities (``encoder=None``
        builds the configured one; ``encoder=False`` leaves narrative similarity out)."""
        cat = read_catalog(store)
        return cls.from_catalog(cat, settings, encoder=encoder)

    @classmethod
    def from_catalog(cls, cat: Catalog, settings, *, encoder=None) -> Matcher:
        from recommender.candidates import profile_vectors

        m = settings.matching
        self = cls(cat, dict(m.weights), m.capacity, m.per_twin, m.overload_penalty, m.topics_per_direction,
                   candidate_limit=m.candidates)
        if encoder is None:
            encoder = make_encoder(settings)
        if encoder is not False and cat.twins and cat.pilots:
            self._vectors = profile_vectors(cat, encoder)
            self.context.narrative = narrative_table(*self._vectors)
        self.context.proximity = proximities(cat)
        self._generate = m.candidates > 0
        return self

    def prepare_candidates(self, twin_ids=None) -> int:
        """Make the candidate lists of the given twins (default: all) that need one now,
        rather than cohort by cohort on first use; returns how many lists exist."""
        twins = [self.catalog.twins[t] for t in (twin_ids if twin_ids is not None else self.catalog.twins)]
        self._fill([t for t in twins if self._crowded(t)])
        return len(self.candidate_map or {})

    def _crowded(self, twin: Twin) -> bool:
        return (self._generate and (self.candidate_map is None or twin.id not in self.candidate_map)
                and len(self.eligible(twin)) > self.candidate_limit)

    def _fill(self, twins: list[Twin]) -> None:
        from recommender.candidates import candidate_pairs

        if not twins:
            return
        k, k_concept, k_graph, k_context = candidate_split(self.candidate_limit)
        made = candidate_pairs(self.catalog, [t.id for t in twins], k=k, k_concept=k_concept, k_graph=k_graph,
                               k_context=k_context, encoder_vectors=self._vectors,
                               proximity=self.context.proximity, limit=self.candidate_limit)
        self.candidate_map = {**(self.candidate_map or {}), **made}

    # ---------------------------------------------------------------- queries
    def eligible(self, twin: Twin) -> list[str]:
        """Every pilot activity the twin may join (``Catalog.candidates_for``), in catalog order."""
        return [p.id for p in self._by_cohort.get(twin.cohort, ()) if twin.city not in p.cities]

    def candidates(self, twin: Twin) -> list[str]:
        """The pilot activities scored for the twin: its candidate list, else every eligible one.
        Lists are made on first use for the twin's whole cohort (one FAISS index per cohort)."""
        if self._crowded(twin):
            self._fill([t for t in self.catalog.twins.values() if t.cohort == twin.cohort and self._crowded(t)])
        if self.candidate_map is not None and twin.id in self.candidate_map:
            return list(self.candidate_map[twin.id])
        return self.eligible(twin)

    def score(self, pairs, weights: Mapping[str, float] | None = None) -> list[PairScore]:
        return list(score_pairs(self.context, pairs, weights or self.weights))

    def rank_pilots(self, twin_id: str, *, weights=None, limit: int | None = None) -> list[PairScore]:
        """Candidate pilot activities for a twin, best first."""
        twin = self.catalog.twins[twin_id]
        scores = self.score([(twin.id, p) for p in self.candidates(twin)], weights)
        return _ranked(scores)[:limit]

    def rank_twins(self, pilot_id: str, *, weights=None, limit: int | None = None) -> list[PairScore]:
        """Twins that may join a pilot activity (not from its own cities), best first."""
        pilot = self.catalog.pilots[pilot_id]
        twins = [t.id for t in self.catalog.twins.values()
                 if (t.cohort == pilot.cohort or t.cohort in pilot.open_to_cohorts)
                 and t.city not in pilot.cities]
        scores = self.score([(t, pilot.id) for t in twins], weights)
        return _ranked(scores)[:limit]

    def cohort_scores(self, cohort: int, weights=None) -> list[PairScore]:
        pairs = [(t.id, p) for t in self.cohort_twins(cohort) for p in self.candidates(t)]
        return self.score(pairs, weights)

    def cohort_twins(self, cohort: int) -> list[Twin]:
        twins = [t for t in self.catalog.twins.values() if t.cohort == cohort]
        if not twins:
            cohorts = sorted({t.cohort for t in self.catalog.twins.values()})
            raise NotFoundError(f"no twins in cohort {cohort}; cohorts with twins: {cohorts}")
        return twins

    def capacities(self, cohort: int) -> dict[str, int]:
        """Capacity of every pilot activity eligible for a twin of the cohort (the pilots a
        pin may name), from the data or ``capacity``."""
        pilots = {p for t in self.cohort_twins(cohort) for p in self.eligible(t)}
        return {p: (self.catalog.pilots[p].capacity if self.catalog.pilots[p].capacity is not None
                    else self.capacity) for p in sorted(pilots)}

    def assign(self, cohort: int, overrides: Overrides = Overrides(), weights=None) -> Assignment:
        scores = self.cohort_scores(cohort, weights)
        scored = {(s.twin, s.pilot) for s in scores}
        # a facilitator's pin outside the candidate list is still honoured: score it too
        extra = [(t, p) for t, p in overrides.pins if (t, p) not in scored]
        if extra:
            scores += self.score(extra, weights)
        return assign(scores, self.capacities(cohort), cohort=cohort, per_twin=self.per_twin,
                      overload_penalty=self.overload_penalty, overrides=overrides,
                      twins=[t.id for t in self.cohort_twins(cohort)])

    def topics(self, twin_id: str, pilot_id: str) -> list[LearningTopic]:
        pair = self.score([(twin_id, pilot_id)])[0]
        return topics_for_pair(self.catalog, pair, per_direction=self.topics_per_direction)

    def plan(self, twin_id: str, pilot_id: str) -> ReplicationPlan | None:
        return replication_plan(self.catalog, self.topics(twin_id, pilot_id))


def _ranked(scores: list[PairScore]) -> list[PairScore]:
    return sorted(scores, key=lambda s: (-round(s.score, 12), -s.twin_score, s.pilot, s.twin))


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


# -------------------------------------------------------------------- precomputation

def make_encoder(settings):
    """The configured sentence encoder with its on-disk cache."""
    from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

    m = settings.model
    enc = SentenceTransformerEncoder(m.name, precision=m.precision, batch_size=m.batch_size)
    return CachedEncoder(enc, Path(settings.data.workdir) / "cache")


def narrative_table(twin_vectors: Mapping[str, np.ndarray], pilot_vectors: Mapping[str, np.ndarray]) -> PairTable:
    """Cosine of unit-length profile vectors for every (twin, pilot) pair, as one matrix."""
    tv = np.asarray(list(twin_vectors.values()), dtype=np.float32).reshape(len(twin_vectors), -1)
    pv = np.asarray(list(pilot_vectors.values()), dtype=np.float32).reshape(len(pilot_vectors), -1)
    return PairTable(list(twin_vectors), list(pilot_vectors), (tv @ pv.T).astype(np.float64))


def proximities(cat: Catalog) -> PairTable:
    """Personalised-PageRank proximity both ways, each normalised per source over its
    eligible partners (1.0 = the closest one), as a table of (twin->pilot, pilot->twin).

    Only the twin direction is solved: on an undirected graph PPR is reversible,
    ``deg(s) ppr_s(t) = deg(t) ppr_t(s)``, so the pilot->twin mass is the twin->pilot mass
    times ``deg(twin) / deg(pilot)``, and the ``1 / deg(pilot)`` cancels in the per-pilot
    normalisation.
    """
    G = knowledge_graph(cat)
    twins, pilots = list(cat.twins.values()), list(cat.pilots.values())
    if not twins or not pilots:
        return PairTable([t.id for t in twins], [p.id for p in pilots])
    raw = ppr_matrix(G, [t.iri for t in twins], [p.iri for p in pilots])
    deg = np.array([G.degree(t.iri, weight="weight") for t in twins], dtype=float)
    back = raw * deg[:, None]
    col = {p.id: j for j, p in enumerate(pilots)}
    row_cohort = np.array([t.cohort for t in twins])
    # eligible[i, j]: pilot j is open to twin i's cohort and not run by its city
    eligible = np.zeros(raw.shape, dtype=bool)
    for j, p in enumerate(pilots):
        eligible[:, j] = np.isin(row_cohort, (p.cohort, *p.open_to_cohorts))
    run_by: dict[str, list[int]] = {}
    for p in pilots:
        for c in p.cities:
            run_by.setdefault(c, []).append(col[p.id])
    for i, t in enumerate(twins):
        eligible[i, run_by.get(t.city, [])] = False
    fwd = _normalise(raw, eligible, axis=1)
    back = _normalise(back, eligible, axis=0)
    return PairTable([t.id for t in twins], [p.id for p in pilots], fwd, back)


def _normalise(values: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """``values`` divided by the largest masked value along ``axis`` (0 where that is 0),
    clipped to [0, 1] so a pair outside the mask cannot exceed the best eligible one."""
    top = np.where(mask, values, 0.0).max(axis=axis, keepdims=True)
    out = np.divide(values, top, out=np.zeros_like(values), where=top > 0)
    return np.clip(out, 0.0, 1.0)


# -------------------------------------------------------------------- main job

def run_main_job(settings, *, out_dir: Path, sources: list[str], ccc: str | None = None, strict: bool = False,
                 pairings: str | None = None, say: Callable[[str], None] = print) -> int:
    """Build the KG, tag, score every cohort, assign, make topics, write RDF back and reports;
    with ``pairings``, evaluate against them (read only after scoring is set up)."""
    from kg.build import build
    from kg.catalog import summary
    from recommender.export import write_run
    from recommender.narratives import ingest_read, read_ccc_dir, tag_store
    from recommender.outputs import write_outputs

    st = settings.store
    # contracts are read before the build, so that a --strict failure leaves the store as it was
    contracts = read_ccc_dir(ccc or settings.data.ccc_dir, strict=strict) if ccc is not None else None
    store = build(sources, backend=st.backend, path=st.path if st.backend == "oxigraph" else None,
                  endpoint=st.endpoint or None, update_endpoint=st.update_endpoint or None)
    s = summary(store)
    say(f"knowledge graph: {s['cities']} cities ({s['missionCities']} Mission Cities), "
        f"{s['pilots']} pilot activities, {s['twins']} twins, {s['triples']} triples")
    inputs = list(sources)
    if contracts is not None:
        inputs.append(ccc or settings.data.ccc_dir)
        batch = ingest_read(store, contracts, strict=strict,
                            say=lambda s: say(s) if s.startswith("skipped ") else None)
        say(batch.summary())
    encoder = make_encoder(settings)
    tag_store(store, encoder, threshold=settings.matching.tag_threshold, say=say)
    matcher = Matcher.from_store(store, settings, encoder=encoder)
    cohorts = sorted({t.cohort for t in matcher.catalog.twins.values()})
    results = {}
    for cohort in cohorts:
        a = matcher.assign(cohort)
        results[cohort] = a
        say(f"cohort {cohort}: {len(a.pairs)} twins assigned to {sum(1 for v in a.loads.values() if v)} "
            f"pilot activities, objective {a.objective:.3f} (optimal), unassigned {len(a.unassigned)}")
    write_run(store, matcher, results, settings, inputs=inputs, model=encoder.model_id)
    evaluation = None
    if pairings:
        from recommender.evaluate import evaluate, format_table, read_pairings

        pairs, skipped = read_pairings(pairings, matcher.catalog)
        rows = evaluate(matcher, pairs)
        say(f"evaluation on {len(pairs)} known pairings ({len(skipped)} skipped):\n{format_table(rows[:2])}")
        evaluation = {}
        for cohort in cohorts:
            mine = [p for p in pairs if matcher.catalog.twins[p.twin].cohort == cohort]
            if mine:
                evaluation[cohort] = {"pairs": len(mine), "rows": evaluate(matcher, mine), "skipped": skipped}
    paths = write_outputs(matcher, results, Path(out_dir), settings, evaluation=evaluation)
    store.close()
    say(f"outputs: {len(paths)} files in {out_dir}/")
    say(json.dumps({"summary": {k: v for k, v in s.items() if k != 'by_cohort'}}, sort_keys=True))
    return 0
