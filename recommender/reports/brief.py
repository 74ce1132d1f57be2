"""The pair brief: one or two A4 pages per assigned pair, for the facilitator who runs its first
session. Who the two are (cities, countries, sizes, links to the sources), why this pair (the
scores in words and the strongest evidence), the topics by module with a quoted passage and
questions each, and an agenda for the first session made from the pair's Getting started topics.
"""

from __future__ import annotations

from recommender.journey import learning_journey
from recommender.phrases import clip, join
from recommender.types import MODULES, PILOT_FROM_TWIN, TWIN_FROM_PILOT
from recommender.words import COUNTRY_NAMES, DIRECTION_WORDS, MODULE_LABELS, SIGNAL_WORDS


def strength(score: float) -> str:
    """A score in words, for people who do not read numbers in [0, 1]."""
    return "strong" if score >= 0.5 else "good" if score >= 0.3 else "fair" if score >= 0.15 else "weak"


def _city(cat, cid: str) -> dict:
    c = cat.cities.get(cid)
    if c is None:
        return {"name": cid, "country": "", "population": "", "mission": False}
    return {"name": c.name, "country": COUNTRY_NAMES.get(c.country, c.country), "mission": c.mission_city,
            "population": f"about {c.population:,} inhabitants" if c.population else "size not recorded"}


def brief_context(cat, cohort: int, pair) -> dict:
    """Everything the brief template shows for one assigned pair (a ``PairResult`` of the run's
    result: its score, topics and plan, nothing scored again)."""
    twin, pilot = cat.twins[pair.twin], cat.pilots[pair.pilot]
    tname, pname = cat.city_name(twin.city), pilot.display_name
    score, topics = pair.score, list(pair.topics)
    journey = learning_journey(topics)
    first = journey[0] if journey else None
    why = [f"{SIGNAL_WORDS.get(k, k)} ({DIRECTION_WORDS.get(d, d)}, {v:.2f})" for d, k, v in score.strongest(3)]
    modules, shown = [], set()
    for m in MODULES:
        rows = []
        for d in (TWIN_FROM_PILOT, PILOT_FROM_TWIN):
            for t in (t for t in topics if t.module == m and t.direction == d):
                q = t.quotes[0] if t.quotes else None
                again = q is not None and q.text in shown      # quoted above: name it, do not repeat it
                if q is not None:
                    shown.add(q.text)
                rows.append({"title": t.title, "direction": DIRECTION_WORDS[d], "questions": t.questions[:2],
                             "quote": "" if again or q is None else clip(q.text, 32), "again": again,
                             "cite": q.cite if q else "", "link": q.link if q else ""})
        modules.append({"module": m, "label": MODULE_LABELS[m], "topics": rows})
    agenda = []
    if first:
        agenda.append(("10 min", f"Introductions: the {tname} team and the {pname} team, and what each hopes to learn"))
        for i, t in enumerate(t for t in topics if t.module == "getting-started"):
            agenda.append(("20 min" if i < 2 else "15 min", f"{t.title}: {t.questions[0]}"))
        agenda.append(("10 min", "Agree the questions for Co-creating and the date of the next session"))
    return {
        "title": f"Pair brief: {tname} and {pname}", "cohort": cohort, "tname": tname, "pname": pname,
        "twin": {**_city(cat, twin.city), "interests": twin.interests, "sources": twin.sources},
        "pilot": {"title": pilot.title, "cities": [_city(cat, c) for c in pilot.cities], "sources": pilot.sources,
                  "summary": pilot.summary},
        "countries": join(sorted({_city(cat, c)["country"] for c in pilot.cities if _city(cat, c)["country"]})),
        "scores": {"combined": (strength(score.score), score.score),
                   "twin": (strength(score.twin_score), score.twin_score),
                   "pilot": (strength(score.pilot_score), score.pilot_score)},
        "why": why, "evidence": [e.words for e in score.evidence[:3]], "modules": modules,
        "first": first, "agenda": agenda, "plan": pair.plan,
    }
