"""Bidirectional learning topics, made from the same evidence paths that explain a score, so
every topic carries its evidence. Placement follows the programme's modules:

- Getting started: shared barriers and context (what both face, how their settings differ);
- Co-creating: solutions to adapt (the pilot's solution types and domain work; the twin's own
  experience the pilot can use);
- Capitalising: replication and scaling (levers to scale with, the twin's Replication Plan,
  what the pilot learns about transferring its approach).
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.model import Catalog
from recommender.types import (
    PILOT_FROM_TWIN,
    TWIN_FROM_PILOT,
    Evidence,
    LearningTopic,
    PairScore,
)
from recommender.words import MODULE_LABELS

MODULE_OF_KIND = {"shared_barrier": "getting-started", "context": "getting-started",
                  "narrative": "getting-started", "solution": "co-creating", "domain": "co-creating",
                  "experience": "co-creating", "lever": "capitalising", "replication": "capitalising",
                  "pilot_profile": "getting-started"}

# (kind, direction) -> (title template, question templates). {t}: twin city, {p}: pilot, {c}: concept
TEMPLATES = {
    ("shared_barrier", TWIN_FROM_PILOT): (
        "How {p} tackles {c}",
        ("What did {p} change first to get past {c_low}, and what would it do differently?",
         "Where does {c_low} show up in {t} today, and who owns it?",
         "Which of {p}'s early steps could {t} try within its first months?")),
    ("shared_barrier", PILOT_FROM_TWIN): (
        "{c} seen from {t}",
        ("How does {t} experience {c_low}, and what has it already tried?",
         "Which parts of {p}'s answer to {c_low} depend on its own setting?")),
    ("domain", TWIN_FROM_PILOT): (
        "Adapting {p}'s work on {c_low}",
        ("Which of {p}'s measures in {c_low} fit {t}'s size and powers?",
         "What data or partners did {p} need before acting on {c_low}?",
         "What would a first pilot of this in {t} look like?")),
    ("lever", TWIN_FROM_PILOT): (
        "Scaling with {c_low}",
        ("How did {p} use {c_low} to move from one project to a programme?",
         "What would {t} need in place to use {c_low} the same way?")),
    ("solution", TWIN_FROM_PILOT): (
        "Co-creating a {c_low} for {t}",
        ("What does {p}'s {c_low} look like in practice: who runs it, who pays, who uses it?",
         "Which parts of it would {t} keep, change or leave out?",
         "What is the smallest version {t} could launch and learn from?")),
    ("experience", PILOT_FROM_TWIN): (
        "What {t}'s experience in {c_low} offers {p}",
        ("What has {t} already achieved in {c_low}, and what made it work?",
         "Which of {t}'s lessons could strengthen {p}'s next phase?")),
    ("context", PILOT_FROM_TWIN): (
        "Testing {p}'s approach in another setting",
        ("Which assumptions of {p}'s approach does {t}'s setting challenge?",
         "What would {p} document so that a city like {t} can repeat it?")),
    ("context", TWIN_FROM_PILOT): (
        "Getting to know each other's setting",
        ("How do the two cities' sizes, powers and budgets compare?",
         "Which local actors should join the exchange from each side?")),
    ("narrative", TWIN_FROM_PILOT): (
        "Common ground in how both describe their work",
        ("Both narratives describe similar work: where exactly do they overlap?",
         "What does {t} want to learn first from {p}?")),
    ("replication", TWIN_FROM_PILOT): (
        "Replicating {c_low} in {t}",
        ("Which steps, owners and budget would the Replication Plan give {c_low} in {t}?",
         "Which indicators will show that the replication works?",
         "What support from {p} does {t} need after the programme?")),
    ("pilot_profile", TWIN_FROM_PILOT): (
        "What {p} does in {c_low}",
        ("What is {p} doing in {c_low}, and what has it learnt so far?",
         "Is {c_low} a priority for {t}, and why?")),
}


@dataclass(frozen=True)
class ReplicationPlan:
    """A twin's Replication Plan outline: what to replicate, from whom, on what evidence."""

    twin: str
    pilot: str
    items: tuple[tuple[str, str, str, str], ...]   # (module, what, from whom, evidence in words)


