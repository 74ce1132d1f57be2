"""``Matcher``: scores, rankings, assignments and topics over one catalog with fixed
settings. It holds no signal logic: scoring, candidate lists, the assignment solver and the
topics are called from their modules, the similarity tables are made once in
``from_catalog``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from kg.catalog import catalog as read_catalog
from kg.errors import NotFoundError
from kg.model import Catalog, PilotActivity, Twin
from recommender.assignment import Overrides, assign
from recommender.candidates import candidate_pairs, candidate_split
from recommender.grounding import EvidenceFinder
from recommender.narratives import contract_texts
from recommender.profiles import make_encoder, profile_vectors
from recommender.scoring import MatchContext, score_pairs
from recommender.similarity import narrative_table, proximities
from recommender.topics import ReplicationPlan, replication_plan, topics_for_pair
from recommender.types import Assignment, LearningTopic, PairScore


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
    weak_threshold: float = 0.2
    declined: frozenset[tuple[str, str]] = frozenset()   # (twin, pilot) a facilitator declined
    passage_sources: list | None = None  # recommender.grounding sources topics quote (None: profiles)

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
    def from_store(cls, store, settings, *, encoder=None, say=None) -> Matcher:
        """Read the catalog from ``store`` and precompute similarities (``encoder=None``
        builds the configured one; ``encoder=False`` leaves narrative similarity out). Profile
        vectors include the cities' ingested contracts, full or shipped as an extract
        (``profile_vectors``); topics quote the profiles' and the contracts' passages. ``say``
        (default: stderr) hears when an extract's contract vectors cannot be used."""
        from recommender.grounding import ContractSource, ProfileSource
        from recommender.narratives import ccc_passages, extract_vectors

        m = settings.matching
        cat = read_catalog(store, gcom=m.gcom, contracts=m.contracts, narrative_tags=m.narrative_tags)
        passages = ccc_passages(store) if m.contracts else {}     # read once: profiles and topics
        contracts = city_vectors = None
        if encoder is not False and m.contracts:
            encoder = encoder if encoder is not None else make_encoder(settings)
            contracts = contract_texts(store, passages=passages)
            city_vectors = extract_vectors(store, encoder, say=say or (lambda s: print(s, file=sys.stderr)))
        self = cls.from_catalog(cat, settings, encoder=encoder, contracts=contracts, city_vectors=city_vectors)
        self.passage_sources = [ProfileSource()] + ([ContractSource(passages)] if passages else [])
        return self

    @classmethod
    def from_catalog(cls, cat: Catalog, settings, *, encoder=None, contracts=None, city_vectors=None) -> Matcher:
        m = settings.matching
        self = cls(cat, dict(m.weights), m.capacity, m.per_twin, m.overload_penalty, m.topics_per_direction,
                   candidate_limit=m.candidates, weak_threshold=m.weak_threshold)
        if encoder is None:
            encoder = make_encoder(settings)
        if encoder is not False and cat.twins and cat.pilots:
            self._vectors = profile_vectors(cat, encoder, contracts=contracts, city_vectors=city_vectors)
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

    def candidates(self, twin: Twin, *, include_declined: bool = False) -> list[str]:
        """The pilot activities scored for the twin: its candidate list, else every eligible one,
        less the pairs in ``declined`` (a pin still names one) unless ``include_declined``
        (evaluation: a facilitator's "no" says nothing about how well the scorer ranks). Lists
        are made on first use for the twin's whole cohort (one FAISS index per cohort)."""
        if self._crowded(twin):
            self._fill([t for t in self.catalog.twins.values() if t.cohort == twin.cohort and self._crowded(t)])
        if self.candidate_map is not None and twin.id in self.candidate_map:
            found = list(self.candidate_map[twin.id])
        else:
            found = self.eligible(twin)
        if include_declined or not self.declined:
            return found
        return [p for p in found if (twin.id, p) not in self.declined]

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
        return self.assign_scored(cohort, self.cohort_scores(cohort, weights), overrides, weights)

    def pin_scores(self, scores: list[PairScore], overrides: Overrides, weights=None) -> list[PairScore]:
        """The scores of the pinned pairs not in ``scores`` (a facilitator's pin outside the
        candidate list is still honoured, so it is scored too)."""
        scored = {(s.twin, s.pilot) for s in scores}
        extra = [(t, p) for t, p in overrides.pins if (t, p) not in scored]
        return self.score(extra, weights) if extra else []

    def assign_scored(self, cohort: int, scores: list[PairScore], overrides: Overrides = Overrides(),
                      weights=None) -> Assignment:
        """The cohort's assignment from its already computed ``cohort_scores``."""
        scores = list(scores) + self.pin_scores(scores, overrides, weights)
        return assign(scores, self.capacities(cohort), cohort=cohort, per_twin=self.per_twin,
                      overload_penalty=self.overload_penalty, overrides=overrides,
                      twins=[t.id for t in self.cohort_twins(cohort)])

    def topics(self, twin_id: str, pilot_id: str) -> list[LearningTopic]:
        return self.topics_of(self.score([(twin_id, pilot_id)])[0])

    def topics_of(self, pair: PairScore) -> list[LearningTopic]:
        """The learning topics of an already scored pair (quoting the ``passage_sources``)."""
        if getattr(self, "_finder", None) is None:
            self._finder = EvidenceFinder(self.catalog, self.passage_sources)
        return topics_for_pair(self.catalog, pair, per_direction=self.topics_per_direction, finder=self._finder)

    def plan(self, twin_id: str, pilot_id: str) -> ReplicationPlan | None:
        return replication_plan(self.catalog, self.topics(twin_id, pilot_id))


def ranked(scores: list[PairScore]) -> list[PairScore]:
    """Scores best first (the order of every ranking)."""
    return _ranked(scores)


def _ranked(scores: list[PairScore]) -> list[PairScore]:
    return sorted(scores, key=lambda s: (-round(s.score, 12), -s.twin_score, s.pilot, s.twin))
