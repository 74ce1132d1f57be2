"""Does recruitment find the real twins? For each known pairing (evaluation data only, never
an input), the rank of the real twin's signatory among all signatories when recruiting for its
pilot activity (every signatory but the pilot's own cities is a candidate); and, reading the
pairing as a pair of cities, the rank of the pilot's lead city among the twin's peers (every
signatory but the twin itself).

Ties count at their expectation under random tie-breaking (most signatories have no planned
actions, so many tie). Random: the real twin's rank is uniform over the candidates
(MRR = H_N / N, hit@k = k / N). Intervals: percentile bootstrap over pairings (95%).
Variants: the full score; concepts only (context weight 0); size only (context weight 1).
"""

from __future__ import annotations

import numpy as np

from kg.model import Catalog
from recommender.europe.profiles import Profiles
from recommender.europe.rank import CONTEXT, peer_scores, recruit_scores
from recommender.evaluate import read_pairings

KS = (1, 10, 100)
VARIANTS = (("peerlearn (concepts + size)", CONTEXT), ("concepts only", 0.0), ("size only", 1.0))


def expected_rank(scores: np.ndarray, keep: np.ndarray, true: int) -> tuple[dict[int, float], float, float]:
    """Expected hit@k, reciprocal rank and rank of row ``true`` among rows ``keep`` (ties broken
    at random)."""
    s = scores[keep]
    v = scores[true]
    better = int((s > v + 1e-12).sum())
    ties = int((np.abs(s - v) <= 1e-12).sum())       # includes the true row itself
    hits = {k: max(0, min(k - better, ties)) / ties for k in KS}
    rr = float(np.mean(1.0 / (better + np.arange(1, ties + 1))))
    return hits, rr, better + (ties + 1) / 2


def _summary(per: list[tuple[dict[int, float], float, float]], rng: np.random.Generator, samples: int) -> dict:
    n = len(per)
    if n == 0:
        return {"n": 0}
    rr = np.array([p[1] for p in per])
    hit = {k: np.array([p[0][k] for p in per]) for k in KS}
    idx = rng.integers(0, n, size=(samples, n))

    def ci(a: np.ndarray) -> list[float]:
        boot = a[idx].mean(axis=1)
        return [round(float(np.percentile(boot, 2.5)), 4), round(float(np.percentile(boot, 97.5)), 4)]

    out = {"n": n, "mrr": round(float(rr.mean()), 4), "mrr_ci": ci(rr),
           "median_rank": float(np.median([p[2] for p in per]))}
    for k in KS:
        out[f"hit@{k}"] = round(float(hit[k].mean()), 4)
        out[f"hit@{k}_ci"] = ci(hit[k])
    return out


def _random(ns: list[int]) -> dict:
    if not ns:
        return {"n": 0}
    out = {"n": len(ns), "mrr": round(float(np.mean([np.sum(1.0 / np.arange(1, n + 1)) / n for n in ns])), 4),
           "median_rank": float(np.median([(n + 1) / 2 for n in ns]))}
    for k in KS:
        out[f"hit@{k}"] = round(float(np.mean([min(k, n) / n for n in ns])), 4)
    return out


def _lead_row(pr: Profiles, catalog: Catalog, pilot_id: str) -> int | None:
    p = catalog.pilots[pilot_id]
    for c in ([p.lead_city] if p.lead_city else []) + list(p.cities):
        if c in pr.city_row:
            return pr.city_row[c]
    return None


def _mission(pr, catalog, pf, usable, rows, rng, samples, skipped) -> dict:
    """The pilot's Mission City among all Mission Cities with a portfolio, for the twin."""
    from recommender.europe.mission import scores

    out = {}
    pairs = []
    for pair, row in zip(usable, rows, strict=True):
        cols = [pf.cities.index(c) for c in catalog.pilots[pair.pilot].cities if c in pf.cities]
        if not cols:
            skipped.append(f"row {pair.row}: pilot {pair.pilot}'s cities have no contract portfolio (mission only)")
            continue
        pairs.append((row, cols[0]))
    for name, ctx in VARIANTS:
        sides = scores(pr, pf, context=ctx)
        keep = np.ones(len(pf.cities), dtype=bool)
        out[name] = _summary([expected_rank(sides.score[row], keep, col) for row, col in pairs], rng, samples)
    out["random"] = _random([len(pf.cities)] * len(pairs))
    return out


