"""Bidirectional learning topics grounded in the two sides' own words. For each shared concept
of a pair (the evidence paths that explain its score), ``recommender.grounding`` finds what each
side does or needs about it in its own passages; the topic is built around that concrete thing
and quotes the passage with its source. Placement follows the programme's modules, both ways:

- Getting started: shared barriers (how the pilot got past it; how the twin meets it) and the
  two settings side by side, with the facts the profiles give;
- Co-creating: the pilot's measures the twin would adapt; the twin's experience, or its needs as
  a test of the pilot's measure, for the pilot;
- Capitalising: what the twin replicates (a measure, with budget or owner where the documents
  say) and what the pilot learns about transferring it.

Titles and questions are templates filled only through ``recommender.phrases`` (articles,
number, possessives, labels mid-sentence); ``all_templates``/``fill`` let the language test run
every template over every concept label. A topic without a quotable passage is not made.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kg.model import Catalog
from recommender import phrases as ph
from recommender.grounding import EvidenceFinder, Passage
from recommender.scoring import country
from recommender.types import (
    PILOT_FROM_TWIN,
    TWIN_FROM_PILOT,
    Evidence,
    LearningTopic,
    PairScore,
)
from recommender.words import MODULE_LABELS

MODULE_OF_KIND = {"shared_barrier": "getting-started", "context": "getting-started",
                  "narrative": "getting-started", "pilot_profile": "getting-started",
                  "solution": "co-creating", "domain": "co-creating", "experience": "co-creating",
                  "codesign": "co-creating",
                  "lever": "capitalising", "replication": "capitalising", "transfer": "capitalising"}
# kinds whose topic is something a twin can replicate (a measure, instrument or solution)
REPLICABLE = frozenset({"solution", "replication", "domain"})

# (kind, direction) -> (title variants, question variants). Slots: {t} {p} twin and pilot names,
# {t_s} {p_s} their possessives, {c} the concept mid-sentence, {C} at a sentence start, {a_c} with
# its article where it takes one, {thing} the concrete thing the passage names, {a_thing} with its
# article, {thing_be} is/are agreeing with it.
TEMPLATES: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("shared_barrier", TWIN_FROM_PILOT): (
        ("How {p} got past {c}", "{p_s} first answers to {c}", "What {t} can learn from {p} about {c}"),
        ("Which step did {p} take first against {c}, and what would it do differently now?",
         "Who in {t} owns the problem today, and who would own the answer?",
         "Which of {p_s} early steps could {t} try within its first six months?",
         "What did it cost {p} in staff time and money to get moving?",
         "Which partners outside the administration helped {p} most?")),
    ("shared_barrier", PILOT_FROM_TWIN): (
        ("How {t} meets {c}", "{C} from {t_s} side", "What {t} already tried against {c}"),
        ("Where do the two cities' versions of the problem differ most?",
         "Which parts of {p_s} answer depend on its own setting, and would fail in {t}?",
         "What has {t} tried already, and what did it learn from it?",
         "Who in {t} feels the problem most, and does {p} reach the same people?",
         "What would {t} measure to know the problem is shrinking?",
         "Which of {t_s} attempts could {p} borrow for its own next phase?")),
    ("context", TWIN_FROM_PILOT): (
        ("{t} and {p}: two settings side by side", "Sizes, powers and budgets: {t} next to {p}"),
        ("How do the two cities' sizes, powers and budgets compare?",
         "Which local actors should join the exchange from each side?",
         "Which national rules help or block each city in the same way?",
         "Which department in {t} would host the exchange, and who is its counterpart in {p}?",
         "What does each city control directly, and what does it need the region or state for?",
         "Which of {p_s} partners has no counterpart in {t} yet?")),
    ("context", PILOT_FROM_TWIN): (
        ("Testing {p_s} approach in {t_s} setting", "What {t_s} setting tells {p} about its approach"),
        ("Which assumptions of {p_s} approach does {t_s} setting challenge?",
         "What would {p} write down so that a city like {t} can repeat its approach?",
         "Which of {p_s} results would look different at {t_s} size?",
         "What does {t} do without that {p} takes for granted?",
         "Which questions from {t} would {p} have to answer for its own evaluation?")),
    ("domain", TWIN_FROM_PILOT): (
        ("Adapting {p_s} work on {c} to {t}", "From {p} to {t}: {thing}", "What {t} could take from {p_s} {thing}"),
        ("Which of {p_s} measures fit {t_s} size and powers, and which do not?",
         "What data or partners did {p} need before acting?",
         "What would a first trial in one district of {t} look like?",
         "Which of {p_s} results are already measured, and how?",
         "Which of {t_s} own projects could take up the approach first?")),
    ("solution", TWIN_FROM_PILOT): (
        ("Co-designing {a_thing} for {t}", "{p_s} {thing}, adapted to {t}", "What {t} would change in {p_s} {thing}"),
        ("Who runs it in {p}, who pays for it and who uses it?",
         "Which parts would {t} keep, change or leave out?",
         "What is the smallest version {t} could launch and learn from?",
         "What did {p} get wrong at first, and how did it fix it?",
         "Which staff and partners would {t} need to run it?")),
    ("experience", PILOT_FROM_TWIN): (
        ("What {t_s} work on {c} offers {p}", "{t_s} track record on {c}, for {p}"),
        ("What has {t} already achieved here, and what made it work?",
         "Which of {t_s} lessons could strengthen {p_s} next phase?",
         "Who in {t} could show {p_s} team the results on site?",
         "What went wrong in {t} that {p} could avoid?")),
    ("codesign", PILOT_FROM_TWIN): (
        ("Testing {p_s} {thing} against {t_s} needs", "What {t_s} plans ask of {p_s} {thing}"),
        ("What in {t_s} own words does {p_s} measure not yet answer?",
         "Which part of the measure would {p} have to redesign for a city like {t}?",
         "Which evidence from {t} would convince {p_s} own council to keep going?",
         "Which of {t_s} partners could test a version of the measure first?",
         "What would a joint design session between the two teams produce?")),
    ("lever", TWIN_FROM_PILOT): (
        ("Scaling up through {c}: the route {p} took", "How {p} uses {c} to scale"),
        ("How did {p} move from one project to a programme?",
         "What would {t} need in place to do the same within the twinning?",
         "Which allies outside the city administration made the difference in {p}?",
         "Which decision in {t} would open the same route?")),
    ("replication", TWIN_FROM_PILOT): (
        ("Replicating {thing} in {t}", "A Replication Plan for {thing} in {t}", "Bringing {p_s} {thing} to {t}"),
        ("Which steps, owner and budget does {t_s} Replication Plan give it?",
         "Which indicators will show that the replication works?",
         "What support from {p} does {t} need after the programme ends?",
         "Which first step could {t} fund from its own budget next year?",
         "Who in {t} would own the measure, and who would sign it off?",
         "Which risks does {t_s} plan name, and how did {p} handle the same ones?")),
    ("transfer", PILOT_FROM_TWIN): (
        ("What moving {thing} to {t} teaches {p}", "{p_s} {thing} outside its home setting",
         "Documenting {thing} so that {t} can repeat it"),
        ("Which conditions of {p_s} success are missing in {t}?",
         "What would {p} document so that the next city can start faster?",
         "Which results in {t} would {p} count as proof that the approach travels?",
         "Which part of the measure had to change on the way to {t}, and why?",
         "Who in {p} would keep advising {t} once the programme ends?",
         "What would {p} tell its national ministry about transfer after working with {t}?")),
}
# one question per concept, its own angle (scheme/code -> template)
CONCEPT_QUESTIONS = {
    "barrier/acceptance": "How were residents won over in {p}, and what put them off at first?",
    "barrier/capacity": "Which skills did {p} hire or train for, and which does {t} lack today?",
    "barrier/data": "Which figures did {p} collect first, and which baseline is {t} missing?",
    "barrier/energy-poverty": "How does {p} reach low-income households, and who in {t} knows them?",
    "barrier/financial": "Who paid for the first measures in {p}, and which funds could {t} tap?",
    "barrier/governance": "Which departments had to work together in {p}, and who chaired them?",
    "barrier/infrastructure": "Which networks or buildings held {p} back, and which hold {t} back?",
    "barrier/regulatory": "Which permits or rules slowed {p} down, and do the same apply in {t}?",
    "domain/buildings": "Which buildings did {p} start with, and who owns the comparable stock in {t}?",
    "domain/energy": "Who produces and distributes the energy in each city, and who decides on it?",
    "domain/green": "Which sites and land owners would a first green project in {t} involve?",
    "domain/industry": "Which companies in {t} would have to take part, and on what terms?",
    "domain/mobility": "Which trips did {p} target first, and which routes in {t} are comparable?",
    "domain/waste": "Which waste streams did {p} start with, and who collects them in {t}?",
    "lever/data": "Which data and tools did {p} build, and could {t} reuse them as they are?",
    "lever/finance": "Which business model or fund pays for it in {p}, and could it work under {t_s} rules?",
    "lever/governance": "Which decision or policy gave {p} its mandate, and who would take it in {t}?",
    "lever/learning": "How did {p} train its staff and partners, and what material can it share?",
    "lever/participation": "How were citizens given a say in {p}, and what did they change?",
    "lever/social-innovation": "Which groups in {p} carried the change, and who could play that part in {t}?",
    "lever/technology": "Which technology did {p} choose, and what would it choose again?",
    "solution/carbon-capture": "Who stores or uses the captured carbon in {p}, and at what cost?",
    "solution/circular-economy": "Which materials does {p} keep in use, and with which partners?",
    "solution/citizen-assembly": "How were the members chosen in {p}, and what happened to their proposals?",
    "solution/data-platform": "Who keeps the data up to date in {p}, and who uses it to decide?",
    "solution/district-heating": "Where does the heat come from in {p}, and who runs the network?",
    "solution/district-renewal": "How did {p} choose its district, and how were residents involved?",
    "solution/energy-community": "Who are the members in {p}, and how are costs and gains shared?",
    "solution/engagement-programme": "Which messages and formats reached people in {p}, and which did not?",
    "solution/investment-platform": "Who puts money into the fund in {p}, and how are projects picked?",
    "solution/nature-based": "Who maintains the green measures in {p}, and how are benefits measured?",
    "solution/one-stop-shop": "How does a household move through the one-stop shop in {p}, step by step?",
    "solution/renovation-agency": "What does the agency in {p} do that the city administration did not?",
    "solution/skills-programme": "Which trades and staff did {p} train first, and with which schools?",
    "solution/sustainable-mobility": "Which services do people in {p} use most, and who runs them?",
    "solution/transition-team": "Who sits on the transition team in {p}, and what can it decide?",
}
# words that are not the name of a thing a pilot does
_NOT_THINGS = frozenset(["Mission", "City", "Cities", "Pilot", "Pilots", "Twin", "Twins", "NetZeroCities", "Programme", "Climate", "Contract", "European", "EU", "Cohort", "Horizon", "Stated", "Inferred", "Themes", "It", "Its", "The", "This", "They", "Together", "Every", "One", "Domains", "Levers", "Barriers"])
_THING = re.compile(r"(?:[A-Z][\w'-]*|[A-Z]{2,})(?:\s+(?:for|of|the|and|de|-)?\s*(?:[A-Z][\w'-]*|[A-Z]{2,}))+")


@dataclass(frozen=True)
class ReplicationPlan:
    """A twin's Replication Plan outline: replicable items only, each with its evidence."""

    twin: str
    pilot: str
    items: tuple[tuple[str, str, str, str], ...]   # (module, what, from whom, evidence in words)


