"""`make bench`: the quick benchmark suite, then how to run the longer ones.

Run: ``.venv/bin/python benchmarks/run_all.py [--full] [--no-model]``

* ``bench_store.py`` on ~200k data triples (``--full``: the 1M of the README's figures);
* ``bench_scale.py`` at 1,000 cities (``--full``: 1,000 and 10,000).

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
    "bench_store.py": "store backends at 1M triples: .venv/bin/python benchmarks/bench_store.py",
    "bench_scale.py": "every stage at 1k/10k cities (100k: --with-100k)",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="1M-triple store benchmark and 10k-city scale run")
    ap.add_argument("--no-model", action="store_true", help="bench_scale without the embedding model")
    args = ap.parse_args(argv)
    runs = [
        ["bench_store.py", "--triples", "1000000" if args.full else "200000"],
        ["bench_scale.py", "--sizes", "1000,10000" if args.full else "1000",
         *(["--no-model"] if args.no_model else [])],
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
