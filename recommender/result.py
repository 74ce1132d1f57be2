"""One run's result, computed once and then only formatted: ``RunResult``.

``cohort_result`` scores a cohort's candidate pairs exactly once (``Matcher.cohort_scores``)
and derives everything else from those scores: each twin's ranking and shortlist, the
assignment (``Matcher.assign_scored``), the learning topics and Replication Plan of every
assigned pair (``Matcher.topics_of``, no second scoring) and each assigned twin's
``Explanation``. Every output (CSV, JSON, Markdown, HTML, PDF, RDF, the facilitator pages, the
CLI) is a formatter of this result; ``recommender/tables.py`` holds the rows.

Explanation of an assignment (per assigned twin): the rank of its pilot in its own list; the
pilots it ranks higher, with their load against capacity and the twins that took their places;
what its first choice would cost (the optimal objective with the twin pinned to its first
choice, measured with the same solver, minus the run's objective: how much the cohort as a
whole would lose; measured for at most ``MAX_ALTERNATIVES`` twins of a cohort, those furthest
from their first choice first, so a 10,000-twin cohort does not run 10,000 flows; the others
leave it empty); and ``weak`` when the pair's combined score is below
``matching.weak_threshold`` (default 0.2).

Shortlists hold ``matching.shortlist`` entries everywhere (the files, the reports and the
graph); the graph adds every assigned pair whatever its rank.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from kg.model import Catalog
from recommender.assignment import Overrides, best_objective
from recommender.matcher import Matcher, ranked
from recommender.topics import ReplicationPlan, replication_plan
from recommender.types import Assignment, LearningTopic, PairScore

SAID = 5     # better-ranked pilots named in an explanation's words (all are in ``better``)
MAX_ALTERNATIVES = 200   # solver re-runs per cohort for alternative costs (each is a min-cost flow)


@dataclass(frozen=True)
class PairResult:
    """One scored pair with its learning topics and Replication Plan outline."""

    score: PairScore
    topics: tuple[LearningTopic, ...]
    plan: ReplicationPlan | None

    @property
    def twin(self) -> str:
        return self.score.twin

    @property
    def pilot(self) -> str:
        return self.score.pilot


@dataclass(frozen=True)
class BetterPilot:
    """A pilot activity the twin ranks above the one it got."""

    pilot: str
    rank: int
    score: float
    load: int
    capacity: int
    taken_by: tuple[str, ...]       # twins assigned to it

    @property
    def full(self) -> bool:
        return self.load >= self.capacity


@dataclass(frozen=True)
class Explanation:
    """Why a twin got its pilot activity (see the module doc)."""

    twin: str
    pilot: str
    rank: int                       # of the assigned pilot in the twin's own list (0: not in it)
    candidates: int                 # length of the twin's list
    score: float
    first_choice: str
    first_score: float
    better: tuple[BetterPilot, ...]
    alternative_cost: float | None  # objective lost if the twin got its first choice; None at rank 1
    weak: bool
    pinned: bool

    def words(self, name: Callable = str, pilot_name: Callable = str) -> str:
        """The explanation in one or two sentences (``name``/``pilot_name``: id -> display name)."""
        if self.pinned:
            where = f"rank {self.rank} of {self.candidates}" if self.rank else "not in its own list"
            head = f"pinned by a facilitator ({where})"
        elif self.rank == 1:
            head = "its first choice"
        else:
            said = self.better[:SAID]
            parts = [f"{pilot_name(b.pilot)} (rank {b.rank}) was full with {', '.join(name(t) for t in b.taken_by)}"
                     for b in said if b.full]
            room = [f"{pilot_name(b.pilot)} (rank {b.rank})" for b in said if not b.full]
            if room:
                parts.append(", ".join(room) + (" has" if len(room) == 1 else " have") + " places left, but the "
                             "cohort's total is higher with this twin elsewhere")
            if len(self.better) > SAID:
                parts.append(f"{len(self.better) - SAID} more ranked higher")
            head = f"rank {self.rank} of {self.candidates}: " + "; ".join(parts)
            if self.alternative_cost is not None:
                head += (f". Giving it {pilot_name(self.first_choice)} instead would cost the cohort "
                         f"{self.alternative_cost:.3f} of the objective")
        return head + (f". Weak pair (score {self.score:.2f}): worth a facilitator's look" if self.weak else "")


@dataclass(frozen=True)
class CohortResult:
    """A cohort's assignment, rankings, pair topics and explanations."""

    cohort: int
    assignment: Assignment
    overrides: Overrides
    rankings: tuple[tuple[str, tuple[PairScore, ...]], ...]    # twin id -> its whole ranking, in id order
    pairs: tuple[PairResult, ...]          # assigned pairs (assignment order), then unassigned twins' best
    explanations: tuple[Explanation, ...]  # one per assigned pair, in assignment order
    evaluation: Mapping | None = None      # {"pairs": n, "rows": [Metrics], "skipped": [...]}

    def ranking(self, twin: str) -> tuple[PairScore, ...]:
        return dict(self.rankings).get(twin, ())

    def twins(self) -> list[str]:
        return [t for t, _ in self.rankings]

    def pair(self, twin: str, pilot: str) -> PairResult | None:
        return next((p for p in self.pairs if p.twin == twin and p.pilot == pilot), None)

    def explanation(self, twin: str, pilot: str) -> Explanation | None:
        return next((e for e in self.explanations if e.twin == twin and e.pilot == pilot), None)


