"""The facilitator pages' data: one builder per page, from a run result computed for the
requested cohort (``recommender/result.py``, cached per matcher, cohort, weights and pins) and
formatted with the row builders of ``recommender/tables.py``, the same that write the batch
files: a pair's topics, a twin's ranking and a cohort's assignment, loads and explanations give
the same CSV bytes here and in ``peerlearn run``'s ``out/``.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from kg.errors import InputError, NotFoundError
from kg.sparql_formats import PREFIXES
from recommender.assignment import Overrides, read_overrides
from recommender.profile_view import ProfileView, profile_view
from recommender.result import CohortResult, cohort_result, pair_result
from recommender.tables import (
    assignment_rows,
    columns,
    evidence_rows,
    explanation_rows,
    load_rows,
    plan_rows,
    r4,
    ranking_rows,
    topic_rows,
)
from recommender.types import DIRECTIONS, MODULES
from recommender.weights import WeightError, Weights
from recommender.words import DIRECTION_WORDS, MODULE_LABELS, SIGNAL_WORDS

MAX_PINS_BYTES = 200_000
CACHE_SIZE = 32


class WebError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PageRequest:
    path: str                       # the page's path without a .csv/.json suffix
    base: str                       # root path of the app ("" normally)
    params: dict[str, str]          # path parameters (suffix removed)
    query: list[tuple[str, str]]    # query (and POSTed form) items, "format" removed

    def get(self, name: str, default: str = "") -> str:
        for k, v in reversed(self.query):
            if k == name:
                return v
        return default

    def href(self, path: str, query: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> str:
        items = list(query.items()) if isinstance(query, Mapping) else list(query)
        qs = urlencode([(k, v) for k, v in items if v != ""])
        return self.base + path + (f"?{qs}" if qs else "")


@dataclass
class PageData:
    template: str
    title: str
    context: dict[str, Any]
    tables: dict[str, list[dict]]                 # name -> rows; the first is the CSV default
    facts: dict[str, Any] = field(default_factory=dict)   # JSON extras
    name: str = "page"                            # file-name stem for downloads
    keep: tuple[str, ...] = ()                    # query parameters the data links keep
    path: str = ""                                # canonical path (ids, not names) for data links


class ResultCache:
    """The last ``size`` cohort results, per matcher, cohort, weights and pins, and profiles
    (``profile``) per matcher and twin or pilot activity (thread-safe)."""

    def __init__(self, size: int = CACHE_SIZE, *, store_path=None):
        self.size = size
        self.store_path = store_path        # the on-disk store profiles read evidence and facts from
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def profile(self, matcher, kind: str, item) -> ProfileView | None:
        """The profile of a twin or pilot activity (``recommender.profile_view``) from the
        matcher's catalog and the store (opened read-only for it); None without a store."""
        if self.store_path is None:
            return None
        key = ("profile", id(matcher), kind, item.id)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is matcher:
                self._items.move_to_end(key)
                return hit[1]
        from kg.store import open_store

        store = open_store("oxigraph", path=self.store_path, read_only=True)
        try:
            view = profile_view(store, matcher.catalog, kind, item)
        finally:
            store.close()
        with self._lock:
            self._items[key] = (matcher, view)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return view

    def cohort(self, matcher, cohort: int, overrides: Overrides = Overrides(), weights=None) -> CohortResult:
        key = (id(matcher), cohort, overrides, tuple(sorted(weights.items())) if weights else None)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is matcher:
                self._items.move_to_end(key)
                return hit[1]
        result = cohort_result(matcher, cohort, overrides=overrides, weights=weights)
        with self._lock:
            self._items[key] = (matcher, result)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return result


# ============================================================== shared helpers

def _seg(v: str) -> str:
    return quote(str(v), safe="")


def _strongest(s) -> list[dict]:
    return [{"direction": DIRECTION_WORDS.get(d, d), "signal": k, "words": SIGNAL_WORDS.get(k, k), "value": v}
            for d, k, v in s.strongest(3)]


