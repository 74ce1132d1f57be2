"""Scores, assignment, topics and evaluation on the mini dataset and named toy inputs, with
values computed by hand. The embedding model is left out here (encoder=False); the real model
path is exercised by tests/test_cli.py and the embeddings tests."""

from __future__ import annotations

import pytest

from kg.errors import InputError, NotFoundError
from recommender.assignment import Overrides, assign, read_overrides
from recommender.evaluate import Pairing, _expected, evaluate
from recommender.matcher import Matcher
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
        assert "Westford faces capacity and skills barriers which HRH addresses" in words


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


class TestPprMatrix:
    """The hub Schur complement in ``ppr_matrix`` against networkx's power iteration."""

    @staticmethod
    def _hubby():
        import networkx as nx

        # two hubs with many leaves, leaves paired up, one leaf chain between them, an isolated node
        G = nx.Graph()
        for i in range(20):
            G.add_edge("H1", f"a{i}", weight=1.0 + i / 10)
            G.add_edge("H2", f"b{i}", weight=0.5)
            if i % 2:
                G.add_edge(f"a{i}", f"a{i - 1}", weight=0.7)
        G.add_edge("a3", "b3", weight=2.0)
        G.add_edge("H1", "H2", weight=0.1)
        G.add_node("lonely")
        return G

    @pytest.mark.parametrize("hub_degree", [4, 16, 10**9])
    def test_any_choice_of_hubs_gives_networkx_fixed_point(self, hub_degree):
        import networkx as nx

        from recommender.graph import ppr_matrix

        G = self._hubby()
        sources = ["a1", "a3", "b7", "H1", "lonely"]
        targets = ["a0", "b3", "b7", "H2", "lonely"]
        X = ppr_matrix(G, sources, targets, hub_degree=hub_degree)
        for i, s in enumerate(sources):
            ref = nx.pagerank(G, alpha=0.85, personalization={s: 1.0}, weight="weight", tol=1e-13, max_iter=5000)
            assert X[i] == pytest.approx([ref[t] for t in targets], abs=1e-9), s

    def test_unknown_node_is_an_error(self):
        from recommender.graph import ppr_matrix

        with pytest.raises(KeyError):
            ppr_matrix(self._hubby(), ["nope"], ["a0"])


def test_proximity_reverse_direction_equals_ppr_from_the_pilot(mini_catalog):
    """``proximities`` derives pilot->twin from twin->pilot (PPR reversibility); check it
    against PageRank run from each pilot, normalised over its eligible twins."""
    import networkx as nx

    from recommender.graph import knowledge_graph
    from recommender.similarity import proximities

    cat = mini_catalog
    table = proximities(cat)
    G = knowledge_graph(cat)
    for p in cat.pilots.values():
        twins = [t for t in cat.twins.values() if (t.cohort == p.cohort or t.cohort in p.open_to_cohorts)
                 and t.city not in p.cities]
        if not twins:
            continue
        ref = nx.pagerank(G, alpha=0.85, personalization={p.iri: 1.0}, weight="weight", tol=1e-13, max_iter=5000)
        top = max(ref[t.iri] for t in twins)
        for t in twins:
            assert table[(t.id, p.id)][1] == pytest.approx(ref[t.iri] / top, abs=1e-7)
    for t in cat.twins.values():
        fwd = [table[(t.id, p.id)][0] for p in cat.candidates_for(t)]
        assert max(fwd) == pytest.approx(1.0) and min(fwd) >= 0


@pytest.fixture(scope="module")
def narrow(mini_catalog):
    s = Settings().with_overrides(["matching.candidates=1"])
    return Matcher.from_catalog(mini_catalog, s, encoder=False)


class TestCandidateWiring:
    """With ``matching.candidates`` below a twin's eligible count, every ranking and the
    assignment score only its candidate list."""

    def test_candidates_are_a_short_eligible_list(self, narrow, matcher):
        for t in narrow.catalog.twins.values():
            eligible = narrow.eligible(t)
            assert eligible == [p.id for p in narrow.catalog.candidates_for(t)]
            cands = narrow.candidates(t)
            assert set(cands) <= set(eligible)
            if len(eligible) > 1:
                assert len(cands) < len(eligible)
                assert [s.pilot for s in narrow.rank_pilots(t.id)] == sorted(
                    cands, key=lambda p: [s.pilot for s in matcher.rank_pilots(t.id)].index(p))
            else:
                assert cands == eligible

    def test_scores_do_not_depend_on_the_candidate_step(self, narrow, matcher):
        for t in narrow.catalog.twins.values():
            for s in narrow.rank_pilots(t.id):
                full = {x.pilot: x for x in matcher.rank_pilots(t.id)}[s.pilot]
                assert s.score == pytest.approx(full.score) and s.twin_parts == full.twin_parts

    def test_assignment_uses_candidates_but_honours_a_pin_outside_them(self, narrow):
        cohort = 1
        a = narrow.assign(cohort)
        for pair in a.pairs:
            assert pair.pilot in narrow.candidates(narrow.catalog.twins[pair.twin])
        twin = next(t for t in narrow.cohort_twins(cohort) if len(narrow.eligible(t)) > len(narrow.candidates(t)))
        outside = next(p for p in narrow.eligible(twin) if p not in narrow.candidates(twin))
        pinned = narrow.assign(cohort, Overrides(pins=((twin.id, outside),)))
        assert (twin.id, outside) in {(p.twin, p.pilot) for p in pinned.pairs}

    def test_evaluation_counts_a_pilot_left_out_as_a_miss(self, narrow):
        twin = next(t for t in narrow.catalog.twins.values()
                    if len(narrow.eligible(t)) > len(narrow.candidates(t)))
        outside = next(p for p in narrow.eligible(twin) if p not in narrow.candidates(twin))
        rows = evaluate(narrow, [Pairing(twin.id, outside, 2)])
        assert rows[0].hit[5] == 0.0 and rows[0].mrr == 0.0
        assert rows[1].name == "random" and rows[1].hit[5] > 0


