"""Self-contained HTML reports of a run: one page per cohort, per twin and per pilot activity.

Every page opens from disk with no network: CSS is inline, charts are SVG drawn here in
Python, there is no JavaScript. Same inputs give byte-identical pages (no timestamps, sorted
iteration). Pages format a ``RunResult`` (``recommender/result.py``): nothing is scored here.
``render_reports`` returns relative file name -> content:

- ``cohort-N.html``: the assignment with both directional scores, pilot loads against capacity,
  why each twin not at its first choice (or in a weak pair) got what it got, a coverage
  heatmap of emission domains and barriers, the signals behind each score, a network picture
  and the solver's notes;
- ``twins/<twin id>.html``: ranked pilot activities with evidence in words, why it got its
  pilot activity, learning topics by
  module and direction, the Replication Plan outline and a 20-month learning journey made from its topics;
- ``pairs/<twin id>--<pilot id>.html``: the A4 pair brief of each assigned pair;
- ``pilots/<pilot id>.html``: the twins a pilot activity receives and what it can learn from each.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from recommender.journey import FORMAT_SHAPES, MODULE_MONTHS, PROGRAMME_MONTHS, learning_journey  # noqa: F401
from recommender.reports.brief import brief_context
from recommender.tables import cohort_tables
from recommender.types import MODULES, PILOT_FROM_TWIN, TWIN_FROM_PILOT, LearningTopic
from recommender.words import DIRECTION_WORDS, MODULE_LABELS, SIGNAL_WORDS, STATUS_WORDS

TEMPLATES = Path(__file__).parent / "templates"
MODULE_COLOURS = {"getting-started": "#e3f0fb", "co-creating": "#e6f4ea", "capitalising": "#fdf1dc"}



def render_reports(result) -> dict[str, str | bytes]:
    """Relative file name -> HTML for every cohort, twin and pilot page of ``result`` (a
    ``RunResult``); a cohort with an evaluation gets its match-quality table."""
    env = _environment()
    cat = result.catalog
    files: dict[str, str | bytes] = {}
    pilot_ids: set[str] = set()
    received: dict[str, list[tuple[int, object]]] = defaultdict(list)
    for c in result.cohorts:
        pilot_ids |= set(c.assignment.capacities) | {p.pilot for p in c.assignment.pairs}
        for p in c.assignment.pairs:
            received[p.pilot].append((c.cohort, p))
    pages = {"pilots": pilot_ids, "twins": {t for c in result.cohorts for t in c.twins()}}
    for c in result.cohorts:
        ctx = _cohort_context(result, c, pages)
        ctx["evaluation"] = c.evaluation
        files[f"cohort-{c.cohort}.html"] = env.get_template("cohort.html.j2").render(**ctx)
        for twin in c.twins():
            ctx = _twin_context(result, c, cat.twins[twin], pages)
            files[f"twins/{slug(twin)}.html"] = env.get_template("twin.html.j2").render(**ctx)
        for p in sorted(c.assignment.pairs, key=lambda p: (p.twin, p.pilot)):   # one A4 brief per assigned pair
            files[brief_name(p.twin, p.pilot)] = env.get_template("brief.html.j2").render(
                **brief_context(cat, c.cohort, c.pair(p.twin, p.pilot)), root="../",
                twin_slug=slug(p.twin), pilot_slug=slug(p.pilot))
    for pid in sorted(pilot_ids):
        if pid not in cat.pilots:
            continue
        ctx = _pilot_context(result, pid, received.get(pid, []), pages)
        files[f"pilots/{slug(pid)}.html"] = env.get_template("pilot.html.j2").render(**ctx)
    return files


def brief_name(twin: str, pilot: str) -> str:
    """The file of a pair's A4 brief: ``pairs/T1-belfast--C1-12.html``."""
    return f"pairs/{slug(twin)}--{slug(pilot)}.html"


