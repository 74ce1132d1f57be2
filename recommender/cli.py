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

from kg.errors import InputError, NotFoundError, PeerlearnError

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
        if not path.exists():
            raise PeerlearnError(f"{path}: no knowledge graph yet; run `peerlearn build` first")
        return open_store("oxigraph", path=path, read_only=read_only)
    if st.backend == "rdflib":
        return build(_sources(settings, None), backend="rdflib")
    return open_store("remote", endpoint=st.endpoint, update_endpoint=st.update_endpoint or None)


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
    """Show the effective settings and what each one means."""
    from recommender.settings import as_dict, documented_fields

    s = _settings(args)
    if args.json:
        out(json.dumps(as_dict(s), indent=2, sort_keys=True))
        return 0
    values = as_dict(s)
    for section, key, _default, doc in documented_fields():
        out(f"{section}.{key} = {json.dumps(values[section][key])}\n    {doc}")
    return 0


@command("run")
def cmd_run(args) -> int:
    """The main job on the bundled (or configured) dataset."""
    from recommender.pipeline import run_main_job

    settings = _settings(args)
    return run_main_job(settings, out_dir=Path(args.out), sources=_sources(settings, args.sources),
                        ccc=args.ccc, say=out)


# ------------------------------------------------------------------------ parser

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
        err(f"peerlearn {args.command}: error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
