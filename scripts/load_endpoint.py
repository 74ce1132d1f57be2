"""A bounded load test of the SPARQL endpoint (kg.endpoint) on loopback.

Starts ``peerlearn``'s endpoint on a free 127.0.0.1 port over a store (by default one it
generates: ~100k triples of cities and pilot activities), runs N concurrent clients for a fixed
time, half a point lookup and half a two-hop join (the cheap queries), and prints queries/s,
latency p50/p95/p99, errors, and the resident memory of the server and its workers.

It runs twice against the same server: without, then with the runaway mix: a separate "bad"
client sends a query that runs until the time limit (a cartesian product) every
``--runaway-every`` s, without waiting for the previous one. The ratio of the cheap queries'
p95 (mix / baseline) says how well the endpoint keeps cheap queries fast meanwhile. Each client
uses its own loopback source address (127.0.0.x), as separate machines would.

    .venv/bin/python scripts/load_endpoint.py                       # generate, 8 clients, 2 x 20 s
    .venv/bin/python scripts/load_endpoint.py --clients 16 --duration 60 --workers 2
    .venv/bin/python scripts/load_endpoint.py --runaway-every 0     # no runaway phase
    .venv/bin/python scripts/load_endpoint.py --url http://127.0.0.1:7878   # a running endpoint

Only loopback targets are accepted, and both the client count and the duration are capped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
D = "https://w3id.org/peerlearn/data/"
PL = "https://w3id.org/peerlearn/ontology#"
SCHEMA = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
COUNTRIES = ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
             "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "NO", "IS", "CH"]
DOMAINS = ["buildings", "energy", "transport", "waste", "industry", "agriculture", "nature"]


def generate(path: str, cities: int, pilots: int, seed: int = 7) -> int:
    """Write an on-disk Oxigraph store shaped like peerlearn's graph; returns the triple count."""
    import pyoxigraph as ox

    rng = random.Random(seed)
    lines = []
    g_data, g_tags = f"<{BASE_GRAPH}dataset>", f"<{BASE_GRAPH}tags>"
    for i in range(cities):
        c = f"<{D}city/c{i}>"
        lines += [f"{c} <{RDF_TYPE}> <{PL}City> {g_data} .",
                  f'{c} <{SCHEMA}name> "City {i}"@en {g_data} .',
                  f'{c} <{PL}country> "{COUNTRIES[i % len(COUNTRIES)]}" {g_data} .',
                  f'{c} <{PL}population> "{rng.randint(50_000, 3_000_000)}"^^<{XSD}integer> {g_data} .',
                  f'{c} <{SCHEMA}latitude> "{rng.uniform(35, 70):.4f}"^^<{XSD}decimal> {g_data} .',
                  f'{c} <{SCHEMA}longitude> "{rng.uniform(-10, 30):.4f}"^^<{XSD}decimal> {g_data} .']
    for j in range(pilots):
        p = f"<{D}pilot/p{j}>"
        lines += [f"{p} <{RDF_TYPE}> <{PL}PilotActivity> {g_tags} .",
                  f"{p} <{PL}city> <{D}city/c{rng.randrange(cities)}> {g_tags} .",
                  f'{p} <{DCT}title> "Pilot activity {j}" {g_tags} .',
                  f"{p} <{PL}domain> <{D}domain/{rng.choice(DOMAINS)}> {g_tags} .",
                  f"{p} <{PL}domain> <{D}domain/{rng.choice(DOMAINS)}> {g_tags} .",
                  f'{p} <{PL}year> "{rng.randint(2019, 2026)}"^^<{XSD}integer> {g_tags} .',
                  f'{p} <{PL}budget> "{rng.randint(10, 5000) * 1000}"^^<{XSD}integer> {g_tags} .']
    store = ox.Store(path)
    store.bulk_load(("\n".join(lines) + "\n").encode(), format=ox.RdfFormat.N_QUADS)
    store.flush()
    n = len(store)
    del store
    return n


BASE_GRAPH = "https://w3id.org/peerlearn/graph/"


RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # 100k^3 rows


