"""`make bench`: the benchmark suite in one command, then how to run the others.

Run: ``.venv/bin/python benchmarks/run_all.py [--full] [--no-model]``

* ``bench_scale.py``: every stage at 1,000 and 10,000 cities (``--full``: and 100,000);
* ``bench_validate.py``: SHACL engines at 1,000 and 10,000 cities;
* ``bench_store.py`` on ~200k data triples (``--full``: the 1M of the README's figures).

Each runs as its own process (a failure in one does not hide the others' tables); the exit
status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OTHERS = {
    "bench_embeddings.py": "encoder precision (fp32 vs bf16) and batch size on generated narratives",
    "bench_index.py": "NarrativeIndex exact vs HNSW at 10k/100k: build, ms/query, recall@10",
    "bench_ccc.py": "Climate City Contract ingestion and passage tagging",
    "bench_remote.py": "remote backend on oxigraph serve and Virtuoso vs the embedded store (default: bundled dataset)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="add 100k cities and the 1M-triple store benchmark")
    ap.add_argument("--no-model", action="store_true", help="bench_scale without the embedding model")
    args = ap.parse_args(argv)
    runs = [
        ["bench_scale.py", "--sizes", "1000,10000,100000" if args.full else "1000,10000",
         *(["--no-model"] if args.no_model else [])],
        ["bench_validate.py"],
        ["bench_store.py", "--triples", "1000000" if args.full else "200000"],
    ]
    failed = []
    for script, *rest in runs:
        cmd = [sys.executable, str(HERE / script), *rest]
        print(f"\n## {script} {' '.join(rest)}\n", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"\n({script}: exit {rc}, {time.perf_counter() - t:.0f} s)", flush=True)
        if rc:
            failed.append(script)
    print("\n## Other benchmarks\n")
    for script, what in OTHERS.items():
        present = (HERE / script).exists()
        print(f"- {script}{'' if present else ' (not in this checkout yet)'}: {what}\n"
              f"  run: .venv/bin/python benchmarks/{script} --help")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
