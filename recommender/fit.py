"""Signal weights learned from known pairings, validated by leave-one-twin-out.

The model is a pairwise ranking one (logistic regression on differences): for each known pair
(twin, true pilot) and every other pilot the twin could have joined (its candidates), the
difference of their signal values ``x_true - x_other`` (one column per signal, ``SIGNALS``
order; a signal of both sides counts as the mean of its sides, as ``evaluate``'s "only SIGNAL")
should score above 0. We minimise, over non-negative weights ``w`` (so every weight stays a
"how much this signal counts" that can be explained),

    mean over pairs of  mean over others of  log(1 + exp(-w . (x_true - x_other)))  +  l2 |w|^2

with ``scipy.optimize.minimize`` (L-BFGS-B, bounds ``w >= 0``). Each pair weighs the same
whatever its twin's number of candidates. Only the ratios of the weights matter to the scorer
(each side is a weighted mean), so the file stores them scaled to a largest weight of 1.

Validation is honest: for each twin, the weights are learned without that twin's pairs and
its pairs are ranked by the real scorer (``Matcher.score``: weighted means per side, harmonic
mean of the sides) under those weights; hit@k and MRR over all held-out pairs, with bootstrap
95% intervals over twins (``recommender.evaluate``). Hand-set weights, the random baseline and
each signal alone are scored on the same pairs (they learn nothing, so they need no folds),
and the difference learned - hand-set gets its own paired interval: the learned weights are
"better" only when that interval lies above 0.

Known pairings are evaluation data: this module and ``evaluate`` are the only readers.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from kg.errors import InputError
from recommender.evaluate import (
    KS,
    Metrics,
    Pairing,
    _metrics,
    _ranked_among,
    bootstrap_ci,
    model_metrics,
    model_scores,
    random_baseline,
    signal_values,
)
from recommender.provenance import content_hash, peerlearn_version
from recommender.scoring import SIGNALS
from recommender.weights import Weights

L2 = 0.1           # ridge penalty on the weights (a Gaussian prior; features are in [0, 1])


@dataclass(frozen=True)
class Choice:
    """One known pair as the fit sees it: the signal rows of the twin's candidates and which
    row is the true pilot (``None``: the candidate step left it out; no gradient from it)."""

    twin: str
    pilot: str
    X: np.ndarray            # candidates x SIGNALS
    true: int | None


def choices(matcher, pairs: list[Pairing]) -> list[Choice]:
    """The signal rows of every known pair's candidates (``Matcher.candidates``)."""
    out, cache = [], {}
    for p in pairs:
        cands = matcher.candidates(matcher.catalog.twins[p.twin], include_declined=True)
        if p.twin not in cache:
            cache[p.twin] = signal_values(matcher, p.twin, cands)
        out.append(Choice(p.twin, p.pilot, cache[p.twin], cands.index(p.pilot) if p.pilot in cands else None))
    return out


def fit_weights(data: list[Choice], *, l2: float = L2) -> np.ndarray:
    """Non-negative weights (``SIGNALS`` order, largest 1): the conditional-logit fit."""
    usable = [c for c in data if c.true is not None and len(c.X) > 1]
    if not usable:
        raise InputError("no known pair has a true pilot among other candidates: nothing to learn from")
    n = len(SIGNALS)
    # a signal that never separates a true pilot from another (e.g. narrative similarity
    # without the model) gets no gradient from the data: its weight is 0, not what the
    # optimiser happened to leave
    live = np.array([any(np.ptp(c.X[:, i]) > 0 for c in usable) for i in range(n)])

    def loss(w):
        total, grad = l2 * w @ w, 2 * l2 * w
        for c in usable:
            z = c.X @ w
            z = z - z.max()
            p = np.exp(z)
            s = p.sum()
            total += math.log(s) - z[c.true]
            grad += (p / s) @ c.X - c.X[c.true]
        return total, grad

    bounds = [(0.0, None) if ok else (0.0, 0.0) for ok in live]
    res = minimize(loss, np.where(live, 0.1, 0.0), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 5000})
    w = np.clip(res.x, 0.0, None)
    if w.max() <= 1e-9:
        raise InputError("the known pairs give no signal a weight above 0 "
                         "(no signal ranks true pilots above the others)")
    w = w / w.max()
    w[w < 1e-3] = 0.0
    return w


def as_weights(w: np.ndarray) -> Weights:
    return Weights({s: round(float(x), 4) for s, x in zip(SIGNALS, w)})


@dataclass(frozen=True)
class FitResult:
    weights: Weights                        # learned on every pair
    rows: list[Metrics]                     # learned (cross-validated), hand-set, random, each signal
    gain: tuple[float, float, float]        # MRR learned - hand-set: (mean, low, high)
    folds: int
    pairs: int
    l2: float

    @property
    def better(self) -> bool:
        """True when the paired interval of the MRR gain lies above 0."""
        return self.gain[1] > 0


