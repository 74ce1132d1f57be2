"""The shared SPARQL result writer (kg.sparql_formats) against pyoxigraph's own.

    python benchmarks/bench_result_writers.py [ROWS] [MAX_RESULTS]

One in-memory store of ROWS (default 200000) triples, each object a language-tagged literal
holding a tab. For JSON and TSV it prints, in one run: pyoxigraph's ``QuerySolutions.serialize``
over every row (the baseline: it cannot stop early), the endpoint's path stopping at MAX_RESULTS
(default 10000) rows, and the shared writer over every row, as a ratio against the baseline.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyoxigraph as ox  # noqa: E402

from kg.endpoint.worker import _term  # noqa: E402
from kg.sparql_formats import write_solutions  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    store = ox.Store()
    data = "".join(f'<http://e/s{i}> <http://e/p> "v{i}\\tx"@en .\n' for i in range(n))
    store.bulk_load(data.encode(), format=ox.RdfFormat.N_TRIPLES)
    q = "SELECT ?s ?o WHERE { ?s ?p ?o }"
    for fmt, engine_fmt in (("json", ox.QueryResultsFormat.JSON), ("tsv", ox.QueryResultsFormat.TSV)):
        t = time.perf_counter()
        engine = store.query(q).serialize(format=engine_fmt)
        t_engine = time.perf_counter() - t

        def ours(bound, fmt=fmt):
            t = time.perf_counter()
            rows = []
            for sol in store.query(q):
                if len(rows) >= bound:
                    break
                rows.append([_term(ox, sol[0]), _term(ox, sol[1])])
            out = write_solutions(fmt, ["s", "o"], rows, None)
            return time.perf_counter() - t, out

        t_bounded, bounded = ours(limit)
        t_all, everything = ours(n)
        print(f"{fmt}: pyoxigraph all {n} rows {t_engine:.3f} s ({len(engine) / 1e6:.1f} MB); "
              f"shared writer stopping at {limit} rows {t_bounded:.3f} s ({len(bounded) / 1e6:.2f} MB, "
              f"{t_bounded / t_engine:.2f}x); shared writer all rows {t_all:.3f} s "
              f"({len(everything) / 1e6:.1f} MB, {t_all / t_engine:.1f}x)")


if __name__ == "__main__":
    main()