def test_rank_twins_never_offers_a_pilot_its_own_city(matcher):
    for p in matcher.catalog.pilots.values():
        assert all(matcher.catalog.twins[s.twin].city not in p.cities for s in matcher.rank_twins(p.id))


def test_narrative_table_holds_the_cosine_of_each_pair(mini_catalog):
    """``from_catalog`` with an encoder fills ``context.narrative`` with the dot product of the
    unit profile vectors (a deterministic stand-in encoder; the real model runs in test_cli)."""
    import numpy as np

    from recommender.profiles import profile_text

    class Letters:
        model_id = "letters"

        def encode(self, texts, *, progress=False):
            v = np.array([[t.lower().count(c) for c in "aeioubcdfg"] for t in texts], dtype=np.float32) + 1.0
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    m = Matcher.from_catalog(mini_catalog, Settings(), encoder=Letters())
    enc = Letters()
    for t in mini_catalog.twins.values():
        for pid in m.eligible(t):
            a, b = enc.encode([profile_text(mini_catalog, t), profile_text(mini_catalog, mini_catalog.pilots[pid])])
            assert m.context.narrative[(t.id, pid)] == pytest.approx(float(a @ b), abs=1e-6)


def test_lists_made_lazily_per_cohort_equal_lists_made_at_once(mini_catalog):
    s = Settings().with_overrides(["matching.candidates=1"])
    at_once = Matcher.from_catalog(mini_catalog, s, encoder=False)
    made = at_once.prepare_candidates()
    lazy = Matcher.from_catalog(mini_catalog, s, encoder=False)
    assert lazy.candidate_map is None and made > 0
    for t in reversed(list(mini_catalog.twins.values())):
        assert lazy.candidates(t) == at_once.candidates(t)
    assert lazy.candidate_map == at_once.candidate_map


class TestContextEvidence:
    """Context evidence states facts that hold, with numbers, or nothing (issue 14, item 6)."""

    def _context(self, matcher, t, p):
        from recommender.scoring import evidence

        return [e.words for e in evidence(*_pair(matcher, t, p)) if e.kind == "context"]

    def test_a_pair_that_shares_no_setting_gets_no_context_evidence(self, matcher):
        # Riverton (GR, 45,000) and Cycle City in Eastwick (PL, 300,000, ~1,100 km away): before,
        # "Cycle City would test its approach in Riverton (GR) outside PL" was said of every
        # such pair
        assert self._context(matcher, "T1-riverton", "P3") == []

    def test_size_and_distance_are_stated_with_their_numbers(self, matcher):
        from recommender.scoring import km

        cat = matcher.catalog
        w, n = cat.cities["westford"], cat.cities["northam"]
        d = round(km(w.latitude, w.longitude, n.latitude, n.longitude), -1)
        assert 900 < d < 1000
        assert self._context(matcher, "T1-westford", "P1") == [
            "Westford (60,000 inhabitants) is of similar size to Northam (120,000) where HRH runs",
            f"Westford is {d:,.0f} km from HRH in Northam"]

    def test_same_country_else_a_shared_official_language(self):
        from kg.model import City
        from recommender.scoring import context_evidence

        graz = City("graz", "urn:c:graz", "Graz", "AT", 290_000, 47.07, 15.44)
        munich = City("munich", "urn:c:munich", "Munich", "DE", 1_500_000, 48.14, 11.58)
        linz = City("linz", "urn:c:linz", "Linz", "AT", 210_000, 48.31, 14.29)
        assert context_evidence(graz, [munich], "Graz", "P")[0].words == \
            "Graz (Austria) shares an official language, German, with P in Munich (Germany)"
        same = context_evidence(graz, [linz, munich], "Graz", "P")
        assert same[0].words == "Graz is in the same country as P in Linz (Austria)"
        assert not any("language" in e.words for e in same)
        # sizes: the pilot city nearest in size is compared; Munich alone is 5x Graz, so no size claim
        assert not any("similar size" in e.words for e in context_evidence(graz, [munich], "Graz", "P"))