def all_templates() -> list[str]:
    """Every title and question template, for the language test."""
    out = [x for titles, qs in TEMPLATES.values() for x in (*titles, *qs)]
    return out + list(CONCEPT_QUESTIONS.values())


def fill(template: str, *, twin: str, pilot: str, concept: str, thing: str = "") -> str:
    """One template with its names, concept label and thing filled in, grammatically."""
    c = ph.mid(concept) if concept else "their shared work"
    thing = thing or c
    return ph.sentence(template.format(
        t=twin, p=pilot, t_s=ph.possessive(twin), p_s=ph.possessive(pilot), c=c, C=ph.start(c),
        a_c=ph.a(c), thing=thing, a_thing=ph.a(thing), thing_be=ph.be(thing)))


def named_thing(text: str, avoid: set[str]) -> str:
    """The name of a concrete thing in a passage (``"Warm Home Hub"``, ``"House of Change"``),
    or "" when it names none besides places and programme words."""
    quoted = re.findall(r"[‘'“\"]([A-Z][^'’”\"]{3,40})[’'”\"]", text)
    for q in quoted:
        if not any(w in avoid for w in q.split()):
            return q.strip()
    for m in _THING.finditer(text):
        if m.start() == 0 or re.search(r"[.!?:;]\s*$", text[:m.start()]):
            continue        # a capital at a sentence start names nothing by itself
        words = re.split(r"\s+", m.group(0))
        while words and (words[0] in _NOT_THINGS or words[0] in avoid
                         or words[0].lower() in ("for", "of", "the", "and", "de", "-")):
            words = words[1:]       # "Miskolc the Győri": a place, then a joining word, names nothing
        while words and (words[-1] in _NOT_THINGS or words[-1] in avoid or words[-1].lower() in ("for", "of", "the", "and", "de")):
            words = words[:-1]
        if len(words) >= 2 and not any(w in avoid or w in _NOT_THINGS for w in words):
            return " ".join(words)
    return ""


