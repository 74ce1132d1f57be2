"""The ``peerlearn`` command. The only module that prints or exits.

``main(argv) -> int`` has the one error boundary: a ``PeerlearnError`` becomes a one-line
message on stderr and its exit code; anything else is a bug and keeps its traceback.
Heavy libraries (torch, sentence-transformers, faiss) are imported by the commands that need
them, so ``peerlearn --help`` and SPARQL commands start at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from kg.errors import ConfigError, InputError, NotFoundError, PeerlearnError, StoreError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def deco(fn):
        COMMANDS[name] = fn
        return fn
    return deco


def out(text: str = "") -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text.rstrip("\n") + "\n")


# ------------------------------------------------------------------------ helpers

def _settings(args):
    from recommender.settings import load_settings

    s = load_settings(args.config)
    return s.with_overrides(args.set or [])


def _sources(settings, given: list[str] | None) -> list[str]:
    from kg.build import bundled_dataset

    if given:
        return given
    if settings.data.sources:
        return list(settings.data.sources)
    return [str(bundled_dataset())]


def open_configured_store(settings, *, read_only: bool = True):
    """The store the settings point at. The rdflib backend lives in memory, so it is built
    from the configured sources on every command."""
    from kg.build import build
    from kg.store import open_store

    st = settings.store
    if st.backend == "oxigraph":
        path = Path(st.path)
        _require_store(path)
        return open_store("oxigraph", path=path, read_only=read_only)
    if st.backend == "rdflib":
        return build(_sources(settings, None), backend="rdflib")
    return open_store("remote", endpoint=st.endpoint, update_endpoint=st.update_endpoint or None)


def _require_store(path) -> None:
    if not Path(path).exists():
        raise StoreError(f"{path}: no knowledge graph yet; run `peerlearn build` first")


def _print_summary(s: dict) -> None:
    out(f"cities: {s['cities']} (Mission Cities: {s['missionCities']})")
    out(f"pilot activities: {s['pilots']}   twins: {s['twins']}   narratives: {s['narratives']}")
    for cohort, n in sorted(s["by_cohort"].items()):
        out(f"  cohort {cohort}: {n['pilots']} pilot activities, {n['twins']} twins")
    out(f"triples: {s['triples']}")


# ------------------------------------------------------------------------ commands

@command("build")
def cmd_build(args) -> int:
    """Data files -> validated knowledge graph in the configured store."""
    from kg.build import build
    from kg.catalog import summary

    settings = _settings(args)
    sources = _sources(settings, args.sources)
    st = settings.store
    store = build(sources, backend=st.backend, path=st.path if st.backend == "oxigraph" else None,
                  endpoint=st.endpoint or None, update_endpoint=st.update_endpoint or None)
    s = summary(store)
    store.close()
    if args.json:
        out(json.dumps(s, indent=2, sort_keys=True))
    else:
        where = st.path if st.backend == "oxigraph" else st.backend
        out(f"built knowledge graph from {', '.join(sources)} -> {where}")
        _print_summary(s)
    return 0


@command("validate")
def cmd_validate(args) -> int:
    """Check data files (tabular or RDF) against the vocabularies and SHACL shapes; write nothing."""
    from kg.build import load_sources

    g = load_sources(args.files)
    out(f"valid: {', '.join(args.files)} ({len(g)} triples)")
    return 0


def _parse_term(raw: str):
    from rdflib import Literal, URIRef

    from kg.namespaces import PREFIXES

    raw = raw.strip()
    if raw.startswith("<") and raw.endswith(">"):
        return URIRef(raw[1:-1])
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return Literal(raw[1:-1])
    if ":" in raw and not raw.startswith("http"):
        prefix, local = raw.split(":", 1)
        if prefix in PREFIXES:
            return URIRef(PREFIXES[prefix] + local)
    if raw.startswith(("http://", "https://")):
        return URIRef(raw)
    try:
        return Literal(int(raw))
    except ValueError:
        pass
    return Literal(raw)


@command("query")
def cmd_query(args) -> int:
    """Run SPARQL from an argument, a file, stdin (-) or the example library."""
    from kg.queries import EXAMPLES

    if args.list_examples or (args.example == "" and not args.text):
        for ex in EXAMPLES.values():
            params = f"  [params: {', '.join(ex.parameters)}]" if ex.parameters else ""
            out(f"{ex.name:26} {ex.title}{params}")
        return 0
    if args.example:
        if args.example not in EXAMPLES:
            import difflib

            close = difflib.get_close_matches(args.example, list(EXAMPLES), n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else "; list them with --list-examples"
            raise NotFoundError(f"no example query named {args.example!r}{hint}")
        text = EXAMPLES[args.example].text
    elif args.file:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read query file ({e})", path=args.file) from None
    elif args.text == "-":
        text = sys.stdin.read()
    elif args.text:
        text = args.text
    else:
        raise InputError("no query given: pass SPARQL text, --file FILE, - for stdin, or --example NAME")
    bindings = {}
    for p in args.param or []:
        if "=" not in p:
            raise InputError(f"--param {p!r}: expected name=value")
        k, v = p.split("=", 1)
        bindings[k.strip().lstrip("?")] = _parse_term(v)
    settings = _settings(args)
    store = open_configured_store(settings)
    try:
        result = store.query(text, bindings, limit=args.limit)
    finally:
        store.close()
    fmt = args.format
    if fmt is None:
        fmt = "turtle" if result.kind == "graph" else "table"
    sys.stdout.buffer.write(result.serialize(fmt))
    sys.stdout.flush()
    return 0


@command("settings")
def cmd_settings(args) -> int:
    """Show the effective settings and what each one means (secrets masked)."""
    from recommender.settings import documented_fields, public_dict

    s = _settings(args)
    if args.json:
        out(json.dumps(public_dict(s), indent=2, sort_keys=True))
        return 0
    values = public_dict(s)
    for section, key, _default, doc in documented_fields():
        out(f"{section}.{key} = {json.dumps(values[section][key])}\n    {doc}")
    return 0


@command("run")
def cmd_run(args) -> int:
    """The main job on the bundled (or configured) dataset."""
    from recommender.pipeline import run_main_job

    settings = _settings(args)
    return run_main_job(settings, out_dir=Path(args.out), sources=_sources(settings, args.sources),
                        ccc=args.ccc, strict=args.strict, pairings=args.pairings, say=out)


def _matcher(args, settings=None):
    from recommender.matcher import Matcher

    settings = settings or _settings(args)
    store = open_configured_store(settings)
    try:
        return Matcher.from_store(store, settings,
                                  encoder=False if getattr(args, "no_model", False) else None)
    finally:
        store.close()


def _weights(args, matcher):
    """The matcher's weights with each ``--weight SIGNAL=W`` applied (checked as settings are)."""
    from recommender.weights import WeightError, Weights

    changes = {}
    for pair in getattr(args, "weight", None) or []:
        if "=" not in pair:
            raise InputError(f"--weight {pair!r}: expected signal=value")
        k, v = pair.split("=", 1)
        changes[k.strip()] = v
    try:
        return Weights(matcher.weights).with_values(changes)
    except WeightError as e:
        raise InputError(f"--weight: {e}") from None


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
    """Rank the pilot activities a twin can join, or (--pilot) the twins for a pilot activity."""
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


