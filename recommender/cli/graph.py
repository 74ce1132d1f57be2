"""Commands on the knowledge graph: build, validate, query, settings, and the main job (run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kg.errors import InputError, NotFoundError
from recommender.cli.common import (
    _settings,
    _sources,
    command,
    open_configured_store,
    out,
)


def _print_summary(s: dict) -> None:
    out(f"cities: {s['cities']} (Mission Cities: {s['missionCities']})")
    out(f"pilot activities: {s['pilots']}   twins: {s['twins']}   narratives: {s['narratives']}")
    for cohort, n in sorted(s["by_cohort"].items()):
        out(f"  cohort {cohort}: {n['pilots']} pilot activities, {n['twins']} twins")
    out(f"triples: {s['triples']}")



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
    from kg.examples import EXAMPLES

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
        name = k.strip().lstrip("?$")
        if args.example and name not in EXAMPLES[args.example].parameters:
            takes = ", ".join(EXAMPLES[args.example].parameters) or "no parameters"
            raise InputError(f"--param {name}: example {args.example!r} takes {takes}")
        bindings[name] = _parse_term(v)
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
                        ccc=args.ccc, strict=args.strict, pairings=args.pairings,
                        include_declined=args.include_declined, say=out)


@command("profile")
def cmd_profile(args) -> int:
    """Show a twin's, pilot activity's or city's profile: every concept link with its source
    (stated, inferred, tagged, contract, gcom), weight and evidence, and the context facts with
    theirs (``recommender.profile_view``, as the facilitator's twin and pilot pages)."""
    from kg.catalog import catalog
    from recommender.profile_view import find_profile, profile_view

    settings = _settings(args)
    store = open_configured_store(settings)
    try:
        m = settings.matching
        cat = catalog(store, gcom=m.gcom, contracts=m.contracts, narrative_tags=m.narrative_tags)
        view = profile_view(store, cat, *find_profile(cat, args.name))
    finally:
        store.close()
    if args.json:
        out(json.dumps(view.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in view.text_lines():
            out(line)
    return 0
