"""Commands over every Covenant of Mayors signatory: recruit (twins for a pilot activity),
peers (cities worth learning with), recommend --city (pilot activities for any signatory),
evaluate-recruit (where the real twins of known pairings rank)."""

from __future__ import annotations

import json
import sys

from kg.errors import InputError
from recommender.cli.common import _settings, command, err, open_configured_store, out


def _catalog(settings):
    from kg.catalog import catalog

    store = open_configured_store(settings)
    try:
        return catalog(store)
    finally:
        store.close()


def start(args):
    """(settings, catalog) from the configured store."""
    settings = _settings(args)
    return settings, _catalog(settings)


def profiles(args, settings, cat):
    """The GCoM release (``--gcom``, else ``data.gcom_dir``) read into profiles; a progress line
    per step on a terminal. Returns ``Loaded`` (profiles and the summary line)."""
    from recommender.europe.load import load_profiles

    folder = getattr(args, "gcom", None) or settings.data.gcom_dir
    progress = (lambda step: err(f"  reading {step} ...")) if sys.stderr.isatty() else None
    return load_profiles(folder, cat, progress=progress)


def _write(dest: str, text: str) -> None:
    """Write ``text`` to ``dest`` through a temporary file beside it: never half-written."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(dest)
    if not path.parent.is_dir():
        raise InputError(f"--out {dest}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _filters(args, *, include_programme: bool):
    from recommender.europe.profiles import commitment_mask
    from recommender.europe.rank import Filters, parse_population

    countries = frozenset(c.strip().upper() for c in (args.country or "").split(",") if c.strip())
    bad = sorted(c for c in countries if len(c) != 2 or not c.isalpha())
    if bad:
        raise InputError(f"--country {','.join(bad)}: expected ISO alpha-2 codes such as DE,FR")
    lo, hi = parse_population(args.population)
    commitments = tuple(args.commitment or ())
    commitment_mask(commitments)   # unknown names are errors before anything is read
    return Filters(countries=countries, population_min=lo, population_max=hi, commitments=commitments,
                   has_plan=args.has_plan, include_programme=include_programme or args.include_programme)


def emit(rows, columns, fmt: str, dest: str | None, header: str) -> None:
    """Rows (``Ranked``) as a table, CSV or JSON, to stdout or written atomically to ``dest``."""
    from recommender.outputs import csv_text

    if fmt == "json":
        text = json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        text = csv_text([r.cells() for r in rows], list(columns))
    else:
        lines = [header]
        for r in rows:
            lines.append(f"{r.rank}. {r.name} ({r.country}, id {r.signatory}, pop. {r.population or '?'}, "
                         f"{r.actions} actions)  score {r.score:.2f}  (gains {r.gains:.2f}, brings {r.brings:.2f}, "
                         f"size {r.context:.2f})")
            for e in r.gains_evidence[:3]:
                lines.append(f"   gains: {e}")
            for e in r.brings_evidence[:2]:
                lines.append(f"   brings: {e}")
        text = "\n".join(lines) + "\n"
    if dest:
        _write(dest, text)
    else:
        out(text.rstrip("\n"))


@command("recruit")
def cmd_recruit(args) -> int:
    """Rank Covenant of Mayors signatories outside the programme as twins for a pilot activity,
    with what each gains from the pilot and brings to it, and the evidence."""
    from recommender.europe.rank import Ranked, recruit

    filters = _filters(args, include_programme=False)
    if args.k < 1:
        raise InputError("-k must be at least 1")
    settings, cat = start(args)
    pilot = cat.find_pilot(args.pilot)
    loaded = profiles(args, settings, cat)
    rows = recruit(loaded.profiles, cat, pilot.id, k=args.k, filters=filters)
    header = (f"twins to recruit for {pilot.label} (gains: what the city gains from the pilot; "
              f"brings: what it brings to it). Data: GCoM - MyCovenant, JRC, CC BY 4.0")
    emit(rows, Ranked.COLUMNS, args.format, args.out, header)
    err(loaded.summary)
    return 0


@command("peers")
def cmd_peers(args) -> int:
    """The signatories most worth learning with, both ways: what the city learns from each
    (gains) and what each learns from it (brings), with evidence."""
    from recommender.europe.rank import Ranked, peers

    filters = _filters(args, include_programme=True)
    cat, loaded, row = _one_signatory(args)
    pr = loaded.profiles
    rows = peers(pr, cat, row, k=args.k, filters=filters)
    s = pr.signatories[row]
    header = (f"peers for {s.name} ({s.country}, id {s.id}; gains: what {s.name} learns from the peer; "
              f"brings: what the peer learns from it). Data: GCoM - MyCovenant, JRC, CC BY 4.0")
    emit(rows, [c for c in Ranked.COLUMNS if c != "pilot"], args.format, args.out, header)
    err(loaded.summary)
    return 0


def recommend_for_city(args) -> int:
    """``recommend --city NAME``: pilot activities ranked for any signatory."""
    from recommender.europe.rank import pilots_for

    cat, loaded, row = _one_signatory(args)
    pr = loaded.profiles
    ranked = pilots_for(pr, cat, row, k=args.k)
    if args.json:
        out(json.dumps([{**r.as_dict(), "pilot_title": cat.pilots[pid].title} for pid, r in ranked],
                       indent=2, ensure_ascii=False))
        err(loaded.summary)
        return 0
    s = pr.signatories[row]
    out(f"pilot activities for {s.name} ({s.country}, id {s.id}; gains: what the city gains from the pilot; "
        f"brings: what it brings to it)")
    for pid, r in ranked:
        out(f"{r.rank}. {cat.pilots[pid].label}  score {r.score:.2f}  (gains {r.gains:.2f}, "
            f"brings {r.brings:.2f}, size {r.context:.2f})")
        for e in r.gains_evidence[:2]:
            out(f"   gains: {e}")
        for e in r.brings_evidence[:2]:
            out(f"   brings: {e}")
    err(loaded.summary)
    return 0


def _one_signatory(args):
    """The set-up of the commands about one signatory (``peers``, ``recommend --city``): the
    ``-k`` check, the catalog, the loaded GCoM profiles and the signatory's row."""
    from recommender.europe.names import find_signatory

    if args.k < 1:
        raise InputError("-k must be at least 1")
    settings, cat = start(args)
    loaded = profiles(args, settings, cat)
    return cat, loaded, find_signatory(loaded.profiles, cat, args.city, args.city_country)


