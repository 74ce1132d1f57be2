"""Commands that publish results: batch reports and the SPARQL endpoint with the facilitator pages."""

from __future__ import annotations

import sys
from pathlib import Path

from kg.errors import ConfigError, InputError, PeerlearnError
from recommender.cli.common import (
    _matcher,
    _require_store,
    _settings,
    command,
    out,
)


@command("report")
def cmd_report(args) -> int:
    """Batch reports for a cohort (or one twin): HTML, PDF, CSV, JSON and Markdown."""
    from recommender.assignment import Overrides, read_overrides
    from recommender.outputs import write_outputs
    from recommender.reports.pdf import find_chromium
    from recommender.result import run_result

    settings = _settings(args)
    m = _matcher(args, settings)
    cat = m.catalog
    cohort = args.cohort
    only = None
    if args.twin:
        twin = cat.find_twin(args.twin, cohort=cohort)
        cohort = twin.cohort
        keep = {f"twins/{twin.id}.html", f"twins/{twin.id}.pdf"}
        brief = f"pairs/{twin.id}--"          # and the twin's A4 pair briefs
        only = lambda name: name in keep or name.startswith(brief)  # noqa: E731
    if cohort is None:
        raise InputError("give --cohort N or --twin NAME")
    overrides = Overrides()
    if args.pins:
        twins = m.cohort_twins(cohort)
        cands = set(m.capacities(cohort))
        overrides = read_overrides(args.pins, [t.id for t in twins], cands,
                                   resolve_twin=lambda n: cat.find_twin(n, cohort=cohort).id,
                                   resolve_pilot=lambda n: cat.find_pilot(n).id)
    evaluation = None
    if args.pairings:
        from recommender.evaluate import evaluate, read_pairings

        pairs, skipped = read_pairings(args.pairings, cat)
        pairs = [p for p in pairs if cat.twins[p.twin].cohort == cohort]
        evaluation = {cohort: {"pairs": len(pairs), "rows": evaluate(m, pairs), "skipped": skipped}}
    result = run_result(m, settings, cohorts=[cohort], overrides={cohort: overrides}, evaluation=evaluation)
    pdf = not args.no_pdf and find_chromium() is not None
    paths = write_outputs(result, Path(args.out), pdf=pdf, only=only, progress=sys.stderr.isatty())
    out(f"wrote {len(paths)} files to {args.out}/" + ("" if pdf else " (no PDFs: Chromium not found or --no-pdf)"))
    return 0


@command("serve")
def cmd_serve(args) -> int:
    """SPARQL 1.1 endpoint, query UI and facilitator pages (binds 127.0.0.1 unless told otherwise)."""
    from dataclasses import replace

    from kg.endpoint import serve
    from recommender.web import config_from, facilitator_routes, matcher_warmup

    settings = _settings(args)
    if settings.store.backend != "oxigraph":
        raise ConfigError("serve needs the on-disk oxigraph store (store.backend = \"oxigraph\")")
    path = Path(settings.store.path)
    _require_store(path)
    config = config_from(settings.server)
    if args.host:
        config = replace(config, host=args.host)
    if args.port is not None:
        config = replace(config, port=args.port)
    # The pages' matcher (embedding model included) is built in the background once the server
    # listens; --no-pages never loads it.
    warmup = None if args.no_pages else matcher_warmup(path, settings)
    routes = [] if warmup is None else facilitator_routes(warmup, store_path=path)
    services = {} if warmup is None else {"recommender": warmup}
    if args.get:
        # Exercise the app without a port (as Datasette's `--get`): one request, print the body.
        from starlette.testclient import TestClient

        from kg.endpoint import create_app

        if warmup is not None:  # one request: a page waits for the build rather than saying "warming up"
            routes = facilitator_routes(warmup.wait_for, store_path=path)
        if warmup is not None:
            from recommender.web.recruit import recruit_routes

            routes = [*routes, *recruit_routes(path, settings, wait=True)]
        app = create_app(path, config, extra_routes=routes, log=lambda line: None)
        with TestClient(app, base_url=f"http://{config.host}:{config.port}") as client:
            res = client.get(args.get, headers={"Accept": args.accept} if args.accept else {})
        sys.stdout.buffer.write(res.content)
        sys.stdout.flush()
        if res.status_code >= 400:
            raise PeerlearnError(f"GET {args.get} answered {res.status_code}")
        return 0
    if warmup is not None:
        from recommender.web.recruit import recruit_routes

        routes = [*routes, *recruit_routes(path, settings)]
    serve(path, config, extra_routes=routes, services=services, log=out)
    return 0