def _writable_store(settings):
    """The configured store opened for writing (commands that add to the knowledge graph)."""
    from kg.store import open_store

    st = settings.store
    if st.backend == "oxigraph":
        _require_store(st.path)
        return open_store("oxigraph", path=st.path)
    if st.backend == "remote":
        return open_store("remote", endpoint=st.endpoint, update_endpoint=st.update_endpoint or None)
    raise ConfigError("the rdflib backend lives in memory for one command: use `peerlearn run --ccc` "
                      "or the oxigraph backend to keep ingested contracts and tags")


@command("ingest-ccc")
def cmd_ingest_ccc(args) -> int:
    """Add Climate City Contracts (Markdown) to the knowledge graph as narratives of their cities."""
    from recommender.narratives import ingest_ccc

    settings = _settings(args)
    files = []
    for f in args.files:
        p = Path(f)
        files.extend(sorted(p.glob("*.md")) if p.is_dir() else [p])
    store = _writable_store(settings)
    try:
        batch = ingest_ccc(store, files, strict=args.strict, skip_unmatched=args.skip_unmatched, say=out)
    finally:
        store.close()
    out(f"{batch.summary()}; run `peerlearn tag` and `peerlearn index` to use them")
    return 0


@command("tag")
def cmd_tag(args) -> int:
    """Tag narratives with concepts (zero-shot), or measure the tagger against stated links."""
    from recommender.profiles import make_encoder
    from recommender.tagging import ConceptTagger, evaluate_tagging, keyword_tags, sentences

    settings = _settings(args)
    threshold = args.threshold if args.threshold is not None else settings.matching.tag_threshold
    encoder = make_encoder(settings)
    if args.text is not None or args.evaluate:
        store = open_configured_store(settings)
        try:
            from kg.catalog import catalog

            cat = catalog(store)
        finally:
            store.close()
        tagger = ConceptTagger.from_catalog(cat, encoder, threshold=threshold)
        if args.evaluate:
            rows = evaluate_tagging(cat, tagger)
            if args.json:
                out(json.dumps([{"method": n, "scheme": r.scheme, "precision": round(r.precision, 3),
                                 "recall": round(r.recall, 3), "f1": round(r.f1, 3), "items": r.support}
                                for n, r in rows], indent=2))
                return 0
            out(f"{'method':10} {'scheme':8} {'items':>5} {'P':>6} {'R':>6} {'F1':>6}")
            for n, r in rows:
                out(f"{n:10} {r.scheme:8} {r.support:>5} {r.precision:>6.3f} {r.recall:>6.3f} {r.f1:>6.3f}")
            return 0
        passages = sentences(args.text) or [args.text]
        tags = keyword_tags(cat.concepts.values(), args.text) if args.keywords else tagger.tag(passages)
        if args.json:
            out(json.dumps([{"concept": t.concept, "label": cat.concepts[t.concept].label, "scheme": t.scheme,
                             "score": round(t.score, 4), "passage": t.passage} for t in tags], indent=2))
            return 0
        for t in tags:
            out(f"{t.scheme:8} {cat.concepts[t.concept].label:48} {t.score:.3f}  \"{t.passage}\"")
        if not tags:
            out("no concept reaches the threshold")
        return 0
    from recommender.narratives import tag_store

    store = _writable_store(settings)
    try:
        tag_store(store, encoder, threshold=threshold, say=out)
    finally:
        store.close()
    return 0


