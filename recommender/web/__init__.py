"""Facilitator pages on the same app as the SPARQL endpoint (``peerlearn serve``).

Plain server-rendered HTML (no JavaScript, no outside requests: a Content-Security-Policy
allows this server only), every page also as CSV and JSON:

- ``/facilitator``: the cohorts, their twins and pilot activities, with links;
- ``/facilitator/twin/{twin}``: a twin's ranked pilot activities with both directional scores
  (twin learns / pilot learns), the combined score, the strongest signals and the evidence in words;
- ``/facilitator/pair/{pilot}/{twin}``: learning topics by module and direction with their
  discussion questions and evidence, the pair's evidence paths and the Replication Plan outline;
- ``/facilitator/cohort/{n}``: the optimal assignment with both scores, pilot loads against
  capacity, the solver's notes; pins and exclusions as ``action,twin,pilot`` CSV lines
  (``read_overrides`` semantics; header optional) in the ``pins`` query parameter, a POSTed
  form field or an uploaded file (``file``), each with what it costs the objective;
- ``/facilitator/whatif``: one number per signal weight (defaults: the configured weights) and a
  twin; a GET with ``?twin=...&barrier_fit=...`` re-ranks and shows the ranking next to the
  default one, with rank changes.

Twins and pilot activities are named by id or name (``Catalog.find_twin`` / ``find_pilot``): an
unknown or ambiguous name answers 404 with the one-line message (close matches). Bad weights or
pins answer 400. Data: ``?format=csv`` or ``?format=json`` (or a ``.csv`` / ``.json`` suffix on
the path, e.g. ``/facilitator/twin/T1-westford.csv``). JSON holds the page's every table and
its facts; CSV holds one table, the page's main one unless ``?table=`` names another. Scores
are rounded to 4 decimals in CSV and JSON, shown with 3 in HTML. Columns (also listed on each
page under "Data"):

- ``twins`` (index): cohort, twin_id, twin, country, candidates (how many pilot activities it may join)
- ``pilots`` (index): cohort, pilot_id, pilot, title, cities, capacity
- ``ranking`` (twin): rank, pilot_id, pilot, score, twin_score, pilot_score, strongest_signals
  ("; "-joined), evidence (every evidence path in words, " | "-joined)
- ``topics`` (pair): module, direction, title, questions (" | "-joined), evidence
- ``evidence`` (pair): direction, kind, weight, words
- ``plan`` (pair): module, what, from_whom, evidence
- ``assignment`` (cohort): twin_id, twin, pilot_id, pilot, score, twin_score, pilot_score, pinned
- ``loads`` (cohort): pilot_id, pilot, load, capacity
- ``overrides`` (cohort): action, twin_id, twin, pilot_id, pilot, cost (objective the pin or
  exclusion costs; empty when not known)
- ``whatif`` (what-if): pilot_id, pilot, default_rank, default_score, rank, score, twin_score,
  pilot_score, rank_change (positive: moved up)

Scoring is CPU work: every page computes in Starlette's thread pool, so the event loop (and with
it the SPARQL endpoint) stays responsive.

Warm-up (``recommender.web.warmup``): ``make_app`` and ``peerlearn serve`` build the matcher
(embedding model and all) in a background thread that starts with the server. Until it is ready
every page answers at once with 503, ``Retry-After: 5`` and, in HTML, a page that says the
recommender is warming up and reloads itself (a 503 rather than a 200: the page does not have
what was asked for yet, and a script, cache or link checker must not take it for the answer);
``?format=csv`` / ``json`` get the same status and header with a one-line message. If the build
fails, pages answer 500 with the error. ``/healthz`` shows the state under ``recommender``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kg.endpoint import EndpointConfig, create_app
from kg.errors import InputError, NotFoundError, PeerlearnError
from recommender.assignment import Overrides, read_overrides
from recommender.outputs import csv_text
from recommender.types import DIRECTIONS, MODULES
from recommender.web.warmup import WarmingUp, Warmup, WarmupFailed
from recommender.weights import WeightError, Weights
from recommender.words import DIRECTION_WORDS, MODULE_LABELS, SIGNAL_WORDS

__all__ = ["COLUMNS", "Warmup", "config_from", "facilitator_routes", "make_app", "matcher_warmup"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
FORMATS = ("html", "csv", "json")
CSV_TYPE = "text/csv; charset=utf-8"
RETRY_AFTER_S = 5
MAX_PINS_BYTES = 200_000
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "twins": (("cohort", "cohort number"), ("twin_id", "twin id"), ("twin", "city name"),
              ("country", "ISO country code"),
              ("candidates", "how many pilot activities the twin may join")),
    "pilots": (("cohort", "cohort number"), ("pilot_id", "pilot activity id"),
               ("pilot", "acronym, else title"), ("title", "title"),
               ("cities", "cities running it, '; '-joined"), ("capacity", "twins it can receive")),
    "ranking": (("rank", "1 = best"), ("pilot_id", "pilot activity id"), ("pilot", "acronym, else title"),
                ("score", "combined score: harmonic mean of the two sides, [0, 1]"),
                ("twin_score", "what the twin can learn from the pilot activity, [0, 1]"),
                ("pilot_score", "what the pilot activity can learn from the twin, [0, 1]"),
                ("strongest_signals", "the three largest signals with their values, '; '-joined"),
                ("evidence", "every evidence path in words, ' | '-joined")),
    "topics": (("module", "Getting started, Co-creating or Capitalising"),
               ("direction", "pilot → twin or twin → pilot"), ("title", "topic"),
               ("questions", "discussion questions, ' | '-joined"), ("evidence", "the path behind it, in words")),
    "evidence": (("direction", "pilot → twin or twin → pilot"), ("kind", "kind of path"),
                 ("weight", "product of the link weights on the path"), ("words", "the path in words")),
    "plan": (("module", "programme module"), ("what", "what to replicate"), ("from_whom", "who brings it"),
             ("evidence", "the path behind it, in words")),
    "assignment": (("twin_id", "twin id"), ("twin", "city name"), ("pilot_id", "pilot activity id"),
                   ("pilot", "acronym, else title"), ("score", "combined score, [0, 1]"),
                   ("twin_score", "twin learns, [0, 1]"), ("pilot_score", "pilot learns, [0, 1]"),
                   ("pinned", "true when a facilitator pinned the pair")),
    "loads": (("pilot_id", "pilot activity id"), ("pilot", "acronym, else title"),
              ("load", "twins assigned"), ("capacity", "twins it can receive")),
    "overrides": (("action", "pin or exclude"), ("twin_id", "twin id"), ("twin", "city name"),
                  ("pilot_id", "pilot activity id"), ("pilot", "acronym, else title"),
                  ("cost", "objective lost by keeping the pin, or by avoiding the excluded pair")),
    "whatif": (("pilot_id", "pilot activity id"), ("pilot", "acronym, else title"),
               ("default_rank", "rank with the configured weights"),
               ("default_score", "combined score with the configured weights"),
               ("rank", "rank with the given weights"), ("score", "combined score with the given weights"),
               ("twin_score", "twin learns with the given weights"),
               ("pilot_score", "pilot learns with the given weights"),
               ("rank_change", "default_rank - rank: positive means it moved up")),
}


# ============================================================== wiring

def config_from(server) -> EndpointConfig:
    """The endpoint configuration of a ``ServerSettings`` (an empty token means none)."""
    return EndpointConfig(host=server.host, port=int(server.port), query_timeout=float(server.query_timeout),
                          max_results=int(server.max_results), max_body_bytes=int(server.max_body_bytes),
                          allow_update=bool(server.allow_update), update_token=server.update_token or None,
                          workers=int(server.workers))


def make_app(store_path, settings, *, matcher=None, log: Callable[[str], None] | None = None):
    """The SPARQL endpoint (``/sparql``, ``/``, ``/healthz``) and the facilitator pages as one app.

    Without ``matcher``, one is built in the background when the app starts (``matcher_warmup``)
    from the store at ``store_path`` (opened read-only) with ``settings`` and the configured
    encoder; pages answer 503 "warming up" until it is ready.
    """
    if matcher is not None:
        def factory():
            return matcher
        services = {}
    else:
        factory = matcher_warmup(store_path, settings)
        services = {"recommender": factory}
    from recommender.web.recruit import recruit_routes

    routes = [*facilitator_routes(factory), *recruit_routes(store_path, settings)]
    return create_app(store_path, config_from(settings.server), extra_routes=routes,
                      log=log, services=services)


def matcher_warmup(store_path, settings) -> Warmup:
    """The pages' matcher, built from the store at ``store_path`` once ``start()`` is called
    (the endpoint does it when the server starts) or on the first page."""

    def build():
        from kg.store import open_store
        from recommender.matcher import Matcher

        store = open_store("oxigraph", path=store_path, read_only=True)
        try:
            return Matcher.from_store(store, settings)
        finally:
            store.close()

    return Warmup(build, name="recommender")


def facilitator_routes(matcher_factory: Callable[[], Any]) -> list[BaseRoute]:
    """Routes of the facilitator pages; ``matcher_factory()`` returns the (cached) ``Matcher``."""
    env = _environment()

    def page(builder: Callable[..., PageData], *, suffix_param: str | None = None, post: bool = False):
        async def endpoint(request: Request) -> Response:
            fmt = "html"
            try:
                params = dict(request.path_params)
                query = list(request.query_params.multi_items())
                fmt, params = _requested_format(query, params, suffix_param)
                if post and request.method == "POST":
                    query += await _form_items(request)
                base = request.scope.get("root_path", "").rstrip("/")
                req = PageRequest(path=request.url.path, base=base, params=params, query=query)
                matcher = await run_in_threadpool(matcher_factory)
                data = await run_in_threadpool(builder, matcher, req)
                return await run_in_threadpool(_respond, env, data, req, fmt)
            except PeerlearnError as e:
                status = 404 if isinstance(e, NotFoundError) else 400
                return _error(env, request, status, str(e), fmt)
            except WebError as e:
                return _error(env, request, e.status, e.message, fmt)
            except WarmingUp as e:
                return _warming_up(env, request, e, fmt)
            except WarmupFailed as e:
                return _error(env, request, 500, f"{e}. The server log has a warmup_failed line; "
                              "fix the cause and restart `peerlearn serve`.", fmt)

        return endpoint

    methods = ["GET", "POST"]
    return [
        Route("/facilitator", page(_index), methods=["GET"], name="facilitator"),
        Route("/facilitator.{ext}", page(_index, suffix_param="ext"), methods=["GET"]),
        Route("/facilitator/whatif", page(_whatif), methods=["GET"], name="facilitator_whatif"),
        Route("/facilitator/whatif.{ext}", page(_whatif, suffix_param="ext"), methods=["GET"]),
        Route("/facilitator/twin/{twin}", page(_twin, suffix_param="twin"), methods=["GET"],
              name="facilitator_twin"),
        Route("/facilitator/pair/{pilot}/{twin}", page(_pair, suffix_param="twin"), methods=["GET"],
              name="facilitator_pair"),
        Route("/facilitator/cohort/{n}", page(_cohort, suffix_param="n", post=True), methods=methods,
              name="facilitator_cohort"),
        Mount("/facilitator/static", StaticFiles(directory=STATIC), name="facilitator_static"),
    ]


# ============================================================== request plumbing

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


def _requested_format(query, params, suffix_param):
    fmt = "html"
    for k, v in query:
        if k == "format":
            fmt = v.strip().lower()
    if suffix_param and suffix_param in params:
        raw = params[suffix_param]
        if suffix_param == "ext":
            fmt = raw.lower()
            params = {k: v for k, v in params.items() if k != "ext"}
        else:
            stem, dot, ext = raw.rpartition(".")
            if dot and ext.lower() in ("csv", "json") and stem:
                fmt = ext.lower()
                params = {**params, suffix_param: stem}
    if fmt not in FORMATS:
        raise WebError(400, f"unknown format {fmt!r}; use html, csv or json")
    return fmt, params


async def _form_items(request: Request) -> list[tuple[str, str]]:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise WebError(415, "send the form as application/x-www-form-urlencoded or multipart/form-data")
    form = await request.form(max_files=1, max_fields=20)
    items = []
    for k, v in form.multi_items():
        if isinstance(v, UploadFile):
            raw = await v.read(MAX_PINS_BYTES + 1)
            if len(raw) > MAX_PINS_BYTES:
                raise WebError(413, f"pins file over {MAX_PINS_BYTES} bytes")
            if not raw.strip():
                continue
            try:
                items.append(("pins", raw.decode("utf-8-sig")))
            except UnicodeDecodeError:
                raise WebError(400, "pins file: not valid UTF-8") from None
        elif k in ("pins", "file"):
            items.append(("pins", v))
    return items


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["f3"] = lambda v: f"{v:.3f}"
    env.filters["f2"] = lambda v: f"{v:.2f}"
    env.filters["seg"] = _seg
    env.globals.update(MODULE_LABELS=MODULE_LABELS, DIRECTION_WORDS=DIRECTION_WORDS, COLUMNS=COLUMNS)
    return env


def _respond(env: Environment, data: PageData, req: PageRequest, fmt: str) -> Response:
    if fmt == "json":
        body = {**data.facts, **data.tables, "columns": {k: [c for c, _ in COLUMNS[k]] for k in data.tables}}
        return JSONResponse(body)
    if fmt == "csv":
        table = req.get("table") or next(iter(data.tables))
        if table not in data.tables:
            raise WebError(400, f"no table {table!r} on this page; tables: {', '.join(data.tables)}")
        filename = f"{data.name}-{table}.csv"
        return Response(_csv(data.tables[table], [c for c, _ in COLUMNS[table]]), media_type=CSV_TYPE,
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})
    keep = [(k, v) for k, v in req.query if k in data.keep]
    path = data.path or req.path
    downloads = [{"table": t, "href": req.href(path, [*keep, ("format", "csv"), ("table", t)]),
                  "columns": COLUMNS[t], "rows": len(rows)} for t, rows in data.tables.items()]
    ctx = {"title": data.title, "base": req.base, "req": req, "downloads": downloads,
           "json_href": req.href(path, [*keep, ("format", "json")]), **data.context}
    html = env.get_template(data.template).render(**ctx)
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP})


def _csv(rows: list[dict], columns: list[str]) -> str:
    """One table for a spreadsheet (``recommender.outputs.csv_text``: formula-like text neutralised)."""
    return csv_text([{k: ("true" if v is True else "false" if v is False else v) for k, v in r.items()}
                     for r in rows], columns)


def _warming_up(env: Environment, request: Request, e: WarmingUp, fmt: str) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
    message = f"{e}; try again in {RETRY_AFTER_S} s"
    if fmt == "json":
        return JSONResponse({"error": message, "status": 503, "warming_up": True}, status_code=503,
                            headers=headers)
    if fmt == "csv":
        return PlainTextResponse(message + "\n", status_code=503, headers=headers)
    base = request.scope.get("root_path", "").rstrip("/")
    html = env.get_template("warming.html.j2").render(
        title="The recommender is warming up", since=round(e.since), retry=RETRY_AFTER_S, base=base,
        downloads=[], json_href="")
    return HTMLResponse(html, status_code=503, headers={**headers, "Content-Security-Policy": CSP})


def _error(env: Environment, request: Request, status: int, message: str, fmt: str) -> Response:
    if fmt == "json":
        return JSONResponse({"error": message, "status": status}, status_code=status)
    if fmt == "csv":
        return PlainTextResponse(message + "\n", status_code=status)
    base = request.scope.get("root_path", "").rstrip("/")
    html = env.get_template("error.html.j2").render(
        title={400: "Bad request", 404: "Not found", 500: "Server error"}.get(status, "Error"), status=status,
        message=message, base=base, downloads=[], json_href="")
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP})


# ============================================================== shared helpers

def _seg(v: str) -> str:
    return quote(str(v), safe="")


def _r(v: float) -> float:
    return round(float(v), 4)


def _strongest(s) -> list[dict]:
    return [{"direction": DIRECTION_WORDS.get(d, d), "signal": k, "words": SIGNAL_WORDS.get(k, k), "value": v}
            for d, k, v in s.strongest(3)]


def _cohort_number(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise NotFoundError(f"no cohort {raw!r}: cohorts are numbered") from None


# ============================================================== pages

def _index(matcher, req: PageRequest) -> PageData:
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


def _ranking_rows(matcher, twin_id: str, weights=None) -> list[dict]:
    cat = matcher.catalog
    rows = []
    for rank, s in enumerate(matcher.rank_pilots(twin_id, weights=weights), start=1):
        rows.append({
            "rank": rank, "pilot_id": s.pilot, "pilot": cat.pilot_name(s.pilot), "score": _r(s.score),
            "twin_score": _r(s.twin_score), "pilot_score": _r(s.pilot_score),
            "strongest_signals": "; ".join(f"{SIGNAL_WORDS.get(k, k)} ({v:.2f})" for _, k, v in s.strongest(3)),
            "evidence": " | ".join(e.words for e in s.evidence),
            "_s": s,
        })
    return rows


def _public(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


def _twin(matcher, req: PageRequest) -> PageData:
    cat = matcher.catalog
    twin = cat.find_twin(req.params["twin"])
    rows = _ranking_rows(matcher, twin.id)
    city = cat.cities.get(twin.city)
    ranking = [{**r, "strongest": _strongest(r["_s"]),
                "evidence_list": [(DIRECTION_WORDS.get(e.direction, e.direction), e.words) for e in r["_s"].evidence]}
               for r in rows]
    ctx = {"twin": twin, "name": cat.twin_name(twin.id), "city": city, "ranking": ranking}
    facts = {"twin_id": twin.id, "twin": cat.twin_name(twin.id), "cohort": twin.cohort,
             "weights": dict(matcher.weights)}
    return PageData("twin.html.j2", f"{cat.twin_name(twin.id)}: ranked pilot activities", ctx,
                    {"ranking": _public(rows)}, facts, name=f"twin-{twin.id}",
                    path=f"/facilitator/twin/{_seg(twin.id)}")


def _pair(matcher, req: PageRequest) -> PageData:
    cat = matcher.catalog
    pilot = cat.find_pilot(req.params["pilot"])
    twin = cat.find_twin(req.params["twin"])
    s = matcher.score([(twin.id, pilot.id)])[0]
    topics = matcher.topics(twin.id, pilot.id)
    plan = matcher.plan(twin.id, pilot.id)
    candidate = pilot.id in matcher.candidates(twin)
    tname, pname = cat.twin_name(twin.id), cat.pilot_name(pilot.id)
    topic_rows = [{"module": MODULE_LABELS[t.module], "direction": DIRECTION_WORDS[t.direction], "title": t.title,
                   "questions": " | ".join(t.questions), "evidence": t.evidence.words} for t in topics]
    evidence_rows = [{"direction": DIRECTION_WORDS.get(e.direction, e.direction), "kind": e.kind,
                      "weight": _r(e.weight), "words": e.words} for e in s.evidence]
    plan_rows = [{"module": m, "what": what, "from_whom": whom, "evidence": ev}
                 for m, what, whom, ev in (plan.items if plan else ())]
    groups = []
    for module in MODULES:
        dirs = [{"direction": d, "words": DIRECTION_WORDS[d],
                 "topics": [t for t in topics if t.module == module and t.direction == d]}
                for d in DIRECTIONS]
        groups.append({"module": module, "label": MODULE_LABELS[module], "directions": dirs,
                       "count": sum(len(d["topics"]) for d in dirs)})
    ctx = {"twin": twin, "pilot": pilot, "tname": tname, "pname": pname, "s": s, "groups": groups,
           "topics": topics, "evidence": evidence_rows, "plan": plan_rows, "candidate": candidate,
           "strongest": _strongest(s), "cities": [cat.city_name(c) for c in pilot.cities]}
    facts = {"twin_id": twin.id, "twin": tname, "pilot_id": pilot.id, "pilot": pname, "cohort": twin.cohort,
             "candidate": candidate, "score": _r(s.score), "twin_score": _r(s.twin_score),
             "pilot_score": _r(s.pilot_score), "twin_parts": {k: _r(v) for k, v in s.twin_parts.items()},
             "pilot_parts": {k: _r(v) for k, v in s.pilot_parts.items()}}
    return PageData("pair.html.j2", f"{tname} and {pname}: learning topics", ctx,
                    {"topics": topic_rows, "evidence": evidence_rows, "plan": plan_rows}, facts,
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


def _cohort(matcher, req: PageRequest) -> PageData:
    cat = matcher.catalog
    cohort = _cohort_number(req.params["n"])
    twins = matcher.cohort_twins(cohort)
    pins_text = req.get("pins")
    overrides = parse_pins(pins_text, matcher, cohort)
    a = matcher.assign(cohort, overrides)
    assignment = [{"twin_id": p.twin, "twin": cat.twin_name(p.twin), "pilot_id": p.pilot, "pilot": cat.pilot_name(p.pilot),
                   "score": _r(p.score), "twin_score": _r(p.twin_score), "pilot_score": _r(p.pilot_score),
                   "pinned": p.pinned, "_p": p} for p in a.pairs]
    loads = [{"pilot_id": pid, "pilot": cat.pilot_name(pid), "load": a.loads.get(pid, 0), "capacity": cap}
             for pid, cap in a.capacities.items()]
    over = [{"action": "pin", "twin_id": t, "twin": cat.twin_name(t), "pilot_id": p, "pilot": cat.pilot_name(p),
             "cost": _r(a.pin_costs.get(f"{t}->{p}", 0.0))} for t, p in overrides.pins]
    over += [{"action": "exclude", "twin_id": t, "twin": cat.twin_name(t), "pilot_id": p, "pilot": cat.pilot_name(p),
              "cost": _r(a.pin_costs[f"{t}-/->{p}"]) if f"{t}-/->{p}" in a.pin_costs else ""}
             for t, p in overrides.exclusions]
    load_view = [{**r, "slots": [("over" if i >= r["capacity"] else "full") if i < r["load"] else "free"
                                 for i in range(max(r["load"], r["capacity"]))]} for r in loads]
    ctx = {"a": a, "cohort": cohort, "assignment": assignment, "loads": load_view, "overrides": over,
           "pins_text": pins_text, "n_twins": len(twins),
           "unassigned": [(t, cat.twin_name(t)) for t in a.unassigned],
           "example": "\n".join(f"pin,{p['twin_id']},{p['pilot_id']}" for p in assignment[:1])}
    facts = {"cohort": cohort, "objective": a.objective, "optimal": a.optimal, "notes": list(a.notes),
             "unassigned": list(a.unassigned), "pin_costs": {k: _r(v) for k, v in a.pin_costs.items()}}
    return PageData("cohort.html.j2", f"Cohort {cohort}: assignment", ctx,
                    {"assignment": _public(assignment), "loads": loads, "overrides": over}, facts,
                    name=f"cohort-{cohort}", keep=("pins",), path=f"/facilitator/cohort/{cohort}")


def parse_weights(query: Sequence[tuple[str, str]], defaults: Mapping[str, float]) -> Weights:
    """Signal weights from query items (missing or empty: the default); 400 on a bad one."""
    # an unknown name is refused even with an empty value
    changes = {k: raw for k, raw in query
               if k not in ("twin", "table", "format") and (raw.strip() or k not in defaults)}
    try:
        return Weights(defaults).with_values(changes)
    except WeightError as e:
        raise WebError(400, str(e)) from None


def _whatif(matcher, req: PageRequest) -> PageData:
    cat = matcher.catalog
    weights = parse_weights(req.query, matcher.weights)
    name = req.get("twin").strip()
    twin = cat.find_twin(name) if name else None
    rows, default_rows = [], []
    if twin is not None:
        default_rows = _ranking_rows(matcher, twin.id)
        before = {r["pilot_id"]: r for r in default_rows}
        for r in _ranking_rows(matcher, twin.id, weights=weights):
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
    return PageData("whatif.html.j2", title, ctx, {"whatif": _public(rows)}, facts,
                    name=f"whatif-{twin.id}" if twin else "whatif", keep=("twin", *matcher.weights),
                    path="/facilitator/whatif")
