"""Facilitator pages on the same app as the SPARQL endpoint (``peerlearn serve``).

Plain server-rendered HTML (no JavaScript, no outside requests: a Content-Security-Policy
allows this server only), every page also as CSV and JSON:

- ``/facilitator``: the cohorts, their twins and pilot activities, with links;
- ``/facilitator/twin/{twin}``: a twin's ranked pilot activities with both directional scores
  (twin learns / pilot learns), the combined score, the strongest signals and the evidence in words,
  and its profile (``recommender/profile_view.py``, as ``peerlearn profile``): every concept link
  with its source, weight and evidence, and the context facts with theirs;
- ``/facilitator/pilot/{pilot}``: a pilot activity's cities, the twins assigned to it and its profile;
- ``/facilitator/pair/{pilot}/{twin}``: learning topics by module and direction with their
  discussion questions and evidence, the pair's evidence paths and the Replication Plan outline;
- ``/facilitator/cohort/{n}``: the optimal assignment with both scores, why each twin got its
  pilot activity (rank, full better pilots, cost of its first choice, weak pairs), pilot loads
  against capacity, the solver's notes; pins and exclusions as ``action,twin,pilot`` CSV lines
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
page under "Data", with their meaning, from
``recommender.tables.TABLES``). Every page formats a run result computed for the requested
cohort (``recommender/result.py``; cached per matcher, cohort, weights and pins) with the same
row builders as the files of ``peerlearn run``, so the same pair gives the same CSV bytes in
both. Tables by page: index ``twins``, ``pilots``; twin ``ranking`` (the columns of
``shortlists``, the twin's whole list), ``profile_links``, ``profile_facts``; pilot
``profile_links``, ``profile_facts``; pair ``topics``, ``evidence``, ``plan``; cohort
``assignment``, ``loads``, ``explanations``, ``overrides``; what-if ``whatif``.
The page builders are in ``recommender/web/pages.py``; this module wires them to the app.

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

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kg.endpoint import EndpointConfig, create_app
from kg.errors import NotFoundError, PeerlearnError
from recommender.outputs import csv_text
from recommender.tables import TABLES
from recommender.web.feedback import decision_routes
from recommender.web.pages import (
    MAX_PINS_BYTES,
    PageData,
    PageRequest,
    ResultCache,
    WebError,
    _cohort,
    _index,
    _pair,
    _pilot,
    _seg,
    _twin,
    _whatif,
)
from recommender.web.warmup import WarmingUp, Warmup, WarmupFailed
from recommender.words import DIRECTION_WORDS, MODULE_LABELS

__all__ = ["COLUMNS", "Warmup", "config_from", "facilitator_routes", "make_app", "matcher_warmup"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
FORMATS = ("html", "csv", "json")
CSV_TYPE = "text/csv; charset=utf-8"
RETRY_AFTER_S = 5
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")

# the tables the pages serve, with their columns and meaning (recommender/tables.py)
COLUMNS = {name: TABLES[name] for name in ("twins", "pilots", "ranking", "topics", "evidence", "plan", "assignment",
                                           "loads", "explanations", "overrides", "whatif", "profile_links",
                                           "profile_facts")}


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

    routes = [*facilitator_routes(factory, store_path=store_path), *recruit_routes(store_path, settings)]
    return create_app(store_path, config_from(settings.server), extra_routes=routes,
                      log=log, services=services)


def matcher_warmup(store_path, settings) -> Warmup:
    """The pages' matcher, built from the store at ``store_path`` once ``start()`` is called
    (the endpoint does it when the server starts) or on the first page."""

    def build():
        from kg.store import open_store
        from recommender.feedback import declined_pairs
        from recommender.matcher import Matcher

        store = open_store("oxigraph", path=store_path, read_only=True)
        try:
            m = Matcher.from_store(store, settings)
            m.declined = declined_pairs(store, m.catalog)   # declined pairs are not proposed again
            return m
        finally:
            store.close()

    return Warmup(build, name="recommender")


def facilitator_routes(matcher_factory: Callable[[], Any], *, store_path=None) -> list[BaseRoute]:
    """Routes of the facilitator pages; ``matcher_factory()`` returns the (cached) ``Matcher``.
    ``store_path``: the on-disk store the twin and pilot pages read profiles from (evidence
    texts, GCoM facts); without it those pages show no profile."""
    env = _environment()
    cache = ResultCache(store_path=store_path)

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
                data = await run_in_threadpool(builder, matcher, req, cache)
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
        Route("/facilitator/pilot/{pilot}", page(_pilot, suffix_param="pilot"), methods=["GET"],
              name="facilitator_pilot"),
        Route("/facilitator/pair/{pilot}/{twin}", page(_pair, suffix_param="twin"), methods=["GET"],
              name="facilitator_pair"),
        Route("/facilitator/cohort/{n}", page(_cohort, suffix_param="n", post=True), methods=methods,
              name="facilitator_cohort"),
        *decision_routes(matcher_factory),       # POST .../cohort/{n}/decision: recommender/web/feedback.py
        Mount("/facilitator/static", StaticFiles(directory=STATIC), name="facilitator_static"),
    ]


# ============================================================== request plumbing

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
        table = req.get("table") or next(iter(data.tables), "")
        if table not in data.tables:
            raise WebError(400, f"no table {table!r} on this page; tables: {', '.join(data.tables) or 'none'}")
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
    """One table for a spreadsheet (``recommender.outputs.csv_text``, as the files of a run)."""
    return csv_text(rows, columns)


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
