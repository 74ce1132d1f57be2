"""The remote backend on real SPARQL servers (`oxigraph serve` from PyPI, Virtuoso Open Source
from Debian's package) against the embedded on-disk Oxigraph store (the default backend, the
baseline), on the same data, in one run:

    .venv/bin/python benchmarks/bench_remote.py                       # bundled dataset, both engines
    .venv/bin/python benchmarks/bench_remote.py --cities 10000 --no-run --engines oxigraph

Steps per store: build (the ontology and data graphs written through the store: for a remote
store, batched INSERTs into staging graphs and one MOVE), the 16 example queries, the catalog
read, and `peerlearn run` through the CLI (build, tagging with the bundled model, scoring,
assignment, recommendations written back, reports; the embedding cache is warmed first so
every store runs with the same cache). Answers are compared: example row counts, the catalog,
the assignment files of `run`.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


class OxigraphServer:
    def __init__(self, folder: Path):
        exe = Path(sys.executable).with_name("oxigraph")
        port = _port()
        self.proc = subprocess.Popen([str(exe), "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}",
                                      "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(port)
        self.query, self.update = f"http://127.0.0.1:{port}/query", f"http://127.0.0.1:{port}/update"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class VirtuosoServer:
    def __init__(self, folder: Path):
        from scripts import virtuoso_local

        self.server = virtuoso_local.start(folder, max_rows=1_000_000, buffers=100_000)
        self.query = self.update = self.server.url

    def stop(self):
        self.server.stop()


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cities", type=int, default=0, help="synthetic cities (0: the bundled dataset)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engines", default="oxigraph,virtuoso")
    ap.add_argument("--no-run", action="store_true", help="leave out `peerlearn run`")
    args = ap.parse_args(argv)

    from kg.build import bundled_dataset, load_sources, write_graphs
    from kg.catalog import catalog
    from kg.examples import EXAMPLES
    from kg.remote import RemoteStore
    from kg.store import atomic_oxigraph_dir, open_store

    engines = [e for e in args.engines.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="peerlearn-remote-") as tmpdir:
        tmp = Path(tmpdir)
        if args.cities:
            subprocess.run([sys.executable, str(ROOT / "scripts" / "synth.py"), "--cities", str(args.cities),
                            "--seed", str(args.seed), "--out", str(tmp / "data")], check=True, capture_output=True)
            source = tmp / "data"
        else:
            source = bundled_dataset()
        data = load_sources([source])
        print(f"data: {source.name if not args.cities else f'{args.cities:,} synthetic cities'}, "
              f"{len(data):,} triples")

        results: dict[str, dict[str, tuple[float, object]]] = {}

        def measure(label: str, store, out_name: str, config: str) -> None:
            r = results[label] = {}
            r["build"] = _timed(lambda: write_graphs(store, data))[::-1]
            counts, secs = _timed(lambda: {n: len(store.query(ex.text)) for n, ex in EXAMPLES.items()})
            r["examples"] = (secs, counts)
            cat, secs = _timed(lambda: catalog(store))
            r["catalog"] = (secs, cat)
            if not args.no_run:
                (tmp / f"{out_name}.toml").write_text(config + f'\n[data]\nworkdir = "{tmp / "work"}"\n',
                                                      encoding="utf-8")
                env = {**os.environ, "PEERLEARN_CONFIG": str(tmp / f"{out_name}.toml")}
                exe = Path(sys.executable).with_name("peerlearn")
                res, secs = _timed(lambda: subprocess.run([str(exe), "run", str(source), "--out", str(tmp / out_name)],
                                                          env=env, cwd=tmp, capture_output=True, text=True))
                if res.returncode != 0:
                    raise SystemExit(f"{label}: peerlearn run failed: {res.stderr[-1000:]}")
                r["run"] = (secs, tmp / out_name)

        disk = tmp / "embedded"
        with atomic_oxigraph_dir(disk) as st:
            pass
        embedded_cfg = f'[store]\nbackend = "oxigraph"\npath = "{disk}"\n'
        if not args.no_run:  # warm the embedding cache, so no store pays for encoding
            env = {**os.environ, "PEERLEARN_CONFIG": str(tmp / "warm.toml")}
            (tmp / "warm.toml").write_text(embedded_cfg + f'\n[data]\nworkdir = "{tmp / "work"}"\n', encoding="utf-8")
            subprocess.run([str(Path(sys.executable).with_name("peerlearn")), "run", str(source), "--out",
                            str(tmp / "warm")], env=env, cwd=tmp, check=True, capture_output=True)
        st = open_store("oxigraph", path=disk)
        measure("embedded Oxigraph (disk)", st, "out-embedded", embedded_cfg)
        st.close()
        for engine in engines:
            server = OxigraphServer(tmp / "oxdb") if engine == "oxigraph" else VirtuosoServer(tmp / "vdb")
            try:
                st = RemoteStore(server.query, server.update, timeout=1800)
                cfg = f'[store]\nbackend = "remote"\nendpoint = "{server.query}"\nupdate_endpoint = "{server.update}"\n'
                measure(f"remote {engine}", st, f"out-{engine}", cfg)
            finally:
                server.stop()

        base = results["embedded Oxigraph (disk)"]
        steps = ["build", "examples", "catalog"] + ([] if args.no_run else ["run"])
        names = {"build": "build (write graphs)", "examples": f"{len(EXAMPLES)} example queries",
                 "catalog": "catalog read", "run": "`peerlearn run` (CLI)"}
        labels = list(results)
        print("\n| step | " + " | ".join(labels) + " | answers |")
        print("|---|" + "---:|" * len(labels) + "---|")
        for step in steps:
            cells = []
            for label in labels:
                secs = results[label][step][0]
                ratio = "" if label == labels[0] else f" ({secs / base[step][0]:.1f}x)"
                cells.append(f"{secs:.2f} s{ratio}")
            print(f"| {names[step]} | " + " | ".join(cells) + f" | {_agree(step, results, base)} |")
    return 0


def _agree(step, results, base) -> str:
    if step == "build":
        return ""
    if step == "run":
        want = base["run"][1]
        files = sorted(p.name for p in want.glob("assignment-cohort-*.csv"))
        same = all(filecmp.cmp(want / f, r["run"][1] / f, shallow=False) for r in results.values() for f in files)
        return f"assignment files {'identical' if same else 'DIFFER'}"
    same = all(r[step][1] == base[step][1] for r in results.values())
    return "same on all" if same else "DIFFER"


if __name__ == "__main__":
    sys.exit(main())
