"""The files of a run: per cohort, the tables of ``recommender/tables.py`` as CSV, one JSON
document and a Markdown summary, plus the HTML reports; all formatted from one
``RunResult`` (``recommender/result.py``), nothing scored here.

Files are written into a temporary folder beside ``out_dir`` and swapped in at the end, so an
interrupted run leaves the previous outputs intact; same inputs give byte-identical files.

CSV files (columns and their meaning: ``recommender.tables.TABLES``):
- ``assignment-cohort-N.csv``, ``shortlists-cohort-N.csv``, ``topics-cohort-N.csv``,
  ``loads-cohort-N.csv``, ``explanations-cohort-N.csv``;
- ``evaluation-cohort-N.csv`` (with known pairings): the rows of ``recommender.evaluate``:
  model, n (pairs), twins, hit@1, hit@3, hit@5, mrr, then each figure's bootstrap 95% interval
  over twins (``hit@1_low``, ``hit@1_high``, ..., ``mrr_high``).

Every CSV meant for a spreadsheet (these files, the facilitator pages' ``?format=csv``) is
written by ``csv_text``: a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or
carriage return gets a leading ``'`` (OWASP "CSV Injection"), so a title such as
``=cmd|' /C calc'!A0`` shows as text instead of running as a formula. Numbers stay numbers;
booleans are ``true``/``false``.
SPARQL results as ``text/csv`` are not spreadsheet exports: they keep the W3C format.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from kg.files import staged_dir
from recommender.reports import render_reports
from recommender.tables import cohort_document, cohort_tables, columns, evaluation_rows

_BOOL = {True: "true", False: "false"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_cell(value):
    """A cell a spreadsheet shows as written: text that would start a formula gets a leading
    ``'`` (OWASP CSV Injection); numbers, and text that is just a number, are left alone.

    >>> [spreadsheet_cell(v) for v in ("=1+1", "@SUM(A1)", "-2+3", "Oulu", -0.5, "-0.5")]
    ["'=1+1", "'@SUM(A1)", "'-2+3", 'Oulu', -0.5, '-0.5']

    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(rows: list[dict], columns: list[str] | None = None) -> str:
    """CSV for a spreadsheet: a header (``columns``, default the first row's keys; keys not in
    it are left out), then each row with every cell through ``spreadsheet_cell`` (booleans as
    ``true``/``false``). No rows and
    no columns give an empty text."""
    if columns is None:
        if not rows:
            return ""
        columns = list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: _BOOL[v] if isinstance(v, bool) else spreadsheet_cell(v) for k, v in r.items()})
    return buf.getvalue()


def _markdown(result, c, tables) -> str:
    a = c.assignment
    cat = result.catalog
    lines = [f"# Cohort {a.cohort}: assignment", "",
             f"Objective {a.objective:.3f}; optimal for its objective. {' '.join(a.notes[1:])}".strip(), "",
             "| Twin | Pilot activity | Score | Twin learns | Pilot learns | Rank | Weak |", "|---|---|---|---|---|---|---|"]
    for r in tables["assignment"]:
        lines.append(f"| {r['twin']} | {r['pilot']} ({r['pilot_id']}) | {r['score']:.2f} | "
                     f"{r['twin_score']:.2f} | {r['pilot_score']:.2f} | {r['rank']} | {'weak' if r['weak'] else ''} |")
    if a.unassigned:
        lines += ["", "Unassigned: " + ", ".join(a.unassigned)]
    why = [r for r in tables["explanations"] if r["rank"] != 1 or r["weak"]]
    if why:
        lines += ["", "## Why", ""] + [f"- **{r['twin']}** ({r['pilot_id']}): {r['why']}." for r in why]
    lines += ["", "## Learning topics", ""]
    current = None
    for t in tables["topics"]:
        key = (t["twin_id"], t["pilot_id"])
        if key != current:
            current = key
            lines += ["", f"### {cat.twin_name(t['twin_id'])} and {t['pilot_id']}", ""]
        lines.append(f"- **{t['module']}** ({t['direction']}): {t['title']}. Evidence: {t['evidence']}.")
        for q in t["questions"].split(" | "):
            lines.append(f"  - {q}")
    return "\n".join(lines) + "\n"


def render_outputs(result) -> dict[str, str]:
    """File name -> content, for every table file of a run (``result``: a ``RunResult``)."""
    files: dict[str, str] = {}
    for c in result.cohorts:
        tables = cohort_tables(result, c)
        for name, rows in tables.items():
            files[f"{name}-cohort-{c.cohort}.csv"] = csv_text(rows, columns(name))
        files[f"cohort-{c.cohort}.json"] = cohort_json(result, c)
        files[f"cohort-{c.cohort}.md"] = _markdown(result, c, tables)
        if c.evaluation:
            files[f"evaluation-cohort-{c.cohort}.csv"] = csv_text(evaluation_rows(c))
    return files


def cohort_json(result, c) -> str:
    """``cohort-N.json`` (also ``peerlearn assign --json``)."""
    return json.dumps(cohort_document(result, c), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_atomically(files: dict[str, str | bytes], out_dir: Path, *, pdf: bool = False,
                     progress: bool = False) -> list[Path]:
    """Write ``files`` into ``out_dir`` as one swap: all or nothing (a crash or Ctrl-C before
    the swap leaves the previous folder as it was)."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    pages = sorted(n for n in files if n.endswith(".html")) if pdf else []
    bar = tqdm(total=len(files) + len(pages), desc="writing reports", unit="file", disable=not progress)
    with bar, staged_dir(out_dir) as tmp:
        for name, content in sorted(files.items()):
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
            bar.update()
        if pages:
            from recommender.reports.pdf import print_pdfs

            printed = print_pdfs(tmp, pages, final=out_dir, tick=bar.update)
            files = {**files, **{n: b"" for n in printed}}
    return [out_dir / n for n in sorted(files)]


def all_files(result) -> dict[str, str | bytes]:
    """Every output of a run: tables (CSV, JSON, Markdown) and HTML pages."""
    return {**render_outputs(result), **render_reports(result)}


def write_outputs(result, out_dir: Path, *, pdf: bool = False, only: Callable[[str], bool] | None = None,
                  progress: bool = False) -> list[Path]:
    """Write a run's outputs atomically; with ``pdf``, also a PDF of each HTML page (Chromium).

    ``only`` keeps the files whose relative name it accepts (e.g. one twin's pages).
    """
    files = all_files(result)
    if only is not None:
        files = {k: v for k, v in files.items() if only(k)}
    return write_atomically(files, out_dir, pdf=pdf, progress=progress)
