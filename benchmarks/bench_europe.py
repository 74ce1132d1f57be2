"""Across Europe on the whole GCoM release: every stage, with ratios against a baseline
measured in the same run, and peak memory.

    python benchmarks/bench_europe.py [--gcom DIR] [--repeat N] [--peers N]

Stages: reading the release (five files, joins); the release into the graph (gcom's N-Triples
loaded into an in-memory Oxigraph store); signatory and pilot profiles (the mapping over every
action) and the sparse matrices; scoring all 65 pilots against every signatory (vectorised
against a pure-Python loop over the same dict profiles: the same numbers, checked); recruitment
for all 65 pilots, top 20 with evidence, warm; one city's peers warm (vectorised against the
Python loop); recommend --city (pilots for one signatory); CSV + JSON for all 65 pilots
written to disk. Goals on the 2-core machine: all 65 pilots < 30 s warm, one city's peers
< 100 ms warm, peak < 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench_gcom import _default_dir, _hwm_mb  # noqa: E402  (the same release and peak RSS)


def best(fn, repeat: int):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def _dicts(pr):
    """The baseline's profiles: one dict per signatory and pilot (concept -> weight)."""
    def rows(m):
        m = m.tocsr()
        return [dict(zip(m.indices[m.indptr[i]:m.indptr[i + 1]].tolist(),
                         m.data[m.indptr[i]:m.indptr[i + 1]].tolist(), strict=True)) for i in range(m.shape[0])]
    return rows(pr.need), rows(pr.experience), rows(pr.pilot)


def loop_recruit(pr, need, exp, pilots, context):
    """Pure Python: every (signatory, pilot) pair scored one at a time."""
    import math

    out = np.zeros((len(need), len(pilots)))
    for p, pv in enumerate(pilots):
        psum = sum(pv.values())
        plp = pr.pilot_log_pop[p]
        for i in range(len(need)):
            n, e = need[i], exp[i]
            ns = pr.need_sum[i]
            gains = sum(v * pv.get(j, 0.0) for j, v in n.items()) / ns if ns > 0 else 0.0
            brings = sum(v * pv.get(j, 0.0) for j, v in e.items()) / psum if psum > 0 else 0.0
            lp = pr.log_pop[i]
            ctx = 0.0 if math.isnan(lp) or math.isnan(plp) else min(1.0, max(0.0, 1 - abs(lp - plp) / 2))
            g = (1 - context) * gains + context * ctx
            b = (1 - context) * brings + context * ctx
            out[i, p] = 2 * g * b / (g + b) if g + b > 0 else 0.0
    return out