@dataclass(frozen=True)
class RunResult:
    """Every cohort of a run over one catalog, with the settings the formats need."""

    catalog: Catalog
    cohorts: tuple[CohortResult, ...]
    shortlist: int
    weak_threshold: float
    weights: tuple[tuple[str, float], ...]
    settings: object = field(default=None, compare=False)   # the Settings (provenance of the graph)

    def cohort(self, n: int) -> CohortResult:
        return next(c for c in self.cohorts if c.cohort == n)

    def assignments(self) -> dict[int, Assignment]:
        return {c.cohort: c.assignment for c in self.cohorts}

    def pilot_candidates(self, pilot: str) -> list[PairScore]:
        """Twins whose list holds ``pilot``, best first (the pilot's view of the run)."""
        return ranked([s for c in self.cohorts for _, r in c.rankings for s in r if s.pilot == pilot])


def pair_result(matcher: Matcher, score: PairScore) -> PairResult:
    topics = tuple(matcher.topics_of(score))
    return PairResult(score, topics, replication_plan(matcher.catalog, list(topics)))


def cohort_result(matcher: Matcher, cohort: int, *, overrides: Overrides = Overrides(), weights=None,
                  weak_threshold: float | None = None, evaluation: Mapping | None = None) -> CohortResult:
    """Score the cohort once and derive its assignment, rankings, topics and explanations
    (``weak_threshold``: default the matcher's, from ``matching.weak_threshold``)."""
    if weak_threshold is None:
        weak_threshold = matcher.weak_threshold
    scores = matcher.cohort_scores(cohort, weights)
    extra = matcher.pin_scores(scores, overrides, weights)
    a = matcher.assign_scored(cohort, scores + extra, overrides, weights)
    by_twin: dict[str, list[PairScore]] = defaultdict(list)
    for s in scores:
        by_twin[s.twin].append(s)
    twins = sorted(t.id for t in matcher.cohort_twins(cohort))
    rankings = tuple((t, tuple(ranked(by_twin.get(t, [])))) for t in twins)
    by_pair = {(s.twin, s.pilot): s for s in scores + extra}
    pairs = [pair_result(matcher, by_pair[p.twin, p.pilot]) for p in a.pairs]
    for t, r in rankings:                   # an unassigned twin's best candidate, as a suggestion
        if t in a.unassigned and r:
            pairs.append(pair_result(matcher, r[0]))
    explanations = tuple(_explain(matcher, a, dict(rankings), scores + extra, overrides, weak_threshold))
    return CohortResult(cohort, a, overrides, rankings, tuple(pairs), explanations, evaluation)


def run_result(matcher: Matcher, settings, *, cohorts: Iterable[int] | None = None,
               overrides: Mapping[int, Overrides] | None = None, weights=None,
               evaluation: Mapping[int, Mapping] | None = None) -> RunResult:
    """The result of a run over ``cohorts`` (default: every cohort with twins)."""
    m = settings.matching
    if cohorts is None:
        cohorts = sorted({t.cohort for t in matcher.catalog.twins.values()})
    results = tuple(cohort_result(matcher, c, overrides=(overrides or {}).get(c, Overrides()), weights=weights,
                                  weak_threshold=m.weak_threshold, evaluation=(evaluation or {}).get(c))
                    for c in sorted(cohorts))
    return RunResult(matcher.catalog, results, m.shortlist, m.weak_threshold,
                     tuple(sorted((weights or matcher.weights).items())), settings)


def with_evaluation(result: RunResult, evaluation: Mapping[int, Mapping]) -> RunResult:
    """The same result with each cohort's evaluation attached (computed after the run)."""
    from dataclasses import replace

    return replace(result, cohorts=tuple(replace(c, evaluation=evaluation.get(c.cohort, c.evaluation))
                                         for c in result.cohorts))


def _explain(matcher, a: Assignment, rankings, scores, overrides: Overrides, threshold: float):
    taken: dict[str, list[str]] = defaultdict(list)
    for p in a.pairs:
        taken[p.pilot].append(p.twin)
    pinned_twins = {t for t, _ in overrides.pins}
    ranks = {}
    for p in a.pairs:
        order = [s.pilot for s in rankings.get(p.twin, ())]
        ranks[p.twin, p.pilot] = order.index(p.pilot) + 1 if p.pilot in order else 0
    # the twins whose alternative is measured: not at rank 1, not pinned, furthest down first
    measured = sorted(((-r, t, q) for (t, q), r in ranks.items() if r != 1 and t not in pinned_twins
                       and rankings.get(t)), key=lambda x: (x[0], x[1], x[2]))[:MAX_ALTERNATIVES]
    measured = {(t, q) for _, t, q in measured}
    for p in a.pairs:
        ranking = rankings.get(p.twin, ())
        rank = ranks[p.twin, p.pilot]
        better_scores = ranking[: rank - 1] if rank else ranking
        better = tuple(BetterPilot(s.pilot, i, s.score, a.loads.get(s.pilot, 0), a.capacities.get(s.pilot, 0),
                                   tuple(sorted(taken.get(s.pilot, ()))))
                       for i, s in enumerate(better_scores, start=1))
        first = ranking[0] if ranking else None
        cost = None
        if (p.twin, p.pilot) in measured:
            pins = tuple(x for x in overrides.pins if x[0] != p.twin) + ((p.twin, first.pilot),)
            alt = best_objective(scores, a.capacities, per_twin=matcher.per_twin,
                                 overload_penalty=matcher.overload_penalty,
                                 overrides=Overrides(pins, overrides.exclusions), twins=list(rankings))
            cost = round(a.objective - alt, 6)
        yield Explanation(p.twin, p.pilot, rank, len(ranking), p.score, first.pilot if first else "",
                          first.score if first else 0.0, better, cost, p.score < threshold, p.pinned)
