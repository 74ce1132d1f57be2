"""``/facilitator/recruit/{pilot}``: the Covenant of Mayors signatories most worth recruiting
as twins for a pilot activity (``peerlearn recruit``), with both directional scores, the
evidence both ways, filters as query parameters (``country=DE,FR``, ``population=50000-500000``,
``commitment=CoM2030`` (repeatable), ``has_plan=1``, ``k=20``) and the table as CSV or JSON
(``?format=csv`` / ``?format=json``, or a ``.csv`` / ``.json`` suffix on the path).

The signatory profiles (the whole GCoM release in ``data.gcom_dir``, about 10 s) are built on
the first request in a background thread: until then the page answers 503 with
``Retry-After`` (``serve --get`` waits instead). An unknown pilot is 404, a bad filter 400.
Data: GCoM - MyCovenant, JRC, CC BY 4.0 (said on the page and in the JSON).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kg.errors import NotFoundError, PeerlearnError
from kg.ingest.gcom import ATTRIBUTION
from recommender.europe.rank import Filters, Ranked, parse_population, recruit
from recommender.outputs import csv_text
from recommender.web.warmup import WarmingUp, Warmup, WarmupFailed

TEMPLATES = Path(__file__).parent / "templates"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
RETRY_AFTER_S = 5
MAX_K = 500
COLUMN_WORDS = {
    "rank": "1 = best", "pilot": "pilot activity id", "signatory": "GCoM organisation_id",
    "name": "signatory name", "country": "ISO alpha-2", "population": "population at adhesion",
    "commitments": "CoM2020 / CoM2030 / CoM2050 / MayorsAdapt, space-separated",
    "actions": "planned actions in the release", "score": "harmonic mean of gains and brings, [0, 1]",
    "gains": "what the city gains from the pilot, [0, 1]", "brings": "what the city brings to the pilot, [0, 1]",
    "context": "size similarity to the pilot's cities, [0, 1]",
    "gains_evidence": "the city's needs the pilot works on, ' | '-joined",
    "brings_evidence": "the city's planned actions in the pilot's focus, ' | '-joined",
    "emission_shares": "share of the latest inventory by emission domain, '; '-joined",
}


def profiles_warmup(store_path, settings) -> Warmup:
    def build():
        from kg.catalog import catalog
        from kg.store import open_store
        from recommender.europe.load import load_profiles

        store = open_store("oxigraph", path=store_path, read_only=True)
        try:
            cat = catalog(store)
        finally:
            store.close()
        return cat, load_profiles(settings.data.gcom_dir, cat).profiles

    return Warmup(build, name="recruit")


def _filters(request: Request) -> tuple[Filters, int]:
    q = request.query_params
    countries = frozenset(c.strip().upper() for c in q.get("country", "").split(",") if c.strip())
    if any(len(c) != 2 or not c.isalpha() for c in countries):
        raise _Bad("country: expected ISO alpha-2 codes such as DE,FR")
    lo, hi = parse_population(q.get("population") or None)
    try:
        k = int(q.get("k", "20"))
    except ValueError:
        raise _Bad("k: expected a whole number") from None
    if not 1 <= k <= MAX_K:
        raise _Bad(f"k: between 1 and {MAX_K}")
    return Filters(countries=countries, population_min=lo, population_max=hi,
                   commitments=tuple(q.getlist("commitment")), has_plan=q.get("has_plan", "") not in ("", "0")), k


class _Bad(Exception):
    pass


def recruit_routes(store_path, settings, *, wait: bool = False) -> list[Route]:
    """The recruit page's routes; ``wait``: a request waits for the profiles (``serve --get``)."""
    warm = profiles_warmup(store_path, settings)
    get = warm.wait_for if wait else warm
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["f3"] = lambda v: f"{v:.3f}"

    def html(template: str, code: int = 200, headers: dict | None = None, **ctx) -> HTMLResponse:
        body = env.get_template(template).render(base=ctx.pop("base", ""), downloads=[], json_href="", **ctx)
        return HTMLResponse(body, status_code=code, headers={**(headers or {}), "Content-Security-Policy": CSP})

    def error(status: int, message: str, fmt: str) -> Response:
        if fmt == "json":
            return JSONResponse({"error": message, "status": status}, status_code=status)
        if fmt == "csv":
            return PlainTextResponse(message + "\n", status_code=status)
        return html("error.html.j2", status, title={400: "Bad request", 404: "Not found"}.get(status, "Error"),
                    status=status, message=message)

    def build(pilot_name: str, request: Request, fmt: str) -> Response:
        filters, k = _filters(request)
        cat, pr = get()
        pilot = cat.find_pilot(pilot_name)
        rows = recruit(pr, cat, pilot.id, k=k, filters=filters)
        if fmt == "json":
            return JSONResponse({"pilot": pilot.id, "title": pilot.title, "attribution": ATTRIBUTION,
                                 "columns": list(Ranked.COLUMNS), "recruit": [r.as_dict() for r in rows]})
        if fmt == "csv":
            return Response(csv_text([r.cells() for r in rows], list(Ranked.COLUMNS)),
                            media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'inline; filename="recruit-{pilot.id}.csv"'})
        base = request.scope.get("root_path", "").rstrip("/")
        keep = [(a, b) for a, b in request.query_params.multi_items() if a != "format" and b != ""]
        path = f"{base}/facilitator/recruit/{pilot.id}"
        return html("recruit.html.j2", title=f"Recruit twins for {pilot.label}", base=base, pilot=pilot,
                    rows=rows, q=request.query_params, attribution=ATTRIBUTION,
                    cities="; ".join(cat.city_name(c) for c in pilot.cities),
                    csv_href=f"{path}?{urlencode([*keep, ('format', 'csv')])}",
                    json_link=f"{path}?{urlencode([*keep, ('format', 'json')])}", columns=COLUMN_WORDS)

    async def endpoint(request: Request) -> Response:
        raw = request.path_params["pilot"]
        fmt = request.query_params.get("format", "html").strip().lower()
        stem, dot, ext = raw.rpartition(".")
        if dot and stem and ext.lower() in ("csv", "json"):
            raw, fmt = stem, ext.lower()
        if fmt not in ("html", "csv", "json"):
            return error(400, f"unknown format {fmt!r}; use html, csv or json", "html")
        try:
            return await run_in_threadpool(build, raw, request, fmt)
        except _Bad as e:
            return error(400, str(e), fmt)
        except PeerlearnError as e:
            return error(404 if isinstance(e, NotFoundError) else 400, str(e), fmt)
        except WarmingUp as e:
            headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
            msg = (f"reading the Covenant of Mayors release (started {e.since:.0f} s ago); "
                   f"try again in {RETRY_AFTER_S} s")
            if fmt == "html":
                return html("error.html.j2", 503, headers, title="Warming up", status=503, message=msg)
            return PlainTextResponse(msg + "\n", status_code=503, headers=headers)
        except WarmupFailed as e:
            return error(500, str(e), fmt)

    return [Route("/facilitator/recruit/{pilot}", endpoint, methods=["GET"], name="facilitator_recruit")]