@command("index")
def cmd_index(args) -> int:
    """(Re)build the semantic search index of pilots, twins, cities and passages."""
    from recommender.profiles import make_encoder
    from recommender.search import build_indexes

    settings = _settings(args)
    store = open_configured_store(settings)
    try:
        counts = build_indexes(store, make_encoder(settings), Path(settings.data.workdir) / "index",
                               progress=sys.stderr.isatty())
    finally:
        store.close()
    plural = {"city": "cities", "passage": "passages", "pilot": "pilot activities", "twin": "twins"}
    out("indexed: " + ", ".join(f"{n} {plural[k] if n != 1 else k}" for k, n in counts.items()))
    return 0


@command("search")
def cmd_search(args) -> int:
    """Nearest pilot activities, twins, cities and passages to a text."""
    from recommender.profiles import make_encoder
    from recommender.search import KINDS, search

    settings = _settings(args)
    kinds = tuple(args.kind) if args.kind else KINDS
    store = open_configured_store(settings)
    try:
        hits = search(store, make_encoder(settings), Path(settings.data.workdir) / "index", args.text,
                      kinds=kinds, k=args.k)
    finally:
        store.close()
    if args.json:
        out(json.dumps([h.__dict__ for h in hits], indent=2, ensure_ascii=False))
        return 0
    for h in hits:
        out(f"{h.score:.3f}  {h.kind:8} {h.label}  [{h.source}]")
        if h.kind == "passage":
            out(f"         {h.text[:200]}")
    return 0


@command("report")
def cmd_report(args) -> int:
    """Batch reports for a cohort (or one twin): HTML, PDF, CSV, JSON and Markdown."""
    from recommender.assignment import Overrides, read_overrides
    from recommender.outputs import write_outputs
    from recommender.reports.pdf import find_chromium

    settings = _settings(args)
    m = _matcher(args, settings)
    cat = m.catalog
    cohort = args.cohort
    only = None
    if args.twin:
        twin = cat.find_twin(args.twin, cohort=cohort)
        cohort = twin.cohort
        keep = {f"twins/{twin.id}.html", f"twins/{twin.id}.pdf"}
        only = lambda name: name in keep  # noqa: E731
    if cohort is None:
        raise InputError("give --cohort N or --twin NAME")
    overrides = Overrides()
    if args.pins:
        twins = m.cohort_twins(cohort)
        cands = set(m.capacities(cohort))
        overrides = read_overrides(args.pins, [t.id for t in twins], cands,
                                   resolve_twin=lambda n: cat.find_twin(n, cohort=cohort).id,
                                   resolve_pilot=lambda n: cat.find_pilot(n).id)
    a = m.assign(cohort, overrides)
    evaluation = None
    if args.pairings:
        from recommender.evaluate import evaluate, read_pairings

        pairs, skipped = read_pairings(args.pairings, cat)
        pairs = [p for p in pairs if cat.twins[p.twin].cohort == cohort]
        evaluation = {cohort: {"pairs": len(pairs), "rows": evaluate(m, pairs), "skipped": skipped}}
    pdf = not args.no_pdf and find_chromium() is not None
    paths = write_outputs(m, {cohort: a}, Path(args.out), settings, pdf=pdf, only=only,
                          progress=sys.stderr.isatty(), evaluation=evaluation)
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
    routes = [] if warmup is None else facilitator_routes(warmup)
    services = {} if warmup is None else {"recommender": warmup}
    if args.get:
        # Exercise the app without a port (as Datasette's `--get`): one request, print the body.
        from starlette.testclient import TestClient

        from kg.endpoint import create_app

        if warmup is not None:  # one request: a page waits for the build rather than saying "warming up"
            routes = facilitator_routes(warmup.wait_for)
        app = create_app(path, config, extra_routes=routes, log=lambda line: None)
        with TestClient(app, base_url=f"http://{config.host}:{config.port}") as client:
            res = client.get(args.get, headers={"Accept": args.accept} if args.accept else {})
        sys.stdout.buffer.write(res.content)
        sys.stdout.flush()
        if res.status_code >= 400:
            raise PeerlearnError(f"GET {args.get} answered {res.status_code}")
        return 0
    serve(path, config, extra_routes=routes, services=services, log=out)
    return 0


