"""Scale benchmark: every stage of peerlearn on synthetic cities, each against a baseline
measured in the same run, at 1k and 10k cities (100k with ``--sizes 1000,10000,100000``).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--sizes 1000,10000] [--no-model]``

Data comes from ``scripts/synth.py`` (seed ``--seed``): ~5% of the cities run pilot
activities, ~5% are twins, each twin has a planted "true" pilot (``planted.csv``, read only
for the quality rows, never by scoring). For each size one table: seconds and peak RSS (MB,
the process's high-water mark reset before each stage through ``/proc/self/clear_refs``, so it
includes everything already in memory) of each stage, and where a baseline is measured in the
same run its seconds and the ratio baseline / stage (> 1: the stage is faster).

Stages and their baselines:

* ``KG``: tabular rows to RDF, SHACL validation (``kg.validate.violations``; pyshacl, the
  reference engine, as baseline up to ``--pyshacl-max`` cities).
* ``store``: loading the graph, every example query (``kg.examples.EXAMPLES``) and the
  catalog read on every backend of ``--backends``: rdflib in memory (the baseline, up to
  ``--rdflib-max`` cities: its engine takes minutes above), Oxigraph in memory, Oxigraph on
  disk, and the remote backend against a standalone ``oxigraph serve-read-only`` (from
  PyPI) bulk-loaded with the same triples. Row counts and catalogs must agree across all.
* ``graph``: the NetworkX view (``knowledge_graph``) and personalised PageRank from every
  twin (``ppr_matrix``, hubs eliminated) against one sparse LU solve per source (the direct
  method) and ``nx.pagerank``, both timed on a sample of sources and extrapolated.
* ``encode``: profile texts through ``CachedEncoder`` with a fresh cache (cold), against a
  bare ``SentenceTransformer.encode`` in fp32 on a sample (extrapolated), then the same texts
  again (cached).
* ``FAISS``: ``NarrativeIndex`` fit over all pilots and search with all twins, against bare
  ``faiss.IndexFlatIP`` calls and numpy exact top-k.
* ``matcher``: ``Matcher.from_catalog`` as the CLI builds it (cached vectors, pair tables,
  PPR), then the candidate lists of every twin with more than ``matching.candidates``
  eligible pilots (the matcher makes them per cohort on first use).
* ``scoring``: the candidate pairs against exhaustive scoring of every eligible pair (all
  twins up to ``--exhaustive-twins``, else a sample, extrapolated); one twin's
  recommendations from the warm matcher (``rank_pilots``, mean over ``--latency-twins``)
  against the exhaustive ranking.
* ``cohort 1``: min-cost-flow assignment on candidate scores against the flow on exhaustive
  scores, topics of every assigned pair, and every output file of the cohort (CSV, JSON,
  Markdown, HTML reports; no PDFs) written to disk.

Quality rows: recall of the candidate lists against the exhaustive top 5, the share of planted
pilots among the candidates, and hit@5 of the planted pilot (ties at their expectation, as
``peerlearn evaluate``) for the pipeline (candidates), for exhaustive ranking (the sampled
twins) and for a random ranking.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

BACKENDS = ("rdflib", "oxigraph-memory", "oxigraph-disk", "remote")

# ----------------------------------------------------------------------------- measuring


def _rss_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Table:
    """Rows of (stage, seconds, peak MB, (baseline name, baseline seconds) or None, note)."""

    def __init__(self, title: str):
        self.title = title
        self.rows: list[tuple] = []
        self.facts: list[tuple[str, str]] = []

    def measure(self, stage: str, fn, *, baseline: tuple[str, float] | None = None, note: str = "",
                repeat: int = 1):
        """Run ``fn`` (``repeat`` times, keeping the fastest) and record a row."""
        reset = _reset_peak()
        secs = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            result = fn()
            secs = min(secs, time.perf_counter() - t)
        peak = _rss_mb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.rows.append([stage, secs, peak, baseline, note])
        print(f"  {stage}: {secs:.3f} s", file=sys.stderr, flush=True)
        return result, secs

    def add(self, stage: str, secs: float, *, baseline=None, note: str = "", peak=None):
        self.rows.append([stage, secs, peak, baseline, note])

    def set_baseline(self, stage: str, baseline: tuple[str, float]):
        for row in self.rows:
            if row[0] == stage:
                row[3] = baseline

    def fact(self, name: str, value: str):
        self.facts.append((name, value))

    def print(self):
        print(f"\n### {self.title}\n")
        print("| stage | seconds | peak RSS MB | baseline | baseline s | ratio | note |")
        print("|---|---:|---:|---|---:|---:|---|")
        for stage, secs, peak, base, note in self.rows:
            b_name, b_secs, ratio = "", "", ""
            if base is not None:
                b_name, bs = base
                b_secs = f"{bs:.3f}"
                ratio = f"{bs / secs:.1f}x" if secs > 0 else ""
            pk = f"{peak:.0f}" if peak is not None else ""
            print(f"| {stage} | {secs:.3f} | {pk} | {b_name} | {b_secs} | {ratio} | {note} |")
        if self.facts:
            print()
            for name, value in self.facts:
                print(f"- {name}: {value}")
        sys.stdout.flush()


# ----------------------------------------------------------------------------- helpers


def expected_hit(values: dict[str, float], true: str, k: int = 5) -> float:
    """hit@k of ``true`` under random tie-breaking (0 when ``true`` is not ranked at all)."""
    if true not in values:
        return 0.0
    v = values[true]
    better = sum(1 for x in values.values() if x > v + 1e-12)
    ties = sum(1 for x in values.values() if abs(x - v) <= 1e-12)
    return max(0, min(k - better, ties)) / ties


def ranked_ids(scores) -> list[str]:
    return [s.pilot for s in sorted(scores, key=lambda s: (-round(s.score, 12), -s.twin_score, s.pilot))]


class RemoteServer:
    """A standalone ``oxigraph serve-read-only`` on a folder bulk-loaded from N-Triples."""

    def __init__(self, folder: Path, files: list[tuple[Path, str]]):
        from bench_remote import _port

        self.exe = Path(sys.executable).with_name("oxigraph")
        for f, graph in files:
            subprocess.run([str(self.exe), "load", "--location", str(folder), "--file", str(f),
                            "--graph", graph], check=True, capture_output=True)
        self.folder, self.port, self.proc = folder, _port(), None

    def start(self) -> str:
        from bench_remote import _wait

        self.proc = subprocess.Popen([str(self.exe), "serve-read-only", "--location", str(self.folder),
                                      "--bind", f"127.0.0.1:{self.port}", "--union-default-graph"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self.port)
        return f"http://127.0.0.1:{self.port}/query"

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


# ----------------------------------------------------------------------------- one size


def run_size(n: int, args, holder: dict, tmp: Path) -> dict:
    import synth

    from kg.build import write_graphs
    from kg.catalog import catalog
    from kg.examples import EXAMPLES
    from kg.ingest.tabular import read_tabular, to_graph
    from kg.namespaces import GRAPHS
    from kg.ontology import ontology_graph, vocabulary_codes
    from kg.store import RemoteStore, open_store
    from kg.validate import violations
    from recommender.settings import Settings

    settings = Settings().with_overrides([f'data.workdir="{tmp / "work"}"'])
    limit = settings.matching.candidates
    tab = Table(f"{n:,} cities (seed {args.seed}; matching.candidates = {limit})")
    data_dir = tmp / "data"
    tables, _ = tab.measure("synth: generate + write CSV",
                            lambda: (t := synth.generate(n, args.seed), synth.write(t, data_dir))[0])
    tab.fact("data", f"{len(tables['cities'])} cities, {len(tables['pilots'])} pilots, "
                     f"{len(tables['twins'])} twins, {len(tables['narratives'])} narratives, "
                     f"{synth.default_cohorts(n)} cohorts")
    del tables

    # ---- KG build
    codes = {k: set(v) for k, v in vocabulary_codes().items()}
    graph, t_rdf = tab.measure("KG: rows -> RDF", lambda: to_graph(read_tabular([data_dir], codes)))
    found, t_shacl = tab.measure("KG: SHACL validation", lambda: violations(graph))
    assert not found, found[:3]
    if n <= args.pyshacl_max:
        try:
            from kg.validate import pyshacl_violations
        except ImportError:
            pyshacl_violations = None
        if pyshacl_violations is not None:
            ref, t_ref = tab.measure("KG: SHACL with pyshacl (baseline)", lambda: pyshacl_violations(graph))
            assert ref == found
            tab.set_baseline("KG: SHACL validation", ("pyshacl", t_ref))

    # ---- stores: load, examples, catalog on each backend
    def run_examples(st):
        return {name: len(st.query(ex.text).rows) for name, ex in EXAMPLES.items()}

    backends = [b for b in args.backends if b != "rdflib" or n <= args.rdflib_max]
    onto = ontology_graph()
    stores, counts, catalogs, base = {}, {}, {}, {}
    server = None
    for b in backends:
        if b == "remote":
            def load_remote():
                files = []
                for name, g, iri in (("data", graph, GRAPHS.dataset), ("onto", onto, GRAPHS.ontology)):
                    f = tmp / f"{name}.nt"
                    g.serialize(f, format="nt", encoding="utf-8")
                    files.append((f, str(iri)))
                return RemoteServer(tmp / "remote-db", files)

            server, _ = tab.measure("store remote: dump N-Triples + `oxigraph load`", load_remote)
            st = RemoteStore(server.start(), timeout=1800)
        else:
            kind, _, where = b.partition("-")
            path = tmp / "store-disk" if where == "disk" else None
            st = open_store(kind, path=path)
            tab.measure(f"store {b}: load", lambda st=st: write_graphs(st, graph))
        stores[b] = st
    if "rdflib" in stores:
        base = {"load": tab.rows[[r[0] for r in tab.rows].index("store rdflib: load")][1]}
    for b, st in stores.items():
        if "load" in base and b != "rdflib" and b != "remote":
            tab.set_baseline(f"store {b}: load", ("rdflib", base["load"]))
        counts[b], secs = tab.measure(f"store {b}: {len(EXAMPLES)} example queries", lambda st=st: run_examples(st))
        if b == "rdflib":
            base["examples"] = secs
        elif "examples" in base:
            tab.set_baseline(f"store {b}: {len(EXAMPLES)} example queries", ("rdflib", base["examples"]))
        catalogs[b], secs = tab.measure(f"store {b}: catalog read", lambda st=st: catalog(st))
        if b == "rdflib":
            base["catalog"] = secs
        elif "catalog" in base:
            tab.set_baseline(f"store {b}: catalog read", ("rdflib", base["catalog"]))
    first = next(iter(stores))
    agree = all(counts[b] == counts[first] and catalogs[b] == catalogs[first] for b in stores)
    tab.fact("backends", f"{', '.join(stores)}: example row counts and catalogs "
                         f"{'identical on all' if agree else 'DIFFER'}")
    assert agree, {b: counts[b] for b in stores}
    if "rdflib" not in stores:
        tab.fact("rdflib", f"not run above --rdflib-max {args.rdflib_max} cities (its engine takes minutes)")
    main_store = stores.get("oxigraph-memory") or stores[first]
    slow = []
    for name, ex in EXAMPLES.items():
        t = time.perf_counter()
        main_store.query(ex.text)
        slow.append((time.perf_counter() - t, name))
    s, name = max(slow)
    tab.fact("slowest example (Oxigraph, memory)", f"{name} {s * 1000:.0f} ms ({counts[first][name]} rows)")
    tab.fact("triples", f"{len(main_store):,} (dataset {len(graph):,} + ontology)")
    cat = catalogs[first]
    graph = catalogs = None   # free them
    for st in stores.values():
        st.close()
    if server is not None:
        server.stop()
    stores = None

    # ---- graph and personalised PageRank
    from recommender.graph import knowledge_graph, ppr_matrix

    G, _ = tab.measure("graph: knowledge_graph (NetworkX)", lambda: knowledge_graph(cat))
    tab.fact("graph", f"{G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges")
    twin_iris = [t.iri for t in cat.twins.values()]
    pilot_iris = [p.iri for p in cat.pilots.values()]
    rng = random.Random(args.seed)
    sample = rng.sample(twin_iris, min(len(twin_iris), args.ppr_sample))
    _, t_direct = tab.measure(f"PPR: one LU solve per source ({len(sample)} sources)",
                              lambda: ppr_matrix(G, sample, pilot_iris, hub_degree=10**12))
    t_direct_all = t_direct * len(twin_iris) / len(sample)
    few = sample[:3]

    def nx_pagerank():
        import networkx as nx

        for s in few:
            nx.pagerank(G, alpha=0.85, personalization={s: 1.0}, weight="weight", tol=1e-10)

    _, t_nx = tab.measure(f"PPR: nx.pagerank ({len(few)} sources)", nx_pagerank)
    t_nx_all = t_nx * len(twin_iris) / len(few)
    _, t_ppr = tab.measure(f"PPR: ppr_matrix, all {len(twin_iris)} twins (hub elimination)",
                           lambda: ppr_matrix(G, twin_iris, pilot_iris))
    tab.set_baseline(f"PPR: ppr_matrix, all {len(twin_iris)} twins (hub elimination)",
                     ("LU per source, extrapolated", t_direct_all))
    tab.fact("PPR baselines extrapolated to all twins",
             f"LU per source {t_direct_all:.1f} s ({t_direct_all / t_ppr:.0f}x), nx.pagerank "
             f"{t_nx_all:.0f} s ({t_nx_all / t_ppr:.0f}x)")
    G = None

    # ---- encoding
    from recommender.matcher import Matcher
    from recommender.profiles import profile_text, profile_vectors

    texts = [profile_text(cat, t) for t in cat.twins.values()] + [profile_text(cat, p) for p in cat.pilots.values()]
    encoder = False
    vectors = None
    if not args.no_model:
        from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

        m = settings.model
        if "raw" not in holder:
            raw = SentenceTransformerEncoder(m.name, precision=m.precision, batch_size=m.batch_size)
            tab.measure("model load", lambda: raw.encode(["warm-up"]))
            holder["raw"] = raw
            bare = SentenceTransformerEncoder(m.name, precision="fp32", batch_size=m.batch_size)
            bare.encode(["warm-up"])
            holder["bare"] = bare._load()
        raw = holder["raw"]
        some = random.Random(args.seed).sample(texts, min(len(texts), args.bare_sample))
        _, t_bare = tab.measure(f"encode: bare SentenceTransformer.encode fp32 ({len(some)} texts)",
                                lambda: holder["bare"].encode(some, batch_size=m.batch_size,
                                                              normalize_embeddings=True))
        t_bare_all = t_bare * len(texts) / len(some)
        cache = Path(settings.data.workdir) / "cache"
        cold = CachedEncoder(raw, cache)
        _, t_cold = tab.measure(f"encode cold: CachedEncoder {m.precision} ({len(texts)} texts)",
                                lambda: cold.encode(texts),
                                baseline=("bare fp32, extrapolated", t_bare_all))
        warm = CachedEncoder(raw, cache)
        tab.measure("encode cached (same texts)", lambda: warm.encode(texts), baseline=("cold", t_cold),
                    note="")
        tab.rows[-1][4] = f"{warm.hits} hits, {warm.misses} misses"
        tab.fact("encoding rate", f"{len(texts) / t_cold:.0f} texts/s ({m.precision}) vs bare fp32 "
                                  f"{len(some) / t_bare:.0f} texts/s")
        encoder = CachedEncoder(raw, cache)
        vectors = profile_vectors(cat, encoder)

        # ---- FAISS
        from recommender.index import NarrativeIndex

        tv, pv = vectors
        pids = list(pv)
        pm = np.asarray([pv[p] for p in pids])
        tm = np.asarray([tv[t] for t in tv])
        import faiss

        def bare_fit():
            ix = faiss.IndexFlatIP(pm.shape[1])
            ix.add(np.ascontiguousarray(pm, dtype=np.float32))
            return ix

        bare_ix, t_bare_fit = tab.measure("FAISS: bare IndexFlatIP add (baseline)", bare_fit)
        idx, _ = tab.measure(f"FAISS: NarrativeIndex fit ({len(pids)} pilots)",
                             lambda: NarrativeIndex().fit(pids, pm, model_id="bench"),
                             baseline=("bare faiss", t_bare_fit))
        _, t_bare_search = tab.measure("FAISS: bare IndexFlatIP search (baseline)",
                                       lambda: bare_ix.search(np.ascontiguousarray(tm, dtype=np.float32),
                                                              min(20, len(pids))))

        def numpy_topk():
            sims = tm @ pm.T
            kk = min(20, len(pids))
            return np.argpartition(-sims, kk - 1, axis=1)[:, :kk]

        _, t_np = tab.measure("FAISS: numpy exact top-20 (baseline)", numpy_topk)
        tab.measure(f"FAISS: search ({len(tm)} twins, k=20)", lambda: idx.search(tm, 20), baseline=("numpy", t_np),
                    note=f"bare faiss search {t_bare_search:.3f} s")
    else:
        tab.fact("model", "--no-model: narrative similarity and narrative candidates off")

    # ---- matcher
    matcher, t_matcher = tab.measure("matcher: Matcher.from_catalog", lambda: Matcher.from_catalog(
        cat, settings, encoder=encoder), note="vectors (cached), pair tables, PPR")
    crowded, _ = tab.measure("candidates: lists for every twin that needs one", matcher.prepare_candidates,
                             note="Matcher makes them per cohort on first use; here all at once")
    tab.fact("candidate lists", f"{crowded} of {len(cat.twins)} twins have more than {limit} eligible pilots")
    exhaustive = Matcher(cat, matcher.weights, matcher.capacity, matcher.per_twin, matcher.overload_penalty,
                         matcher.topics_per_direction, matcher.context)

    twin_ids = list(cat.twins)
    sample = twin_ids if len(twin_ids) <= args.exhaustive_twins else sorted(
        random.Random(args.seed).sample(twin_ids, args.exhaustive_twins))
    sampled = len(sample) < len(twin_ids)
    ex_pairs = [(t, p) for t in sample for p in matcher.eligible(cat.twins[t])]
    ex_scores, t_ex = tab.measure(f"scoring: exhaustive ({len(ex_pairs):,} pairs, {len(sample)} twins)",
                                  lambda: matcher.score(ex_pairs))
    t_ex_all = t_ex * len(twin_ids) / len(sample)
    if sampled:
        tab.add(f"scoring: exhaustive, all {len(twin_ids)} twins (extrapolated)", t_ex_all)
    cand_pairs = [(t, p) for t in twin_ids for p in matcher.candidates(cat.twins[t])]
    cand_scores, t_sc = tab.measure(f"scoring: candidates ({len(cand_pairs):,} pairs, all twins)",
                                    lambda: matcher.score(cand_pairs),
                                    baseline=("exhaustive" + (" (extrap.)" if sampled else ""), t_ex_all))
    n_elig = sum(len(matcher.eligible(t)) for t in cat.twins.values())
    tab.fact("pairs", f"{n_elig:,} eligible pairs, {len(cand_pairs):,} scored ({len(cand_pairs) / max(n_elig, 1):.1%}), "
                      f"mean {len(cand_pairs) / len(twin_ids):.1f} per twin")

    lat = random.Random(args.seed + 1).sample(twin_ids, min(len(twin_ids), args.latency_twins))
    _, t_lat_ex = tab.measure(f"one twin's recommendations, exhaustive (x{len(lat)})",
                              lambda: [exhaustive.rank_pilots(t, limit=5) for t in lat], repeat=3,
                              note="fastest of 3")
    _, t_lat = tab.measure(f"one twin's recommendations, candidates (x{len(lat)})",
                           lambda: [matcher.rank_pilots(t, limit=5) for t in lat], baseline=("exhaustive", t_lat_ex),
                           repeat=3, note="fastest of 3")
    tab.fact("one twin's recommendations (warm matcher)",
             f"{t_lat / len(lat) * 1000:.1f} ms per twin (exhaustive {t_lat_ex / len(lat) * 1000:.1f} ms)")

    # ---- quality
    from recommender.candidates import recall
    from recommender.evaluate import read_pairings

    by_ex: dict[str, list] = {}
    for s in ex_scores:
        by_ex.setdefault(s.twin, []).append(s)
    by_c: dict[str, list] = {}
    for s in cand_scores:
        by_c.setdefault(s.twin, []).append(s)
    ex_rank = {t: ranked_ids(v) for t, v in by_ex.items()}
    cmap = {t: matcher.candidates(cat.twins[t]) for t in twin_ids}
    rec5, rec1 = recall(cmap, ex_rank, top=5), recall(cmap, ex_rank, top=1)
    pairs, skipped = read_pairings(data_dir / "planted.csv", cat)
    planted_in = sum(1 for p in pairs if p.pilot in cmap[p.twin]) / max(len(pairs), 1)
    hit_c = float(np.mean([expected_hit({s.pilot: s.score for s in by_c.get(p.twin, [])}, p.pilot) for p in pairs]))
    ex_p = [p for p in pairs if p.twin in by_ex]
    hit_ex = float(np.mean([expected_hit({s.pilot: s.score for s in by_ex[p.twin]}, p.pilot) for p in ex_p]))
    hit_c_same = float(np.mean([expected_hit({s.pilot: s.score for s in by_c.get(p.twin, [])}, p.pilot)
                                for p in ex_p]))
    rand = float(np.mean([min(5, len(matcher.eligible(cat.twins[p.twin]))) / len(matcher.eligible(cat.twins[p.twin]))
                          for p in pairs]))
    tab.fact("candidate recall vs exhaustive", f"top-5 {rec5:.3f}, top-1 {rec1:.3f} over {len(ex_rank)} twins")
    tab.fact("planted pilot among the candidates", f"{planted_in:.3f} of {len(pairs)} planted pairs"
             + (f" ({len(skipped)} skipped)" if skipped else ""))
    tab.fact("hit@5 of planted pairs", f"pipeline {hit_c:.3f} (all {len(pairs)} twins); on the "
             f"{len(ex_p)} exhaustively scored twins: pipeline {hit_c_same:.3f}, exhaustive {hit_ex:.3f}; "
             f"random {rand:.3f}")

    # ---- the candidate step alone, at several budgets (sources as Matcher.from_catalog uses them)
    from recommender.candidates import candidate_pairs, candidate_split

    budgets = []
    for budget in args.budgets:
        k, kc, kg, kx = candidate_split(budget)
        kw = dict(k=k, k_concept=kc, k_graph=kg, k_context=kx, encoder_vectors=vectors,
                  proximity=matcher.context.proximity, limit=budget)
        cl, _ = tab.measure(f"candidate step, budget {budget} ({len(ex_rank)} twins)",
                            lambda kw=kw: candidate_pairs(cat, list(ex_rank), **kw),
                            baseline=("exhaustive scoring, same twins", t_ex))
        planted_b = float(np.mean([p.pilot in cl[p.twin] for p in ex_p])) if ex_p else 0.0
        budgets.append((budget, recall(cl, ex_rank, top=5), recall(cl, ex_rank, top=1), planted_b,
                        sum(map(len, cl.values())) / max(len(cl), 1)))
    tab.fact("candidate step vs exhaustive, by budget (recall@5 / recall@1 / planted in list / mean size)",
             "; ".join(f"{b}: {r5:.3f} / {r1:.3f} / {pl:.3f} / {sz:.0f}" for b, r5, r1, pl, sz in budgets))

    # ---- cohort 1: assignment, topics, outputs and reports
    from recommender.assignment import assign
    from recommender.outputs import write_outputs
    from recommender.result import run_result

    cohort = 1
    ctw = [t.id for t in matcher.cohort_twins(cohort)]
    caps = matcher.capacities(cohort)
    kw = dict(cohort=cohort, per_twin=matcher.per_twin, overload_penalty=matcher.overload_penalty, twins=ctw)
    c_scores = matcher.cohort_scores(cohort)
    ex_c, t_sc_ex = tab.measure("cohort 1: exhaustive scores for the flow (baseline)",
                                lambda: exhaustive.cohort_scores(cohort))
    t_asg = time.perf_counter()
    if len(ex_c) <= args.max_flow_edges:
        a_ex, t_asg_ex = tab.measure(f"cohort 1: assign on exhaustive scores ({len(ex_c):,} edges)",
                                     lambda: assign(ex_c, caps, **kw))
    else:
        a_ex, t_asg_ex = None, None
        tab.fact("exhaustive flow", f"{len(ex_c):,} edges > --max-flow-edges {args.max_flow_edges}: not run")
    ex_c = None
    a, t_asg = tab.measure(f"cohort 1: assign on candidate scores ({len(c_scores):,} edges)",
                           lambda: matcher.assign(cohort),
                           baseline=("exhaustive scoring + flow", t_sc_ex + t_asg_ex) if t_asg_ex else None,
                           note=f"{len(ctw)} twins, {len(caps)} pilots; includes scoring")
    if a_ex is not None:
        tab.fact("assignment objective, cohort 1", f"candidates {a.objective:.3f} vs exhaustive {a_ex.objective:.3f}")
    result, t_top = tab.measure(f"cohort 1: run result (scores once, assignment, topics for {len(a.pairs)} "
                                "pairs, explanations)", lambda: run_result(matcher, settings, cohorts=[cohort]))
    files, t_out = tab.measure("cohort 1: outputs + HTML reports written",
                               lambda: write_outputs(result, tmp / "out"))
    tab.fact("cohort 1 job", f"run result + {len(files)} files: {t_top + t_out:.1f} s")
    shutil.rmtree(tmp / "out", ignore_errors=True)
    return {"n": n, "table": tab, "recall5": rec5, "planted_in": planted_in, "hit_c": hit_c, "hit_ex": hit_ex,
            "hit_c_same": hit_c_same, "budgets": budgets,
            "random": rand, "model": "off" if vectors is None else settings.model.precision,
            "n_twins": len(twin_ids), "latency_ms": t_lat / len(lat) * 1000,
            "cohort_job_s": t_top + t_out, "matcher_s": t_matcher}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated city counts (e.g. 1000,10000,100000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-model", action="store_true", help="leave the embedding model out everywhere")
    ap.add_argument("--backends", default=",".join(BACKENDS), help=f"store backends, of {', '.join(BACKENDS)}")
    ap.add_argument("--rdflib-max", type=int, default=10000, help="largest size run on the rdflib store")
    ap.add_argument("--pyshacl-max", type=int, default=10000, help="largest size validated by pyshacl too")
    ap.add_argument("--exhaustive-twins", type=int, default=200,
                    help="twins scored exhaustively (all up to this many, else a random sample)")
    ap.add_argument("--latency-twins", type=int, default=100, help="twins timed for one-twin recommendations")
    ap.add_argument("--ppr-sample", type=int, default=100, help="sources for the per-source PPR baseline")
    ap.add_argument("--bare-sample", type=int, default=300, help="texts for the bare-encode baseline")
    ap.add_argument("--max-flow-edges", type=int, default=1_000_000, help="largest exhaustive flow run")
    ap.add_argument("--budgets", default="10,25,50,100", help="candidate budgets measured for recall")
    args = ap.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
    bad = [b for b in args.backends if b not in BACKENDS]
    if bad:
        ap.error(f"unknown backend {bad[0]!r}; known: {', '.join(BACKENDS)}")
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    print(f"# bench_scale: sizes {sizes}, seed {args.seed}, "
          f"model {'off (--no-model)' if args.no_model else 'bundled all-MiniLM-L6-v2'}, {os.cpu_count()} CPUs, "
          f"backends {', '.join(args.backends)}")
    holder: dict = {}
    results = []
    for n in sizes:
        print(f"[{n:,} cities]", file=sys.stderr, flush=True)
        t = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"peerlearn-scale-{n}-") as d:
            r = run_size(n, args, holder, Path(d))
        r["wall"] = time.perf_counter() - t
        peak = max((row[2] for row in r["table"].rows if row[2] is not None), default=0.0)
        r["peak"] = peak
        r["table"].fact("whole size", f"{r['wall']:.0f} s wall clock, peak RSS {peak:.0f} MB "
                        f"(largest stage high-water mark)")
        r["table"].print()
        results.append(r)
    print("\n### Summary\n")
    print("| cities | twins | model | one twin's recommendations | cohort 1 job | candidate recall@5 "
          "| planted in candidates | hit@5 pipeline | hit@5 pipeline / exhaustive, sampled twins | hit@5 random "
          "| wall | peak RSS |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['n']:,} | {r['n_twins']} | {r['model']} | {r['latency_ms']:.1f} ms | {r['cohort_job_s']:.1f} s "
              f"| {r['recall5']:.3f} | {r['planted_in']:.3f} | {r['hit_c']:.3f} | {r['hit_c_same']:.3f} / {r['hit_ex']:.3f} "
              f"| {r['random']:.3f} | {r['wall']:.0f} s | {r['peak'] / 1024:.1f} GB |")
    print("\n### Candidate step against exhaustive ranking (sampled twins)\n")
    print("| cities | budget | recall@5 | recall@1 | planted pilot in list | mean list size |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        for b, r5, r1, pl, sz in r["budgets"]:
            print(f"| {r['n']:,} | {b} | {r5:.3f} | {r1:.3f} | {pl:.3f} | {sz:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