def topics_for_pair(cat: Catalog, pair: PairScore, *, per_direction: int = 4) -> list[LearningTopic]:
    """Learning topics in both directions for one scored pair, each with its evidence path."""
    twin, pilot = cat.twins[pair.twin], cat.pilots[pair.pilot]
    tname, pname = cat.city_name(twin.city), pilot.display_name
    label = lambda iri: cat.concepts[iri].label if iri in cat.concepts else ""  # noqa: E731
    evidence = list(pair.evidence)
    # Capitalising: the twin's strongest solution or domain paths become replication topics.
    for e in [e for e in evidence if e.kind in ("solution", "domain") and e.direction == TWIN_FROM_PILOT][:1]:
        evidence.append(Evidence("replication", TWIN_FROM_PILOT, e.path, e.concept, e.weight * 0.9, e.passage))
    # Thin twins: fall back on what the pilot itself works on, still a real graph path.
    if not any(e.direction == TWIN_FROM_PILOT and e.kind != "narrative" for e in evidence):
        for link in sorted(pilot.domains + pilot.solutions, key=lambda x: -x.weight)[:2]:
            evidence.append(Evidence("pilot_profile", TWIN_FROM_PILOT,
                                     (pname, "works on", label(link.concept)), link.concept, 0.3 * link.weight))
    out: list[LearningTopic] = []
    for direction in (TWIN_FROM_PILOT, PILOT_FROM_TWIN):
        seen: set[tuple[str, str]] = set()
        picked = []
        for e in sorted((e for e in evidence if e.direction == direction), key=lambda e: (-e.weight, e.kind)):
            key = (e.kind, e.concept)
            if key in seen or (e.kind, direction) not in TEMPLATES:
                continue
            seen.add(key)
            picked.append(e)
        # variety first: one of each kind, then the rest by weight
        varied = []
        kinds = set()
        for e in picked:
            if e.kind not in kinds:
                varied.append(e)
                kinds.add(e.kind)
        varied += [e for e in picked if e not in varied]
        for e in varied[:per_direction]:
            title_t, qs = TEMPLATES[(e.kind, direction)]
            c = label(e.concept) or "this"
            fill = {"t": tname, "p": pname, "c": c, "c_low": _lower(c)}
            out.append(LearningTopic(
                twin=twin.id, pilot=pilot.id, direction=direction, module=MODULE_OF_KIND[e.kind],
                concept=e.concept, title=title_t.format(**fill),
                questions=tuple(q.format(**fill) for q in qs[:3]), evidence=e))
    order = {m: i for i, m in enumerate(MODULE_LABELS)}
    return sorted(out, key=lambda x: (order[x.module], x.direction != TWIN_FROM_PILOT, -x.evidence.weight))


def replication_plan(cat: Catalog, topics: list[LearningTopic]) -> ReplicationPlan | None:
    """Gather a twin's pilot-to-twin topics into a Replication Plan outline."""
    mine = [t for t in topics if t.direction == TWIN_FROM_PILOT]
    if not mine:
        return None
    pilot = cat.pilots[mine[0].pilot]
    who = pilot.display_name
    cities = ", ".join(cat.city_name(c) for c in pilot.cities)
    whom = f"{who} ({cities})" if cities else who
    items = tuple((MODULE_LABELS[t.module], t.title, whom, t.evidence.words) for t in mine)
    return ReplicationPlan(twin=mine[0].twin, pilot=pilot.id, items=items)


def all_templates() -> list[str]:
    """Every title and question template, for the language test."""
    return [x for title, qs in TEMPLATES.values() for x in (title, *qs)]


def fill(template: str, *, twin: str, pilot: str, concept: str, thing: str = "") -> str:
    """One template with its names and concept label filled in."""
    c = concept or "this"
    return template.format(t=twin, p=pilot, c=c, c_low=_lower(c))


def _lower(label: str) -> str:
    """Lower-case a label for use mid-sentence, keeping acronyms (``"IPPU"``)."""
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in label.split())