def simple_query(rng: random.Random, cities: int) -> str:
    return (f"SELECT ?name ?pop WHERE {{ <{D}city/c{rng.randrange(cities)}> <{SCHEMA}name> ?name ; "
            f"<{PL}population> ?pop }}")


def two_hop_query(rng: random.Random, cities: int) -> str:
    country = rng.choice(COUNTRIES)
    return (f"SELECT ?pilot ?title ?city WHERE {{ ?pilot <{PL}city> ?c ; <{DCT}title> ?title . "
            f'?c <{PL}country> "{country}" ; <{SCHEMA}name> ?city }} LIMIT 100')


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def memory(url: str, server_pid: int | None) -> dict:
    h = httpx.get(url + "/healthz", timeout=10).json()
    workers = {p: rss_kb(p) for p in h.get("worker_pids", [])}
    out = {"workers_kb": workers, "workers_total_mb": round(sum(workers.values()) / 1024, 1)}
    if server_pid:
        out["server_mb"] = round(rss_kb(server_pid) / 1024, 1)
    return out


def start_server(store: str, workers: int, timeout: float):
    code = ("import json, sys\nfrom kg.endpoint import EndpointConfig, serve\n"
            "serve(sys.argv[1], EndpointConfig(port=0, workers=int(sys.argv[2]), query_timeout=float(sys.argv[3])),"
            " examples=[], log=lambda line: print(line) if 'event' in line else None)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, store, str(workers), str(timeout)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for line in proc.stdout:
        if '"event": "listening"' in line:
            url = json.loads(line)["url"].rstrip("/")
            break
    else:
        raise SystemExit("the endpoint did not start")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the endpoint did not become healthy")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def _http(url: str, source: str | None, timeout: float) -> httpx.Client:
    """A client that connects from ``source`` (a 127.0.0.x address) when the target is 127.x."""
    if source and (urlparse(url).hostname or "").startswith("127."):
        return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(local_address=source))
    return httpx.Client(timeout=timeout)


