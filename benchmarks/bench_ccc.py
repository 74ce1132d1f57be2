"""Benchmark the Climate City Contract reader over every CCC Markdown file.

    python benchmarks/bench_ccc.py [CCC_DIR] [--tracemalloc]

CCC_DIR defaults to $PEERLEARN_SHARED_DATA/ccc, else ../shared/data/ccc next to the repo.
Prints documents, passages, module coverage, documents with emissions, wall time, peak
memory, and the time against a baseline measured in the same run (read the raw files and
split them on blank lines). ``--tracemalloc`` adds a second, traced pass for the peak
Python allocation of one document (slower; the timed pass is never traced).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from kg.errors import InputError
from kg.ingest.ccc import CCC_SECTIONS, read_ccc


def _default_dir() -> Path:
    env = os.environ.get("PEERLEARN_SHARED_DATA")
    if env:
        return Path(env) / "ccc"
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ccc"


def _baseline(files: list[Path]) -> tuple[float, float, int]:
    """Raw read + decode + naive split on blank lines: the floor any reader pays.
    Returns (wall s, CPU s, paragraphs)."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for f in files:
        text = f.read_bytes().decode("utf-8", errors="replace")
        n += sum(1 for par in text.split("\n\n") if par.strip())
    return time.perf_counter() - t0, time.process_time() - c0, n


def _rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ccc_dir", nargs="?", type=Path, default=_default_dir())
    ap.add_argument("--tracemalloc", action="store_true", help="also measure peak allocation per document")
    args = ap.parse_args(argv)
    files = sorted(args.ccc_dir.glob("*.md"))
    if not files:
        print(f"no *.md files in {args.ccc_dir}", file=sys.stderr)
        return 1
    size_mb = sum(f.stat().st_size for f in files) / 1e6

    base_s, base_cpu, base_pars = _baseline(files)
    rss0 = _rss_mb()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    docs, errors = [], []
    slowest = (0.0, "")
    for f in files:
        t1 = time.perf_counter()
        try:
            docs.append(read_ccc(f))
        except InputError as e:
            errors.append(str(e))
        dt = time.perf_counter() - t1
        slowest = max(slowest, (dt, f.name))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss1 = _rss_mb()

    coverage = Counter(code for d in docs for code in d.sections)
    passages = sum(len(d.passages) for d in docs)
    words = sum(len(p.text.split()) for d in docs for p in d.passages)
    per_section = Counter(p.section for d in docs for p in d.passages)
    with_emissions = sum(1 for d in docs if d.emissions)
    emission_rows = sum(len(d.emissions) for d in docs)

    print(f"folder              {args.ccc_dir}")
    print(f"documents           {len(files)} files, {size_mb:.1f} MB; {len(docs)} read, {len(errors)} raised InputError")
    for e in errors:
        print(f"  error             {e}")
    print(f"passages            {passages} ({words / max(passages, 1):.0f} words on average)")
    print("module coverage     " + "  ".join(f"{m}:{coverage[m]}" for m in CCC_SECTIONS))
    print("passages by section " + "  ".join(f"{s}:{per_section[s]}" for s in (*CCC_SECTIONS, "intro")))
    print(f"no modules (raise)  {len(errors)}")
    print(f"with emissions      {with_emissions} documents, {emission_rows} rows")
    print(f"wall time           {wall:.2f} s ({size_mb / wall:.1f} MB/s); slowest {slowest[1]} {slowest[0]:.2f} s")
    print(f"CPU time            {cpu:.2f} s (one core; wall is higher on a busy machine)")
    print(f"baseline            {base_s:.2f} s wall, {base_cpu:.2f} s CPU (read + split on blank lines, "
          f"{base_pars} paragraphs)")
    print(f"ratio               {wall / base_s:.0f}x the baseline (wall), {cpu / max(base_cpu, 1e-9):.0f}x (CPU)")
    print(f"peak RSS            {rss1:.0f} MB (+{max(rss1 - rss0, 0):.0f} MB during the reader pass)")

    if args.tracemalloc:
        tracemalloc.start()
        peak = (0, "")
        for f in files:
            tracemalloc.reset_peak()
            try:
                read_ccc(f)
            except InputError:
                pass
            peak = max(peak, (tracemalloc.get_traced_memory()[1], f.name))
        tracemalloc.stop()
        print(f"tracemalloc peak    {peak[0] / 1e6:.0f} MB for one document ({peak[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
