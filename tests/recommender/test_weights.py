"""The one rule for signal weights (``recommender.weights``); entry points are tested in
tests/test_cli.py (settings file, --set, --weight) and tests/recommender/test_web.py (what-if)."""

from __future__ import annotations

import pytest

from recommender.scoring import SIGNALS
from recommender.settings import Settings
from recommender.weights import WeightError, Weights


@pytest.mark.parametrize("value, words", [
    (-1, "is negative"), (-0.0001, "is negative"), (float("nan"), "not a finite number"),
    (float("inf"), "not a finite number"), ("-inf", "not a finite number"), ("x", "not a number"),
    (True, "not a number"), (None, "not a number"),
])
def test_a_bad_weight_is_refused(value, words):
    with pytest.raises(WeightError, match=words):
        Weights({"context": value, "barrier_fit": 1})


def test_unknown_signals_and_all_zero_are_refused():
    with pytest.raises(WeightError, match="unknown signal weight 'contxt'"):
        Weights({"contxt": 1})
    with pytest.raises(WeightError, match="every weight is 0"):
        Weights(dict.fromkeys(SIGNALS, 0))


def test_weights_are_an_immutable_mapping_of_floats():
    w = Weights({"context": "0.5", "barrier_fit": 2})
    assert dict(w) == {"context": 0.5, "barrier_fit": 2.0}
    with pytest.raises(TypeError):
        w["context"] = 1  # type: ignore[index]
    assert w.with_values({"context": 0})["context"] == 0.0 and w["context"] == 0.5


def test_the_default_weights_name_every_signal():
    assert sorted(Settings().matching.weights) == sorted(SIGNALS)
