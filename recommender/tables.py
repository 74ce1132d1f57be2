"""Every table of a run, defined once: ``TABLES`` (name -> columns with their meaning) and a
pure row builder per table over the run result (``recommender/result.py``). The files a run
writes (CSV, JSON, Markdown: ``recommender/outputs.py``), the HTML reports, the facilitator
pages (``?format=csv|json``) and the CLI read these rows, so one pair gives the same cells
everywhere. Scores are rounded to 4 decimals; booleans are ``true``/``false`` in CSV.

One rule per cell: evidence is every evidence path in words, ``" | "``-joined (as questions);
a direction is in words (``pilot → twin``, ``twin → pilot``); a shortlist holds
``matching.shortlist`` entries.
"""

from __future__ import annotations

from collections.abc import Sequence

from recommender.types import PairScore
from recommender.words import DIRECTION_WORDS, MODULE_LABELS, SIGNAL_WORDS

_PILOT = ("pilot", "acronym, else title")
_SCORES = (("score", "combined score: harmonic mean of the two sides, [0, 1]"),
           ("twin_score", "what the twin can learn from the pilot activity (twin learns), [0, 1]"),
           ("pilot_score", "what the pilot activity can learn from the twin (pilot learns), [0, 1]"))

TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "assignment": (("twin_id", "twin id"), ("twin", "city name"), ("pilot_id", "pilot activity id"), _PILOT,
                   *_SCORES, ("pinned", "true when a facilitator pinned the pair"),
                   ("rank", "rank of the pilot activity in the twin's own list (1 = its first choice)"),
                   ("weak", "true when the score is below matching.weak_threshold: worth a facilitator's look")),
    "explanations": (("twin_id", "twin id"), ("twin", "city name"), ("pilot_id", "assigned pilot activity id"),
                     ("rank", "rank of the assigned pilot activity in the twin's own list"),
                     ("candidates", "length of the twin's list"),
                     ("first_choice_id", "the twin's first choice"), ("first_choice_score", "its combined score"),
                     ("full_better", "better-ranked pilot activities that were full, each with the twins "
                                     "that took its places, '; '-joined"),
                     ("alternative_cost", "objective the cohort loses if the twin gets its first choice "
                                          "instead (measured with the solver); empty at rank 1 or when pinned"),
                     ("weak", "true when the score is below matching.weak_threshold"),
                     ("why", "the explanation in words")),
    "shortlists": (("twin_id", "twin id"), ("twin", "city name"), ("rank", "1 = best"),
                   ("pilot_id", "pilot activity id"), _PILOT, *_SCORES,
                   ("strongest_signals", "the three largest signals with their values, '; '-joined"),
                   ("evidence", "every evidence path in words, ' | '-joined")),
    "topics": (("twin_id", "twin id"), ("pilot_id", "pilot activity id"),
               ("module", "Getting started, Co-creating or Capitalising"),
               ("direction", "pilot → twin or twin → pilot"), ("title", "topic"),
               ("questions", "discussion questions, ' | '-joined"), ("evidence", "the path behind it, in words")),
    "loads": (("pilot_id", "pilot activity id"), _PILOT, ("load", "twins assigned"),
              ("capacity", "twins it can receive")),
    # the facilitator pages' own tables
    "twins": (("cohort", "cohort number"), ("twin_id", "twin id"), ("twin", "city name"),
              ("country", "ISO country code"),
              ("candidates", "how many pilot activities the twin may join")),
    "pilots": (("cohort", "cohort number"), ("pilot_id", "pilot activity id"), _PILOT, ("title", "title"),
               ("cities", "cities running it, '; '-joined"), ("capacity", "twins it can receive")),
    "evidence": (("direction", "pilot → twin or twin → pilot"), ("kind", "kind of path"),
                 ("weight", "product of the link weights on the path"), ("words", "the path in words")),
    "plan": (("module", "programme module"), ("what", "what to replicate"), ("from_whom", "who brings it"),
             ("evidence", "the path behind it, in words")),
    "overrides": (("action", "pin or exclude"), ("twin_id", "twin id"), ("twin", "city name"),
                  ("pilot_id", "pilot activity id"), _PILOT,
                  ("cost", "objective lost by keeping the pin, or by avoiding the excluded pair")),
    "whatif": (("pilot_id", "pilot activity id"), _PILOT,
               ("default_rank", "rank with the configured weights"),
               ("default_score", "combined score with the configured weights"),
               ("rank", "rank with the given weights"), ("score", "combined score with the given weights"),
               ("twin_score", "twin learns with the given weights"),
               ("pilot_score", "pilot learns with the given weights"),
               ("rank_change", "default_rank - rank: positive means it moved up")),
    # a twin's or pilot activity's profile (recommender/profile_view.py; `peerlearn profile --json`)
    "profile_links": (("relation", "how the twin or pilot activity relates to the concept"),
                      ("concept", "concept label"), ("concept_iri", "concept IRI"),
                      ("source", "stated, inferred (curated), tagged (from its narrative), contract (tagged "
                                 "from its city's Climate City Contract) or gcom (its city's Covenant of Mayors plan)"),
                      ("weight", "how much matching trusts the link, [0, 1]"),
                      ("evidence", "IRI of the passage or GCoM action behind it, or quoted text; empty for curated links"),
                      ("evidence_text", "the text behind the evidence IRI"),
                      ("used", "true when matching reads the link; false when a heavier link on the same "
                               "concept (another source) wins")),
    "profile_facts": (("fact", "city: what"), ("value", "value"),
                      ("source", "dataset, dataset (GeoNames) or the GCoM release")),
}
TABLES["ranking"] = TABLES["shortlists"]        # a twin's whole list on its web page: same columns


