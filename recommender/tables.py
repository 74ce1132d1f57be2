"""The tables of one cohort of a run as lists of row dicts (``cohort_tables``). Every format
reads these rows: the CSV, JSON and Markdown files (``recommender/outputs.py``) and the HTML
pages (``recommender/reports``); the columns are listed in ``recommender/outputs.py``.
"""

from __future__ import annotations

from recommender.types import Assignment
from recommender.words import MODULE_LABELS, SIGNAL_WORDS


def cohort_tables(matcher, a: Assignment, shortlist: int) -> dict[str, list[dict]]:
    """The tables of one cohort as lists of row dicts (shared by CSV, JSON, Markdown, HTML)."""
    cat = matcher.catalog
    assignment = [{"twin_id": p.twin, "twin": cat.twin_name(p.twin), "pilot_id": p.pilot,
                   "pilot": cat.pilot_name(p.pilot), "score": round(p.score, 4), "twin_score": round(p.twin_score, 4),
                   "pilot_score": round(p.pilot_score, 4), "pinned": p.pinned} for p in a.pairs]
    shortlists, topics = [], []
    for twin in matcher.cohort_twins(a.cohort):
        for rank, s in enumerate(matcher.rank_pilots(twin.id, limit=shortlist), start=1):
            shortlists.append({
                "twin_id": twin.id, "twin": cat.twin_name(twin.id), "rank": rank, "pilot_id": s.pilot,
                "pilot": cat.pilot_name(s.pilot), "score": round(s.score, 4), "twin_score": round(s.twin_score, 4),
                "pilot_score": round(s.pilot_score, 4),
                "strongest_signals": "; ".join(f"{SIGNAL_WORDS.get(k, k)} ({v:.2f})"
                                               for _, k, v in s.strongest(3)),
                "evidence": "; ".join(e.words for e in s.evidence[:2])})
    for p in a.pairs:
        for t in matcher.topics(p.twin, p.pilot):
            topics.append({"twin_id": p.twin, "pilot_id": p.pilot, "module": MODULE_LABELS[t.module],
                           "direction": t.direction, "title": t.title, "questions": " | ".join(t.questions),
                           "evidence": t.evidence.words})
    loads = [{"pilot_id": pid, "pilot": cat.pilot_name(pid), "load": a.loads.get(pid, 0), "capacity": cap}
             for pid, cap in a.capacities.items()]
    return {"assignment": assignment, "shortlists": shortlists, "topics": topics, "loads": loads}
