"""Commands that rank, assign, suggest topics and evaluate."""

from __future__ import annotations

import json

from kg.errors import InputError
from recommender.cli.common import (
    _matcher,
    _settings,
    _weights,
    _writable_store,
    command,
    open_configured_store,
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
    from recommender.outputs import cohort_json
    from recommender.result import run_result

    settings = _settings(args)
    m = _matcher(args, settings)
    cat = m.catalog
    overrides = Overrides()
    twins = m.cohort_twins(args.cohort)
    if args.pins:
        cands = set(m.capacities(args.cohort))
        overrides = read_overrides(args.pins, [t.id for t in twins], cands,
                                   resolve_twin=lambda n: cat.find_twin(n, cohort=args.cohort).id,
                                   resolve_pilot=lambda n: cat.find_pilot(n).id)
    result = run_result(m, settings, cohorts=[args.cohort], overrides={args.cohort: overrides},
                        weights=_weights(args, m))
    c = result.cohort(args.cohort)
    a = c.assignment
    if args.json:       # the same document as out/cohort-N.json
        out(cohort_json(result, c))
        return 0
    out(f"cohort {a.cohort}: {len(a.pairs)} pairs, objective {a.objective:.3f}")
    for p in a.pairs:
        e = c.explanation(p.twin, p.pilot)
        pin = "  [pinned]" if p.pinned else ""
        weak = "  [weak]" if e.weak else ""
        out(f"  {cat.twin_name(p.twin):28} -> {cat.pilots[p.pilot].label}"
            f"  score {p.score:.2f} (twin {p.twin_score:.2f}, pilot {p.pilot_score:.2f}){pin}{weak}")
        if e.rank != 1 or e.weak:
            out(f"      why: {e.words(cat.twin_name, cat.pilot_name)}")
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
    from recommender.phrases import clip
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
                                    "evidence": t.evidence.words, "passage": t.evidence.passage,
                                    "quotes": [{"text": q.text, "document": q.document, "section": q.section,
                                                "link": q.link} for q in t.quotes]}
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
            for q in t.quotes:
                out(f"      “{clip(q.text, 40)}” ({q.cite}{', ' + q.link if q.link else ''})")
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
    from dataclasses import replace

    from recommender.evaluate import by_source, evaluate, format_gains, format_table, read_pairings

    settings = _settings(args)
    m = _matcher(args, settings)
    pairs, skipped = read_pairings(args.pairings, m.catalog)
    gains = []
    if args.by_source:
        rows, gains = by_source(
            lambda switches: m if not switches else _matcher(
                args, replace(settings, matching=replace(settings.matching, **switches))),
            pairs)
    else:
        rows = evaluate(m, pairs)
    if args.json:
        out(json.dumps({"pairs": len(pairs), "skipped": skipped, "metrics": [r.row() for r in rows],
                        **({"source_changes": [g.row() for g in gains]} if args.by_source else {})}, indent=2))
        return 0
    out(f"{len(pairs)} known pairings of {len({p.twin for p in pairs})} twins evaluated, {len(skipped)} skipped")
    for s in skipped:
        out(f"  skipped {s}")
    out(format_table(rows))
    if gains:
        out(format_gains(gains))
    return 0


@command("fit")
def cmd_fit(args) -> int:
    """Learn signal weights from known pairings (pairwise logistic ranking, non-negative),
    validated leave-one-twin-out against the hand-set weights, random and each signal alone;
    writes a weights file with its provenance for matching.weights_file."""
    from recommender.evaluate import read_pairings
    from recommender.fit import L2, cross_validate, format_result, weights_file_text, write_text_atomically

    if args.l2 is not None and not (args.l2 >= 0 and args.l2 < float("inf")):
        raise InputError(f"--l2 {args.l2}: expected a finite number, 0 or more")
    if not args.pairings and not args.feedback:
        raise InputError("give --pairings FILE, --feedback, or both")
    settings = _settings(args)
    m = _matcher(args, settings)
    m.weights = dict(_weights(args, m))          # the hand-set baseline, with any --weight
    pairs, skipped = read_pairings(args.pairings, m.catalog) if args.pairings else ([], [])
    if args.feedback:
        from recommender.evaluate import Pairing
        from recommender.feedback import chosen_pairs

        store = open_configured_store(settings)
        try:
            chosen = chosen_pairs(store, m.catalog)
        finally:
            store.close()
        known = {(p.twin, p.pilot) for p in pairs}
        added = [Pairing(t, p, 0) for t, p in chosen if (t, p) not in known]
        pairs += added
        out(f"{len(chosen)} pairs confirmed by facilitators' decisions (accepted, or joined instead)")
    result = cross_validate(m, pairs, l2=L2 if args.l2 is None else args.l2)
    note = "without narrative similarity (--no-model)" if args.no_model else ""
    write_text_atomically(args.out, weights_file_text(result, args.pairings, settings_note=note,
                                                      feedback_pairs=len(added) if args.feedback else 0))
    if args.json:
        out(json.dumps({"pairs": len(pairs), "skipped": skipped, "weights": dict(result.weights),
                        "mrr_gain": dict(zip(("mean", "low", "high"), (round(x, 4) for x in result.gain))),
                        "better": result.better, "metrics": [r.row() for r in result.rows], "file": args.out},
                       indent=2))
        return 0
    out(f"{len(pairs)} known pairings, {len(skipped)} skipped; {result.folds} folds (one per twin)")
    for s in skipped:
        out(f"  skipped {s}")
    out(format_result(result))
    out(f"wrote {args.out}")
    return 0


@command("feedback")
def cmd_feedback(args) -> int:
    """Record facilitators' decisions on pairs (accepted, declined, swapped) from a CSV into the
    knowledge graph with provenance; --list shows the latest decision per pair."""
    from kg.catalog import catalog
    from recommender.feedback import FEEDBACK_GRAPH, decisions_graph, latest_decisions, read_decisions, record

    settings = _settings(args)
    if args.list:
        store = open_configured_store(settings)
        try:
            cat = catalog(store)
            latest = latest_decisions(store, cat)
        finally:
            store.close()
        rows = [{"twin": d.twin, "pilot": d.pilot, "decision": d.decision, "reason": d.reason,
                 "instead": d.instead, "when": d.when} for d in latest.values()]
        if args.json:
            out(json.dumps(rows, indent=2, ensure_ascii=False))
            return 0
        for r in rows:
            extra = (f" -> {r['instead']}" if r["instead"] else "") + (f" ({r['reason']})" if r["reason"] else "")
            out(f"{r['when']}  {r['twin']} {r['pilot']}: {r['decision']}{extra}")
        out(f"{len(rows)} pairs with a decision")
        return 0
    if not args.file:
        raise InputError("name a decisions CSV (columns twin,pilot,decision[,reason,instead,cohort]) or use --list")
    store = _writable_store(settings)
    try:
        cat = catalog(store)
        decisions = read_decisions(args.file, cat)           # all rows checked before anything is written
        record(store, decisions_graph(cat, decisions, source=args.file))
    finally:
        store.close()
    counts = {k: sum(1 for d in decisions if d.decision == k) for k in ("accepted", "declined", "swapped")}
    if args.json:
        out(json.dumps({"recorded": len(decisions), **counts, "graph": str(FEEDBACK_GRAPH)}, indent=2))
        return 0
    out(f"recorded {len(decisions)} decisions ({', '.join(f'{v} {k}' for k, v in counts.items())}) "
        f"in {FEEDBACK_GRAPH}")
    return 0