def _pick(options: tuple[str, ...], key: str, n: int = 1) -> list[str]:
    """``n`` options starting at a position fixed by ``key`` (same pair, same words)."""
    i = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(options)
    return [options[(i + j) % len(options)] for j in range(min(n, len(options)))]


def setting_evidence(cat: Catalog, twin, pilot) -> Evidence | None:
    """The two settings as facts (country and size of each city) for the Getting started topic
    that compares them, when the pair's own context evidence states nothing (no shared country,
    language, size or nearness): comparing two settings is where every pair starts."""
    tc = cat.cities.get(twin.city)
    pcs = [cat.cities[c] for c in pilot.cities if c in cat.cities]
    if tc is None or not pcs:
        return None

    def where(c) -> str:
        size = [f"{c.population:,} inhabitants"] if c.population else []
        return f"{c.name} ({', '.join([country(c.country), *size])})"

    return Evidence("context", TWIN_FROM_PILOT, (where(tc), "and", pilot.display_name, "in",
                                                 ph.join([where(c) for c in pcs])), "", 0.1)


def topics_for_pair(cat: Catalog, pair: PairScore, *, per_direction: int = 4,
                    finder: EvidenceFinder | None = None) -> list[LearningTopic]:
    """Learning topics in both directions for one scored pair, each quoting at least one real
    passage with its source; every module is served in each direction where the passages allow."""
    finder = finder or EvidenceFinder(cat)
    twin, pilot = cat.twins[pair.twin], cat.pilots[pair.pilot]
    tname, pname = cat.city_name(twin.city), pilot.display_name
    label = lambda iri: cat.concepts[iri].label if iri in cat.concepts else ""  # noqa: E731
    avoid = {w for n in [tname, pname, pilot.title, *(cat.city_name(c) for c in pilot.cities),
                         *(cat.cities[c].country for c in (twin.city, *pilot.cities) if c in cat.cities)]
             for w in re.split(r"[\s–-]+", n) if w}
    made: list[tuple[float, LearningTopic]] = []
    measures_named: set[str] = set()     # things that are measures: named in a passage, or solutions

    def add(kind, direction, e: Evidence, quotes: list[Passage], thing: str = "", weight: float = 0.0):
        quotes = [q for q in quotes if q is not None]
        if not quotes:
            return
        c = label(e.concept)
        key = f"{pair.twin}|{pair.pilot}|{kind}|{e.concept}"
        titles, qs = TEMPLATES[(kind, direction)]
        scheme_code = e.concept.rsplit("/concept/", 1)[-1]
        questions = _pick(qs, key + "q", 2)
        if scheme_code in CONCEPT_QUESTIONS and direction == TWIN_FROM_PILOT:
            questions.insert(1, CONCEPT_QUESTIONS[scheme_code])
        elif len(qs) > 2:
            questions = _pick(qs, key + "q", 3)
        f = dict(twin=tname, pilot=pname, concept=c, thing=thing)
        made.append((weight or e.weight, LearningTopic(
            twin=twin.id, pilot=pilot.id, direction=direction, module=MODULE_OF_KIND[kind], concept=e.concept,
            title=fill(_pick(titles, key)[0], **f), questions=tuple(fill(q, **f) for q in questions),
            evidence=Evidence(kind, direction, e.path, e.concept, e.weight, quotes[0].text), quotes=tuple(quotes),
            measure=thing if thing in measures_named else "")))

    def thing_of(passages: list[Passage], concept: str) -> tuple[str, list[Passage]]:
        """The concrete thing the passages name, and the passages with the naming one first;
        else a solution's label, else "work on" the domain or lever."""
        for i, p in enumerate(passages):
            t = named_thing(p.text, avoid)
            if t:
                measures_named.add(t)
                return t, [p] + passages[:i] + passages[i + 1:]
        c = cat.concepts.get(concept)
        if c is not None and c.scheme == "solution":
            measures_named.add(ph.mid(c.label))
            return ph.mid(c.label), passages
        return f"work on {ph.mid(label(concept))}", passages

    ev = list(pair.evidence)
    if not any(e.kind == "context" for e in ev):     # the two settings are always worth comparing
        ev += [e for e in [setting_evidence(cat, twin, pilot)] if e is not None]
    ev = sorted(ev, key=lambda e: (-e.weight, e.kind, e.words))
    seen: set[tuple[str, str, str]] = set()
    measures: list[tuple[Evidence, list[Passage], str]] = []     # the pilot's measures the twin wants
    for e in ev:
        k = (e.kind, e.direction, e.concept)
        if k in seen:
            continue
        seen.add(k)
        if e.kind == "shared_barrier" and e.direction == TWIN_FROM_PILOT:
            # both sides: the pilot's answer (its own description where no passage names the
            # barrier) and how the twin meets it
            answer = finder.find(pilot.id, e.concept) or [finder.describe(pilot.id)]
            mine = finder.find(twin.id, e.concept)
            add("shared_barrier", TWIN_FROM_PILOT, e, answer + mine if mine or answer[0] else [])
        elif e.kind == "shared_barrier":
            mine = finder.find(twin.id, e.concept)
            add("shared_barrier", PILOT_FROM_TWIN, e, mine + finder.find(pilot.id, e.concept) if mine else [])
        elif e.kind in ("solution", "domain"):
            ps = finder.find(pilot.id, e.concept, k=3)
            if not ps:
                continue
            thing, ps = thing_of(ps, e.concept)
            add(e.kind, TWIN_FROM_PILOT, e, ps[:1] + finder.find(twin.id, e.concept), thing)
            measures.append((e, ps, thing))
        elif e.kind == "lever":
            add("lever", TWIN_FROM_PILOT, e, finder.find(pilot.id, e.concept))
        elif e.kind == "experience":
            add("experience", PILOT_FROM_TWIN, e, finder.find(twin.id, e.concept))
        elif e.kind == "context":   # the two settings, both ways: same facts, each side's question
            facts = [finder.facts(twin.id), finder.facts(pilot.id)]
            add("context", TWIN_FROM_PILOT, e, facts, weight=0.25)
            add("context", PILOT_FROM_TWIN, e, facts[::-1], weight=0.2)
    # Capitalising both ways, from the pilot's strongest measure the twin wants
    for e, ps, thing in measures[:1]:
        budget = [p for p in finder.matching(pilot.id, r"€|\bEUR\b|\bmillion\b|\bbudget\b") if p not in ps][:1]
        add("replication", TWIN_FROM_PILOT, e, ps[:1] + budget, thing, e.weight * 0.95)
        setting = finder.find(twin.id, e.concept) or [finder.facts(twin.id)]
        add("transfer", PILOT_FROM_TWIN, e, ps[:1] + setting, thing, e.weight * 0.9)
    # Co-creating for the pilot: the twin's own needs, in its words, as a test of the measure
    # (its size-and-place sentence states no need)
    setting_only = [p.text for p in [finder.facts(twin.id)] if p is not None]
    for e, ps, thing in measures:
        need = finder.find(twin.id, e.concept, avoid=setting_only)
        if need:
            add("codesign", PILOT_FROM_TWIN, e, need + ps[:1], thing, e.weight * 0.85)
            break
    else:   # no shared measure the twin speaks of: any of the pilot's concepts the twin's own words name
        for link in sorted(pilot.solutions + pilot.domains + pilot.levers, key=lambda x: (-x.weight, x.concept)):
            need = finder.find(twin.id, link.concept, avoid=setting_only)
            ps = finder.find(pilot.id, link.concept, k=3)
            if need and ps:
                thing, ps = thing_of(ps, link.concept)
                e = Evidence("codesign", PILOT_FROM_TWIN, (tname, "speaks of", label(link.concept), "where", pname,
                                                           "works"), link.concept, 0.3 * link.weight)
                add("codesign", PILOT_FROM_TWIN, e, need + ps[:1], thing)
                break
    # thin pairs: what the pilot itself works on, still a real passage of its own
    if not any(t.direction == TWIN_FROM_PILOT and t.module == "co-creating" for _, t in made):
        for link in sorted(pilot.solutions + pilot.domains, key=lambda x: (-x.weight, x.concept))[:1]:
            ps = finder.find(pilot.id, link.concept, k=2) or [p for p in [finder.describe(pilot.id)] if p]
            if ps:
                e = Evidence("domain", TWIN_FROM_PILOT, (pname, "works on", label(link.concept)), link.concept,
                             0.3 * link.weight)
                thing, ps = thing_of(ps, link.concept)
                add("domain", TWIN_FROM_PILOT, e, ps[:1], thing)
                if not any(t.module == "capitalising" for _, t in made):
                    add("replication", TWIN_FROM_PILOT, e, ps[:1], thing, e.weight * 0.9)
                    add("transfer", PILOT_FROM_TWIN, e, ps[:1] + [finder.facts(twin.id)], thing, e.weight * 0.8)
    return _select(made, per_direction)


