"""Scale benchmark: every stage of peerlearn on synthetic data of 1k and 10k cities (100k opt-in).

Run: ``.venv/bin/python benchmarks/bench_scale.py [--sizes 1000,10000] [--with-100k] [--no-model]``

Data comes from ``scripts/synth.py`` (seed ``--seed``): ~5% of the cities run pilot activities,
~5% are twins, each twin has a planted "true" pilot (``planted.csv``, read only for the quality
rows, never by scoring). For each size one table: seconds and peak RSS (MB, the process's
high-water mark reset before each stage through ``/proc/self/clear_refs``, so it includes
everything already in memory) of each stage, and, where a baseline is measured in the same
run, the baseline's seconds and the ratio baseline / stage (> 1: the stage is faster).

Stages (what is measured, exactly):

* ``synth``: generate and write the CSVs.
* ``KG: read + to RDF``, ``KG: SHACL``: the two halves of ``kg.build.load_sources``;
  ``KG: write Oxigraph`` (in memory) against ``write rdflib`` (``RdflibStore``).
* ``SPARQL examples``: every ``kg.queries.EXAMPLES`` query, unbound, on Oxigraph; the baseline
  is the same queries on rdflib, **at 1k only** (rdflib's engine takes minutes at 10k).
* ``catalog read`` (``kg.catalog.catalog``) on Oxigraph; rdflib baseline at 1k only.
* ``encode cold`` / ``encode cached``: profile texts of every twin and pilot through
  ``CachedEncoder`` (a fresh temporary cache, then the same texts again). The model load is
  its own row. Above ``--max-encode`` texts (default 2000) nothing is encoded and that size
  runs the ``--no-model`` path (no narrative similarity, no narrative candidates); the table
  says so and gives the estimated encoding time from the measured texts/s.
* ``FAISS index`` (``NarrativeIndex`` over pilot vectors, per cohort) and ``FAISS search`` of
  all twins against a numpy exact top-k baseline.
* ``matcher precompute``: ``Matcher.from_catalog`` (narrative cosines of all eligible pairs
  and personalised PageRank from every twin and every pilot). Above 10k cities it is not run
  (a dense nodes x sources PageRank matrix of ~110k x 5000 does not fit); see
  ``benchmarks/notes_scale.md``.
* ``candidates``: ``recommender.candidates.candidate_pairs`` (k = ``--k`` per source) against
  ``exhaustive scoring`` of every eligible pair; exhaustive scoring runs on every twin up to
  ``--exhaustive-twins`` twins (default 200) and on a random sample of that many beyond, and
  its time is then extrapolated to all twins (the row says so).
* ``score candidates``: ``Matcher.score`` on every candidate pair, against exhaustive scoring.
* ``assign``: min-cost flow of cohort 1 on the candidate scores against the flow on the
  exhaustive scores (scoring excluded from both).
* ``topics``: ``Matcher.topics`` for every assigned pair of cohort 1.
* ``outputs``: ``recommender.outputs.render_outputs`` for cohort 1 (shortlists rank every
  eligible pilot of each twin, topics of every pair), and ``reports`` (HTML) likewise.

Quality rows: recall of the candidates against the exhaustive top 5, the share of planted
pilots among the candidates, and hit@5 of the planted pilot (ties at their expectation, as
``peerlearn evaluate``) when ranking only the candidates, and when ranking exhaustively (on the
exhaustively scored twins).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402

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
    """Rows of (stage, seconds, peak MB, baseline name, baseline seconds, note)."""

    def __init__(self, title: str):
        self.title = title
        self.rows: list[tuple] = []
        self.facts: list[tuple[str, str]] = []

    def measure(self, stage: str, fn, *, baseline: tuple[str, float] | None = None, note: str = ""):
        reset = _reset_peak()
        t = time.perf_counter()
        result = fn()
        secs = time.perf_counter() - t
        peak = _rss_mb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.rows.append((stage, secs, peak, baseline, note))
        print(f"  {stage}: {secs:.3f} s", file=sys.stderr, flush=True)
        return result, secs

    def add(self, stage: str, secs: float, *, baseline=None, note: str = "", peak=None):
        self.rows.append((stage, secs, peak, baseline, note))

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


def run_size(n: int, args, encoder_holder: dict) -> dict:
    import synth

    from kg.build import write_graphs
    from kg.catalog import catalog
    from kg.ingest.tabular import read_tabular, to_graph
    from kg.ontology import vocabulary_codes
    from kg.queries import EXAMPLES
    from kg.store import open_store
    from kg.validate import violations
    from recommender.assignment import assign
    from recommender.candidates import candidate_pairs, profile_vectors, recall
    from recommender.evaluate import read_pairings
    from recommender.pipeline import Matcher, profile_text
    from recommender.scoring import MatchContext
    from recommender.settings import Settings

    settings = Settings()
    tab = Table(f"{n:,} cities (seed {args.seed}, candidates k={args.k} narrative + k={args.k} concept "
                f"+ {args.k_context} context)")
    tmp = Path(tempfile.mkdtemp(prefix=f"peerlearn-scale-{n}-"))
    data_dir = tmp / "data"
    tables, _ = tab.measure("synth: generate + write CSV",
                            lambda: (t := synth.generate(n, args.seed), synth.write(t, data_dir))[0])
    tab.fact("data", f"{len(tables['cities'])} cities, {len(tables['pilots'])} pilots, "
                     f"{len(tables['twins'])} twins, {len(tables['narratives'])} narratives, "
                     f"{synth.default_cohorts(n)} cohorts")

    # ---- KG build
    codes = {k: set(v) for k, v in vocabulary_codes().items()}
    graph, t_rdf = tab.measure("KG: read + to RDF", lambda: to_graph(read_tabular([data_dir], codes)))
    found, t_shacl = tab.measure("KG: SHACL validation", lambda: violations(graph))
    assert not found, found[:3]
    store = open_store("oxigraph")
    rd = open_store("rdflib")
    _, t_rdflib_write = tab.measure("KG: write rdflib (baseline)", lambda: write_graphs(rd, graph))
    tab.measure("KG: write Oxigraph (in memory)", lambda: write_graphs(store, graph),
                baseline=("rdflib write", t_rdflib_write))
    tab.fact("triples", f"{len(store):,} (dataset {len(graph):,} + ontology)")
    tab.fact("KG build total (load_sources + Oxigraph write)",
             f"{t_rdf + t_shacl + tab.rows[-1][1]:.1f} s, of which SHACL {t_shacl:.1f} s")

    # ---- SPARQL examples
    def run_examples(st):
        return {name: len(st.query(ex.text).rows) for name, ex in EXAMPLES.items()}

    base = None
    if n <= 1000:
        _, t_rq = tab.measure("SPARQL examples: rdflib (baseline)", lambda: run_examples(rd))
        base = ("rdflib", t_rq)
    counts, _ = tab.measure(f"SPARQL examples ({len(EXAMPLES)}): Oxigraph", lambda: run_examples(store),
                            baseline=base, note="" if base else "rdflib not run above 1k")
    slowest = []
    for name, ex in EXAMPLES.items():
        t = time.perf_counter()
        store.query(ex.text)
        slowest.append((time.perf_counter() - t, name))
    s, name = max(slowest)
    tab.fact("slowest example on Oxigraph", f"{name} {s * 1000:.0f} ms ({counts[name]} rows)")

    # ---- catalog
    base = None
    if n <= 1000:
        _, t_cat_rd = tab.measure("catalog read: rdflib (baseline)", lambda: catalog(rd))
        base = ("rdflib", t_cat_rd)
    cat, _ = tab.measure("catalog read: Oxigraph", lambda: catalog(store), baseline=base)
    rd = None  # free the rdflib copy

    # ---- encoding
    n_texts = len(cat.twins) + len(cat.pilots)
    vectors = None
    encoder = None
    model_note = ""
    if args.no_model:
        model_note = "--no-model: narrative similarity and narrative candidates off"
    else:
        from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

        if "raw" not in encoder_holder:
            raw = SentenceTransformerEncoder(settings.model.name, precision=settings.model.precision,
                                             batch_size=settings.model.batch_size)
            tab.measure("model load", lambda: raw.encode(["warm-up"]))
            encoder_holder["raw"] = raw
        raw = encoder_holder["raw"]
        texts = [profile_text(cat, t) for t in cat.twins.values()] + \
                [profile_text(cat, p) for p in cat.pilots.values()]
        if n_texts > args.max_encode:
            rate = encoder_holder.get("rate")
            est = f"~{n_texts / rate / 60:.0f} min at the measured {rate:.0f} texts/s" if rate else "unknown"
            model_note = (f"{n_texts} texts > --max-encode {args.max_encode}: not encoded "
                          f"(estimated {est}); this size runs the --no-model path")
        else:
            cache_dir = tmp / "cache"
            cold = CachedEncoder(raw, cache_dir)
            _, t_cold = tab.measure(f"encode cold ({n_texts} texts, {settings.model.precision})",
                                    lambda: cold.encode(texts))
            encoder_holder["rate"] = n_texts / t_cold
            warm = CachedEncoder(raw, cache_dir)
            tab.measure("encode cached (same texts)", lambda: warm.encode(texts), baseline=("cold", t_cold))
            tab.rows[-1] = (*tab.rows[-1][:4], f"{warm.hits} hits, {warm.misses} misses")
            encoder = CachedEncoder(raw, cache_dir)
            vectors = profile_vectors(cat, encoder)
    if model_note:
        tab.fact("model", model_note)

    # ---- FAISS
    if vectors is not None:
        from recommender.index import NarrativeIndex

        tv, pv = vectors
        pids = list(pv)
        pm = np.asarray([pv[p] for p in pids])
        tm = np.asarray([tv[t] for t in tv])
        idx, _ = tab.measure(f"FAISS index fit ({len(pids)} pilots)",
                             lambda: NarrativeIndex().fit(pids, pm, model_id="bench"))

        def numpy_topk():
            sims = tm @ pm.T
            kk = min(args.k, len(pids))
            part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            return part

        _, t_np = tab.measure("top-k by numpy matmul (baseline)", numpy_topk)
        tab.measure(f"FAISS search ({len(tm)} twins, k={args.k})", lambda: idx.search(tm, args.k),
                    baseline=("numpy", t_np))

    # ---- matcher
    small = n <= 10_000
    if small:
        matcher, t_matcher = tab.measure(
            "matcher precompute (Matcher.from_catalog)",
            lambda: Matcher.from_catalog(cat, settings, encoder=encoder if encoder is not None else False),
            note="narrative cosines of all eligible pairs + PPR from every twin and pilot")
    else:
        matcher = Matcher(cat, dict(settings.matching.weights), settings.matching.capacity,
                          settings.matching.per_twin, settings.matching.overload_penalty,
                          settings.matching.topics_per_direction, MatchContext(cat))
        tab.fact("matcher", "Matcher.from_catalog not run above 10k (see notes_scale.md); narrative "
                            "cosines filled for candidate pairs only, graph_proximity left at 0")

    # ---- candidates vs exhaustive
    twin_ids = list(cat.twins)
    cands, t_cand = tab.measure("candidates: candidate_pairs", lambda: candidate_pairs(
        cat, twin_ids, k=args.k, k_context=args.k_context, encoder_vectors=vectors))
    if not small and vectors is not None:
        tv, pv = vectors
        matcher.context.narrative = {(t, p): float(np.dot(tv[t], pv[p])) for t, ps in cands.items() for p in ps}
    rng = random.Random(args.seed)
    sample = twin_ids if len(twin_ids) <= args.exhaustive_twins else sorted(rng.sample(twin_ids, args.exhaustive_twins))
    sampled = len(sample) < len(twin_ids)
    exhaustive_pairs = [(t, p) for t in sample for p in matcher.candidates(cat.twins[t])]
    ex_scores, t_ex = tab.measure(
        f"exhaustive scoring ({len(exhaustive_pairs):,} pairs, {len(sample)} twins)",
        lambda: matcher.score(exhaustive_pairs))
    t_ex_all = t_ex * len(twin_ids) / len(sample)
    if sampled:
        tab.add(f"exhaustive scoring, all {len(twin_ids)} twins (extrapolated)", t_ex_all,
                note=f"sample of {len(sample)} twins x {len(twin_ids) / len(sample):.1f}")
    i = [r[0] for r in tab.rows].index("candidates: candidate_pairs")
    tab.rows[i] = (*tab.rows[i][:3], ("exhaustive scoring" + (" (extrap.)" if sampled else ""), t_ex_all), "")
    cand_pairs = [(t, p) for t in twin_ids for p in cands[t]]
    cand_scores, t_sc = tab.measure(f"score candidates ({len(cand_pairs):,} pairs)",
                                    lambda: matcher.score(cand_pairs),
                                    baseline=("exhaustive" + (" (extrap.)" if sampled else ""), t_ex_all))
    tab.add("candidates + scoring", t_cand + t_sc, baseline=("exhaustive", t_ex_all))
    n_elig = sum(len(matcher.candidates(cat.twins[t])) for t in twin_ids)
    tab.fact("pairs", f"{n_elig:,} eligible pairs in all, {len(cand_pairs):,} candidate pairs "
                      f"({len(cand_pairs) / max(n_elig, 1):.1%}), mean {len(cand_pairs) / len(twin_ids):.1f} per twin")

    # ---- quality
    by_twin_ex: dict[str, list] = {}
    for s in ex_scores:
        by_twin_ex.setdefault(s.twin, []).append(s)
    by_twin_c: dict[str, list] = {}
    for s in cand_scores:
        by_twin_c.setdefault(s.twin, []).append(s)
    ex_rank = {t: ranked_ids(v) for t, v in by_twin_ex.items()}
    rec5 = recall(cands, ex_rank, top=5)
    top1 = recall(cands, ex_rank, top=1)
    pairs, skipped = read_pairings(data_dir / "planted.csv", cat)
    planted_in = sum(1 for p in pairs if p.pilot in cands[p.twin]) / max(len(pairs), 1)
    hit_c = np.mean([expected_hit({s.pilot: s.score for s in by_twin_c.get(p.twin, [])}, p.pilot)
                     for p in pairs])
    ex_pairs = [p for p in pairs if p.twin in by_twin_ex]
    hit_ex = np.mean([expected_hit({s.pilot: s.score for s in by_twin_ex[p.twin]}, p.pilot) for p in ex_pairs])
    rand = np.mean([min(5, len(matcher.candidates(cat.twins[p.twin]))) / len(matcher.candidates(cat.twins[p.twin]))
                    for p in pairs])
    tab.fact("candidate recall vs exhaustive top-5", f"{rec5:.3f} (top-1: {top1:.3f}) over {len(ex_rank)} twins")
    tab.fact("planted pilot among the candidates", f"{planted_in:.3f} of {len(pairs)} planted pairs"
             + (f" ({len(skipped)} skipped)" if skipped else ""))
    tab.fact("hit@5 of planted pairs", f"candidates {hit_c:.3f} (all {len(pairs)} twins); exhaustive "
             f"{hit_ex:.3f} ({len(ex_pairs)} twins{', sample' if sampled else ''}); random {rand:.3f}")

    # ---- assignment, topics, outputs (cohort 1)
    cohort = 1
    ctw = [t.id for t in matcher.cohort_twins(cohort)]
    cset = set(ctw)
    caps = matcher.capacities(cohort)
    ex_c = [s for t in ctw for s in matcher.score([(t, p) for p in matcher.candidates(cat.twins[t])])]
    cand_c = [s for s in cand_scores if s.twin in cset]
    kw = dict(cohort=cohort, per_twin=matcher.per_twin, overload_penalty=matcher.overload_penalty, twins=ctw)
    _, t_asg_ex = tab.measure(f"assign cohort 1: exhaustive scores ({len(ex_c):,} edges)",
                              lambda: assign(ex_c, caps, **kw))
    a, _ = tab.measure(f"assign cohort 1: candidate scores ({len(cand_c):,} edges)",
                       lambda: assign(cand_c, caps, **kw), baseline=("exhaustive", t_asg_ex),
                       note=f"{len(ctw)} twins, {len(caps)} pilots")
    a_ex = assign(ex_c, caps, **kw)
    tab.fact("assignment objective, cohort 1", f"candidates {a.objective:.3f} vs exhaustive {a_ex.objective:.3f}")
    tab.measure(f"topics for {len(a.pairs)} assigned pairs", lambda: [matcher.topics(p.twin, p.pilot) for p in a.pairs])
    from recommender.outputs import render_outputs

    tab.measure("outputs: render_outputs, cohort 1", lambda: render_outputs(matcher, {cohort: a}, settings),
                note="shortlists rank every eligible pilot")
    try:
        from recommender.reports import render_reports
    except ImportError:
        render_reports = None
    if render_reports is not None:
        files, _ = tab.measure("reports: render_reports (HTML), cohort 1",
                               lambda: render_reports(matcher, {cohort: a}, settings))
        tab.fact("HTML pages, cohort 1", str(len(files)))
    store.close()
    return {"n": n, "table": tab, "recall5": rec5, "planted_in": planted_in, "hit_c": hit_c, "hit_ex": hit_ex,
            "random": rand, "model": "off" if vectors is None else settings.model.precision,
            "matcher_s": t_matcher if small else None, "n_twins": len(twin_ids)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000", help="comma-separated city counts")
    ap.add_argument("--with-100k", action="store_true", help="also run 100,000 cities (slow: ~10+ min)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--k", type=int, default=10, help="candidates per source (narrative, concept)")
    ap.add_argument("--k-context", type=int, default=5, help="context-neighbour candidates per twin")
    ap.add_argument("--no-model", action="store_true", help="skip the embedding model everywhere")
    ap.add_argument("--max-encode", type=int, default=2000, help="most profile texts encoded per size")
    ap.add_argument("--exhaustive-twins", type=int, default=200,
                    help="twins scored exhaustively (all up to this many, else a random sample)")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.with_100k and 100_000 not in sizes:
        sizes.append(100_000)
    print(f"# bench_scale: sizes {sizes}, seed {args.seed}, k={args.k}, "
          f"model {'off (--no-model)' if args.no_model else 'bundled all-MiniLM-L6-v2'}, "
          f"{os.cpu_count()} CPUs")
    holder: dict = {}
    results = []
    for n in sizes:
        print(f"[{n:,} cities]", file=sys.stderr, flush=True)
        r = run_size(n, args, holder)
        r["table"].print()
        results.append(r)
    print("\n### Quality at scale (planted pairs)\n")
    print("| cities | twins | model | candidate recall@5 vs exhaustive | planted in candidates "
          "| hit@5 (candidates) | hit@5 (exhaustive) | hit@5 random |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['n']:,} | {r['n_twins']} | {r['model']} | {r['recall5']:.3f} | {r['planted_in']:.3f} | "
              f"{r['hit_c']:.3f} | {r['hit_ex']:.3f} | {r['random']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
