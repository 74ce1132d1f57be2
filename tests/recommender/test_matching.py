"""Scores, assignment, topics and evaluation on the mini dataset and named toy inputs, with
values computed by hand. The embedding model is left out here (encoder=False); the real model
path is exercised by tests/test_cli.py and the embeddings tests."""

from __future__ import annotations

import pytest

from kg.errors import InputError, NotFoundError
from recommender.assignment import Overrides, assign, read_overrides
from recommender.evaluate import Pairing, _expected, evaluate
from recommender.pipeline import Matcher
from recommender.scoring import (
    barrier_fit,
    context,
    domain_fit,
    experience_fit,
    harmonic,
    shared_challenge,
    solution_fit,
)
from recommender.settings import Settings
from recommender.types import PILOT_FROM_TWIN, TWIN_FROM_PILOT, PairScore


@pytest.fixture(scope="module")
def matcher(mini_catalog):
    return Matcher.from_catalog(mini_catalog, Settings(), encoder=False)


def _pair(matcher, t, p):
    cat = matcher.catalog
    return matcher.context, cat.twins[t], cat.pilots[p]


class TestSignals:
    def test_barrier_fit_hand_computed(self, matcher):
        # Westford faces capacity + financial (stated, 1.0 each); P1 addresses both (stated).
        assert barrier_fit(*_pair(matcher, "T1-westford", "P1")) == 1.0
        # P2 addresses acceptance only: no overlap.
        assert barrier_fit(*_pair(matcher, "T1-westford", "P2")) == 0.0

    def test_domain_fit_scales_by_trust_of_the_offer(self, matcher):
        # Westford wants buildings; P2 works in buildings only as an inferred link (0.7).
        assert domain_fit(*_pair(matcher, "T1-westford", "P2")) == pytest.approx(0.7)

    def test_solution_fit(self, matcher):
        # P1's one-stop-shop is related to bar:capacity, which Westford faces -> 1/1.
        assert solution_fit(*_pair(matcher, "T1-westford", "P1")) == 1.0
        assert solution_fit(*_pair(matcher, "T1-westford", "P3")) == 0.0

    def test_pilot_side_signals(self, matcher):
        # P2 addresses acceptance; Riverton faces it -> 1.0. Riverton has mobility experience,
        # P3 works in mobility (stated) -> 1.0.
        assert shared_challenge(*_pair(matcher, "T1-riverton", "P2")) == 1.0
        assert experience_fit(*_pair(matcher, "T1-riverton", "P3")) == 1.0

    def test_context_same_country_size_distance(self, matcher):
        v = context(*_pair(matcher, "T1-riverton", "P3"))
        assert 0 < v < 0.5  # other country, 45k vs 300k people, ~1100 km

    def test_empty_twin_scores_zero_on_concept_signals(self, matcher):
        ctx, twin, pilot = _pair(matcher, "T1-northam", "P2")
        assert barrier_fit(ctx, twin, pilot) == domain_fit(ctx, twin, pilot) == 0.0

    @pytest.mark.parametrize("a, b, expected", [(0.5, 1.0, 2 / 3), (1.0, 0.0, 0.0), (0.3, 0.3, 0.3)])
    def test_harmonic_mean_punishes_one_sided_pairs(self, a, b, expected):
        assert harmonic(a, b) == pytest.approx(expected)


class TestRanking:
    def test_westford_ranks_the_retrofit_hub_first(self, matcher):
        ranked = matcher.rank_pilots("T1-westford")
        assert [s.pilot for s in ranked][0] == "P1"
        top = ranked[0]
        assert top.score == pytest.approx(harmonic(top.twin_score, top.pilot_score))
        assert all(isinstance(v, float) for v in top.twin_parts.values())

    def test_a_twin_is_never_offered_its_own_citys_pilot(self, matcher):
        assert "P1" not in {s.pilot for s in matcher.rank_pilots("T1-northam")}

    def test_weights_change_the_ranking(self, matcher):
        base = [s.pilot for s in matcher.rank_pilots("T1-riverton")]
        only_experience = {k: 0.0 for k in matcher.weights} | {"experience_fit": 1.0, "domain_fit": 1.0}
        changed = [s.pilot for s in matcher.rank_pilots("T1-riverton", weights=only_experience)]
        assert base[0] == "P2" and changed != base

    def test_unknown_ids_are_errors(self, matcher):
        with pytest.raises(NotFoundError):
            matcher.score([("T1-nowhere", "P1")])

    def test_evidence_paths_read_as_words(self, matcher):
        s = matcher.score([("T1-westford", "P1")])[0]
        words = [e.words for e in s.evidence]
        assert "Westford faces Capacity and skills barriers which HRH addresses" in words


def _ps(t, p, s):
    return PairScore(t, p, s, s, s)


