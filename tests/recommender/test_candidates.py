"""Candidate generation: eligibility, the concept and narrative sources, recall against
exhaustive scoring on a small synthetic set (encoder=False and a cheap hashing encoder)."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from kg.model import Catalog, City, Link, PilotActivity, Twin
from recommender.candidates import candidate_pairs, concept_index, recall
from recommender.profiles import profile_vectors

ROOT = Path(__file__).resolve().parents[2]
B = "https://w3id.org/peerlearn/concept/barrier/"
D = "https://w3id.org/peerlearn/concept/domain/"


class HashingEncoder:
    """Bag of words hashed into 256 dimensions: fast, deterministic, no model."""

    model_id = "hashing-256"
    dim = 256

    def encode(self, texts, *, progress=False):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in re.findall(r"[a-z]{4,}", text.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest()[:6], 16) % self.dim] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def _toy() -> Catalog:
    cities = {c: City(c, c, c.title(), "DE" if c != "far" else "PT", latitude=50.0,
                      longitude=8.0 if c != "far" else -9.0) for c in ("a", "b", "c", "t", "far")}
    pilots = {
        "P1": PilotActivity("P1", "p1", 1, "Money", cities=("a",),
                            barriers=(Link(B + "financial"), Link(B + "capacity"))),
        "P2": PilotActivity("P2", "p2", 1, "Data", cities=("b",), barriers=(Link(B + "data"),),
                            domains=(Link(D + "energy", "inferred"),)),
        "P3": PilotActivity("P3", "p3", 2, "Later", cities=("c",), barriers=(Link(B + "financial"),)),
        "P4": PilotActivity("P4", "p4", 1, "Own city", cities=("t",), barriers=(Link(B + "financial"),)),
        "P5": PilotActivity("P5", "p5", 0, "Opened", cities=("far",), open_to_cohorts=(1,),
                            barriers=(Link(B + "capacity"),)),
        "P6": PilotActivity("P6", "p6", 1, "Nothing shared", cities=("far",)),
    }
    twins = {"T1": Twin("T1", "t1", "t", 1, barriers=(Link(B + "financial"), Link(B + "capacity")),
                        experience=(Link(D + "energy"),))}
    return Catalog(cities=cities, pilots=pilots, twins=twins)


def test_concept_source_ranks_by_overlap_and_respects_eligibility():
    cat = _toy()
    got = candidate_pairs(cat, k=10, k_context=0)["T1"]
    # P1 shares two barriers, P5 (opened to cohort 1) one, P2 only the energy domain (inferred);
    # P3 is another cohort's, P4 is run by the twin's own city, P6 shares nothing
    assert got == ["P1", "P5", "P2"]
    assert candidate_pairs(cat, k=1, k_context=0)["T1"] == ["P1"]
    assert concept_index(cat.pilots.values())[("barriers", B + "financial")][0] == ("P1", 1.0)


def test_context_source_fills_in_for_a_twin_stating_nothing():
    cat = _toy()
    bare = Twin("T2", "t2", "t", 1)
    cat = Catalog(cities=cat.cities, pilots=cat.pilots, twins={"T2": bare})
    assert candidate_pairs(cat, k=5, k_context=0) == {"T2": []}
    # same country (DE) first, then nearest; never P4 (own city) nor P3 (cohort 2)
    assert candidate_pairs(cat, k=5, k_context=2)["T2"] == ["P1", "P2"]
    assert set(candidate_pairs(cat, k=5, k_context=10)["T2"]) == {"P1", "P2", "P5", "P6"}


def test_narrative_source_takes_the_nearest_eligible_pilots():
    cat = _toy()
    vecs = ({"T1": [1.0, 0.0, 0.0]},
            {"P4": [1.0, 0.0, 0.0], "P3": [1.0, 0.0, 0.0], "P6": [0.9, 0.1, 0.0], "P2": [0.5, 0.5, 0.0],
             "P1": [0.0, 0.0, 1.0]})
    got = candidate_pairs(cat, k=2, k_concept=0, k_context=0, encoder_vectors=vecs)["T1"]
    assert got == ["P6", "P2"]          # P4 (own city) and P3 (cohort 2) are never proposed
    both = candidate_pairs(cat, k=2, k_concept=1, k_context=0, encoder_vectors=vecs)["T1"]
    assert both == ["P6", "P2", "P1"]   # narrative hits first, then the best concept hit


def test_graph_source_takes_the_most_proximate_eligible_pilots():
    cat = _toy()
    prox = {("T1", "P4"): (1.0, 1.0), ("T1", "P3"): (0.9, 0.0), ("T1", "P6"): (0.5, 0.2),
            ("T1", "P2"): (0.4, 0.9), ("T1", "P1"): (0.0, 0.0)}
    got = candidate_pairs(cat, k=1, k_concept=0, k_graph=2, k_context=0, proximity=prox)["T1"]
    assert got == ["P6", "P2"]     # P4 (own city), P3 (cohort 2) never; P1 has no mass


def test_limit_fills_the_list_from_the_sources_in_turns():
    cat = _toy()
    eligible = {p.id for p in cat.candidates_for(cat.twins["T1"])}
    short = candidate_pairs(cat, k=1, k_concept=1, k_context=1)["T1"]
    assert short == ["P1"]      # P1 is both the best concept and the nearest context pick
    for limit in (1, 3, len(eligible), 10):
        got = candidate_pairs(cat, k=1, k_concept=1, k_context=1, limit=limit)["T1"]
        assert len(got) == min(limit, len(eligible)) and len(set(got)) == len(got)
        assert set(got) <= eligible and got[0] == "P1"


def test_bad_k_is_refused():
    with pytest.raises(ValueError):
        candidate_pairs(_toy(), k=0)


@pytest.fixture(scope="module")
def synth_matcher(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "scripts"))
    import synth

    from kg.build import build
    from kg.catalog import catalog
    from recommender.matcher import Matcher
    from recommender.settings import Settings

    d = tmp_path_factory.mktemp("synth-cands")
    synth.write(synth.generate(400, seed=11), d)
    cat = catalog(build([d], backend="oxigraph"))
    return d, Matcher.from_catalog(cat, Settings(), encoder=False)


def _exhaustive(m):
    return {t: [s.pilot for s in m.rank_pilots(t)] for t in m.catalog.twins}


def test_candidates_on_synthetic_data_are_eligible_and_recall_the_exhaustive_top(synth_matcher, capsys):
    from recommender.evaluate import read_pairings

    d, m = synth_matcher
    cat = m.catalog
    vectors = profile_vectors(cat, HashingEncoder())
    full = _exhaustive(m)
    pairs, _ = read_pairings(d / "planted.csv", cat)
    lines = []
    for label, kw in (("concept+context", {}), ("hashing narrative+concept+context", {"encoder_vectors": vectors})):
        cands = candidate_pairs(m, k=3, k_context=2, **kw)
        for tid, pids in cands.items():
            eligible = {p.id for p in cat.candidates_for(cat.twins[tid])}
            assert set(pids) <= eligible and len(pids) == len(set(pids))
        r5 = recall(cands, full, top=5)
        planted = sum(p.pilot in cands[p.twin] for p in pairs) / len(pairs)
        size = sum(map(len, cands.values())) / sum(map(len, full.values()))
        lines.append(f"{label}: recall@5 {r5:.3f}, recall@1 {recall(cands, full, top=1):.3f}, "
                     f"planted in candidates {planted:.3f}, candidates {size:.0%} of eligible pairs")
        assert r5 >= 0.5          # a loose floor, not a tuned one: half the exhaustive top 5
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    # with k at least the number of eligible pilots, candidates are the exhaustive list itself
    everything = candidate_pairs(m, k=len(cat.pilots), k_context=0, encoder_vectors=vectors)
    assert recall(everything, full, top=5) == 1.0