def run_load(url: str, clients: int, duration: float, cities: int, runaway_every: float = 0.0) -> dict:
    sparql = url + "/sparql"
    lat: dict[str, list[float]] = {"simple": [], "two-hop": []}
    errors: dict[str, int] = {}
    runaways: dict[str, int] = {}
    lock = threading.Lock()
    end = time.monotonic() + duration

    def client(k: int):
        rng = random.Random(1000 + k)
        with _http(url, f"127.0.0.{10 + k}", 30) as http:
            i = 0
            while time.monotonic() < end:
                kind = "simple" if (i + k) % 2 == 0 else "two-hop"
                q = simple_query(rng, cities) if kind == "simple" else two_hop_query(rng, cities)
                t0 = time.perf_counter()
                try:
                    r = http.post(sparql, data={"query": q}, headers={"Accept": "application/sparql-results+json"})
                    ok = r.status_code == 200 and "bindings" in r.text
                    err = None if ok else f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    err = type(e).__name__
                dt = time.perf_counter() - t0
                with lock:
                    if err:
                        errors[err] = errors.get(err, 0) + 1
                    else:
                        lat[kind].append(dt)
                i += 1

    def one_runaway():
        with _http(url, "127.0.0.250", 120) as http:
            try:
                r = http.post(sparql, data={"query": RUNAWAY})
                key = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                key = type(e).__name__
        with lock:
            runaways[key] = runaways.get(key, 0) + 1

    def bad_client():  # one runaway every `runaway_every` s, not waiting for the previous one
        sent = []
        while time.monotonic() < end:
            t = threading.Thread(target=one_runaway)
            t.start()
            sent.append(t)
            time.sleep(min(runaway_every, max(0.0, end - time.monotonic())))
        for t in sent:
            t.join()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    if runaway_every > 0:
        threads.append(threading.Thread(target=bad_client))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads[:clients]:
        t.join()
    elapsed = time.monotonic() - t0
    for t in threads[clients:]:
        t.join()
    total = sum(len(v) for v in lat.values())
    summary = {"clients": clients, "duration_s": round(elapsed, 1), "queries": total,
               "queries_per_s": round(total / elapsed, 1), "errors": errors}
    if runaway_every > 0:
        summary["runaways"] = runaways
    for kind, values in [("all", lat["simple"] + lat["two-hop"]), *lat.items()]:
        summary[kind] = {"n": len(values), "p50_ms": round(pct(values, 50) * 1000, 1),
                         "p95_ms": round(pct(values, 95) * 1000, 1), "p99_ms": round(pct(values, 99) * 1000, 1),
                         "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None}
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running endpoint on loopback (default: start one)")
    ap.add_argument("--store", help="an on-disk Oxigraph store (default: generate one)")
    ap.add_argument("--cities", type=int, default=3000)
    ap.add_argument("--pilots", type=int, default=12000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    ap.add_argument("--workers", type=int, default=0, help="query workers (0: the endpoint's default, "
                    "from the cores)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--runaway-every", type=float, default=5.0,
                    help="seconds between runaway queries in the second phase (0: no such phase)")
    args = ap.parse_args(argv)
    clients = max(1, min(args.clients, 64))
    duration = max(1.0, min(args.duration, 300.0))
    every = max(0.0, args.runaway_every)
    if 0 < every < 1:
        raise SystemExit("--runaway-every: at least 1 s")

    proc = None
    tmp = None
    if args.url:
        host = urlparse(args.url).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
            raise SystemExit("refusing: load tests target loopback addresses only")
        url = args.url.rstrip("/")
    else:
        store = args.store
        if store is None:
            tmp = tempfile.TemporaryDirectory(prefix="peerlearn-load-")
            store = os.path.join(tmp.name, "db")
            t0 = time.monotonic()
            n = generate(store, args.cities, args.pilots)
            print(f"generated {n} triples ({args.cities} cities, {args.pilots} pilots) in "
                  f"{time.monotonic() - t0:.1f} s")
        proc, url = start_server(store, args.workers, args.timeout)
    phases: dict[str, dict] = {}
    try:
        pid = proc.pid if proc else None
        warm = run_load(url, 2, 2.0, args.cities)  # warm-up: caches, first worker queries
        workers = httpx.get(url + "/healthz", timeout=10).json().get("workers")
        mem_start = memory(url, pid)
        phases["baseline"] = run_load(url, clients, duration, args.cities)
        if every:
            phases["runaway mix"] = run_load(url, clients, duration, args.cities, every)
        mem_end = memory(url, pid)
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        if tmp:
            tmp.cleanup()
    result = {"warmup_queries": warm["queries"], "workers": workers, "phases": phases,
              "memory_start": mem_start, "memory_end": mem_end}
    print(f"\n{clients} clients, {duration:g} s per phase, against {url} ({workers} workers)")
    for name, r in phases.items():
        extra = f", runaway every {every:g} s: {r['runaways']}" if "runaways" in r else ""
        print(f"{name}{extra}")
        print(f"  ok queries/s : {r['queries_per_s']}  ({r['queries']} queries, errors: {r['errors'] or 0})")
        for kind in ("all", "simple", "two-hop"):
            k = r[kind]
            print(f"  {kind:11} : n={k['n']:6}  p50 {k['p50_ms']:7.1f} ms  p95 {k['p95_ms']:7.1f} ms  "
                  f"p99 {k['p99_ms']:7.1f} ms")
    if "runaway mix" in phases:
        base, mix = phases["baseline"]["all"], phases["runaway mix"]["all"]
        result["p95_ratio"] = round(mix["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None
        result["qps_ratio"] = round(phases["runaway mix"]["queries_per_s"] /
                                    max(phases["baseline"]["queries_per_s"], 1e-9), 2)
        print(f"cheap queries under the runaway mix: p95 x{result['p95_ratio']} of the baseline, "
              f"ok queries/s x{result['qps_ratio']}")
    for label, m in (("start", mem_start), ("end", mem_end)):
        print(f"  RSS {label:5} : server {m.get('server_mb', '?')} MB, workers {m['workers_total_mb']} MB "
              f"({len(m['workers_kb'])} processes)")
    print(json.dumps(result))
    return 1 if any(r["errors"] for r in phases.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
