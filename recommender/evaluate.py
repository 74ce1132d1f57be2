"""Match quality against known pairings: hit@1/3/5 and MRR of the true pilot activity among
its twin's candidates, next to a random baseline, single-signal baselines and an ablation
that drops each signal in turn.

Known pairings are read here and nowhere else: they never reach scoring. Ties are scored as
their expectation under random tie-breaking, so a model that scores everything equal gets
exactly the random baseline, not a lucky first place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError, NotFoundError
from kg.ingest.tabular import read_csv_records
from recommender.scoring import PILOT_SIGNALS, TWIN_SIGNALS

KS = (1, 3, 5)


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

    def row(self) -> dict:
        return {"model": self.name, "n": self.n, **{f"hit@{k}": round(v, 3) for k, v in self.hit.items()},
                "mrr": round(self.mrr, 3)}


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


def _metrics(name: str, per_pair: list[tuple[dict[int, float], float]]) -> Metrics:
    n = len(per_pair)
    if n == 0:
        return Metrics(name, 0, {k: 0.0 for k in KS}, 0.0)
    return Metrics(name, n, {k: sum(h[k] for h, _ in per_pair) / n for k in KS},
                   sum(rr for _, rr in per_pair) / n)


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
    cands = {p.twin: matcher.candidates(cat.twins[p.twin]) for p in pairs}
    rows: list[Metrics] = []

    def model(name, weights):
        per = []
        for p in pairs:
            scores = {s.pilot: s.score for s in matcher.score([(p.twin, c) for c in cands[p.twin]], weights)}
            per.append(_ranked_among(scores, p.pilot))
        return _metrics(name, per)

    rows.append(model("peerlearn (all signals)", matcher.weights))
    rows.append(_metrics("random", [_expected({c: 0.0 for c in matcher.eligible(cat.twins[p.twin])}, p.pilot)
                                    for p in pairs]))
    ctx = matcher.context
    for sig in sorted(set(TWIN_SIGNALS) | set(PILOT_SIGNALS)):
        per = []
        for p in pairs:
            twin = cat.twins[p.twin]
            vals = {}
            for c in cands[p.twin]:
                pilot = cat.pilots[c]
                parts = [f(ctx, twin, pilot) for f in (TWIN_SIGNALS.get(sig), PILOT_SIGNALS.get(sig)) if f]
                vals[c] = sum(parts) / len(parts)
            per.append(_ranked_among(vals, p.pilot))
        rows.append(_metrics(f"only {sig}", per))
    for sig in sorted(k for k, w in matcher.weights.items() if w > 0):
        rows.append(model(f"without {sig}", {**matcher.weights, sig: 0.0}))
    return rows


def format_table(rows: list[Metrics]) -> str:
    head = f"{'model':32} {'n':>3} " + " ".join(f"{'hit@' + str(k):>6}" for k in KS) + f" {'MRR':>6}"
    lines = [head, "-" * len(head)]
    for m in rows:
        lines.append(f"{m.name:32} {m.n:>3} " + " ".join(f"{m.hit[k]:>6.3f}" for k in KS) + f" {m.mrr:>6.3f}")
    return "\n".join(lines)
