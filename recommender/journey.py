"""A pair's learning journey made from its own topics: one session per topic (site-visit topics
of a module share one trip), months spread over the module's part of the 20-month programme,
and the format following the topic: an online meeting to get started, a site visit to the pilot
for infrastructure and built measures, a co-design workshop for adapting a measure, a peer
review of the twin's Replication Plan, and the pilot's visit to the twin to test transfer.
No session is without a topic.
"""

from __future__ import annotations

from recommender.types import MODULES, TWIN_FROM_PILOT, LearningTopic
from recommender.words import DIRECTION_WORDS, MODULE_LABELS

PROGRAMME_MONTHS = 20      # the Twinning call: 20 months
MODULE_MONTHS = {"getting-started": (1, 5), "co-creating": (6, 14), "capitalising": (15, 20)}
FORMAT_SHAPES = {"online meeting": "circle", "co-design workshop": "square", "site visit": "triangle",
                 "peer review": "square", "visit from the pilot": "diamond"}
PURPOSES = {
    "online meeting": "Both teams talk it through online, with the quoted passages as the starting point.",
    "co-design workshop": "Both teams sketch together what the twin city would adapt, keep or leave out.",
    "site visit": "The twin's team sees the pilot's work on site and meets the people who run it.",
    "peer review": "The pilot's team reviews the twin's draft Replication Plan: steps, owner, budget.",
    "visit from the pilot": "The pilot's team sees the twin's setting and what transfer would take.",
}
# concepts whose measures are built things worth seeing on site (codes after /concept/)
ON_SITE = frozenset({"domain/buildings", "domain/energy", "domain/mobility", "domain/green", "domain/industry",
                     "domain/waste", "solution/district-heating", "solution/district-renewal",
                     "solution/nature-based", "solution/sustainable-mobility", "solution/one-stop-shop",
                     "solution/energy-community", "solution/carbon-capture", "solution/circular-economy",
                     "lever/technology"})


def session_format(t: LearningTopic) -> str:
    """The programme format a topic calls for."""
    code = t.concept.rsplit("/concept/", 1)[-1]
    kind = t.evidence.kind
    if t.module == "getting-started":
        return "online meeting"
    if t.module == "co-creating":
        if kind in ("solution", "domain") and code in ON_SITE:
            return "site visit"
        return "online meeting" if kind == "experience" else "co-design workshop"
    if kind == "replication":       # a plan to review only where a passage names the measure
        return "peer review" if t.measure else "online meeting"
    return "visit from the pilot" if kind == "transfer" else "online meeting"


def learning_journey(topics: list[LearningTopic]) -> list[dict]:
    """The pair's sessions, in month order, each with its topics and who brings what; depends
    only on ``topics`` (their order kept within a module)."""
    out = []
    for module in MODULES:
        groups: list[tuple[str, list[LearningTopic]]] = []
        for t in (t for t in topics if t.module == module):
            fmt = session_format(t)
            trip = next((g for g in groups if g[0] == fmt == "site visit"), None)
            if trip:
                trip[1].append(t)
            else:
                groups.append((fmt, [t]))
        if module == "getting-started":       # the kick-off: settings first
            groups.sort(key=lambda g: g[1][0].evidence.kind != "context")
        lo, hi = MODULE_MONTHS[module]
        n = len(groups)
        for i, (fmt, ts) in enumerate(groups):
            month = lo + round(i * (hi - lo) / max(n - 1, 1)) if n > 1 else lo
            if module == "getting-started" and i == 0:
                title = f"Kick-off: {ts[0].title}"
            elif fmt == "site visit":
                title = f"Site visit: {ts[0].title}" + (f" (and {len(ts) - 1} more)" if len(ts) > 1 else "")
            else:
                title = ts[0].title
            out.append({"month": month, "module": module, "module_label": MODULE_LABELS[module], "format": fmt,
                        "shape": FORMAT_SHAPES[fmt], "title": title, "purpose": PURPOSES[fmt],
                        "topics": [{"title": t.title, "brings": "pilot" if t.direction == TWIN_FROM_PILOT else "twin",
                                    "direction": DIRECTION_WORDS[t.direction]} for t in ts]})
    return sorted(out, key=lambda s: s["month"])