def slug(item_id: str) -> str:
    """A file-name-safe form of an id: ``slug("T1-westford") == "T1-westford"``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", item_id) or "_"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(
        enabled_extensions=("html", "j2", "html.j2"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["f2"] = lambda v: f"{v:.2f}"
    env.globals.update(MODULE_LABELS=MODULE_LABELS, DIRECTION_WORDS=DIRECTION_WORDS, brief_name=brief_name)
    return env


# ------------------------------------------------------------------------------- helpers

def _label(cat, iri: str) -> str:
    return cat.concepts[iri].label if iri in cat.concepts else iri.rsplit("/", 1)[-1]


def _links(cat, links) -> list[dict]:
    return [{"label": _label(cat, lk.concept), "status": STATUS_WORDS.get(lk.status, lk.status)}
            for lk in sorted(links, key=lambda lk: (_label(cat, lk.concept), lk.concept))]


def _signals(parts: dict[str, float]) -> list[tuple[str, float]]:
    order = {k: i for i, k in enumerate(SIGNAL_WORDS)}
    return [(SIGNAL_WORDS.get(k, k), v) for k, v in sorted(parts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))]


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _topic_groups(topics: list[LearningTopic]) -> list[dict]:
    """Topics by module, then by direction (pilot → twin first)."""
    out = []
    for module in MODULES:
        dirs = []
        for direction in (TWIN_FROM_PILOT, PILOT_FROM_TWIN):
            items = [t for t in topics if t.module == module and t.direction == direction]
            dirs.append({"direction": direction, "words": DIRECTION_WORDS[direction], "topics": items})
        out.append({"module": module, "label": MODULE_LABELS[module], "directions": dirs,
                    "count": sum(len(d["topics"]) for d in dirs)})
    return out


# ------------------------------------------------------------------------------- cohort page

def _cohort_context(result, c, pages) -> dict:
    cat = result.catalog
    a = c.assignment
    tables = cohort_tables(result, c)
    rows = sorted(tables["assignment"], key=lambda r: (r["twin_id"], r["pilot_id"]))
    scores = {(p.twin, p.pilot): p.score for p in c.pairs}
    columns = [x for scheme in ("domain", "barrier") for x in cat.concepts_in(scheme)]
    heat_rows, signal_charts = [], []
    for r in rows:
        twin, pilot = cat.twins[r["twin_id"]], cat.pilots[r["pilot_id"]]
        t_links = {lk.concept for lk in twin.domains + twin.experience + twin.barriers}
        p_links = {lk.concept for lk in pilot.domains + pilot.barriers}
        cells = []
        for x in columns:
            state = ("both" if x.iri in t_links and x.iri in p_links else "pilot" if x.iri in p_links
                     else "twin" if x.iri in t_links else "none")
            cells.append({"state": state, "label": x.label})
        heat_rows.append({**r, "cells": cells, "covered": sum(1 for x in cells if x["state"] == "both")})
        s = scores[(r["twin_id"], r["pilot_id"])]
        signal_charts.append({**r, "svg": signal_svg(_signals(s.twin_parts), _signals(s.pilot_parts)),
                              "strongest": [(DIRECTION_WORDS.get(d, d), SIGNAL_WORDS.get(k, k), v)
                                            for d, k, v in s.strongest(3)]})
    loads = [{**r, "svg": load_svg(r["load"], r["capacity"])}
             for r in sorted(tables["loads"], key=lambda r: r["pilot_id"])]
    twins = c.twins()
    net = network_svg([(p, cat.pilot_name(p)) for p in sorted(a.capacities)],
                      [(t, cat.twin_name(t)) for t in twins],
                      [(r["pilot_id"], r["twin_id"], r["score"]) for r in rows])
    pin_costs = [(k, v) for k, v in sorted(a.pin_costs.items())]
    unassigned = [{"id": t, "name": cat.twin_name(t) if t in cat.twins else t} for t in sorted(a.unassigned)]
    why = sorted((r for r in tables["explanations"] if r["rank"] != 1 or r["weak"]), key=lambda r: r["twin_id"])
    return {"title": f"Cohort {a.cohort}: peer-learning assignment", "root": "", "a": a, "rows": rows,
            "loads": loads, "columns": columns, "heat_rows": heat_rows, "signal_charts": signal_charts,
            "network": net, "pin_costs": pin_costs, "unassigned": unassigned, "pages": pages,
            "twins": [{"id": t, "name": cat.twin_name(t)} for t in twins], "slug": slug, "why": why,
            "weak_threshold": result.weak_threshold,
            "pilots": [{"id": p, "name": cat.pilot_name(p)} for p in sorted(a.capacities)]}


# ------------------------------------------------------------------------------- twin page

@dataclass(frozen=True)
class _Pairing:
    pilot: str
    name: str
    assigned: bool
    scores: tuple[float, float, float]
    groups: list
    topics: list
    plan: object
    journey: list
    timeline: Markup
    why: str


def _twin_context(result, c, twin, pages) -> dict:
    cat = result.catalog
    a = c.assignment
    city = cat.cities.get(twin.city)
    profile = [("Domains it wants to work on", _links(cat, twin.domains)),
               ("Levers it wants to use", _links(cat, twin.levers)),
               ("Barriers it faces", _links(cat, twin.barriers)),
               ("Domains it brings experience in", _links(cat, twin.experience))]
    has_data = bool(twin.interests or twin.narrative or any(v for _, v in profile))
    ranked = c.ranking(twin.id)[: result.shortlist]
    assigned_ids = {p.pilot for p in a.pairs if p.twin == twin.id}
    ranking = [{"rank": i, "id": s.pilot, "name": cat.pilot_name(s.pilot), "score": s.score,
                "twin_score": s.twin_score, "pilot_score": s.pilot_score, "assigned": s.pilot in assigned_ids,
                "title": cat.pilots[s.pilot].title,
                "strongest": [(DIRECTION_WORDS.get(d, d), SIGNAL_WORDS.get(k, k), v) for d, k, v in s.strongest(3)],
                "evidence": [(DIRECTION_WORDS.get(e.direction, e.direction), e.words) for e in s.evidence]}
               for i, s in enumerate(ranked, start=1)]
    pairings = []
    for pr in sorted((p for p in c.pairs if p.twin == twin.id), key=lambda p: p.pilot):
        s = pr.score
        e = c.explanation(twin.id, pr.pilot)
        topics = list(pr.topics)
        journey = learning_journey(topics)
        pairings.append(_Pairing(pr.pilot, cat.pilot_name(pr.pilot), pr.pilot in assigned_ids,
                                 (s.score, s.twin_score, s.pilot_score), _topic_groups(topics), topics,
                                 pr.plan, journey, journey_svg(journey),
                                 e.words(cat.twin_name, cat.pilot_name) if e else ""))
    return {"title": f"{cat.twin_name(twin.id)}: peer-learning report", "root": "../", "twin": twin,
            "name": cat.twin_name(twin.id), "city": city, "profile": profile, "has_data": has_data,
            "ranking": ranking, "pairings": pairings, "cohort": a.cohort, "pages": pages, "slug": slug,
            "unassigned": twin.id in a.unassigned}


# ------------------------------------------------------------------------------- pilot page

def _pilot_context(result, pid: str, received, pages) -> dict:
    cat = result.catalog
    pilot = cat.pilots[pid]
    twins = []
    for cohort, p in sorted(received, key=lambda cp: (cp[0], cp[1].twin)):
        pair = result.cohort(cohort).pair(p.twin, pid)
        topics = [t for t in pair.topics if t.direction == PILOT_FROM_TWIN]
        twins.append({"id": p.twin, "name": cat.twin_name(p.twin), "cohort": cohort, "score": p.score,
                      "twin_score": p.twin_score, "pilot_score": p.pilot_score, "pinned": p.pinned,
                      "topics": topics})
    caps = [(c.cohort, c.assignment.loads.get(pid, 0), c.assignment.capacities[pid])
            for c in result.cohorts if pid in c.assignment.capacities]
    profile = [("Domains", _links(cat, pilot.domains)), ("Levers", _links(cat, pilot.levers)),
               ("Barriers it addresses", _links(cat, pilot.barriers)), ("Solutions", _links(cat, pilot.solutions))]
    candidates = [{"id": s.twin, "name": cat.twin_name(s.twin), "score": s.score,
                   "pilot_score": s.pilot_score, "assigned": any(s.twin == t["id"] for t in twins)}
                  for s in result.pilot_candidates(pid)[: result.shortlist]]
    return {"title": f"{cat.pilot_name(pid)}: pilot activity report", "root": "../", "pilot": pilot,
            "name": cat.pilot_name(pid), "cities": [cat.city_name(c) for c in sorted(pilot.cities)],
            "lead": cat.city_name(pilot.lead_city) if pilot.lead_city else "", "twins": twins,
            "caps": caps, "profile": profile, "candidates": candidates, "pages": pages, "slug": slug,
            "has_data": bool(pilot.summary or pilot.narrative or any(v for _, v in profile))}


# ------------------------------------------------------------------------------- SVG charts

def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart">')
    return Markup(head + f"<title>{escape(label)}</title>" + "".join(body) + "</svg>")


def load_svg(load: int, capacity: int) -> Markup:
    """One box per place: filled for each twin received, red when over capacity."""
    slots = max(load, capacity, 1)
    w, body = 18, []
    for i in range(slots):
        over = i >= capacity
        fill = "#c0392b" if over and i < load else "#2a7ab0" if i < load else "#ffffff"
        stroke = "#c0392b" if over else "#2a7ab0"
        body.append(f'<rect x="{1 + i * (w + 4)}" y="1" width="{w}" height="{w}" rx="3" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>')
    return _svg(slots * (w + 4) + 2, w + 2, body, f"{load} of {capacity} places taken")


def signal_svg(twin_parts: list[tuple[str, float]], pilot_parts: list[tuple[str, float]]) -> Markup:
    """Horizontal bars of each signal, twin side and pilot side, values in [0, 1]."""
    label_w, bar_w, row_h = 230, 150, 18
    names = list(dict.fromkeys([n for n, _ in twin_parts] + [n for n, _ in pilot_parts]))
    tp, pp = dict(twin_parts), dict(pilot_parts)
    height = 22 + row_h * max(len(names), 1)
    body = [f'<text x="{label_w}" y="13" class="h">twin learns</text>',
            f'<text x="{label_w + bar_w + 40}" y="13" class="h">pilot learns</text>']
    if not names:
        body.append('<text x="0" y="36" class="muted">no signals</text>')
    for i, n in enumerate(names):
        y = 22 + i * row_h
        body.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{escape(_short(n, 34))}</text>')
        for j, parts in enumerate((tp, pp)):
            x = label_w + j * (bar_w + 40)
            body.append(f'<rect x="{x}" y="{y + 3}" width="{bar_w}" height="11" fill="#eef1f4"/>')
            if n in parts:
                v = max(0.0, min(1.0, parts[n]))
                colour = "#2a7ab0" if j == 0 else "#2e8b57"
                body.append(f'<rect x="{x}" y="{y + 3}" width="{v * bar_w:.1f}" height="11" fill="{colour}"/>'
                            f'<text x="{x + bar_w + 4}" y="{y + 12}">{v:.2f}</text>')
            else:
                body.append(f'<text x="{x + 4}" y="{y + 12}" class="muted">n/a</text>')
    return _svg(label_w + 2 * bar_w + 80, height, body, "signals behind the two scores")


def network_svg(pilots: list[tuple[str, str]], twins: list[tuple[str, str]],
                edges: list[tuple[str, str, float]]) -> Markup:
    """Pilots on the left, twins on the right, one line per assignment, width ~ score."""
    row_h, width, lx, rx = 30, 760, 250, 510
    height = 20 + row_h * max(len(pilots), len(twins), 1)

    def ys(items):
        top = 20 + (height - 20 - row_h * len(items)) / 2
        return {k: top + row_h * i + row_h / 2 for i, (k, _) in enumerate(items)}

    py, ty = ys(pilots), ys(twins)
    linked = {t for _, t, _ in edges} | {p for p, _, _ in edges}
    body = [f'<text x="{lx}" y="13" text-anchor="end" class="h">pilot activities</text>',
            f'<text x="{rx}" y="13" class="h">twins</text>']
    for p, t, s in sorted(edges):
        if p in py and t in ty:
            body.append(f'<line x1="{lx + 8}" y1="{py[p]:.1f}" x2="{rx - 8}" y2="{ty[t]:.1f}" '
                        f'stroke="#2a7ab0" stroke-opacity="0.75" stroke-width="{1 + 9 * max(s, 0):.1f}">'
                        f'<title>{escape(p)} – {escape(t)}: {s:.2f}</title></line>')
    for k, name in pilots:
        fill = "#2a7ab0" if k in linked else "#b8c2cc"
        body.append(f'<circle cx="{lx + 8}" cy="{py[k]:.1f}" r="6" fill="{fill}"/>'
                    f'<text x="{lx - 4}" y="{py[k] + 4:.1f}" text-anchor="end">'
                    f'<title>{escape(name)}</title>{escape(_short(f"{k} {name}", 36))}</text>')
    for k, name in twins:
        fill = "#2e8b57" if k in linked else "#b8c2cc"
        body.append(f'<circle cx="{rx - 8}" cy="{ty[k]:.1f}" r="6" fill="{fill}"/>'
                    f'<text x="{rx + 4}" y="{ty[k] + 4:.1f}"><title>{escape(name)}</title>'
                    f'{escape(_short(name, 36))}</text>')
    return _svg(width, int(height), body, "network of assignments: pilots left, twins right")


def journey_svg(sessions: list[dict]) -> Markup:
    """The programme's timeline with the three modules as bands and one mark per session."""
    left, mw, top = 10, 40, 24
    width = left * 2 + mw * PROGRAMME_MONTHS
    body = []
    for module, (a, b) in MODULE_MONTHS.items():
        x = left + (a - 1) * mw
        body.append(f'<rect x="{x}" y="{top}" width="{(b - a + 1) * mw}" height="44" '
                    f'fill="{MODULE_COLOURS[module]}"/>'
                    f'<text x="{x + 4}" y="{top - 8}" class="h">{escape(MODULE_LABELS[module])}</text>')
    for m in range(1, PROGRAMME_MONTHS + 1):
        x = left + (m - 1) * mw + mw / 2
        body.append(f'<text x="{x:.0f}" y="{top + 62}" text-anchor="middle" class="muted">{m}</text>')
    for s in sessions:
        cx, cy = left + (s["month"] - 1) * mw + mw / 2, top + 22
        shape = s["shape"]
        style = 'fill="#1f5f8b"' if s["topics"] else 'fill="#ffffff" stroke="#1f5f8b" stroke-width="2"'
        if shape == "circle":
            mark = f'<circle cx="{cx:.0f}" cy="{cy}" r="9" {style}/>'
        elif shape == "square":
            mark = f'<rect x="{cx - 9:.0f}" y="{cy - 9}" width="18" height="18" {style}/>'
        elif shape == "triangle":
            mark = f'<polygon points="{cx:.0f},{cy - 11} {cx + 11:.0f},{cy + 9} {cx - 11:.0f},{cy + 9}" {style}/>'
        else:
            mark = f'<polygon points="{cx:.0f},{cy - 11} {cx + 11:.0f},{cy} {cx:.0f},{cy + 11} {cx - 11:.0f},{cy}" {style}/>'
        body.append(f'<g><title>month {s["month"]}: {escape(s["format"])}, {escape(s["title"])}</title>{mark}</g>')
    return _svg(width, top + 70, body, f"learning journey over {PROGRAMME_MONTHS} months")