def evaluate_recruit(pr: Profiles, catalog: Catalog, pairings_path, *, samples: int = 2000, seed: int = 0,
                     portfolios=None) -> dict:
    """The evaluation as a dict: per task (recruit, peers) per variant the metrics with
    intervals, the random baseline, and what was skipped with the reason."""
    pairs, skipped = read_pairings(pairings_path, catalog)
    read = len(pairs) + len(skipped)
    rng = np.random.default_rng(seed)
    usable, rows = [], []
    for pair in pairs:
        twin = catalog.twins[pair.twin]
        if twin.city not in pr.city_row:
            skipped.append(f"row {pair.row}: twin {catalog.city_name(twin.city)} has no signatory "
                           f"({pr.unmatched.get(twin.city, 'not matched')})")
            continue
        usable.append(pair)
        rows.append(pr.city_row[twin.city])
    n_all = len(pr.ids)
    report: dict = {"pairings": read,
                    "skipped": skipped, "signatories": n_all, "recruit": {}, "peers": {}}
    pilot_cols = [pr.pilot_ids.index(p.pilot) for p in usable]
    per_pair_detail = []
    for name, ctx in VARIANTS:
        sides = recruit_scores(pr, context=ctx)
        per, ns = [], []
        for pair, row, col in zip(usable, rows, pilot_cols, strict=True):
            keep = np.ones(n_all, dtype=bool)
            keep[list(pr.pilot_rows[pair.pilot])] = False
            per.append(expected_rank(sides.score[:, col], keep, row))
            ns.append(int(keep.sum()))
            if ctx == CONTEXT:
                per_pair_detail.append({"twin": catalog.twin_name(pair.twin), "pilot": pair.pilot,
                                        "recruit_rank": per[-1][2]})
        report["recruit"][name] = _summary(per, rng, samples)
    report["recruit"]["random"] = _random(ns if usable else [])
    # peers: the pilot's lead city among the twin's peers
    peer_pairs = [(row, _lead_row(pr, catalog, p.pilot), i) for i, (p, row) in enumerate(zip(usable, rows,
                                                                                            strict=True))]
    missing = [usable[i] for r, lead, i in peer_pairs if lead is None]
    for p in missing:
        report["skipped"].append(f"row {p.row}: pilot {p.pilot}'s cities have no signatory (peers only)")
    peer_pairs = [(r, lead, i) for r, lead, i in peer_pairs if lead is not None]
    for name, ctx in VARIANTS:
        per = []
        for row, lead, i in peer_pairs:
            keep = np.ones(n_all, dtype=bool)
            keep[row] = False
            per.append(expected_rank(peer_scores(pr, row, context=ctx).score, keep, lead))
            if ctx == CONTEXT:
                per_pair_detail[i]["peers_rank"] = per[-1][2]
        report["peers"][name] = _summary(per, rng, samples)
    report["peers"]["random"] = _random([n_all - 1] * len(peer_pairs))
    if portfolios is not None:
        report["mission"] = _mission(pr, catalog, portfolios, usable, rows, rng, samples, report["skipped"])
    report["per_pairing"] = per_pair_detail
    return report


def format_report(report: dict) -> str:
    lines = [f"{report['signatories']:,} signatories; {report['pairings']} pairings read"]
    for s in report["skipped"]:
        lines.append(f"  skipped {s}")
    for task, what in (("recruit", "real twin among all signatories, recruiting for its pilot"),
                       ("peers", "pilot's lead city among the twin's peers"),
                       ("mission", "pilot's Mission City among all Mission Cities with a contract portfolio")):
        if task not in report:
            continue
        lines.append("")
        lines.append(f"{task}: {what}")
        lines.append("| model | n | hit@1 | hit@10 | hit@100 | MRR | median rank |")
        lines.append("|---|---|---|---|---|---|---|")
        for name, m in report[task].items():
            if not m.get("n"):
                lines.append(f"| {name} | 0 | | | | | |")
                continue

            def cell(key, m=m):
                ci = m.get(f"{key}_ci")
                return f"{m[key]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
            lines.append(f"| {name} | {m['n']} | {cell('hit@1')} | {cell('hit@10')} | {cell('hit@100')} | "
                         f"{cell('mrr')} | {m['median_rank']:.0f} |")
    return "\n".join(lines)
