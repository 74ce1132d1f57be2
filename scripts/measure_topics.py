"""How usable the learning topics of the assigned pairs are, in four figures (issue 15):

- distinct titles per topic (1.0: every topic has its own title);
- share of topics quoting a real passage: a quote whose text stands verbatim in the knowledge
  graph (pilot summary or description, twin interests or profile, contract passage);
- share of pairs with topics in all three modules, per direction, and the issue's target
  (pilot -> twin in all three and twin -> pilot in at least two);
- the largest share of topics that share one phrase (a title or question with every name,
  capitalised word and concept label masked): how much reads as one template;
- learning journeys: distinct calendars (months and formats) and sessions without a topic.

Reads the configured store (run ``peerlearn run`` or ``peerlearn build`` first) and assigns
every cohort as ``run`` does. Usage: ``python scripts/measure_topics.py [--json]``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

from recommender.cli.common import open_configured_store
from recommender.matcher import Matcher
from recommender.narratives import ccc_passages
from recommender.settings import load_settings
from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT


def mask(text: str, labels: list[str]) -> str:
    """A phrase with concept labels, names and capitalised words masked."""
    low = text
    for lab in labels:
        low = re.sub(re.escape(lab), "<c>", low, flags=re.I)
    low = re.sub(r"(?<!^)(?<![.?!:] )\b[A-Z][\w'’-]*", "X", low)
    low = re.sub(r"X(?:[\s'’s-]+X)+", "X", low)
    return low.strip()


def quotes_of(t) -> list[str]:
    qs = [q.text for q in getattr(t, "quotes", ())]
    return qs or ([t.evidence.passage] if t.evidence.passage else [])


def measure() -> dict:
    settings = load_settings(None)
    store = open_configured_store(settings)
    try:
        m = Matcher.from_store(store, settings)
        contracts = ccc_passages(store)
    finally:
        store.close()
    cat = m.catalog
    real = [p.summary for p in cat.pilots.values()] + [p.narrative for p in cat.pilots.values()]
    real += [t.interests for t in cat.twins.values()] + [t.narrative for t in cat.twins.values()]
    real += [text for ps in contracts.values() for _, _, text in ps]
    corpus = "\n".join(" ".join(r.split()) for r in real if r)
    labels = sorted({c.label for c in cat.concepts.values()}, key=len, reverse=True)
    try:
        from recommender.journey import learning_journey
    except ImportError:             # before journeys had their own module
        from recommender.reports import learning_journey
    topics, pairs, journeys = [], [], []
    for cohort in sorted({t.cohort for t in cat.twins.values()}):
        for p in m.assign(cohort).pairs:
            ts = m.topics(p.twin, p.pilot)
            topics += ts
            pairs.append(ts)
            journeys.append(learning_journey(ts))
    n = len(topics)
    quoting = sum(1 for t in topics if any(q and " ".join(q.split()) in corpus for q in quotes_of(t)))

    def modules(ts, d):
        return {t.module for t in ts if t.direction == d}
    all3 = {d: sum(1 for ts in pairs if len(modules(ts, d)) == 3) for d in (TWIN_FROM_PILOT, PILOT_FROM_TWIN)}
    target = sum(1 for ts in pairs if len(modules(ts, TWIN_FROM_PILOT)) == 3 and len(modules(ts, PILOT_FROM_TWIN)) >= 2)
    phrase_topics: Counter = Counter()
    for t in topics:
        for phrase in {mask(x, labels) for x in (t.title, *t.questions)}:
            phrase_topics[phrase] += 1
    top, top_n = phrase_topics.most_common(1)[0] if phrase_topics else ("", 0)
    by_module = Counter((t.module, t.direction) for t in topics)
    return {
        "pairs": len(pairs), "topics": n,
        "distinct_titles_per_topic": round(len({t.title for t in topics}) / n, 3) if n else 0,
        "distinct_masked_titles": len({mask(t.title, labels) for t in topics}),
        "share_quoting_real_passage": round(quoting / n, 3) if n else 0,
        "share_pairs_all_modules_pilot_to_twin": round(all3[TWIN_FROM_PILOT] / len(pairs), 3),
        "share_pairs_all_modules_twin_to_pilot": round(all3[PILOT_FROM_TWIN] / len(pairs), 3),
        "share_pairs_meeting_target": round(target / len(pairs), 3),
        "largest_share_of_topics_with_one_phrase": round(top_n / n, 3) if n else 0,
        "most_common_phrase": top,
        "distinct_journey_calendars": len({tuple((x["month"], x["format"]) for x in j) for j in journeys}),
        "sessions": sum(len(j) for j in journeys),
        "sessions_without_a_topic": sum(1 for j in journeys for x in j if not x["topics"]),
        "topics_by_module_and_direction": {f"{k[0]} {k[1]}": v for k, v in sorted(by_module.items())},
    }


def main() -> int:
    r = measure()
    if "--json" in sys.argv:
        print(json.dumps(r, indent=2, ensure_ascii=False))
    else:
        for k, v in r.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
