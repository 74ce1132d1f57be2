"""Machine-readable outputs of a run: per cohort, the assignment, each twin's shortlist and the
learning topics of every assigned pair, as CSV, JSON and Markdown.

Files are written into a temporary folder beside ``out_dir`` and swapped in at the end, so an
interrupted run leaves the previous outputs intact; same inputs give byte-identical files.

CSV columns:
- ``assignment-cohort-N.csv``: twin_id, twin, pilot_id, pilot, score, twin_score, pilot_score, pinned
- ``shortlists-cohort-N.csv``: twin_id, twin, rank, pilot_id, pilot, score, twin_score,
  pilot_score, strongest_signals, evidence
- ``topics-cohort-N.csv``: twin_id, pilot_id, module, direction, title, questions (" | "-joined),
  evidence
- ``loads-cohort-N.csv``: pilot_id, pilot, load, capacity
- ``evaluation-cohort-N.csv`` (with known pairings): model, n (pairs), twins, hit@1, hit@3, hit@5, mrr,
  then each figure's bootstrap 95% interval over twins (``hit@1_low``, ``hit@1_high``, ..., ``mrr_high``)

Every CSV meant for a spreadsheet (these files, the facilitator pages' ``?format=csv``) is
written by ``csv_text``: a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or
carriage return gets a leading ``'`` (OWASP "CSV Injection"), so a title such as
``=cmd|' /C calc'!A0`` shows as text instead of running as a formula. Numbers stay numbers.
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
from recommender.tables import cohort_tables
from recommender.types import Assignment

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
    it are left out), then each row with every cell through ``spreadsheet_cell``. No rows and
    no columns give an empty text."""
    if columns is None:
        if not rows:
            return ""
        columns = list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: spreadsheet_cell(v) for k, v in r.items()})
    return buf.getvalue()


def _markdown(matcher, a: Assignment, tables) -> str:
    lines = [f"# Cohort {a.cohort}: assignment", "",
             f"Objective {a.objective:.3f}; optimal for its objective. {' '.join(a.notes[1:])}".strip(), "",
             "| Twin | Pilot activity | Score | Twin learns | Pilot learns |", "|---|---|---|---|---|"]
    for r in tables["assignment"]:
        lines.append(f"| {r['twin']} | {r['pilot']} ({r['pilot_id']}) | {r['score']:.2f} | "
                     f"{r['twin_score']:.2f} | {r['pilot_score']:.2f} |")
    if a.unassigned:
        lines += ["", "Unassigned: " + ", ".join(a.unassigned)]
    lines += ["", "## Learning topics", ""]
    current = None
    for t in tables["topics"]:
        key = (t["twin_id"], t["pilot_id"])
        if key != current:
            current = key
            lines += ["", f"### {matcher.catalog.twin_name(t['twin_id'])} and {t['pilot_id']}", ""]
        arrow = "pilot → twin" if t["direction"] == "twin_from_pilot" else "twin → pilot"
        lines.append(f"- **{t['module']}** ({arrow}): {t['title']}. Evidence: {t['evidence']}.")
        for q in t["questions"].split(" | "):
            lines.append(f"  - {q}")
    return "\n".join(lines) + "\n"


def render_outputs(matcher, assignments: dict[int, Assignment], settings) -> dict[str, str]:
    """File name -> content, for every output of a run."""
    files: dict[str, str] = {}
    for cohort, a in sorted(assignments.items()):
        tables = cohort_tables(matcher, a, settings.matching.shortlist)
        for name, rows in tables.items():
            files[f"{name}-cohort-{cohort}.csv"] = csv_text(rows)
        files[f"cohort-{cohort}.json"] = json.dumps({
            "cohort": cohort, "objective": a.objective, "optimal": a.optimal, "notes": list(a.notes),
            "unassigned": list(a.unassigned), "pin_costs": a.pin_costs, **tables,
        }, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        files[f"cohort-{cohort}.md"] = _markdown(matcher, a, tables)
    return files


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


def all_files(matcher, assignments, settings, *, evaluation=None) -> dict[str, str | bytes]:
    """Every output of a run: tables (CSV, JSON, Markdown) and HTML pages; with
    ``evaluation`` (cohort -> metrics), also ``evaluation-cohort-N.csv`` and a section on the
    cohort page."""
    files = render_outputs(matcher, assignments, settings)
    for cohort, ev in sorted((evaluation or {}).items()):
        files[f"evaluation-cohort-{cohort}.csv"] = csv_text([r.row() for r in ev["rows"]])
    files.update(render_reports(matcher, assignments, settings, evaluation=evaluation))
    return files


def write_outputs(matcher, assignments, out_dir: Path, settings, *, pdf: bool = False,
                  only: Callable[[str], bool] | None = None, progress: bool = False,
                  evaluation=None) -> list[Path]:
    """Write a run's outputs atomically; with ``pdf``, also a PDF of each HTML page (Chromium).

    ``only`` keeps the files whose relative name it accepts (e.g. one twin's pages).
    """
    files = all_files(matcher, assignments, settings, evaluation=evaluation)
    if only is not None:
        files = {k: v for k, v in files.items() if only(k)}
    return write_atomically(files, out_dir, pdf=pdf, progress=progress)
