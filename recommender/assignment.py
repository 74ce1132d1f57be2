"""Cohort assignment: every twin to ``per_twin`` pilot activities, each activity within its
capacity, maximising the total two-sided score, solved exactly as a min-cost flow.

Network: source -> twin (capacity ``per_twin``) -> pilot (capacity 1, cost -score) -> pilot
slot j (j = 1..capacity, cost ``overload_penalty * (j - 1)``) -> sink. The slot costs are
convex, so a pilot's second twin costs more than its first: twins spread over pilots unless
crowding in is worth more than the penalty (the overload guard). A twin may also go to an
"unassigned" node at a large cost, so the flow stays feasible when capacity runs short and the
output names who is left out. networkx needs integer costs: scores are scaled by 10^6.
At cohort scale (tens of twins, hundreds of edges) networkx's network simplex takes
milliseconds; ``benchmarks/`` compares it with scipy's matching for the 50k-edge case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from kg.errors import InputError
from kg.ingest.tabular import read_csv_records
from recommender.types import AssignedPair, Assignment, PairScore

SCALE = 1_000_000
UNASSIGNED_COST = 10 * SCALE


@dataclass(frozen=True)
class Overrides:
    """A facilitator's pins (pairs that must be kept) and exclusions (pairs never to propose)."""

    pins: tuple[tuple[str, str], ...] = ()
    exclusions: tuple[tuple[str, str], ...] = ()


def read_overrides(path: str | Path, known_twins: Iterable[str], known_pilots: Iterable[str],
                   resolve_twin=None, resolve_pilot=None) -> Overrides:
    """Read a facilitator file: CSV with columns ``action,twin,pilot`` where action is ``pin``
    or ``exclude``; twins and pilots by id or name (resolved by the given functions)."""
    path = Path(path)
    twins, pilots = set(known_twins), set(known_pilots)
    pins, excl = [], []
    for i, r in read_csv_records(path, ("action", "twin", "pilot")):
        action, t, p = r["action"].lower(), r["twin"], r["pilot"]
        try:
            t = resolve_twin(t) if resolve_twin else t
            p = resolve_pilot(p) if resolve_pilot else p
        except Exception as e:
            raise InputError(str(e), path=path, row=i) from None
        if t not in twins:
            raise InputError(f"unknown twin {t!r} in this cohort", path=path, row=i, field="twin")
        if p not in pilots:
            raise InputError(f"pilot activity {p!r} is not a candidate in this cohort", path=path, row=i, field="pilot")
        if action == "pin":
            pins.append((t, p))
        elif action in ("exclude", "exclusion"):
            excl.append((t, p))
        else:
            raise InputError(f"unknown action {action!r} (pin or exclude)", path=path, row=i, field="action")
    clash = set(pins) & set(excl)
    if clash:
        raise InputError(f"pair {sorted(clash)[0]} is both pinned and excluded", path=path)
    return Overrides(tuple(pins), tuple(excl))