def _portfolios(settings, cat, pr):
    from rdflib import Literal

    from kg.errors import StoreError
    from kg.queries import PASSAGES
    from recommender.contract_extract import extract_cities
    from recommender.europe.mission import SECTION, portfolios

    store = open_configured_store(settings)
    try:
        partial = extract_cities(store)   # an extract's passages are a biased subset: no portfolio shares
        passages: dict[str, list[tuple[str, str, str]]] = {}
        for r in store.query(PASSAGES, {"section": Literal(SECTION)}).records():
            if str(r["owner"]) not in partial:
                passages.setdefault(str(r["owner"]), []).append((str(r["p"]), SECTION, str(r["text"])))
    finally:
        store.close()
    pf = portfolios(pr, cat, passages)
    if not pf.cities:
        raise StoreError("no Climate City Contract with a B-2 portfolio in the store: "
                         "run `peerlearn ingest-ccc ../shared/data/ccc` first")
    return pf


@command("pair-mission")
def cmd_pair_mission(args) -> int:
    """Mission-minded pairing: Mission Cities ranked for any signatory by what their Climate City
    Contract portfolio (module B-2) offers against the city's plan and emissions, both ways; or
    (--mission CITY) the signatories that fit a Mission City's portfolio."""
    from recommender.europe.mission import mission_cities_for, signatories_for
    from recommender.europe.names import find_signatory
    from recommender.europe.rank import Ranked

    filters = _filters(args, include_programme=True)
    if args.k < 1:
        raise InputError("-k must be at least 1")
    if bool(args.city) == bool(args.mission):
        raise InputError("name a signatory (pair-mission CITY) or a Mission City (--mission CITY), not both")
    settings, cat = start(args)
    mission = None
    if args.mission:
        from kg.model import fold

        hits = [c for c in cat.cities.values() if c.mission_city and fold(args.mission) in
                {fold(c.id), fold(c.name), *map(fold, c.alt_names)}]
        if len(hits) != 1:
            from kg.errors import NotFoundError

            raise NotFoundError(f"no single Mission City named {args.mission!r}"
                                + (f": {', '.join(c.id for c in hits)}" if hits else ""))
        mission = hits[0]
    loaded = profiles(args, settings, cat)
    pr = loaded.profiles
    pf = _portfolios(settings, cat, pr)
    cols = Ranked.COLUMNS
    if mission is not None:
        if mission.id not in pf.cities:
            from kg.errors import NotFoundError

            raise NotFoundError(f"{mission.name} has no ingested contract with a B-2 portfolio")
        rows = signatories_for(pr, pf, cat, mission.id, k=args.k, filters=filters)
        header = (f"signatories for {mission.name}'s contract portfolio (B-2, {pf.counts[mission.id]} passages; "
                  f"gains: what the city gains from the portfolio; brings: what it brings to it). "
                  f"Data: GCoM - MyCovenant, JRC, CC BY 4.0")
    else:
        row = find_signatory(pr, cat, args.city, args.city_country)
        rows = mission_cities_for(pr, pf, cat, row, k=args.k)
        s = pr.signatories[row]
        header = (f"Mission Cities for {s.name} ({s.country}, id {s.id}; gains: what {s.name} gains from the "
                  f"Mission City's contract portfolio; brings: what it brings to its priority actions; the "
                  f"pilot column is the Mission City's id). Data: GCoM - MyCovenant, JRC, CC BY 4.0")
    emit(rows, cols, args.format, args.out, header)
    err(loaded.summary + f"; Mission Cities with a B-2 portfolio: {len(pf.cities)}")
    return 0


