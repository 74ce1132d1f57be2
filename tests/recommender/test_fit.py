"""Learned weights (``recommender.fit``, ``peerlearn fit``) and the intervals of ``evaluate``.

The recovery test plants weights into choices made over the real signals of synthetic cities
(``scripts/synth.py``, built into a real store, scored by the real ``Matcher``) and checks the
fit finds them; the CLI tests run the real ``peerlearn`` on the real development pairings.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from recommender.evaluate import bootstrap_ci
from recommender.scoring import SIGNALS
from tests.conftest import SHARED, run_cli

ROOT = Path(__file__).resolve().parents[2]
PAIRINGS = SHARED / "pairings-dev.csv"
needs_pairings = pytest.mark.skipif(not PAIRINGS.exists(), reason="../shared/data/pairings-dev.csv not present")

PLANTED = {"domain_fit": 1.0, "context": 0.6, "barrier_fit": 0.5, "graph_proximity": 0.3}


@pytest.fixture(scope="module")
def synth_matcher(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "scripts"))
    import synth

    from kg import build
    from kg.catalog import catalog
    from recommender.matcher import Matcher
    from recommender.settings import Settings

    d = tmp_path_factory.mktemp("synth")
    synth.write(synth.generate(1000, seed=3), d)
    return Matcher.from_catalog(catalog(build([d], backend="oxigraph")), Settings(), encoder=False)


def _planted_choices(matcher, draws: int, seed: int = 0, planted=PLANTED):
    """Each twin chooses ``draws`` times among its candidates with probability proportional to
    exp(8 * planted weights . signals) (Gumbel-max), as a conditional-logit world would."""
    from recommender.evaluate import signal_values
    from recommender.fit import Choice

    w = np.array([planted.get(s, 0.0) for s in SIGNALS])
    rng = np.random.default_rng(seed)
    out = []
    for t in matcher.catalog.twins.values():
        cands = matcher.candidates(t)
        X = signal_values(matcher, t.id, cands)
        for _ in range(draws):
            i = int(np.argmax(8 * X @ w + rng.gumbel(size=len(cands))))
            out.append(Choice(t.id, cands[i], X, i))
    return out


def test_the_fit_recovers_planted_weights(synth_matcher):
    from recommender.fit import fit_weights

    data = _planted_choices(synth_matcher, draws=10)
    assert len(data) >= 400
    got = dict(zip(SIGNALS, fit_weights(data)))
    for s in SIGNALS:
        if s == "narrative_similarity":          # no model here: the fit must give it exactly 0
            assert got[s] == 0.0
            continue
        assert abs(got[s] - PLANTED.get(s, 0.0)) <= 0.15, (s, got)
    assert sorted(PLANTED, key=got.get) == sorted(PLANTED, key=PLANTED.get)   # the planted order


def test_cross_validation_says_learned_beats_hand_set_where_it_does(synth_matcher):
    """Planted pairs where the hand-set weights are wrong (the choices follow setting and graph
    proximity, which the hand-set weights count little): leave-one-twin-out finds the learned
    weights better, with an interval of the gain above 0."""
    from recommender.evaluate import Pairing
    from recommender.fit import cross_validate

    data = _planted_choices(synth_matcher, draws=3, seed=1, planted={"context": 1.0, "graph_proximity": 0.8})
    pairs = [Pairing(c.twin, c.pilot, i) for i, c in enumerate(data)]
    res = cross_validate(synth_matcher, pairs)
    rows = {r.name: r for r in res.rows}
    learned, hand = rows["learned (leave-one-twin-out)"], rows["hand-set (settings)"]
    assert learned.mrr > hand.mrr and res.better, (learned.row(), hand.row(), res.gain)
    assert learned.ci["mrr"][0] > rows["random"].mrr


def test_a_pair_without_a_true_candidate_teaches_nothing():
    from kg.errors import InputError
    from recommender.fit import Choice, fit_weights

    X = np.eye(3, len(SIGNALS))
    with pytest.raises(InputError, match="nothing to learn"):
        fit_weights([Choice("T", "P", X, None), Choice("T", "P", X[:1], 0)])


# ------------------------------------------------------------------ bootstrap intervals

def test_bootstrap_intervals_resample_twins_not_pairs():
    # twin a: two pairs, both hits; twin b: one miss. Resampling twins gives means 0, 1 or 2/3;
    # resampling pairs would also give 1/3
    lo, hi = bootstrap_ci(np.array([1.0, 1.0, 0.0]), ["a", "a", "b"])[0]
    assert (lo, hi) == (0.0, 1.0)
    assert bootstrap_ci(np.array([0.5] * 4), ["a", "b", "c", "d"]) == [(0.5, 0.5)]
    # reproducible, and narrower with more twins
    x = np.random.default_rng(0).random(200)
    a = bootstrap_ci(x[:20], [str(i) for i in range(20)])[0]
    assert a == bootstrap_ci(x[:20], [str(i) for i in range(20)])[0]
    b = bootstrap_ci(x, [str(i) for i in range(200)])[0]
    assert a[0] < x[:20].mean() < a[1] and b[1] - b[0] < a[1] - a[0]


@needs_pairings
def test_evaluate_reports_intervals_and_twins(tmp_path):
    assert run_cli("build", cwd=tmp_path).returncode == 0
    res = run_cli("evaluate", "--pairings", str(PAIRINGS), "--no-model", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = {r["model"]: r for r in json.loads(res.stdout)["metrics"]}
    full = rows["peerlearn (all signals)"]
    assert full["n"] == 22 and full["twins"] == 22
    for key in ("hit@1", "hit@3", "hit@5", "mrr"):
        assert full[f"{key}_low"] <= full[key] <= full[f"{key}_high"]
    assert full["mrr_high"] - full["mrr_low"] > 0.1      # 22 pairs: wide, and the table says so
    text = run_cli("evaluate", "--pairings", str(PAIRINGS), "--no-model", cwd=tmp_path).stdout
    assert "bootstrap 95% interval over twins" in text and "[0." in text


# ------------------------------------------------------------------ peerlearn fit, the weights file

@needs_pairings
def test_fit_writes_a_weights_file_that_settings_use(tmp_path):
    assert run_cli("build", cwd=tmp_path).returncode == 0
    res = run_cli("fit", "--pairings", str(PAIRINGS), "--no-model", "--out", "w.toml", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    f = tomllib.loads((tmp_path / "w.toml").read_text(encoding="utf-8"))
    assert f["weights"] == doc["weights"] and sorted(f["weights"]) == sorted(SIGNALS)
    prov = f["provenance"]
    assert prov["pairings_sha256"] == hashlib.sha256(PAIRINGS.read_bytes()).hexdigest()
    assert prov["pairs"] == 22 and prov["twins"] == 22 and prov["validation"].startswith("leave-one-twin-out")
    assert prov["better_than_hand_set"] == doc["better"] == (prov["mrr_gain_low"] > 0)
    assert {"learned (leave-one-twin-out)", "hand-set (settings)", "random", "only context"} <= set(f["cv"])
    assert f["cv"]["learned (leave-one-twin-out)"]["mrr_low"] <= f["cv"]["learned (leave-one-twin-out)"]["mrr"]
    # the same run twice gives the same weights and figures (only the date differs)
    again = run_cli("fit", "--pairings", str(PAIRINGS), "--no-model", "--out", "w2.toml", "--json", cwd=tmp_path)
    assert {k: v for k, v in json.loads(again.stdout).items() if k != "file"} == \
        {k: v for k, v in doc.items() if k != "file"}
    # the file is usable as a setting; --set on one weight still applies on top
    shown = run_cli("--set", 'matching.weights_file="w.toml"', "--set", "matching.weights.barrier_fit=0.25",
                    "settings", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["matching"]["weights"] == {**f["weights"], "barrier_fit": 0.25}
    (tmp_path / "cfg.toml").write_text('[matching]\nweights_file = "w.toml"\n', encoding="utf-8")
    ranked = run_cli("--config", "cfg.toml", "recommend", "Belfast", "--no-model", "--json", cwd=tmp_path)
    assert ranked.returncode == 0, ranked.stderr


@pytest.mark.parametrize("text, message", [
    ("[weights]\ncontext = 1\n", "[weights] lacks barrier_fit"),
    ("[provenance]\nx = 1\n", "no [weights] table"),
    ("[weights\n", "not a readable TOML weights file"),
    ("[weights]\n" + "".join(f"{k} = 1\n" for k in SIGNALS).replace("context = 1", "context = -1"),
     "[weights]: weight context=-1 is negative"),
])
def test_a_bad_weights_file_is_one_line_exit_2(tmp_path, text, message):
    (tmp_path / "w.toml").write_text(text, encoding="utf-8")
    res = run_cli("--set", 'matching.weights_file="w.toml"', "settings", cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == "" and message in res.stderr, res.stderr
    assert "w.toml" in res.stderr and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_weights_and_a_weights_file_together_are_refused(tmp_path):
    (tmp_path / "w.toml").write_text("[weights]\n" + "".join(f"{k} = 1\n" for k in SIGNALS), encoding="utf-8")
    (tmp_path / "peerlearn.toml").write_text('[matching]\nweights_file = "w.toml"\n[matching.weights]\ncontext = 2\n',
                                             encoding="utf-8")
    res = run_cli("settings", cwd=tmp_path)
    assert res.returncode == 2 and "not both" in res.stderr, res.stderr


def test_fit_with_bad_pairings_is_one_line_exit_2(tmp_path):
    assert run_cli("build", cwd=tmp_path).returncode == 0
    (tmp_path / "p.csv").write_text("twin_city,twin_cohort,pilot_id\nBelfast,one,C1-12\n", encoding="utf-8")
    res = run_cli("fit", "--pairings", "p.csv", "--no-model", "--out", "w.toml", cwd=tmp_path)
    assert res.returncode == 2 and "p.csv, row 2, field twin_cohort" in res.stderr, res.stderr
    assert not (tmp_path / "w.toml").exists() and "Traceback" not in res.stderr