def _select(made: list[tuple[float, LearningTopic]], per_direction: int) -> list[LearningTopic]:
    """Per direction: the strongest topic of each module first, then the rest by weight; one
    topic per title."""
    order = {m: i for i, m in enumerate(MODULE_LABELS)}
    out: list[LearningTopic] = []
    for direction in (TWIN_FROM_PILOT, PILOT_FROM_TWIN):
        mine = sorted((x for x in made if x[1].direction == direction), key=lambda x: (-x[0], x[1].title))
        picked: list[LearningTopic] = []
        titles: set[str] = set()
        for module in MODULE_LABELS:
            for _, t in mine:
                if t.module == module and t.title not in titles:
                    picked.append(t)
                    titles.add(t.title)
                    break
        for _, t in mine:
            if len(picked) >= per_direction:
                break
            if t.title not in titles:
                picked.append(t)
                titles.add(t.title)
        out += picked[:max(per_direction, 3)]
    return sorted(out, key=lambda x: (order[x.module], x.direction != TWIN_FROM_PILOT, -x.evidence.weight))


def replication_plan(cat: Catalog, topics: list[LearningTopic]) -> ReplicationPlan | None:
    """The twin's Replication Plan outline: only the pilot's measures it would replicate, each
    with the quoted passage and its source."""
    mine = [t for t in topics if t.direction == TWIN_FROM_PILOT and t.evidence.kind in REPLICABLE and t.quotes
            and t.measure]
    if not mine:
        return None
    pilot = cat.pilots[mine[0].pilot]
    cities = ", ".join(cat.city_name(c) for c in pilot.cities)
    whom = f"{pilot.display_name} ({cities})" if cities else pilot.display_name
    items, seen = [], set()
    for t in sorted(mine, key=lambda t: t.evidence.kind != "replication"):
        q = t.quotes[0]
        if q.text in seen:
            continue
        seen.add(q.text)
        items.append((MODULE_LABELS[t.module], t.title, whom, f"“{ph.clip(q.text)}” ({q.cite})"))
    return ReplicationPlan(twin=mine[0].twin, pilot=pilot.id, items=tuple(items))