@command("evaluate-recruit")
def cmd_evaluate_recruit(args) -> int:
    """Where the real twins of known pairings rank among all signatories when recruiting for
    their pilot activity, and as peers of the pilot's city: MRR and hit@k against random, with
    bootstrap intervals (95 percent). Pairings are evaluation data only."""
    from recommender.europe.evaluate import evaluate_recruit, format_report

    settings, cat = start(args)
    loaded = profiles(args, settings, cat)
    pf = None
    if args.mission:
        pf = _portfolios(settings, cat, loaded.profiles)
    report = evaluate_recruit(loaded.profiles, cat, args.pairings, samples=args.bootstrap, seed=args.seed,
                              portfolios=pf)
    if args.json:
        out(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        out(format_report(report))
    return 0


def register(sub) -> None:
    """The grammar of these commands (called by ``recommender.cli.parser``)."""
    def data_flags(sp):
        sp.add_argument("--gcom", metavar="DIR", help="GCoM release folder (default: data.gcom_dir)")

    def filter_flags(sp):
        sp.add_argument("--country", metavar="CC[,CC]", help="only signatories of these countries (ISO alpha-2)")
        sp.add_argument("--population", metavar="MIN-MAX", help="only this population range, e.g. 50000-500000")
        sp.add_argument("--commitment", action="append", metavar="NAME",
                        help="only signatories with this commitment: CoM2020, CoM2030, CoM2050, MayorsAdapt "
                             "(repeatable: all required)")
        sp.add_argument("--has-plan", action="store_true", help="only signatories with planned actions")
        sp.add_argument("--include-programme", action="store_true",
                        help="keep the dataset's cities (Mission Cities, pilot cities, twins)")
        sp.add_argument("-k", type=int, default=20, help="how many to list (default 20)")
        sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
        sp.add_argument("--out", metavar="FILE", help="write to FILE (atomically) instead of stdout")
        data_flags(sp)

    rc = sub.add_parser("recruit", help=cmd_recruit.__doc__, description=cmd_recruit.__doc__)
    rc.add_argument("pilot", help="pilot activity id, acronym or title")
    filter_flags(rc)

    pe = sub.add_parser("peers", help=cmd_peers.__doc__, description=cmd_peers.__doc__)
    pe.add_argument("city", help="signatory name or organisation id (or a dataset city's name)")
    pe.add_argument("--in", dest="city_country", metavar="CC", help="the city's country, where its name is ambiguous")
    filter_flags(pe)
    pe.set_defaults(k=10)

    pm = sub.add_parser("pair-mission", help=cmd_pair_mission.__doc__, description=cmd_pair_mission.__doc__)
    pm.add_argument("city", nargs="?", help="signatory name or organisation id (or a dataset city's name)")
    pm.add_argument("--in", dest="city_country", metavar="CC", help="the city's country, where its name is ambiguous")
    pm.add_argument("--mission", metavar="CITY", help="rank signatories for this Mission City's portfolio instead")
    filter_flags(pm)
    pm.set_defaults(k=10)

    ev = sub.add_parser("evaluate-recruit", help=cmd_evaluate_recruit.__doc__,
                        description=cmd_evaluate_recruit.__doc__)
    ev.add_argument("--pairings", required=True, metavar="FILE",
                    help="CSV of known pairings (twin_city, twin_country, pilot_id)")
    ev.add_argument("--bootstrap", type=int, default=2000, help="bootstrap samples for the intervals (default 2000)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--mission", action="store_true",
                    help="also Mission-minded pairing (needs contracts ingested: peerlearn ingest-ccc)")
    ev.add_argument("--json", action="store_true")
    data_flags(ev)
