"""SHACL validation benchmark: pyshacl (the baseline, the reference engine) against the compiled
SPARQL engine (``kg.validate.sparql_violations``, what ``violations`` runs) on the same graph,
in one run, on synthetic cities from ``scripts/synth.py``.

Run: ``.venv/bin/python benchmarks/bench_validate.py [--cities 1000,10000,100000]
[--no-baseline-above 10000] [--repeat 3]``

For each size: the graph is built once (``read_tabular`` + ``to_graph``, as ``load_sources``
does), then each engine validates it. Seconds are the best of ``--repeat`` runs (pyshacl runs
once above 10k cities: it takes minutes); peak RSS is the process's high-water mark (MB) reset
before each run through ``/proc/self/clear_refs``, so it includes the graph already in memory;
"+MB" is that peak less the RSS at the start of the run. Both engines must find the same
(focus, path) violations (none, on synthetic data). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def measure(fn, repeat: int):
    """(result, best seconds, peak RSS MB, peak - start MB) over ``repeat`` runs."""
    best, peak, grow, result = float("inf"), 0.0, 0.0, None
    for _ in range(repeat):
        gc.collect()
        start = _rss_mb("VmRSS")
        _reset_peak()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
        hwm = _rss_mb("VmHWM")
        peak, grow = max(peak, hwm), max(grow, hwm - start)
    return result, best, peak, grow


def build_graph(n: int, seed: int):
    import synth

    from kg.ingest.tabular import read_tabular, to_graph
    from kg.ontology import vocabulary_codes

    with tempfile.TemporaryDirectory(prefix=f"peerlearn-validate-{n}-") as tmp:
        synth.write(synth.generate(n, seed), tmp)
        codes = {k: set(v) for k, v in vocabulary_codes().items()}
        t = time.perf_counter()
        g = to_graph(read_tabular([Path(tmp)], codes))
        return g, time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cities", default="1000,10000", help="comma-separated sizes (default 1000,10000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine, best kept (default 3)")
    ap.add_argument("--no-baseline-above", type=int, default=None, metavar="N",
                    help="skip pyshacl for sizes above N cities (it takes ~5 min at 100k)")
    args = ap.parse_args(argv)

    from kg.validate import default_shapes, pyshacl_violations, sparql_violations

    default_shapes()  # compile once, outside the timings
    rows = []
    for n in (int(s) for s in args.cities.split(",") if s.strip()):
        graph, t_graph = build_graph(n, args.seed)
        print(f"{n:,} cities: {len(graph):,} triples (read + to RDF {t_graph:.1f} s)", file=sys.stderr, flush=True)
        found, t_new, peak_new, grow_new = measure(lambda g=graph: sparql_violations(g), args.repeat)
        print(f"  sparql: {t_new:.2f} s", file=sys.stderr, flush=True)
        base = None
        if args.no_baseline_above is None or n <= args.no_baseline_above:
            base = measure(lambda g=graph: pyshacl_violations(g), args.repeat if n <= 10_000 else 1)
            print(f"  pyshacl: {base[1]:.2f} s", file=sys.stderr, flush=True)
            same = {(v.focus, v.path) for v in found} == {(v.focus, v.path) for v in base[0]}
            if not same:
                print(f"  MISMATCH: sparql {len(found)} vs pyshacl {len(base[0])} violations", file=sys.stderr)
        rows.append((n, len(graph), t_graph, base, (t_new, peak_new, grow_new), len(found),
                     None if base is None else same))

    print("\n| cities | triples | read + to RDF s | pyshacl s | pyshacl peak MB (+MB) | SPARQL s "
          "| SPARQL peak MB (+MB) | pyshacl / SPARQL | violations | same |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for n, triples, t_graph, base, new, nviol, same in rows:
        b_s = f"{base[1]:.2f}" if base else "not run"
        b_m = f"{base[2]:.0f} (+{base[3]:.0f})" if base else "-"
        ratio = f"{base[1] / new[0]:.1f}x" if base else "-"
        print(f"| {n:,} | {triples:,} | {t_graph:.1f} | {b_s} | {b_m} | {new[0]:.2f} | "
              f"{new[1]:.0f} (+{new[2]:.0f}) | {ratio} | {nviol} | {'-' if same is None else same} |")
    return 0 if all(r[-1] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