def loop_peers(pr, need, exp, row, context):
    import math

    out = np.zeros(len(need))
    na, ka, sa = need[row], exp[row], pr.need_sum[row]
    for i in range(len(need)):
        learns = sum(v * exp[i].get(j, 0.0) for j, v in na.items()) / sa if sa > 0 else 0.0
        teaches = sum(v * ka.get(j, 0.0) for j, v in need[i].items()) / pr.need_sum[i] if pr.need_sum[i] > 0 else 0.0
        d = abs(pr.log_pop[i] - pr.log_pop[row])
        ctx = 0.0 if math.isnan(d) else min(1.0, max(0.0, 1 - d / 2))
        g = (1 - context) * learns + context * ctx
        b = (1 - context) * teaches + context * ctx
        out[i] = 2 * g * b / (g + b) if g + b > 0 else 0.0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gcom", type=Path, default=_default_dir())
    ap.add_argument("--repeat", type=int, default=3, help="best of N for the warm stages (default 3)")
    ap.add_argument("--peers", type=int, default=50, help="cities whose peers are timed (default 50)")
    ap.add_argument("--ccc-store", type=Path, metavar="DIR",
                    help="an on-disk store with the contracts ingested (peerlearn ingest-ccc): also times "
                         "Mission-minded pairing for every Mission City")
    args = ap.parse_args()
    if not args.gcom.is_dir():
        print(f"bench_europe: error: {args.gcom}: no GCoM release there", file=sys.stderr)
        return 2

    import pyoxigraph as ox

    from kg.build import build, bundled_dataset
    from kg.catalog import catalog
    from kg.ingest.gcom import read_release
    from kg.ingest.gcom.rdf import ntriples
    from recommender.europe.load import summarise
    from recommender.europe.profiles import build_profiles
    from recommender.europe.rank import CONTEXT, Ranked, peers, pilots_for, recruit, recruit_scores
    from recommender.outputs import csv_text

    rows: list[tuple[str, float, str]] = []
    t0 = time.perf_counter()
    cat = catalog(build([bundled_dataset()], backend="oxigraph"))

    t, rel = best(lambda: read_release(args.gcom), 1)
    rows.append(("read the release (5 files, joins)", t, ""))

    def to_graph():
        data, counts = ntriples(rel)
        st = ox.Store()
        st.bulk_load(data, ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode("https://w3id.org/peerlearn/graph/gcom"))
        return len(st), counts
    t, (quads, _) = best(to_graph, 1)
    rows.append(("release into the graph (N-Triples, in-memory Oxigraph)", t, f"{quads:,} quads"))

    t, pr = best(lambda: build_profiles(rel, cat), 1)
    rows.append(("profiles: mapping over every action, matrices", t,
                 f"{len(pr.ids):,} x {len(pr.concepts)}; {pr.need.nnz:,} non-zeros"))
    print(summarise(rel, pr, cat), file=sys.stderr)

    t_vec, sides = best(lambda: recruit_scores(pr), args.repeat)
    need, exp, pil = _dicts(pr)
    t_loop, looped = best(lambda: loop_recruit(pr, need, exp, pil, CONTEXT), 1)
    same = np.allclose(looped, sides.score, atol=1e-9)
    rows.append(("score 65 pilots x every signatory (vs Python loop)", t_vec,
                 f"{t_loop / t_vec:.0f}x ({t_loop:.2f} s); same scores: {same}"))

    def all_pilots():
        s = recruit_scores(pr)
        return {p: recruit(pr, cat, p, k=20, sides=s) for p in pr.pilot_ids}
    t_all, ranked = best(all_pilots, args.repeat)
    rows.append(("recruit: all 65 pilots, top 20 with evidence, warm", t_all, "goal < 30 s"))

    rng = np.random.default_rng(0)
    with_data = np.flatnonzero(pr.n_actions > 0)
    sample = rng.choice(with_data, size=min(args.peers, len(with_data)), replace=False)
    t_peer = []
    for r in sample:
        t, _ = best(lambda r=r: peers(pr, cat, int(r), k=10), args.repeat)
        t_peer.append(t)
    r0 = int(sample[0])
    t_lp, lp = best(lambda: loop_peers(pr, need, exp, r0, CONTEXT), 1)
    from recommender.europe.rank import peer_scores

    t_pv, pv = best(lambda: peer_scores(pr, r0), args.repeat)
    rows.append((f"peers: one city, top 10 with evidence, warm (median of {len(sample)})", float(np.median(t_peer)),
                 f"p95 {np.percentile(t_peer, 95) * 1000:.1f} ms; goal < 100 ms"))
    rows.append(("peers: scores alone (vs Python loop)", t_pv,
                 f"{t_lp / t_pv:.0f}x ({t_lp * 1000:.0f} ms); same: {np.allclose(lp, pv.score, atol=1e-9)}"))
    t, _ = best(lambda: pilots_for(pr, cat, r0, k=10), args.repeat)
    rows.append(("recommend --city: pilots for one signatory, warm", t, ""))

    if args.ccc_store:
        from rdflib import Literal

        from kg.queries import PASSAGES
        from kg.store import open_store
        from recommender.europe.mission import SECTION, mission_cities_for, portfolios, signatories_for
        from recommender.europe.mission import scores as mission_scores

        st = open_store("oxigraph", path=args.ccc_store, read_only=True)
        passages: dict[str, list] = {}
        t = time.perf_counter()
        for r in st.query(PASSAGES, {"section": Literal(SECTION)}).records():
            passages.setdefault(str(r["owner"]), []).append((str(r["p"]), SECTION, str(r["text"])))
        st.close()
        t_read = time.perf_counter() - t
        t, pf = best(lambda: portfolios(pr, cat, passages), 1)
        rows.append(("mission: B-2 passages from the store; portfolios", t_read + t,
                     f"{sum(map(len, passages.values())):,} passages read in {t_read:.1f} s; {len(pf.cities)} "
                     f"Mission Cities"))
        def all_missions():
            sides = mission_scores(pr, pf)
            return {c: signatories_for(pr, pf, cat, c, k=20, sides=sides) for c in pf.cities}
        t, _ = best(all_missions, args.repeat)
        rows.append((f"mission: signatories for all {len(pf.cities)} Mission Cities, top 20, warm", t,
                     "goal < 30 s"))
        s_all = mission_scores(pr, pf)
        t, _ = best(lambda: mission_cities_for(pr, pf, cat, r0, k=10, sides=s_all), args.repeat)
        rows.append(("mission: Mission Cities for one signatory, warm", t, ""))

    def write_all():
        with tempfile.TemporaryDirectory() as d:
            for p, rs in ranked.items():
                Path(d, f"recruit-{p}.csv").write_text(csv_text([r.cells() for r in rs], list(Ranked.COLUMNS)),
                                                      encoding="utf-8")
                Path(d, f"recruit-{p}.json").write_text(json.dumps([r.as_dict() for r in rs], ensure_ascii=False),
                                                       encoding="utf-8")
            return len(os.listdir(d))
    t, n = best(write_all, args.repeat)
    rows.append(("outputs: CSV + JSON for all 65 pilots", t, f"{n} files"))

    print(f"### Across Europe on the GCoM release ({len(pr.ids):,} signatories, {len(pr.pilot_ids)} pilots)\n")
    print("| stage | seconds | note |")
    print("|---|---|---|")
    for name, sec, note in rows:
        print(f"| {name} | {sec:.4f} | {note} |")
    print(f"\nwhole run {time.perf_counter() - t0:.1f} s; peak RSS {_hwm_mb():.0f} MB (goal < 4096 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
