"""Plain result types of matching: evidence, pair scores, topics, assignments."""

from __future__ import annotations

from dataclasses import dataclass, field

TWIN_FROM_PILOT = "twin_from_pilot"
PILOT_FROM_TWIN = "pilot_from_twin"
DIRECTIONS = (TWIN_FROM_PILOT, PILOT_FROM_TWIN)
MODULES = ("getting-started", "co-creating", "capitalising")  # the programme's modules, in order


@dataclass(frozen=True)
class Evidence:
    """A short knowledge-graph path behind a score or topic, and the same path in words."""

    kind: str                       # shared_barrier, domain, lever, solution, experience, context, narrative
    direction: str                  # TWIN_FROM_PILOT or PILOT_FROM_TWIN
    path: tuple[str, ...]           # node, edge, node, edge, node ... (labels)
    concept: str = ""               # concept IRI the path runs through ("" for context/narrative)
    weight: float = 1.0             # product of the link weights on the path
    passage: str = ""               # supporting text, where there is one

    @property
    def words(self) -> str:
        return " ".join(self.path)


@dataclass(frozen=True)
class PairScore:
    """Two directional scores of a (twin, pilot) pair and their harmonic mean.

    ``twin_score``: how much the twin can learn from the pilot activity; ``pilot_score``: how
    much the pilot can learn from the twin; both in [0, 1], higher is better. ``parts`` keep
    each signal's value per direction, so every score can be explained.
    """

    twin: str
    pilot: str
    twin_score: float
    pilot_score: float
    score: float
    twin_parts: dict[str, float] = field(default_factory=dict)
    pilot_parts: dict[str, float] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()

    def strongest(self, n: int = 3) -> list[tuple[str, str, float]]:
        """The ``n`` largest (direction, signal, value) parts; a signal present on both sides
        (narrative, proximity, context) is listed once, with direction ``both`` if equal."""
        best: dict[str, tuple[str, str, float]] = {}
        for direction, parts in ((TWIN_FROM_PILOT, self.twin_parts), (PILOT_FROM_TWIN, self.pilot_parts)):
            for k, v in parts.items():
                if v <= 0:
                    continue
                old = best.get(k)
                if old is None or v > old[2]:
                    best[k] = (direction, k, v)
                elif abs(v - old[2]) < 1e-12:
                    best[k] = ("both", k, v)
        return sorted(best.values(), key=lambda p: (-p[2], p[1]))[:n]


@dataclass(frozen=True)
class LearningTopic:
    """A suggested discussion topic for a pair, in one direction, placed in one module."""

    twin: str
    pilot: str
    direction: str
    module: str
    concept: str            # concept IRI ("" for context topics)
    title: str
    questions: tuple[str, ...]
    evidence: Evidence
    quotes: tuple = ()      # recommender.grounding.Passage: what each side says, with its source
    measure: str = ""       # the replicable measure the topic is about (named in a passage), if any


@dataclass(frozen=True)
class AssignedPair:
    twin: str
    pilot: str
    score: float
    twin_score: float
    pilot_score: float
    pinned: bool = False


@dataclass(frozen=True)
class Assignment:
    """A cohort assignment: who goes where, and what it says about itself."""

    cohort: int
    pairs: tuple[AssignedPair, ...]
    objective: float                        # total two-sided score minus overload penalties
    optimal: bool                           # True when the solver proved optimality
    loads: dict[str, int]                   # pilot -> twins assigned
    capacities: dict[str, int]
    unassigned: tuple[str, ...] = ()
    pin_costs: dict[str, float] = field(default_factory=dict)   # "twin->pilot" (pin) or "twin-/->pilot"
                                                                # (exclusion) -> objective it costs
    exclusions: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
