"""One run result: each cohort scored once, explanations measured with the solver, and the
whole result in the graph with typed numbers (real oxigraph store, real SPARQL, real SHACL)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from kg import catalog
from kg.build import build
from kg.examples import EXAMPLES
from kg.namespaces import PL
from kg.store import open_store
from kg.validate import violations
from recommender.assignment import Overrides
from recommender.export import run_graph, write_run
from recommender.matcher import Matcher
from recommender.outputs import all_files
from recommender.result import run_result
from recommender.settings import Settings
from tests.conftest import MINI


@pytest.fixture(scope="module")
def store():
    return build([MINI], backend="oxigraph")


@pytest.fixture(scope="module")
def tight():
    """Every pilot activity takes one twin: Northam's first choice (SUN) is taken by Riverton."""
    return Settings().with_overrides(["matching.capacity=1"])


@pytest.fixture(scope="module")
def matcher(store, tight):
    return Matcher.from_catalog(catalog(store), tight, encoder=False)


def _count_scored(monkeypatch) -> Counter:
    seen: Counter = Counter()
    real = Matcher.score

    def counting(self, pairs, weights=None):
        pairs = list(pairs)
        seen.update(pairs)
        return real(self, pairs, weights)

    monkeypatch.setattr(Matcher, "score", counting)
    return seen


def test_a_run_scores_each_pair_once(tmp_path, monkeypatch):
    """The whole of `peerlearn run` (build, tag, assign, RDF, every file) scores each candidate
    pair of each cohort exactly once; before the run result, the files, the reports and the RDF
    export each scored again (4 or more times a pair)."""
    from recommender.pipeline import run_main_job

    seen = _count_scored(monkeypatch)
    settings = Settings().with_overrides([f"store.path={tmp_path / 'store'}"])
    assert run_main_job(settings, out_dir=tmp_path / "out", sources=[str(MINI)], say=lambda s: None) == 0
    assert seen and set(seen.values()) == {1}, seen.most_common(3)
    m = Matcher.from_catalog(catalog(open_store("oxigraph", path=tmp_path / "store", read_only=True)),
                             settings, encoder=False)
    assert set(seen) == {(t.id, p) for t in m.catalog.twins.values() for p in m.eligible(t)}


def test_explanations_name_the_full_pilot_and_measure_the_alternative(matcher, tight):
    c = run_result(matcher, tight).cohort(1)
    e = c.explanation("T1-northam", "P3")
    assert e is not None and (e.rank, e.first_choice) == (2, "P2")
    [better] = e.better
    assert (better.pilot, better.full, better.taken_by) == ("P2", True, ("T1-riverton",))
    # measured independently: pin the twin to its first choice and ask the solver what it costs
    pinned = matcher.assign(1, Overrides(pins=(("T1-northam", "P2"),)))
    assert e.alternative_cost == pytest.approx(pinned.pin_costs["T1-northam->P2"]) and e.alternative_cost > 0
    assert e.weak == (e.score < 0.2) and e.weak
    words = e.words(matcher.catalog.twin_name, matcher.catalog.pilot_name)
    assert "rank 2 of 2" in words and "was full with Riverton" in words and "Weak pair" in words
    first = c.explanation("T1-westford", "P1")
    assert (first.rank, first.better, first.alternative_cost, first.weak) == (1, (), None, False)


def test_weak_threshold_is_a_setting(matcher, tight):
    loose = tight.with_overrides(["matching.weak_threshold=0.01"])
    assert not any(e.weak for e in run_result(matcher, loose).cohort(1).explanations)
    assert sum(e.weak for e in run_result(matcher, tight).cohort(1).explanations) == 1


def test_explanations_reach_every_output(matcher, tight):
    files = all_files(run_result(matcher, tight))
    why = "rank 2 of 2: SUN (rank 1) was full with Riverton"
    for name in ("explanations-cohort-1.csv", "cohort-1.json", "cohort-1.md", "cohort-1.html",
                 "twins/T1-northam.html"):
        assert why in files[name], name
    assert "assignment-cohort-1.csv" in files
    header, *rows = files["assignment-cohort-1.csv"].splitlines()
    assert header.endswith(",pinned,rank,weak")
    northam = next(r for r in rows if r.startswith("T1-northam,"))
    assert northam.startswith("T1-northam,Northam,P3,Cycle City,") and northam.endswith(",false,2,true")


def test_the_graph_holds_every_assignment_topic_and_signal_typed(store, matcher, tight):
    settings = tight.with_overrides(["matching.shortlist=1"])     # Northam's pilot is outside its shortlist
    result = run_result(matcher, settings)
    g = run_graph(result)
    assert violations(g) == []
    write_run(store, result)
    c = result.cohort(1)
    assigned = {(p.twin, p.pilot) for p in c.assignment.pairs}
    n_topics = sum(len(p.topics) for p in c.pairs if (p.twin, p.pilot) in assigned)
    assert _count(store, "?a a pl:Assignment") == len(assigned) == 3
    assert _count(store, "?t a pl:LearningTopic") == n_topics > 0
    assert len(store.query(EXAMPLES["learning-topics"].text).rows) == n_topics
    n_signals = sum(len(s.twin_parts) + len(s.pilot_parts) for _, r in c.rankings for s in r
                    if s.pilot == r[0].pilot or (s.twin, s.pilot) in assigned)
    assert _count(store, "?s a pl:SignalScore ; pl:value ?v FILTER(datatype(?v) = xsd:decimal)") == n_signals
    recs = store.query(EXAMPLES["recommendations"].text).records()
    assert ("T1-northam", 2) in {(str(r["twinId"]), int(r["rank"])) for r in recs}
    for r in recs:
        for k in ("twinScore", "pilotScore", "score"):
            assert r[k].datatype.endswith("#decimal") and len(str(r[k]).partition(".")[2]) <= 4
    why = store.query(EXAMPLES["explained-assignments"].text).records()
    northam = next(r for r in why if str(r["twinId"]) == "T1-northam")
    assert (int(northam["rank"]), str(northam["firstChoice"])) == (2, "P2")
    assert Decimal(str(northam["cost"])) > 0 and northam["weak"].toPython() is True
    assert "was full with Riverton" in str(northam["why"])


def test_barrier_fit_example_query_against_the_real_store(store, matcher, tight):
    result = run_result(matcher, tight)
    write_run(store, result)
    rows = store.query(EXAMPLES["pairs-by-signal"].text).rows
    expected = sorted((s.twin, s.pilot, round(s.twin_parts["barrier_fit"], 4))
                      for c in result.cohorts for _, r in c.rankings for s in r[: result.shortlist]
                      if s.twin_parts.get("barrier_fit", 0) > 0.5)
    assert expected, "the mini data has pairs above 0.5"
    assert sorted((str(r[0]), str(r[1]), float(str(r[2]))) for r in rows) == expected
    assert all(len(str(r[2]).partition(".")[2]) <= 4 for r in rows)


def _count(store, pattern: str) -> int:
    q = (f"PREFIX pl: <{PL}> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
         f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
    return int(store.query(q).rows[0][0])