def cross_validate(matcher, pairs: list[Pairing], *, l2: float = L2) -> FitResult:
    """Leave-one-twin-out: learned weights against hand-set, random and each signal alone."""
    if not pairs:
        raise InputError("no known pairings to learn from")
    data = choices(matcher, pairs)
    twins = [p.twin for p in pairs]
    held_out: list[tuple[dict[int, float], float]] = [None] * len(pairs)     # type: ignore[list-item]
    for twin in dict.fromkeys(twins):
        train = [c for c in data if c.twin != twin]
        test = [i for i, p in enumerate(pairs) if p.twin == twin]
        try:
            w = as_weights(fit_weights(train, l2=l2))
        except InputError:                 # nothing to learn without this twin: rank at random
            w = Weights(dict.fromkeys(SIGNALS, 1.0))
        for i, scores in zip(test, model_scores(matcher, [pairs[i] for i in test], w)):
            held_out[i] = _ranked_among(scores, pairs[i].pilot)
    learned = _metrics("learned (leave-one-twin-out)", held_out, twins)
    hand = model_metrics("hand-set (settings)", matcher, pairs, matcher.weights)
    rows = [learned, hand, random_baseline(matcher, pairs)]
    for i, sig in enumerate(SIGNALS):
        rows.append(_metrics(f"only {sig}", [_ranked_among(dict(enumerate(c.X[:, i].tolist())), c.true)
                                             if c.true is not None else ({k: 0.0 for k in KS}, 0.0)
                                             for c in data], twins))
    hand_rr = [rr for _, rr in (_ranked_among(v, p.pilot) for v, p in
                                zip(model_scores(matcher, pairs, matcher.weights), pairs))]
    diff = np.array([rr for _, rr in held_out]) - np.array(hand_rr)
    (lo, hi), = bootstrap_ci(diff[:, None], twins)
    return FitResult(as_weights(fit_weights(data, l2=l2)), rows, (float(diff.mean()), lo, hi),
                     len(set(twins)), len(pairs), l2)


# ------------------------------------------------------------------ the weights file

def weights_file_text(result: FitResult, pairings: str | os.PathLike | None, *, settings_note: str = "",
                      feedback_pairs: int = 0) -> str:
    """The weights file: ``[weights]`` (what ``matching.weights_file`` reads) and its
    provenance (``[provenance]``, ``[cv.*]``), as TOML."""
    q = json.dumps   # a JSON string is a TOML basic string
    lines = ["# Signal weights learned by `peerlearn fit`; use with --set matching.weights_file='\"THIS FILE\"'",
             "# or `weights_file = \"THIS FILE\"` under [matching] in a settings file.",
             "# Figures are leave-one-twin-out: never judge weights on the pairs they were learned from.",
             "", "[weights]"]
    lines += [f"{k} = {v}" for k, v in result.weights.items()]
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lines += ["", "[provenance]"]
    if pairings is not None:
        lines += [f"pairings = {q(str(pairings))}", f"pairings_sha256 = {q(content_hash(pairings))}"]
    if feedback_pairs:
        lines += [f"feedback_pairs = {feedback_pairs}   # confirmed by facilitators' decisions (feedback graph)"]
    lines += [f"pairs = {result.pairs}",
              f"twins = {result.folds}",
              f"created = {q(created)}",
              f"peerlearn_version = {q(peerlearn_version())}",
              f"method = {q('pairwise logistic regression on signal differences, non-negative (L-BFGS-B)')}",
              f"l2 = {result.l2}",
              f"validation = {q('leave-one-twin-out; bootstrap 95% intervals over twins')}",
              f"mrr_gain_over_hand_set = {round(result.gain[0], 4)}",
              f"mrr_gain_low = {round(result.gain[1], 4)}",
              f"mrr_gain_high = {round(result.gain[2], 4)}",
              f"better_than_hand_set = {'true' if result.better else 'false'}"]
    if settings_note:
        lines.append(f"scored_with = {q(settings_note)}")
    for m in result.rows:
        lines += ["", f"[cv.{q(m.name)}]"]
        lines += [f"{k.replace('@', '_at_')} = {v}" if not isinstance(v, str) else f"{k} = {q(v)}"
                  for k, v in m.row().items() if k != "model"]
    return "\n".join(lines) + "\n"


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder: a reader never
    sees half a file, an interrupted write leaves the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_result(result: FitResult) -> str:
    from recommender.evaluate import format_table

    w = ", ".join(f"{k} {v:g}" for k, v in result.weights.items() if v > 0)
    mean, lo, hi = result.gain
    verdict = ("better than the hand-set weights" if result.better else
               "not shown better than the hand-set weights (interval includes 0 or lies below)")
    return (f"learned weights (all {result.pairs} pairs, largest 1): {w}\n"
            f"{format_table(result.rows)}\n"
            f"MRR learned - hand-set: {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] over {result.folds} twins: {verdict}")
