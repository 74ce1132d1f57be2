"""Benchmark `peerlearn ingest-gcom` on a whole GCoM release, stage by stage.

    python benchmarks/bench_gcom.py [GCOM_DIR] [--reruns 1]

GCOM_DIR defaults to $PEERLEARN_SHARED_DATA/gcom, else ../shared/data/gcom next to the repo.
Builds the bundled dataset into a fresh on-disk store in a temporary folder, then ingests the
release (read + join, match, N-Triples with derived links, bulk load) and reruns it (the graph
is replaced). Prints wall and CPU time per stage, the ratio against a baseline measured in the
same run (reading the five files' raw rows with no joins: the floor any reader pays), the
triples written and the peak RSS of the process (VmHWM).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _default_dir() -> Path:
    env = os.environ.get("PEERLEARN_SHARED_DATA")
    return Path(env) / "gcom" if env else ROOT.parent / "shared" / "data" / "gcom"


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _baseline(folder: Path) -> int:
    from python_calamine import CalamineWorkbook

    n = 0
    for f in ("df1_Signatories_2024.xlsx", "df2A_1.xlsx", "df_EIners_MR.xlsx"):
        wb = CalamineWorkbook.from_path(str(folder / f))
        n += sum(len(wb.get_sheet_by_name(s).to_python()) for s in wb.sheet_names)
    n += len(gzip.decompress((folder / "tokens_lemma_new.txt.gz").read_bytes()).splitlines())
    n += len((folder / "cov_emissions2005_2030.txt").read_bytes().splitlines())
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=_default_dir())
    ap.add_argument("--reruns", type=int, default=1)
    a = ap.parse_args()
    from kg.build import build, bundled_dataset
    from kg.ingest.gcom.ingest import ingest_release_on_disk

    rows = []

    def stage(name, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        r = fn()
        rows.append((name, time.perf_counter() - t0, time.process_time() - c0))
        return r

    stage("baseline: raw rows of the five files", lambda: _baseline(a.folder))
    with tempfile.TemporaryDirectory(prefix="bench-gcom-") as tmp:
        path = Path(tmp) / "store"
        stage("build the bundled dataset (on disk)",
              lambda: build([bundled_dataset()], backend="oxigraph", path=path).close())
        res = stage("ingest-gcom: whole release", lambda: ingest_release_on_disk(path, a.folder))
        for i in range(a.reruns):
            stage(f"ingest-gcom: rerun {i + 1} (replaces the graph)", lambda: ingest_release_on_disk(path, a.folder))
        from kg.store import open_store
        with open_store("oxigraph", path=path, read_only=True) as store:
            n = len(store)
    base = rows[0][1]
    print(f"release: {a.folder}; {res.written['triples']} triples in graph/gcom, {n} in the store")
    print("| stage | wall s | CPU s | x baseline |\n|---|---|---|---|")
    for name, wall, cpu in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall / base:.1f} |")
    print(f"peak RSS: {_hwm_mb():.0f} MB")


if __name__ == "__main__":
    main()
