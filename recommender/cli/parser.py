"""The command-line grammar of ``peerlearn`` (each command's help is its docstring)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from recommender.cli import europe as _europe
from recommender.cli.corpus import cmd_index, cmd_ingest_ccc, cmd_ingest_gcom, cmd_search, cmd_tag
from recommender.cli.graph import cmd_build, cmd_profile, cmd_query, cmd_run, cmd_settings, cmd_validate
from recommender.cli.matching import (
    cmd_assign,
    cmd_evaluate,
    cmd_feedback,
    cmd_fit,
    cmd_recommend,
    cmd_topics,
)
from recommender.cli.publish import cmd_report, cmd_serve


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

    pf = sub.add_parser("profile", help=cmd_profile.__doc__, description=cmd_profile.__doc__)
    pf.add_argument("name", metavar="CITY-OR-TWIN-OR-PILOT", help="twin (Belfast, T1-belfast), pilot activity "
                    "(C1-12, acronym) or city name")
    pf.add_argument("--json", action="store_true")

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
    r.add_argument("--include-declined", action="store_true",
                   help="also propose pairs a facilitator declined (peerlearn feedback)")

    def model_flags(sp):
        sp.add_argument("--no-model", action="store_true",
                        help="leave out narrative similarity (no embedding model is loaded)")
        sp.add_argument("--weight", action="append", metavar="SIGNAL=W",
                        help="override one signal weight for this command (repeatable)")

    rc = sub.add_parser("recommend", help=cmd_recommend.__doc__, description=cmd_recommend.__doc__)
    rc.add_argument("twin", nargs="?", help="twin city name or id (e.g. Belfast, T1-belfast)")
    rc.add_argument("--pilot", metavar="PILOT", help="rank twins for this pilot activity instead")
    rc.add_argument("--cohort", type=int, help="the twin's cohort, where a city was a twin twice")
    rc.add_argument("--city", metavar="NAME", help="rank pilot activities for any Covenant of Mayors signatory "
                    "(name or organisation id; reads data.gcom_dir, or --gcom DIR)")
    rc.add_argument("--in", dest="city_country", metavar="CC", help="with --city: its country, where the name is ambiguous")
    rc.add_argument("--gcom", metavar="DIR", help="with --city: GCoM release folder (default: data.gcom_dir)")
    rc.add_argument("-k", type=int, default=5, help="how many to list (default 5)")
    rc.add_argument("--json", action="store_true")
    rc.add_argument("--include-declined", action="store_true",
                    help="also propose pairs a facilitator declined (peerlearn feedback)")
    model_flags(rc)

    a = sub.add_parser("assign", help=cmd_assign.__doc__, description=cmd_assign.__doc__)
    a.add_argument("--cohort", type=int, required=True)
    a.add_argument("--pins", metavar="FILE", help="CSV with columns action,twin,pilot (action: pin or exclude)")
    a.add_argument("--json", action="store_true")
    a.add_argument("--include-declined", action="store_true",
                    help="also propose pairs a facilitator declined (peerlearn feedback)")
    model_flags(a)

    tp = sub.add_parser("topics", help=cmd_topics.__doc__, description=cmd_topics.__doc__)
    tp.add_argument("pilot", help="pilot activity id, acronym or title")
    tp.add_argument("twin", help="twin city name or id")
    tp.add_argument("--json", action="store_true")
    model_flags(tp)

    ev = sub.add_parser("evaluate", help=cmd_evaluate.__doc__, description=cmd_evaluate.__doc__)
    ev.add_argument("--pairings", required=True, metavar="FILE",
                    help="CSV of known pairings (columns twin_city, twin_cohort, pilot_id)")
    ev.add_argument("--by-source", action="store_true",
                    help="ablate the profiles' derived sources instead of the signals: all, without "
                         "gcom, without contracts, without narrative tags, without all three")
    ev.add_argument("--json", action="store_true")
    model_flags(ev)

    ft = sub.add_parser("fit", help=cmd_fit.__doc__, description=cmd_fit.__doc__)
    ft.add_argument("--pairings", metavar="FILE",
                    help="CSV of known pairings (columns twin_city, twin_cohort, pilot_id)")
    ft.add_argument("--feedback", action="store_true",
                    help="also learn from facilitators' decisions in the graph (accepted pairs, and the "
                         "pilot a swapped twin joined instead)")
    ft.add_argument("--out", default="learned-weights.toml", metavar="FILE",
                    help="weights file to write (default: learned-weights.toml)")
    ft.add_argument("--l2", type=float, metavar="X", help="ridge penalty on the weights (default 0.01)")
    ft.add_argument("--json", action="store_true")
    model_flags(ft)

    fb = sub.add_parser("feedback", help=cmd_feedback.__doc__, description=cmd_feedback.__doc__)
    fb.add_argument("file", nargs="?", metavar="FILE",
                    help="decisions CSV: twin,pilot,decision (accepted, declined, swapped)[,reason,instead,cohort]")
    fb.add_argument("--list", action="store_true", help="show the latest decision per pair")
    fb.add_argument("--json", action="store_true")

    ic = sub.add_parser("ingest-ccc", help=cmd_ingest_ccc.__doc__, description=cmd_ingest_ccc.__doc__)
    ic.add_argument("files", nargs="+", metavar="FILE", help="CCC Markdown files or folders of them")
    ic.add_argument("--strict", action="store_true",
                    help="all or nothing: the first file that cannot be read, has no modules, matches no "
                         "city or is a second contract for one is an error and nothing is written "
                         "(default: skip it with its reason, read a document without modules by headings)")
    ic.add_argument("--skip-unmatched", action="store_true",
                    help="with --strict: report files that match no city and go on")

    ig = sub.add_parser("ingest-gcom", help=cmd_ingest_gcom.__doc__, description=cmd_ingest_gcom.__doc__)
    ig.add_argument("path", metavar="PATH", help="folder with the release's files as published "
                    "(df1_Signatories_2024.xlsx, tokens_lemma_new.txt.gz, df_EIners_MR.xlsx, "
                    "cov_emissions2005_2030.txt, df2A_1.xlsx)")
    ig.add_argument("--report", metavar="FILE", help="write the match report (every dataset city: matched or "
                    "not, and why) as TSV")
    ig.add_argument("--quiet", action="store_true", help="no progress bar on stderr")

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
    rp.add_argument("--include-declined", action="store_true",
                    help="also propose pairs a facilitator declined (peerlearn feedback)")
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


EXTRA_PARSERS: list[Callable] = [_europe.register]