def _cohort_number(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise NotFoundError(f"no cohort {raw!r}: cohorts are numbered") from None


def _short_iri(iri: str) -> str:
    """``data:ccc/westford/passage/3`` for an IRI under a known prefix (``kg.sparql_formats.PREFIXES``)."""
    for p, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{p}:{iri[len(ns):]}"
    return iri


def _profile(view: ProfileView | None, base: str) -> tuple[dict | None, dict[str, list[dict]]]:
    """The profile section's HTML rows (each evidence IRI short, with a link that asks this
    server's SPARQL endpoint what the graph says of it) and its two tables."""
    if view is None:
        return None, {}
    links = [{**r, "concept_short": _short_iri(x.concept_iri), "evidence_short": _short_iri(x.evidence_iri) if x.evidence_iri else "",
              "evidence_href": (base + "/sparql?query=" + quote(f"SELECT ?property ?value WHERE {{ <{x.evidence_iri}> ?property ?value }}",
                                                        safe=""))
              if x.evidence_iri else ""}
             for r, x in zip(view.link_rows(), view.links, strict=True)]
    sources = sorted({x.source for x in view.links})
    ctx = {"links": links, "facts": view.fact_rows(), "sources": sources}
    return ctx, {"profile_links": view.link_rows(), "profile_facts": view.fact_rows()}


# ============================================================== pages

def _index(matcher, req: PageRequest, cache: ResultCache) -> PageData:
    cat = matcher.catalog
    cohorts = sorted({t.cohort for t in cat.twins.values()} | {p.cohort for p in cat.pilots.values()})
    twins_rows, pilot_rows, groups = [], [], []
    for c in cohorts:
        twins = sorted((t for t in cat.twins.values() if t.cohort == c), key=lambda t: (cat.twin_name(t.id), t.id))
        pilots = sorted((p for p in cat.pilots.values() if p.cohort == c), key=lambda p: p.id)
        trows = [{"cohort": c, "twin_id": t.id, "twin": cat.twin_name(t.id),
                  "country": cat.cities[t.city].country if t.city in cat.cities else "",
                  "candidates": len(matcher.candidates(t))} for t in twins]
        prows = [{"cohort": c, "pilot_id": p.id, "pilot": cat.pilot_name(p.id), "title": p.title,
                  "cities": "; ".join(cat.city_name(x) for x in p.cities),
                  "capacity": p.capacity if p.capacity is not None else matcher.capacity} for p in pilots]
        twins_rows += trows
        pilot_rows += prows
        groups.append({"cohort": c, "twins": trows, "pilots": prows})
    return PageData("index.html.j2", "Facilitator: cohorts, twins and pilot activities",
                    {"groups": groups}, {"twins": twins_rows, "pilots": pilot_rows},
                    {"cohorts": cohorts}, name="facilitator", path="/facilitator")


def _ranking_view(cat, ranking) -> list[dict]:
    """Ranking rows (``tables.ranking_rows``) with what the HTML shows besides."""
    return [{**r, "_s": s, "strongest": _strongest(s),
             "evidence_list": [(DIRECTION_WORDS.get(e.direction, e.direction), e.words) for e in s.evidence]}
            for r, s in zip(ranking_rows(cat, ranking), ranking, strict=True)]


def _public(rows: list[dict], table: str) -> list[dict]:
    """The rows with only the table's columns (the HTML's extra keys left out)."""
    return [{k: r[k] for k in columns(table)} for r in rows]


def _twin(matcher, req: PageRequest, cache: ResultCache) -> PageData:
    cat = matcher.catalog
    twin = cat.find_twin(req.params["twin"])
    c = cache.cohort(matcher, twin.cohort)
    ranking = _ranking_view(cat, c.ranking(twin.id))
    city = cat.cities.get(twin.city)
    why = [{**r, "_e": e} for r, e in zip(explanation_rows(cat, c), c.explanations, strict=True) if e.twin == twin.id]
    profile, profile_tables = _profile(cache.profile(matcher, "twin", twin), req.base)
    ctx = {"twin": twin, "name": cat.twin_name(twin.id), "city": city, "ranking": ranking, "why": why,
           "profile": profile}
    facts = {"twin_id": twin.id, "twin": cat.twin_name(twin.id), "cohort": twin.cohort,
             "weights": dict(matcher.weights), "explanations": _public(why, "explanations")}
    return PageData("twin.html.j2", f"{cat.twin_name(twin.id)}: ranked pilot activities", ctx,
                    {"ranking": _public(ranking, "ranking"), **profile_tables}, facts, name=f"twin-{twin.id}",
                    path=f"/facilitator/twin/{_seg(twin.id)}")


def _pilot(matcher, req: PageRequest, cache: ResultCache) -> PageData:
    cat = matcher.catalog
    pilot = cat.find_pilot(req.params["pilot"])
    pname = cat.pilot_name(pilot.id)
    c = cache.cohort(matcher, pilot.cohort)
    assigned = [r for r in assignment_rows(cat, c) if r["pilot_id"] == pilot.id]
    cities = [cat.cities[x] for x in pilot.cities if x in cat.cities]
    profile, profile_tables = _profile(cache.profile(matcher, "pilot", pilot), req.base)
    ctx = {"pilot": pilot, "pname": pname, "cities": cities, "assigned": assigned, "profile": profile,
           "capacity": pilot.capacity if pilot.capacity is not None else matcher.capacity}
    facts = {"pilot_id": pilot.id, "pilot": pname, "title": pilot.title, "cohort": pilot.cohort,
             "cities": [x.id for x in cities], "assigned_twins": [r["twin_id"] for r in assigned]}
    return PageData("pilot.html.j2", f"{pname}: pilot activity", ctx, profile_tables, facts,
                    name=f"pilot-{pilot.id}", path=f"/facilitator/pilot/{_seg(pilot.id)}")


def _pair(matcher, req: PageRequest, cache: ResultCache) -> PageData:
    cat = matcher.catalog
    pilot = cat.find_pilot(req.params["pilot"])
    twin = cat.find_twin(req.params["twin"])
    c = cache.cohort(matcher, twin.cohort)
    pr = c.pair(twin.id, pilot.id)
    if pr is None:          # not assigned: its score from the twin's ranking, else score it now
        s = next((x for x in c.ranking(twin.id) if x.pilot == pilot.id), None)
        pr = pair_result(matcher, s if s is not None else matcher.score([(twin.id, pilot.id)])[0])
    s = pr.score
    topics = list(pr.topics)
    candidate = pilot.id in matcher.candidates(twin)
    tname, pname = cat.twin_name(twin.id), cat.pilot_name(pilot.id)
    groups = []
    for module in MODULES:
        dirs = [{"direction": d, "words": DIRECTION_WORDS[d],
                 "topics": [t for t in topics if t.module == module and t.direction == d]}
                for d in DIRECTIONS]
        groups.append({"module": module, "label": MODULE_LABELS[module], "directions": dirs,
                       "count": sum(len(d["topics"]) for d in dirs)})
    e = c.explanation(twin.id, pilot.id)
    why = e.words(cat.twin_name, cat.pilot_name) if e else ""
    evidence = evidence_rows(s)
    plan = plan_rows(pr)
    ctx = {"twin": twin, "pilot": pilot, "tname": tname, "pname": pname, "s": s, "groups": groups,
           "topics": topics, "evidence": evidence, "plan": plan, "candidate": candidate,
           "strongest": _strongest(s), "cities": [cat.city_name(x) for x in pilot.cities], "why": why,
           "assigned": e is not None}
    facts = {"twin_id": twin.id, "twin": tname, "pilot_id": pilot.id, "pilot": pname, "cohort": twin.cohort,
             "candidate": candidate, "assigned": e is not None, "why": why, "score": r4(s.score),
             "twin_score": r4(s.twin_score), "pilot_score": r4(s.pilot_score),
             "twin_parts": {k: r4(v) for k, v in s.twin_parts.items()},
             "pilot_parts": {k: r4(v) for k, v in s.pilot_parts.items()}}
    return PageData("pair.html.j2", f"{tname} and {pname}: learning topics", ctx,
                    {"topics": topic_rows(pr), "evidence": evidence, "plan": plan}, facts,
                    name=f"pair-{pilot.id}-{twin.id}", path=f"/facilitator/pair/{_seg(pilot.id)}/{_seg(twin.id)}")


def parse_pins(text: str, matcher, cohort: int) -> Overrides:
    """Pins and exclusions from ``action,twin,pilot`` lines (the header may be left out), read
    exactly as ``read_overrides`` reads a facilitator file."""
    if not text.strip():
        return Overrides()
    if len(text.encode("utf-8")) > MAX_PINS_BYTES:
        raise WebError(413, f"pins over {MAX_PINS_BYTES} bytes")
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    first = [c.strip().lower() for c in lines[0].split(",")]
    shift = 0
    if "action" not in first:
        lines.insert(0, "action,twin,pilot")
        shift = 1
    cat = matcher.catalog
    twins = [t.id for t in matcher.cohort_twins(cohort)]
    pilots = list(matcher.capacities(cohort))
    fd, tmp = tempfile.mkstemp(prefix="peerlearn-pins-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return read_overrides(tmp, twins, pilots, resolve_twin=lambda n: cat.find_twin(n, cohort=cohort).id,
                              resolve_pilot=lambda n: cat.find_pilot(n).id)
    except InputError as e:
        where = ", ".join(x for x in ("pins", f"line {e.row - shift}" if e.row else "",
                                      f"field {e.field}" if e.field else "") if x)
        raise WebError(400, f"{where}: {e.message}") from None
    finally:
        os.unlink(tmp)


def _cohort(matcher, req: PageRequest, cache: ResultCache) -> PageData:
    cat = matcher.catalog
    cohort = _cohort_number(req.params["n"])
    twins = matcher.cohort_twins(cohort)
    pins_text = req.get("pins")
    overrides = parse_pins(pins_text, matcher, cohort)
    c = cache.cohort(matcher, cohort, overrides)
    a = c.assignment
    assignment = [{**r, "_p": p} for r, p in zip(assignment_rows(cat, c), a.pairs, strict=True)]
    loads = load_rows(cat, a)
    why = explanation_rows(cat, c)
    over = [{"action": "pin", "twin_id": t, "twin": cat.twin_name(t), "pilot_id": p, "pilot": cat.pilot_name(p),
             "cost": r4(a.pin_costs.get(f"{t}->{p}", 0.0))} for t, p in overrides.pins]
    over += [{"action": "exclude", "twin_id": t, "twin": cat.twin_name(t), "pilot_id": p, "pilot": cat.pilot_name(p),
              "cost": r4(a.pin_costs[f"{t}-/->{p}"]) if f"{t}-/->{p}" in a.pin_costs else ""}
             for t, p in overrides.exclusions]
    load_view = [{**r, "slots": [("over" if i >= r["capacity"] else "full") if i < r["load"] else "free"
                                 for i in range(max(r["load"], r["capacity"]))]} for r in loads]
    ctx = {"a": a, "cohort": cohort, "assignment": assignment, "loads": load_view, "overrides": over,
           "pins_text": pins_text, "n_twins": len(twins), "why": [r for r in why if r["rank"] != 1 or r["weak"]],
           "weak_threshold": matcher.weak_threshold,
           "unassigned": [(t, cat.twin_name(t)) for t in a.unassigned],
           "example": "\n".join(f"pin,{p['twin_id']},{p['pilot_id']}" for p in assignment[:1])}
    facts = {"cohort": cohort, "objective": a.objective, "optimal": a.optimal, "notes": list(a.notes),
             "unassigned": list(a.unassigned), "pin_costs": {k: r4(v) for k, v in a.pin_costs.items()},
             "weak_threshold": matcher.weak_threshold}
    return PageData("cohort.html.j2", f"Cohort {cohort}: assignment", ctx,
                    {"assignment": _public(assignment, "assignment"), "loads": loads, "explanations": why, "overrides": over},
                    facts, name=f"cohort-{cohort}", keep=("pins",), path=f"/facilitator/cohort/{cohort}")


def parse_weights(query: Sequence[tuple[str, str]], defaults: Mapping[str, float]) -> Weights:
    """Signal weights from query items (missing or empty: the default); 400 on a bad one."""
    # an unknown name is refused even with an empty value
    changes = {k: raw for k, raw in query
               if k not in ("twin", "table", "format") and (raw.strip() or k not in defaults)}
    try:
        return Weights(defaults).with_values(changes)
    except WeightError as e:
        raise WebError(400, str(e)) from None


def _whatif(matcher, req: PageRequest, cache: ResultCache) -> PageData:
    cat = matcher.catalog
    weights = parse_weights(req.query, matcher.weights)
    name = req.get("twin").strip()
    twin = cat.find_twin(name) if name else None
    rows, default_rows = [], []
    if twin is not None:
        default_rows = _ranking_view(cat, cache.cohort(matcher, twin.cohort).ranking(twin.id))
        before = {r["pilot_id"]: r for r in default_rows}
        changed = dict(weights) != dict(matcher.weights)
        ranking = matcher.rank_pilots(twin.id, weights=weights) if changed else [r["_s"] for r in default_rows]
        for r in _ranking_view(cat, ranking):
            d = before[r["pilot_id"]]
            rows.append({"pilot_id": r["pilot_id"], "pilot": r["pilot"], "default_rank": d["rank"],
                         "default_score": d["score"], "rank": r["rank"], "score": r["score"],
                         "twin_score": r["twin_score"], "pilot_score": r["pilot_score"],
                         "rank_change": d["rank"] - r["rank"], "_s": r["_s"], "_d": d["_s"]})
    order = {k: i for i, k in enumerate(SIGNAL_WORDS)}
    inputs = [{"key": k, "words": SIGNAL_WORDS.get(k, k), "default": v, "value": weights[k],
               "changed": abs(weights[k] - v) > 1e-12}
              for k, v in sorted(matcher.weights.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))]
    twins = sorted(cat.twins.values(), key=lambda t: (t.cohort, cat.twin_name(t.id), t.id))
    options = [{"id": t.id, "label": f"{cat.twin_name(t.id)} ({t.id}, cohort {t.cohort})"} for t in twins]
    ctx = {"twin": twin, "tname": cat.twin_name(twin.id) if twin else "", "inputs": inputs, "options": options,
           "rows": rows, "default_rows": default_rows,
           "changed": any(i["changed"] for i in inputs)}
    facts = {"twin_id": twin.id if twin else None, "twin": ctx["tname"] or None, "weights": dict(weights),
             "default_weights": dict(matcher.weights)}
    title = f"What-if weights for {ctx['tname']}" if twin else "What-if weights"
    return PageData("whatif.html.j2", title, ctx, {"whatif": _public(rows, "whatif")}, facts,
                    name=f"whatif-{twin.id}" if twin else "whatif", keep=("twin", *matcher.weights),
                    path="/facilitator/whatif")
