"""Read the GCoM release's files as the JRC publishes them: xlsx sheets and tab-separated text.

xlsx goes through python-calamine (Rust): on the whole release it reads the three workbooks
6-8 times faster than openpyxl (``benchmarks/bench_xlsx.py``: 2.2 s against 16.9 s). Text
tables are tab-separated with ``"`` quoting, optionally gzip-compressed; a file that is not
UTF-8 (``cov_emissions2005_2030.txt`` has Latin-1 names such as ``Liège``) is read as Latin-1
and that is counted, never fatal. A row whose cell count differs from the header's is
counted and skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from kg.errors import InputError
from kg.ingest.gcom.values import Tally


def xlsx_rows(path: Path, sheet: str | int = 0) -> Iterator[dict[str, object]]:
    """The rows of one sheet as dicts keyed by the header row; blank rows skipped."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        name = wb.sheet_names[sheet] if isinstance(sheet, int) else sheet
        rows = wb.get_sheet_by_name(name).to_python()
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except Exception as e:      # calamine raises its own errors for a file that is not a workbook
        raise InputError(f"not a readable xlsx workbook ({type(e).__name__}: {e})", path=str(path)) from None
    if not rows:
        raise InputError(f"sheet {name!r} is empty", path=str(path))
    header = [str(h).strip() for h in rows[0]]
    for r in rows[1:]:
        if any(v not in (None, "") for v in r):
            yield dict(zip(header, r))


def _decode(raw: bytes, name: str, tally: Tally) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        tally.note(name, "*", "file not UTF-8, read as Latin-1")
        return raw.decode("latin-1")


def text_rows(path: Path, tally: Tally) -> Iterator[dict[str, str]]:
    """The rows of a tab-separated file (``.gz`` or plain) as dicts keyed by its header."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"broken gzip file ({e})", path=str(path)) from None
    name = path.name.split(".")[0]
    reader = csv.reader(io.StringIO(_decode(raw, name, tally)), delimiter="\t", quotechar='"')
    header = next(reader, None)
    if not header:
        raise InputError("empty file: no header row", path=str(path))
    header = [h.strip() for h in header]
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            tally.note(name, "*", f"row skipped: {len(row)} cells, header has {len(header)}")
            continue
        yield dict(zip(header, row))
