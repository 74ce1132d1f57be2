"""The remote-endpoint backend against a real standalone SPARQL server (the `oxigraph` server
from PyPI) loaded with a synthetic graph of up to 100k cities, next to the embedded Oxigraph
store on the same data (the baseline), in one run.

    .venv/bin/python benchmarks/bench_remote.py --cities 100000

Steps: scripts/synth.py writes the tabular data; kg.ingest.tabular turns it into RDF (row
checks, no SHACL: bench_scale measures that); the N-Triples are bulk-loaded with
`oxigraph load` into a folder, served read-only with `--union-default-graph`; every example
query and the catalog read then run through RemoteStore (HTTP) and through the embedded store.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cities", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    from kg.catalog import catalog
    from kg.ingest.tabular import read_tabular, to_graph
    from kg.namespaces import GRAPHS
    from kg.ontology import ontology_graph, vocabulary_codes
    from kg.queries import EXAMPLES
    from kg.store import OxigraphStore, RemoteStore

    exe = Path(sys.executable).with_name("oxigraph")
    with tempfile.TemporaryDirectory(prefix="peerlearn-remote-") as tmpdir:
        tmp = Path(tmpdir)
        t = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "scripts" / "synth.py"), "--cities", str(args.cities),
                        "--seed", str(args.seed), "--out", str(tmp / "data")], check=True, capture_output=True)
        t_synth = time.perf_counter() - t
        t = time.perf_counter()
        codes = {k: set(v) for k, v in vocabulary_codes().items()}
        g = to_graph(read_tabular([tmp / "data"], codes))
        data_nt = g.serialize(format="nt", encoding="utf-8")
        onto_nt = ontology_graph().serialize(format="nt", encoding="utf-8")
        t_rdf = time.perf_counter() - t
        (tmp / "data.nt").write_bytes(data_nt)
        (tmp / "onto.nt").write_bytes(onto_nt)
        print(f"{args.cities:,} cities: {len(g):,} data triples (synth {t_synth:.1f} s, to RDF {t_rdf:.1f} s)")

        t = time.perf_counter()
        for f, graph in (("data.nt", GRAPHS.dataset), ("onto.nt", GRAPHS.ontology)):
            subprocess.run([str(exe), "load", "--location", str(tmp / "db"), "--file", str(tmp / f),
                            "--graph", str(graph)], check=True, capture_output=True)
        t_load_remote = time.perf_counter() - t
        t = time.perf_counter()
        local = OxigraphStore()
        local.add_ntriples(data_nt, GRAPHS.dataset)
        local.add_ntriples(onto_nt, GRAPHS.ontology)
        t_load_local = time.perf_counter() - t

        port = _port()
        server = subprocess.Popen([str(exe), "serve-read-only", "--location", str(tmp / "db"),
                                   "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(port)
            remote = RemoteStore(f"http://127.0.0.1:{port}/query", timeout=600)
            rows = [("load", t_load_remote, t_load_local, "", "")]
            for name, ex in EXAMPLES.items():
                t = time.perf_counter()
                r = remote.query(ex.text)
                tr = time.perf_counter() - t
                t = time.perf_counter()
                lo = local.query(ex.text)
                tl = time.perf_counter() - t
                same = "same" if len(r) == len(lo) else f"DIFFER {len(r)} vs {len(lo)}"
                rows.append((f"example {name}", tr, tl, len(r), same))
            t = time.perf_counter()
            cr = catalog(remote)
            tr = time.perf_counter() - t
            t = time.perf_counter()
            cl = catalog(local)
            tl = time.perf_counter() - t
            rows.append(("catalog read", tr, tl, len(cr.pilots) + len(cr.twins),
                         "same" if cr == cl else "DIFFER"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("\n| step | remote oxigraph server (s) | embedded Oxigraph (s) | remote/embedded | rows | answers |")
    print("|---|---:|---:|---:|---:|---|")
    for name, tr, tl, n, same in rows:
        ratio = f"{tr / tl:.1f}x" if tl > 0 else ""
        print(f"| {name} | {tr:.3f} | {tl:.3f} | {ratio} | {n} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
