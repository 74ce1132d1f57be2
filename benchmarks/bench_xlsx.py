"""Choose the xlsx reader for the GCoM release by measurement: openpyxl against python-calamine.

    python benchmarks/bench_xlsx.py [GCOM_DIR] [--repeat N]

GCOM_DIR defaults to $PEERLEARN_SHARED_DATA/gcom, else ../shared/data/gcom next to the repo.
Each reader reads every sheet of the three xlsx files of the release into rows of Python
values; the counts of non-empty rows must agree. Prints wall time per file and reader (best of N), the
ratio openpyxl / calamine, and the peak RSS growth of each (measured in a child process each,
so one reader's memory does not hide the other's).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

FILES = ("df1_Signatories_2024.xlsx", "df2A_1.xlsx", "df_EIners_MR.xlsx")


def _default_dir() -> Path:
    env = os.environ.get("PEERLEARN_SHARED_DATA")
    if env:
        return Path(env) / "gcom"
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gcom"


def _nonempty(row) -> int:
    """1 for a row with a value (the two readers differ on trailing blank rows and cells)."""
    return int(any(v not in (None, "") for v in row))


def read_openpyxl(path: Path) -> int:
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = sum(_nonempty(r) for ws in wb.worksheets for r in ws.iter_rows(values_only=True))
    wb.close()
    return n


def read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(path))
    return sum(_nonempty(r) for name in wb.sheet_names for r in wb.get_sheet_by_name(name).to_python())


READERS = {"openpyxl": read_openpyxl, "calamine": read_calamine}


def _hwm_kb() -> int:
    """Peak RSS of this process in KB (VmHWM: unlike ru_maxrss it is not inherited from the
    parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(reader: str, folder: Path) -> None:
    """Read all files once with one reader; print rows and peak RSS (KB) as JSON."""
    before = _hwm_kb()
    rows = sum(READERS[reader](folder / f) for f in FILES)
    after = _hwm_kb()
    print(json.dumps({"rows": rows, "peak_kb": after, "growth_kb": after - before}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=_default_dir())
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", choices=READERS, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.folder)
        return
    print(f"{'file':28} {'rows':>7} {'openpyxl s':>11} {'calamine s':>11} {'ratio':>6}")
    tot = {r: 0.0 for r in READERS}
    for f in FILES:
        best, rows = {}, {}
        for r, fn in READERS.items():
            times = []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                rows[r] = fn(a.folder / f)
                times.append(time.perf_counter() - t0)
            best[r] = min(times)
            tot[r] += best[r]
        if rows["openpyxl"] != rows["calamine"]:
            sys.exit(f"row counts differ for {f}: {rows}")
        print(f"{f:28} {rows['calamine']:>7} {best['openpyxl']:>11.2f} {best['calamine']:>11.2f} "
              f"{best['openpyxl'] / best['calamine']:>5.1f}x")
    print(f"{'all three':28} {'':>7} {tot['openpyxl']:>11.2f} {tot['calamine']:>11.2f} "
          f"{tot['openpyxl'] / tot['calamine']:>5.1f}x")
    for r in READERS:
        out = subprocess.run([sys.executable, __file__, str(a.folder), "--child", r],
                             capture_output=True, text=True, check=True).stdout
        m = json.loads(out)
        print(f"{r}: peak RSS {m['peak_kb'] / 1024:.0f} MB (+{m['growth_kb'] / 1024:.0f} MB reading)")


if __name__ == "__main__":
    main()