class TestAssignment:
    def test_capacity_spreads_twins_when_alternatives_exist(self):
        scores = [_ps("a", "X", 0.9), _ps("b", "X", 0.8), _ps("a", "Y", 0.7), _ps("b", "Y", 0.1)]
        res = assign(scores, {"X": 1, "Y": 1})
        assert {(p.twin, p.pilot) for p in res.pairs} == {("a", "Y"), ("b", "X")}  # 1.5 beats 1.0
        assert res.objective == pytest.approx(1.5) and res.optimal

    def test_overload_penalty_guards_popular_pilots(self):
        scores = [_ps("a", "X", 0.9), _ps("b", "X", 0.9), _ps("a", "Y", 0.8), _ps("b", "Y", 0.1)]
        crowd = assign(scores, {"X": 2, "Y": 2}, overload_penalty=0.0)
        spread = assign(scores, {"X": 2, "Y": 2}, overload_penalty=0.15)
        assert crowd.loads == {"X": 2, "Y": 0}
        assert spread.loads == {"X": 1, "Y": 1}

    def test_pin_and_its_cost(self):
        scores = [_ps("a", "X", 0.9), _ps("a", "Y", 0.4)]
        res = assign(scores, {"X": 1, "Y": 1}, overrides=Overrides(pins=(("a", "Y"),)))
        assert [(p.twin, p.pilot, p.pinned) for p in res.pairs] == [("a", "Y", True)]
        assert res.pin_costs == {"a->Y": pytest.approx(0.5)}

    def test_exclusion_and_unassigned_when_capacity_runs_out(self):
        scores = [_ps("a", "X", 0.9), _ps("b", "X", 0.8)]
        res = assign(scores, {"X": 1}, overrides=Overrides(exclusions=(("a", "X"),)))
        assert [(p.twin, p.pilot) for p in res.pairs] == [("b", "X")]
        assert res.unassigned == ("a",)
        assert res.pin_costs == {"a-/->X": pytest.approx(0.1)}   # 0.9 for a instead of 0.8 for b
        assert any("exclusion a-/->X costs 0.100" in n for n in res.notes)

    def test_mini_cohort_is_within_capacity(self, matcher):
        a = matcher.assign(1)
        assert len(a.pairs) == 3
        assert all(a.loads[p] <= a.capacities[p] for p in a.loads)

    def test_read_overrides_errors_name_the_row(self, tmp_path):
        f = tmp_path / "pins.csv"
        f.write_text("action,twin,pilot\npin,a,X\nfreeze,a,Y\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"pins.csv, row 3, field action: unknown action 'freeze'"):
            read_overrides(f, ["a"], ["X", "Y"])


class TestTopics:
    def test_both_directions_every_topic_has_evidence(self, matcher):
        topics = matcher.topics("T1-riverton", "P2")
        assert {t.direction for t in topics} == {TWIN_FROM_PILOT, PILOT_FROM_TWIN}
        for t in topics:
            assert t.evidence.words and 2 <= len(t.questions) <= 3
            assert t.module in ("getting-started", "co-creating", "capitalising")

    def test_shared_barrier_goes_to_getting_started(self, matcher):
        topics = matcher.topics("T1-westford", "P1")
        shared = [t for t in topics if t.evidence.kind == "shared_barrier"]
        assert shared and all(t.module == "getting-started" for t in shared)
        assert any(t.module == "co-creating" and "one-stop shop" in t.title.lower() for t in topics)

    def test_thin_twin_still_gets_evidenced_topics(self, matcher):
        topics = matcher.topics("T1-northam", "P2")
        assert any(t.direction == TWIN_FROM_PILOT for t in topics)
        assert all(t.evidence.path for t in topics)

    def test_replication_plan_outline(self, matcher):
        plan = matcher.plan("T1-westford", "P1")
        assert plan is not None and plan.pilot == "P1"
        assert any(module == "Capitalising" for module, *_ in plan.items)


class TestPersonalizedPagerank:
    def test_same_fixed_point_as_networkx(self):
        import networkx as nx

        from recommender.graph import personalized_pagerank

        G = nx.Graph()
        G.add_weighted_edges_from([("a", "b", 1.0), ("b", "c", 0.5), ("c", "d", 1.0), ("a", "c", 0.2), ("d", "e", 2.0)])
        ours = personalized_pagerank(G, ["a", "d"])
        for s in ("a", "d"):
            ref = nx.pagerank(G, alpha=0.85, personalization={s: 1.0}, weight="weight", tol=1e-12, max_iter=2000)
            assert ours[s] == pytest.approx(ref, abs=1e-8)

    def test_targets_only(self):
        import networkx as nx

        from recommender.graph import personalized_pagerank

        G = nx.path_graph(["a", "b", "c"])
        out = personalized_pagerank(G, ["a"], targets=["c"])
        assert list(out["a"]) == ["c"] and out["a"]["c"] > 0


class TestEvaluate:
    def test_ties_count_at_their_expectation(self):
        hits, rr = _expected({"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}, "a")
        assert hits[1] == pytest.approx(0.25) and hits[3] == pytest.approx(0.75)
        assert rr == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)

    def test_clear_winner(self):
        hits, rr = _expected({"a": 0.9, "b": 0.5}, "a")
        assert hits[1] == 1.0 and rr == 1.0

    def test_report_has_baselines_and_ablations(self, matcher):
        rows = evaluate(matcher, [Pairing("T1-westford", "P1", 2)])
        names = [r.name for r in rows]
        assert names[:2] == ["peerlearn (all signals)", "random"]
        assert "only barrier_fit" in names and "without barrier_fit" in names
        assert rows[0].hit[1] == 1.0
        assert rows[1].hit[1] == pytest.approx(1 / 3)