# ------------------------------------------------------------------------ parser

class _Parser(argparse.ArgumentParser):
    """Usage errors echo the command line: never with a secret (``--set server.update_token=...``)."""

    def error(self, message):
        from recommender.settings import redact_overrides

        super().error(redact_overrides(message))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="peerlearn",
        description="Pair cities for peer learning on climate neutrality: knowledge graph, "
                    "semantic search, two-sided matching, learning topics and reports.")
    p.add_argument("--config", metavar="FILE",
                   help="settings file (default: $PEERLEARN_CONFIG or ./peerlearn.toml if present)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set store.backend='\"rdflib\"' (repeatable)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help=cmd_build.__doc__, description=cmd_build.__doc__)
    b.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="folders of CSVs, .csv/.yaml/.json files, .ttl/.nt/.jsonld files "
                        "(default: data.sources, else the bundled NZC dataset)")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")

    v = sub.add_parser("validate", help=cmd_validate.__doc__, description=cmd_validate.__doc__)
    v.add_argument("files", nargs="+", metavar="FILE")

    q = sub.add_parser("query", help=cmd_query.__doc__, description=cmd_query.__doc__)
    q.add_argument("text", nargs="?", help="SPARQL text, or - to read stdin")
    q.add_argument("--file", "-f", metavar="FILE", help="read the query from FILE")
    q.add_argument("--example", "-e", metavar="NAME", nargs="?", const="",
                   help="run an example query by name (without NAME: list them)")
    q.add_argument("--list-examples", action="store_true", help="list the example queries")
    q.add_argument("--param", "-p", action="append", metavar="VAR=VALUE",
                   help="bind a variable: dom:energy, <IRI>, \"text\" or a number (repeatable)")
    q.add_argument("--format", choices=["table", "csv", "tsv", "json", "xml", "turtle", "nt", "json-ld"],
                   help="output format (default: table, or turtle for CONSTRUCT/DESCRIBE)")
    q.add_argument("--limit", type=int, metavar="N", help="read at most N rows")

    s = sub.add_parser("settings", help=cmd_settings.__doc__, description=cmd_settings.__doc__)
    s.add_argument("--json", action="store_true")

    r = sub.add_parser("run", help=cmd_run.__doc__, description=cmd_run.__doc__)
    r.add_argument("sources", nargs="*", metavar="SOURCE", help="as for build")
    r.add_argument("--out", default="out", metavar="DIR", help="where reports go (default: out)")
    r.add_argument("--ccc", nargs="?", const="", default=None, metavar="DIR",
                   help="also ingest Climate City Contracts from DIR (default: data.ccc_dir)")
    r.add_argument("--strict", action="store_true",
                   help="with --ccc: any contract that cannot be read or has no modules is an error, "
                        "nothing is built (default: skip it and report)")
    r.add_argument("--pairings", metavar="FILE",
                   help="known pairings: print hit@k/MRR and add the table to the cohort reports")

    def model_flags(sp):
        sp.add_argument("--no-model", action="store_true",
                        help="leave out narrative similarity (no embedding model is loaded)")
        sp.add_argument("--weight", action="append", metavar="SIGNAL=W",
                        help="override one signal weight for this command (repeatable)")

    rc = sub.add_parser("recommend", help=cmd_recommend.__doc__, description=cmd_recommend.__doc__)
    rc.add_argument("twin", nargs="?", help="twin city name or id (e.g. Belfast, T1-belfast)")
    rc.add_argument("--pilot", metavar="PILOT", help="rank twins for this pilot activity instead")
    rc.add_argument("--cohort", type=int, help="the twin's cohort, where a city was a twin twice")
    rc.add_argument("-k", type=int, default=5, help="how many to list (default 5)")
    rc.add_argument("--json", action="store_true")
    model_flags(rc)

    a = sub.add_parser("assign", help=cmd_assign.__doc__, description=cmd_assign.__doc__)
    a.add_argument("--cohort", type=int, required=True)
    a.add_argument("--pins", metavar="FILE", help="CSV with columns action,twin,pilot (action: pin or exclude)")
    a.add_argument("--json", action="store_true")
    model_flags(a)

    tp = sub.add_parser("topics", help=cmd_topics.__doc__, description=cmd_topics.__doc__)
    tp.add_argument("pilot", help="pilot activity id, acronym or title")
    tp.add_argument("twin", help="twin city name or id")
    tp.add_argument("--json", action="store_true")
    model_flags(tp)

    ev = sub.add_parser("evaluate", help=cmd_evaluate.__doc__, description=cmd_evaluate.__doc__)
    ev.add_argument("--pairings", required=True, metavar="FILE",
                    help="CSV of known pairings (columns twin_city, twin_cohort, pilot_id)")
    ev.add_argument("--json", action="store_true")
    model_flags(ev)

    ic = sub.add_parser("ingest-ccc", help=cmd_ingest_ccc.__doc__, description=cmd_ingest_ccc.__doc__)
    ic.add_argument("files", nargs="+", metavar="FILE", help="CCC Markdown files or folders of them")
    ic.add_argument("--strict", action="store_true",
                    help="all or nothing: the first file that cannot be read, has no modules, matches no "
                         "city or is a second contract for one is an error and nothing is written "
                         "(default: skip it with its reason, read a document without modules by headings)")
    ic.add_argument("--skip-unmatched", action="store_true",
                    help="with --strict: report files that match no city and go on")

    tg = sub.add_parser("tag", help=cmd_tag.__doc__, description=cmd_tag.__doc__)
    tg.add_argument("--text", help="tag this text and print the concepts (writes nothing)")
    tg.add_argument("--keywords", action="store_true", help="with --text: use the keyword baseline")
    tg.add_argument("--evaluate", action="store_true",
                    help="precision/recall/F1 per scheme on pilots' stated links, tagger vs keywords")
    tg.add_argument("--threshold", type=float, help="minimum score (default: matching.tag_threshold)")
    tg.add_argument("--json", action="store_true")

    sub.add_parser("index", help=cmd_index.__doc__, description=cmd_index.__doc__)

    se = sub.add_parser("search", help=cmd_search.__doc__, description=cmd_search.__doc__)
    se.add_argument("text", help="what to look for")
    se.add_argument("--kind", action="append", choices=["pilot", "twin", "city", "passage"],
                    help="only this kind (repeatable; default: all)")
    se.add_argument("-k", type=int, default=5, help="results per kind (default 5)")
    se.add_argument("--json", action="store_true")

    rp = sub.add_parser("report", help=cmd_report.__doc__, description=cmd_report.__doc__)
    rp.add_argument("--cohort", type=int, help="the cohort to report on")
    rp.add_argument("--twin", metavar="NAME", help="only this twin's page")
    rp.add_argument("--out", default="reports", metavar="DIR", help="output folder (default: reports)")
    rp.add_argument("--pins", metavar="FILE", help="facilitator pins/exclusions, as for assign")
    rp.add_argument("--no-pdf", action="store_true", help="skip the PDFs (printed by headless Chromium)")
    rp.add_argument("--pairings", metavar="FILE",
                    help="known pairings (as for evaluate): adds the match-quality table to the cohort page")
    model_flags(rp)

    sv = sub.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    sv.add_argument("--host", help="address to bind (default: server.host, 127.0.0.1)")
    sv.add_argument("--port", type=int, help="port (default: server.port, 7878; 0 picks a free one)")
    sv.add_argument("--no-pages", action="store_true", help="only the SPARQL endpoint and query UI")
    sv.add_argument("--get", metavar="PATH", help="answer one GET request without opening a port, print the body")
    sv.add_argument("--accept", metavar="MEDIA_TYPE", help="Accept header for --get")

    for register in EXTRA_PARSERS:
        register(sub)
    return p


EXTRA_PARSERS: list[Callable] = []


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        return COMMANDS[args.command](args)
    except PeerlearnError as e:
        from kg.redact import scrub

        err(scrub(f"peerlearn {args.command}: error: {e}"))
        return e.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