def columns(table: str) -> list[str]:
    return [c for c, _ in TABLES[table]]


def r4(v: float) -> float:
    return round(float(v), 4)


# ------------------------------------------------------------------------------- row builders

def assignment_rows(cat, c) -> list[dict]:
    """``c``: a ``CohortResult``."""
    rows = []
    for p in c.assignment.pairs:
        e = c.explanation(p.twin, p.pilot)
        rows.append({"twin_id": p.twin, "twin": cat.twin_name(p.twin), "pilot_id": p.pilot,
                     "pilot": cat.pilot_name(p.pilot), "score": r4(p.score), "twin_score": r4(p.twin_score),
                     "pilot_score": r4(p.pilot_score), "pinned": p.pinned, "rank": e.rank, "weak": e.weak})
    return rows


def full_better(cat, e) -> str:
    return "; ".join(f"{b.pilot} ({', '.join(cat.twin_name(t) for t in b.taken_by)})"
                     for b in e.better if b.full)


def explanation_rows(cat, c) -> list[dict]:
    return [{"twin_id": e.twin, "twin": cat.twin_name(e.twin), "pilot_id": e.pilot, "rank": e.rank,
             "candidates": e.candidates, "first_choice_id": e.first_choice,
             "first_choice_score": r4(e.first_score), "full_better": full_better(cat, e),
             "alternative_cost": "" if e.alternative_cost is None else r4(e.alternative_cost),
             "weak": e.weak, "why": e.words(cat.twin_name, cat.pilot_name)} for e in c.explanations]


def ranking_rows(cat, ranking: Sequence[PairScore], limit: int | None = None) -> list[dict]:
    """A twin's ranked pilot activities (``limit``: a shortlist)."""
    return [{"twin_id": s.twin, "twin": cat.twin_name(s.twin), "rank": rank, "pilot_id": s.pilot,
             "pilot": cat.pilot_name(s.pilot), "score": r4(s.score), "twin_score": r4(s.twin_score),
             "pilot_score": r4(s.pilot_score), "strongest_signals": strongest_words(s),
             "evidence": " | ".join(e.words for e in s.evidence)}
            for rank, s in enumerate(ranking[:limit], start=1)]


def strongest_words(s: PairScore) -> str:
    return "; ".join(f"{SIGNAL_WORDS.get(k, k)} ({v:.2f})" for _, k, v in s.strongest(3))


def shortlist_rows(cat, c, shortlist: int) -> list[dict]:
    return [r for twin, ranking in c.rankings for r in ranking_rows(cat, ranking, shortlist)]


def topic_rows(pair) -> list[dict]:
    """``pair``: a ``PairResult``."""
    return [{"twin_id": t.twin, "pilot_id": t.pilot, "module": MODULE_LABELS[t.module],
             "direction": DIRECTION_WORDS[t.direction], "title": t.title, "questions": " | ".join(t.questions),
             "evidence": t.evidence.words} for t in pair.topics]


def cohort_topic_rows(c) -> list[dict]:
    assigned = {(p.twin, p.pilot) for p in c.assignment.pairs}
    return [r for p in c.pairs if (p.twin, p.pilot) in assigned for r in topic_rows(p)]


def load_rows(cat, a) -> list[dict]:
    return [{"pilot_id": pid, "pilot": cat.pilot_name(pid), "load": a.loads.get(pid, 0), "capacity": cap}
            for pid, cap in a.capacities.items()]


def evidence_rows(s: PairScore) -> list[dict]:
    return [{"direction": DIRECTION_WORDS.get(e.direction, e.direction), "kind": e.kind,
             "weight": r4(e.weight), "words": e.words} for e in s.evidence]


def plan_rows(pair) -> list[dict]:
    return [{"module": m, "what": what, "from_whom": whom, "evidence": ev}
            for m, what, whom, ev in (pair.plan.items if pair.plan else ())]


def evaluation_rows(c) -> list[dict]:
    return [r.row() for r in c.evaluation["rows"]] if c.evaluation else []


def cohort_tables(result, c) -> dict[str, list[dict]]:
    """The tables a run writes for one cohort, in file order."""
    cat = result.catalog
    return {"assignment": assignment_rows(cat, c), "shortlists": shortlist_rows(cat, c, result.shortlist),
            "topics": cohort_topic_rows(c), "loads": load_rows(cat, c.assignment),
            "explanations": explanation_rows(cat, c)}


def cohort_document(result, c) -> dict:
    """A cohort as one JSON document (``cohort-N.json``, ``peerlearn assign --json``)."""
    a = c.assignment
    return {"cohort": c.cohort, "objective": a.objective, "optimal": a.optimal, "notes": list(a.notes),
            "unassigned": list(a.unassigned), "pin_costs": a.pin_costs, "weak_threshold": result.weak_threshold,
            **cohort_tables(result, c)}