def assign(scores: Iterable[PairScore], capacities: Mapping[str, int], *, cohort: int = 0,
           per_twin: int = 1, overload_penalty: float = 0.15,
           overrides: Overrides = Overrides(), twins: Iterable[str] | None = None) -> Assignment:
    """Optimal assignment of twins to pilots for the given pair scores; see the module doc."""
    scores = list(scores)
    by_pair = {(s.twin, s.pilot): s for s in scores}
    twin_ids = sorted(set(twins) if twins is not None else {s.twin for s in scores})
    result = _solve(by_pair, twin_ids, capacities, per_twin, overload_penalty, overrides)
    pin_costs = {}
    for pin in overrides.pins:
        rest = Overrides(tuple(p for p in overrides.pins if p != pin), overrides.exclusions)
        without = _solve(by_pair, twin_ids, capacities, per_twin, overload_penalty, rest)
        pin_costs[f"{pin[0]}->{pin[1]}"] = round(without[1] - result[1], 6)
    exclusion_costs = {}
    for ex in overrides.exclusions:
        rest = Overrides(overrides.pins, tuple(e for e in overrides.exclusions if e != ex))
        without = _solve(by_pair, twin_ids, capacities, per_twin, overload_penalty, rest)
        exclusion_costs[f"{ex[0]}-/->{ex[1]}"] = round(without[1] - result[1], 6)
    chosen, objective, unassigned = result
    pinned = set(overrides.pins)
    pairs = tuple(AssignedPair(t, p, by_pair[t, p].score, by_pair[t, p].twin_score,
                               by_pair[t, p].pilot_score, (t, p) in pinned)
                  for t, p in sorted(chosen))
    loads = {p: 0 for p in sorted(capacities)}
    for _, p in chosen:
        loads[p] += 1
    notes = ["optimal: the total two-sided score minus overload penalties is the largest "
             "any assignment within these capacities, pins and exclusions can reach"]
    if unassigned:
        notes.append(f"{len(unassigned)} twin(s) left without a pilot activity: capacity or "
                     "exclusions ran out")
    for key, cost in pin_costs.items():
        notes.append(f"pin {key} costs {cost:.3f} of the objective" if cost > 1e-9
                     else f"pin {key} costs nothing: the optimum keeps it anyway")
    for key, cost in exclusion_costs.items():
        notes.append(f"exclusion {key} costs {cost:.3f} of the objective" if cost > 1e-9
                     else f"exclusion {key} costs nothing: the optimum avoids that pair anyway")
    return Assignment(cohort=cohort, pairs=pairs, objective=round(objective, 6), optimal=True,
                      loads=loads, capacities=dict(sorted(capacities.items())),
                      unassigned=tuple(unassigned), pin_costs={**pin_costs, **exclusion_costs},
                      exclusions=tuple(overrides.exclusions), notes=tuple(notes))


def best_objective(scores: Iterable[PairScore], capacities: Mapping[str, int], *, per_twin: int = 1,
                   overload_penalty: float = 0.15, overrides: Overrides = Overrides(),
                   twins: Iterable[str] | None = None) -> float:
    """The optimal objective alone (what ``assign`` would reach), e.g. to measure what a
    different choice for one twin costs: pin it and compare."""
    scores = list(scores)
    by_pair = {(s.twin, s.pilot): s for s in scores}
    twin_ids = sorted(set(twins) if twins is not None else {s.twin for s in scores})
    return round(_solve(by_pair, twin_ids, capacities, per_twin, overload_penalty, overrides)[1], 6)


def _solve(by_pair, twin_ids, capacities, per_twin, penalty, overrides):
    G = nx.DiGraph()
    excluded = set(overrides.exclusions)
    pinned: dict[str, set[str]] = {}
    for t, p in overrides.pins:
        pinned.setdefault(t, set()).add(p)
    demand = per_twin * len(twin_ids)
    G.add_node("source", demand=-demand)
    G.add_node("sink", demand=demand)
    for t in twin_ids:
        G.add_edge("source", ("t", t), capacity=per_twin, weight=0)
        G.add_edge(("t", t), "unassigned", capacity=per_twin, weight=UNASSIGNED_COST)
    G.add_edge("unassigned", "sink", capacity=demand, weight=0)
    used_pilots = set()
    for (t, p), s in sorted(by_pair.items()):
        if t not in twin_ids or (t, p) in excluded or p not in capacities:
            continue
        if t in pinned and p not in pinned[t] and len(pinned[t]) >= per_twin:
            continue
        cost = -round(s.score * SCALE)
        if p in pinned.get(t, ()):
            cost -= UNASSIGNED_COST * 2   # a pin is kept whatever it costs
        G.add_edge(("t", t), ("p", p), capacity=1, weight=cost)
        used_pilots.add(p)
    for p in sorted(used_pilots):
        for j in range(capacities[p]):
            G.add_edge(("p", p), ("slot", p, j), capacity=1, weight=round(penalty * j * SCALE))
            G.add_edge(("slot", p, j), "sink", capacity=1, weight=0)
    flow = nx.min_cost_flow(G)
    chosen, unassigned = [], []
    objective = 0.0
    for t in twin_ids:
        for node, f in flow[("t", t)].items():
            if f > 0 and node != "unassigned":
                chosen.append((t, node[1]))
                objective += by_pair[t, node[1]].score
        if flow[("t", t)].get("unassigned", 0) > 0:
            unassigned.append(t)
    for p in used_pilots:
        load = sum(1 for _, q in chosen if q == p)
        objective -= penalty * load * (load - 1) / 2
    return chosen, objective, unassigned
