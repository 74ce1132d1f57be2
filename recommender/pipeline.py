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
from recommender.graph import knowledge_graph, personalized_pagerank
from recommender.scoring import MatchContext, score_pairs
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
    """Scores, rankings, assignments and topics over one catalog with fixed settings."""

    catalog: Catalog
    weights: dict[str, float]
    capacity: int = 2
    per_twin: int = 1
    overload_penalty: float = 0.15
    topics_per_direction: int = 4
    context: MatchContext | None = None

    def __post_init__(self):
        if self.context is None:
            self.context = MatchContext(self.catalog)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_store(cls, store, settings, *, encoder=None) -> Matcher:
        """Read the catalog from ``store`` and precompute similarities (``encoder=None``
        builds the configured one; ``encoder=False`` leaves narrative similarity out)."""
        cat = read_catalog(store)
        return cls.from_catalog(cat, settings, encoder=encoder)

    @classmethod
    def from_catalog(cls, cat: Catalog, settings, *, encoder=None) -> Matcher:
        m = settings.matching
        self = cls(cat, dict(m.weights), m.capacity, m.per_twin, m.overload_penalty, m.topics_per_direction)
        if encoder is None:
            encoder = make_encoder(settings)
        if encoder is not False:
            self.context.narrative = narrative_similarities(cat, encoder)
        self.context.proximity = proximities(cat)
        return self

    # ---------------------------------------------------------------- queries
    def candidates(self, twin: Twin) -> list[str]:
        return [p.id for p in self.catalog.candidates_for(twin)]

    def score(self, pairs, weights: Mapping[str, float] | None = None) -> list[PairScore]:
        return list(score_pairs(self.context, pairs, weights or self.weights))

    def rank_pilots(self, twin_id: str, *, weights=None, limit: int | None = None) -> list[PairScore]:
        """Candidate pilot activities for a twin, best first."""
        twin = self.catalog.twins[twin_id]
        scores = self.score([(twin.id, p) for p in self.candidates(twin)], weights)
        return _ranked(scores)[:limit]

    def rank_twins(self, pilot_id: str, *, weights=None, limit: int | None = None) -> list[PairScore]:
        """Twins that may join a pilot activity, best first."""
        pilot = self.catalog.pilots[pilot_id]
        twins = [t.id for t in self.catalog.twins.values()
                 if t.cohort == pilot.cohort or t.cohort in pilot.open_to_cohorts]
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
        pilots = {p for t in self.cohort_twins(cohort) for p in self.candidates(t)}
        return {p: (self.catalog.pilots[p].capacity if self.catalog.pilots[p].capacity is not None
                    else self.capacity) for p in sorted(pilots)}

    def assign(self, cohort: int, overrides: Overrides = Overrides(), weights=None) -> Assignment:
        scores = self.cohort_scores(cohort, weights)
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


# -------------------------------------------------------------------- precomputation

def make_encoder(settings):
    """The configured sentence encoder with its on-disk cache."""
    from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

    m = settings.model
    enc = SentenceTransformerEncoder(m.name, precision=m.precision, batch_size=m.batch_size)
    return CachedEncoder(enc, Path(settings.data.workdir) / "cache")


def narrative_similarities(cat: Catalog, encoder) -> dict[tuple[str, str], float]:
    """Cosine of profile-text embeddings for every (twin, candidate pilot) pair."""
    twins = list(cat.twins.values())
    pilots = list(cat.pilots.values())
    if not twins or not pilots:
        return {}
    tv = encoder.encode([profile_text(cat, t) for t in twins])
    pv = encoder.encode([profile_text(cat, p) for p in pilots])
    sims = np.asarray(tv) @ np.asarray(pv).T
    pidx = {p.id: j for j, p in enumerate(pilots)}
    out = {}
    for i, t in enumerate(twins):
        for p in cat.candidates_for(t):
            out[(t.id, p.id)] = float(sims[i, pidx[p.id]])
    return out


def proximities(cat: Catalog) -> dict[tuple[str, str], tuple[float, float]]:
    """Personalised-PageRank proximity both ways, normalised per source over its candidates."""
    G = knowledge_graph(cat)
    twins = [t for t in cat.twins.values() if t.iri in G]
    pilots = [p for p in cat.pilots.values() if p.iri in G]
    from_twin = personalized_pagerank(G, [t.iri for t in twins], targets=[p.iri for p in pilots])
    from_pilot = personalized_pagerank(G, [p.iri for p in pilots], targets=[t.iri for t in twins])
    out: dict[tuple[str, str], tuple[float, float]] = {}
    fwd: dict[tuple[str, str], float] = {}
    for t in twins:
        cands = cat.candidates_for(t)
        vals = {p.id: from_twin[t.iri].get(p.iri, 0.0) for p in cands}
        top = max(vals.values(), default=0.0)
        for pid, v in vals.items():
            fwd[(t.id, pid)] = v / top if top > 0 else 0.0
    back: dict[tuple[str, str], float] = {}
    for p in pilots:
        cands = [t for t in twins if t.cohort == p.cohort or t.cohort in p.open_to_cohorts]
        vals = {t.id: from_pilot[p.iri].get(t.iri, 0.0) for t in cands}
        top = max(vals.values(), default=0.0)
        for tid, v in vals.items():
            back[(tid, p.id)] = v / top if top > 0 else 0.0
    for key, v in fwd.items():
        out[key] = (v, back.get(key, 0.0))
    return out


# -------------------------------------------------------------------- main job

def run_main_job(settings, *, out_dir: Path, sources: list[str], ccc: str | None = None,
                 pairings: str | None = None, say: Callable[[str], None] = print) -> int:
    """Build the KG, tag, score every cohort, assign, make topics, write RDF back and reports;
    with ``pairings``, evaluate against them (read only after scoring is set up)."""
    from kg.build import build
    from kg.catalog import summary
    from recommender.export import write_run
    from recommender.outputs import write_outputs

    st = settings.store
    store = build(sources, backend=st.backend, path=st.path if st.backend == "oxigraph" else None,
                  endpoint=st.endpoint or None, update_endpoint=st.update_endpoint or None)
    s = summary(store)
    say(f"knowledge graph: {s['cities']} cities ({s['missionCities']} Mission Cities), "
        f"{s['pilots']} pilot activities, {s['twins']} twins, {s['triples']} triples")
    from recommender.narratives import ingest_ccc_dir, tag_store

    if ccc is not None:
        n = ingest_ccc_dir(store, ccc or settings.data.ccc_dir, say=lambda s: None)
        say(f"climate city contracts: {n} documents ingested")
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
    write_run(store, matcher, results, settings)
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
