"""Signal weights: one immutable ``signal -> weight`` mapping and the one rule for a good one.

A weight is a finite number, 0 (the signal is off) or more; every name is a signal of
``recommender.scoring``; at least one weight is above 0 (with none, every score is 0 and a
ranking says nothing). Settings (``matching.weights`` in ``peerlearn.toml`` or ``--set``),
``--weight SIGNAL=W`` and the web what-if page all build a ``Weights``, so all refuse the same
values; each entry point only says where the bad value came from.

>>> w = Weights({"context": 1, "barrier_fit": 0.5})
>>> w["context"], w.with_values({"context": "2"})["context"]
(1.0, 2.0)
>>> Weights({"context": -1})
Traceback (most recent call last):
...
recommender.weights.WeightError: weight context=-1 is negative; weights are 0 (off) or more
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

from recommender.scoring import SIGNALS


class WeightError(ValueError):
    """A bad signal weight; the message names the signal and the value, not where it came from."""


def check_weight(signal: str, raw: object) -> float:
    """``raw`` (a number, or text from a flag or a form) as a weight for ``signal``."""
    if signal not in SIGNALS:
        raise WeightError(f"unknown signal weight {signal!r}; signals: {', '.join(SIGNALS)}")
    if isinstance(raw, bool):
        raise WeightError(f"weight {signal}={raw!r} is not a number")
    try:
        x = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        raise WeightError(f"weight {signal}={raw!r} is not a number") from None
    if not math.isfinite(x):
        raise WeightError(f"weight {signal}={raw!r} is not a finite number")
    if x < 0:
        raise WeightError(f"weight {signal}={raw!r} is negative; weights are 0 (off) or more")
    return x


class Weights(Mapping[str, float]):
    """An immutable, validated ``{signal: weight}`` (a ``Mapping``; ``dict(w)`` for a plain one)."""

    __slots__ = ("_w",)

    def __init__(self, values: Mapping[str, object]):
        w = {k: check_weight(k, v) for k, v in values.items()}
        if not any(v > 0 for v in w.values()):
            raise WeightError("every weight is 0; at least one signal needs a weight above 0")
        self._w = w

    def with_values(self, changes: Mapping[str, object]) -> Weights:
        """A copy with ``changes`` applied (each checked)."""
        return Weights({**self._w, **changes})

    def __getitem__(self, key: str) -> float:
        return self._w[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._w)

    def __len__(self) -> int:
        return len(self._w)

    def __hash__(self) -> int:
        return hash(frozenset(self._w.items()))

    def __repr__(self) -> str:
        return f"Weights({self._w!r})"


def read_weights_file(path: str | os.PathLike) -> Weights:
    """The ``[weights]`` table of a weights file (as ``peerlearn fit`` writes it; its other
    tables are provenance and are not read here). Every signal must be named, so a file never
    silently mixes learned and default weights; a ``WeightError`` names the file."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightError(f"{p}: weights file not found") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WeightError(f"{p}: not a readable TOML weights file ({e})") from None
    table = doc.get("weights")
    if not isinstance(table, dict):
        raise WeightError(f"{p}: no [weights] table")
    missing = [s for s in SIGNALS if s not in table]
    if missing:
        raise WeightError(f"{p}: [weights] lacks {', '.join(missing)}; a weights file names every signal")
    try:
        return Weights(table)
    except WeightError as e:
        raise WeightError(f"{p}: [weights]: {e}") from None
