"""Commands that rank, assign, suggest topics and evaluate."""

from __future__ import annotations

import json

from kg.errors import InputError
from recommender.cli.common import (
    _matcher,
    _weights,
    command,
    out,
)


def _score_json(s, cat) -> dict:
    return {"twin": s.twin, "twin_city": cat.twin_name(s.twin), "pilot": s.pilot,
            "pilot_title": cat.pilots[s.pilot].title, "score": round(s.score, 4),
            "twin_score": round(s.twin_score, 4), "pilot_score": round(s.pilot_score, 4),
            "twin_signals": {k: round(v, 4) for k, v in s.twin_parts.items()},
            "pilot_signals": {k: round(v, 4) for k, v in s.pilot_parts.items()},
            "evidence": [{"kind": e.kind, "direction": e.direction, "path": e.words} for e in s.evidence]}


def _print_ranked(ranked, cat, *, by_pilot: bool) -> None:
    from recommender.words import SIGNAL_WORDS

    for i, s in enumerate(ranked, start=1):
        name = cat.twin_name(s.twin) if by_pilot else cat.pilots[s.pilot].label
        out(f"{i}. {name}  score {s.score:.2f}  (twin learns {s.twin_score:.2f}, pilot learns {s.pilot_score:.2f})")
        strong = [f"{SIGNAL_WORDS.get(k, k)} {v:.2f}" for _, k, v in s.strongest(3)]
        if strong:
            out(f"   why: {'; '.join(strong)}")
        for e in s.evidence[:2]:
            out(f"   evidence: {e.words}")


@command("recommend")
def cmd_recommend(args) -> int:
    """Rank the pilot activities a twin can join, or (--pilot) the twins for a pilot activity, or
    (--city) the pilot activities for any Covenant of Mayors signatory."""
    if args.city:
        from recommender.cli.europe import recommend_for_city

        return recommend_for_city(args)
    m = _matcher(args)
    w = _weights(args, m)
    cat = m.catalog
    if args.pilot:
        pilot = cat.find_pilot(args.pilot)
        ranked = m.rank_twins(pilot.id, weights=w, limit=args.k)
        header = f"twins for {pilot.id} {pilot.title}"
    else:
        if not args.twin:
            raise InputError("name a twin (e.g. Belfast or T1-belfast) or use --pilot PILOT")
        twin = cat.find_twin(args.twin, cohort=args.cohort)
        ranked = m.rank_pilots(twin.id, weights=w, limit=args.k)
        header = f"pilot activities for {cat.twin_name(twin.id)} ({twin.id}, cohort {twin.cohort})"
    if args.json:
        out(json.dumps([_score_json(s, cat) for s in ranked], indent=2, ensure_ascii=False))
        return 0
    out(header)
    _print_ranked(ranked, cat, by_pilot=bool(args.pilot))
    return 0


@command("assign")
def cmd_assign(args) -> int:
    """Assign every twin of a cohort to a pilot activity under capacities (min-cost flow)."""
    from recommender.assignment import Overrides, read_overrides

    m = _matcher(args)
    cat = m.catalog
    overrides = Overrides()
    twins = m.cohort_twins(args.cohort)
    if args.pins:
        cands = set(m.capacities(args.cohort))
        overrides = read_overrides(args.pins, [t.id for t in twins], cands,
                                   resolve_twin=lambda n: cat.find_twin(n, cohort=args.cohort).id,
                                   resolve_pilot=lambda n: cat.find_pilot(n).id)
    a = m.assign(args.cohort, overrides, weights=_weights(args, m))
    if args.json:
        out(json.dumps({"cohort": a.cohort, "objective": a.objective, "optimal": a.optimal,
                        "pairs": [p.__dict__ for p in a.pairs], "loads": a.loads,
                        "capacities": a.capacities, "unassigned": list(a.unassigned),
                        "pin_costs": a.pin_costs, "notes": list(a.notes)}, indent=2))
        return 0
    out(f"cohort {a.cohort}: {len(a.pairs)} pairs, objective {a.objective:.3f}")
    for p in a.pairs:
        pin = "  [pinned]" if p.pinned else ""
        out(f"  {cat.twin_name(p.twin):28} -> {cat.pilots[p.pilot].label}"
            f"  score {p.score:.2f} (twin {p.twin_score:.2f}, pilot {p.pilot_score:.2f}){pin}")
    busy = {k: v for k, v in a.loads.items() if v}
    out("loads: " + ", ".join(f"{k} {v}/{a.capacities[k]}" for k, v in busy.items()))
    if a.unassigned:
        out("unassigned: " + ", ".join(a.unassigned))
    for note in a.notes:
        out(f"note: {note}")
    return 0


@command("topics")
def cmd_topics(args) -> int:
    """Learning topics for a pair in both directions, by module, with evidence and questions."""
    from recommender.types import TWIN_FROM_PILOT
    from recommender.words import MODULE_LABELS

    m = _matcher(args)
    cat = m.catalog
    pilot = cat.find_pilot(args.pilot)
    twin = cat.find_twin(args.twin)
    topics = m.topics(twin.id, pilot.id)
    plan = m.plan(twin.id, pilot.id)
    if args.json:
        out(json.dumps({"topics": [{"module": t.module, "direction": t.direction, "title": t.title,
                                    "concept": t.concept, "questions": list(t.questions),
                                    "evidence": t.evidence.words, "passage": t.evidence.passage}
                                   for t in topics],
                        "replication_plan": [dict(zip(("module", "what", "from", "evidence"), i))
                                             for i in (plan.items if plan else ())]},
                       indent=2, ensure_ascii=False))
        return 0
    out(f"learning topics: {cat.twin_name(twin.id)} ({twin.id}) and {pilot.id} {pilot.title}")
    for module, label in MODULE_LABELS.items():
        mine = [t for t in topics if t.module == module]
        if not mine:
            continue
        out(f"\n{label}")
        for t in mine:
            arrow = "pilot -> twin" if t.direction == TWIN_FROM_PILOT else "twin -> pilot"
            out(f"  [{arrow}] {t.title}")
            out(f"      evidence: {t.evidence.words}")
            for q in t.questions:
                out(f"      - {q}")
    if plan:
        out("\nReplication Plan outline")
        for module, what, whom, ev in plan.items:
            out(f"  {module}: {what} (from {whom}; evidence: {ev})")
    return 0


@command("evaluate")
def cmd_evaluate(args) -> int:
    """Match quality against known pairings: hit@1/3/5 and MRR with baselines and ablations."""
    from recommender.evaluate import evaluate, format_table, read_pairings

    m = _matcher(args)
    pairs, skipped = read_pairings(args.pairings, m.catalog)
    rows = evaluate(m, pairs)
    if args.json:
        out(json.dumps({"pairs": len(pairs), "skipped": skipped, "metrics": [r.row() for r in rows]}, indent=2))
        return 0
    out(f"{len(pairs)} known pairings evaluated, {len(skipped)} skipped")
    for s in skipped:
        out(f"  skipped {s}")
    out(format_table(rows))
    return 0
