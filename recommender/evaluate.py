"""Match quality against known pairings: hit@1/3/5 and MRR of the true pilot activity among
its twin's candidates, next to a random baseline, single-signal baselines and an ablation
that drops each signal in turn; ``by_source``: an ablation that drops each derived source of the
profiles in turn (GCoM plans, Climate City Contracts, narrative tags), with the paired change.

Known pairings are read here and nowhere else: they never reach scoring (``recommender.fit``
reads them through ``read_pairings`` to learn weights, which is what they are for). Ties are
scored as their expectation under random tie-breaking, so a model that scores everything equal
gets exactly the random baseline, not a lucky first place.

Every figure comes with a bootstrap 95% interval over twins (``bootstrap_ci``: twins drawn with
replacement, all pairs of a drawn twin kept together; the same draws for every model, seeded, so
the intervals are reproducible and comparable). With 22 pairs an interval is about 0.3 wide:
differences of a few hundredths say nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kg.errors import InputError, NotFoundError
from kg.ingest.tabular import read_csv_records
from recommender.scoring import PILOT_SIGNALS, SIGNALS, TWIN_SIGNALS

KS = (1, 3, 5)
DRAWS = 2000            # bootstrap resamples
LEVEL = 0.95            # interval coverage


@dataclass(frozen=True)
class Pairing:
    twin: str
    pilot: str
    row: int


@dataclass(frozen=True)
class Metrics:
    name: str
    n: int
    hit: dict[int, float]
    mrr: float
    twins: int = 0
    # "hit@k" / "mrr" -> (low, high) bootstrap interval over twins
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)

    def row(self) -> dict:
        r = {"model": self.name, "n": self.n, "twins": self.twins,
             **{f"hit@{k}": round(v, 3) for k, v in self.hit.items()}, "mrr": round(self.mrr, 3)}
        for key, (lo, hi) in self.ci.items():
            r[f"{key}_low"], r[f"{key}_high"] = round(lo, 3), round(hi, 3)
        return r

    def cell(self, key: str) -> str:
        """``0.290 [0.17, 0.42]``: the figure and its interval, as tables show them."""
        v = self.mrr if key == "mrr" else self.hit[int(key.split("@")[1])]
        lo, hi = self.ci.get(key, (None, None))
        return f"{v:.3f}" if lo is None else f"{v:.3f} [{lo:.2f}, {hi:.2f}]"


def read_pairings(path: str | Path, cat) -> tuple[list[Pairing], list[str]]:
    """Known pairings from CSV (columns twin_city, twin_cohort, pilot_id). Pairs whose twin
    or pilot is not in the knowledge graph are skipped and reported, never guessed."""
    path = Path(path)
    pairs, skipped = [], []
    for i, r in read_csv_records(path, ("twin_city", "twin_cohort", "pilot_id")):
        try:
            cohort = int((r["twin_cohort"] or "").split()[0])
        except (ValueError, IndexError):
            raise InputError(f"{r['twin_cohort']!r} is not a cohort number", path=path, row=i,
                             field="twin_cohort") from None
        try:
            twin = cat.find_twin(r["twin_city"], cohort=cohort)
        except NotFoundError as e:
            skipped.append(f"row {i}: {e}")
            continue
        pid = (r["pilot_id"] or "").strip()
        if pid not in cat.pilots:
            skipped.append(f"row {i}: pilot {pid!r} not in the knowledge graph")
            continue
        pilot = cat.pilots[pid]
        if not ((pilot.cohort == twin.cohort or twin.cohort in pilot.open_to_cohorts)
                and twin.city not in pilot.cities):   # Catalog.candidates_for, for one pilot
            skipped.append(f"row {i}: {pid} is not among {twin.id}'s candidates")
            continue
        pairs.append(Pairing(twin.id, pid, i))
    return pairs, skipped


def _expected(values: dict[str, float], true: str) -> tuple[dict[int, float], float]:
    """Expected hit@k and reciprocal rank of ``true`` under random tie-breaking."""
    v = values[true]
    better = sum(1 for x in values.values() if x > v + 1e-12)
    ties = sum(1 for x in values.values() if abs(x - v) <= 1e-12)
    hits = {k: max(0, min(k - better, ties)) / ties for k in KS}
    rr = sum(1.0 / (better + j) for j in range(1, ties + 1)) / ties
    return hits, rr


def bootstrap_ci(values: np.ndarray, groups: list[str], *, draws: int = DRAWS, level: float = LEVEL,
                 seed: int = 0) -> list[tuple[float, float]]:
    """Percentile bootstrap interval of the mean of each column of ``values`` (one row per
    pair), resampling *groups* (twins) with replacement so that a twin's pairs stay together.
    The seed is fixed: the same groups give the same draws, so models are compared on the same
    resamples and a run is reproducible.

    >>> bootstrap_ci(np.array([[1.0], [1.0]]), ["a", "b"])
    [(1.0, 1.0)]
    """
    values = np.asarray(values, dtype=float).reshape(len(groups), -1)
    names = sorted(set(groups))
    index = {g: i for i, g in enumerate(names)}
    sums = np.zeros((len(names), values.shape[1]))
    counts = np.zeros(len(names))
    for g, row in zip(groups, values):
        sums[index[g]] += row
        counts[index[g]] += 1
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(names), size=(draws, len(names)))
    weight = np.zeros((draws, len(names)))
    np.add.at(weight, (np.arange(draws)[:, None], picks), 1.0)
    means = (weight @ sums) / (weight @ counts)[:, None]
    tail = (1.0 - level) / 2
    lo, hi = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return [(float(a), float(b)) for a, b in zip(lo, hi)]


def _metrics(name: str, per_pair: list[tuple[dict[int, float], float]], twins: list[str]) -> Metrics:
    """Mean hit@k and MRR over pairs, with bootstrap intervals over ``twins`` (one per pair)."""
    n = len(per_pair)
    if n == 0:
        return Metrics(name, 0, {k: 0.0 for k in KS}, 0.0)
    table = np.array([[h[k] for k in KS] + [rr] for h, rr in per_pair])
    keys = [f"hit@{k}" for k in KS] + ["mrr"]
    ci = dict(zip(keys, bootstrap_ci(table, twins)))
    return Metrics(name, n, {k: float(table[:, i].mean()) for i, k in enumerate(KS)}, float(table[:, -1].mean()),
                   twins=len(set(twins)), ci=ci)


def _ranked_among(values: dict[str, float], true: str) -> tuple[dict[int, float], float]:
    """``_expected``, with a true pilot the candidate step left out counted as a miss."""
    if true not in values:
        return {k: 0.0 for k in KS}, 0.0
    return _expected(values, true)


def evaluate(matcher, pairs: list[Pairing]) -> list[Metrics]:
    """The full model, the random baseline, each signal alone, and each signal dropped.

    Every model ranks the same list per twin, ``matcher.candidates`` (all eligible pilots
    unless candidate generation shortened it; a true pilot left out is a miss for all of
    them); the random baseline draws from every eligible pilot.
    """
    cat = matcher.catalog
    cands = {p.twin: matcher.candidates(cat.twins[p.twin], include_declined=True) for p in pairs}
    twins = [p.twin for p in pairs]
    rows = [model_metrics("peerlearn (all signals)", matcher, pairs, matcher.weights, cands),
            random_baseline(matcher, pairs)]
    values = {t: signal_values(matcher, t, cands[t]) for t in dict.fromkeys(twins)}
    for i, sig in enumerate(SIGNALS):
        per = [_ranked_among(dict(zip(cands[p.twin], values[p.twin][:, i].tolist())), p.pilot) for p in pairs]
        rows.append(_metrics(f"only {sig}", per, twins))
    for sig in sorted(k for k, w in matcher.weights.items() if w > 0):
        rows.append(model_metrics(f"without {sig}", matcher, pairs, {**matcher.weights, sig: 0.0}, cands))
    return rows


def signal_values(matcher, twin_id: str, pilots: list[str]) -> np.ndarray:
    """One row per pilot, one column per signal (``SIGNALS`` order): the signal's value for the
    pair, the mean of its two sides for a signal of both (as "only SIGNAL" ranks)."""
    ctx, cat = matcher.context, matcher.catalog
    twin = cat.twins[twin_id]
    out = np.zeros((len(pilots), len(SIGNALS)))
    for r, c in enumerate(pilots):
        pilot = cat.pilots[c]
        for i, sig in enumerate(SIGNALS):
            parts = [f(ctx, twin, pilot) for f in (TWIN_SIGNALS.get(sig), PILOT_SIGNALS.get(sig)) if f]
            out[r, i] = sum(parts) / len(parts)
    return out


def model_scores(matcher, pairs: list[Pairing], weights, cands=None) -> list[dict[str, float]]:
    """Per pair, the pair score of every candidate pilot of its twin under ``weights``."""
    cat = matcher.catalog
    cands = cands or {p.twin: matcher.candidates(cat.twins[p.twin], include_declined=True) for p in pairs}
    return [{s.pilot: s.score for s in matcher.score([(p.twin, c) for c in cands[p.twin]], weights)}
            for p in pairs]


def model_metrics(name: str, matcher, pairs: list[Pairing], weights, cands=None) -> Metrics:
    """hit@k and MRR (with intervals) of the full scorer under ``weights`` on ``pairs``."""
    per = [_ranked_among(v, p.pilot) for v, p in zip(model_scores(matcher, pairs, weights, cands), pairs)]
    return _metrics(name, per, [p.twin for p in pairs])


def random_baseline(matcher, pairs: list[Pairing]) -> Metrics:
    cat = matcher.catalog
    return _metrics("random", [_expected({c: 0.0 for c in matcher.eligible(cat.twins[p.twin])}, p.pilot)
                               for p in pairs], [p.twin for p in pairs])


def format_table(rows: list[Metrics]) -> str:
    """A text table; each figure with its 95% interval over twins in brackets."""
    w = 19
    head = (f"{'model':32} {'n':>3} " + " ".join(f"{'hit@' + str(k):>{w}}" for k in KS) + f" {'MRR':>{w}}")
    lines = [head, "-" * len(head)]
    for m in rows:
        lines.append(f"{m.name:32} {m.n:>3} " + " ".join(f"{m.cell(f'hit@{k}'):>{w}}" for k in KS)
                     + f" {m.cell('mrr'):>{w}}")
    lines.append(f"[low, high]: bootstrap {LEVEL:.0%} interval over twins ({DRAWS} resamples)")
    return "\n".join(lines)


# the derived sources a profile draws on, each a ``matching.<name>`` switch (recommender/settings.py)
SOURCES = ("gcom", "contracts", "narrative_tags")


@dataclass(frozen=True)
class SourceGain:
    """The MRR change on the same pairs when a source is left out: the mean of the paired
    differences of reciprocal ranks, with its bootstrap interval over twins."""

    name: str
    change: float
    low: float
    high: float

    def row(self) -> dict:
        return {"model": self.name, "mrr_change": round(self.change, 3),
                "mrr_change_low": round(self.low, 3), "mrr_change_high": round(self.high, 3)}


def by_source(make_matcher, pairs: list[Pairing]) -> tuple[list[Metrics], list[SourceGain]]:
    """The full model with every derived source, then without each of ``SOURCES`` in turn and
    without all of them, each through its own matcher (``make_matcher(switches)``: a matcher built
    with ``matching.<source>`` set as ``switches`` says), on the same pairs; and each variant's
    paired MRR change against the full model."""
    variants = [("all sources", {})] + [(f"without {s}", {s: False}) for s in SOURCES] + \
               [("without all three", dict.fromkeys(SOURCES, False))]
    twins = [p.twin for p in pairs]
    rows, rrs = [], []
    for name, switches in variants:
        m = make_matcher(switches)
        per = [_ranked_among(v, p.pilot) for v, p in zip(model_scores(m, pairs, m.weights), pairs)]
        rows.append(_metrics(name, per, twins))
        rrs.append(np.array([rr for _, rr in per]))
    gains = []
    for (name, _), rr in zip(variants[1:], rrs[1:]):
        diff = rr - rrs[0]
        (lo, hi), = bootstrap_ci(diff[:, None], twins) if len(diff) else [(0.0, 0.0)]
        gains.append(SourceGain(name, float(diff.mean()) if len(diff) else 0.0, lo, hi))
    return rows, gains


def format_gains(gains: list[SourceGain]) -> str:
    return "\n".join(f"MRR change {g.name:26} {g.change:+.3f} [{g.low:+.2f}, {g.high:+.2f}]" for g in gains)
