"""Across Europe: the two directional scores, filters, ties and evaluation on hand-made profiles
(each figure checked by hand below); the commands end to end on the tiny GCoM release and the
mini dataset (real files, real store, real subprocesses); and, where the real release is
present, recruitment on all 11,972 signatories."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from kg.ingest.gcom import Signatory
from kg.model import Catalog, City
from recommender.europe.evaluate import expected_rank
from recommender.europe.profiles import Profiles
from recommender.europe.rank import Filters, peer_scores, recruit_scores, top_rows
from tests.conftest import MINI, SHARED, run_cli
from tests.kg.gcom_release import write_release

GCOM = SHARED / "gcom"


def _profiles() -> Profiles:
    """Two concepts (d1, d2). A: needs d1 (1.0), has experience 0.5 in d1, 100k inhabitants, DE,
    CoM2030, 3 actions; B: needs d1 and d2 (0.5 each), experience 1.0 in d2, 1M, FR, no
    commitment, no actions; C: nothing known (no population), DE. One pilot on d1, 100k."""
    m = lambda rows: sparse.csr_matrix(np.array(rows, dtype=float))  # noqa: E731
    need = m([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]])
    sigs = [Signatory("1", "A", "DE", 100_000, commitments=("CoM2030",)), Signatory("2", "B", "FR", 1_000_000),
            Signatory("3", "C", "DE")]
    return Profiles(
        ids=["1", "2", "3"], signatories=sigs, concepts=["d1", "d2"], scheme=np.zeros(2, dtype=np.int8),
        focus=need, need=need, experience=m([[0.5, 0.0], [0.0, 1.0], [0.0, 0.0]]),
        need_sum=np.array([1.0, 1.0, 0.0]), log_pop=np.array([5.0, 6.0, np.nan]),
        country=np.array(["DE", "FR", "DE"]), commitments=np.array([2, 0, 0], dtype=np.int8),
        n_actions=np.array([3, 0, 0]), shares=[{}, {}, {}], links=[[], [], []], pilot_ids=["P"],
        pilot=m([[1.0, 0.0]]), pilot_log_pop=np.array([5.0]), pilot_rows={"P": ()},
        city_row={"x": 2}, unmatched={})


def test_recruit_scores_both_sides_by_hand():
    s = recruit_scores(_profiles())
    # A: gains 1*1/1 = 1, brings 0.5*1/1 = 0.5, size 1: g = 0.7 + 0.3 = 1.0, b = 0.35 + 0.3 = 0.65
    # B: gains 0.5/1, brings 0, size 1 - 1/2: g = 0.35 + 0.15 = 0.5, b = 0.15
    assert s.gains[:, 0] == pytest.approx([1.0, 0.5, 0.0])
    assert s.brings[:, 0] == pytest.approx([0.65, 0.15, 0.0])
    assert s.score[:, 0] == pytest.approx([2 * 0.65 / 1.65, 2 * 0.5 * 0.15 / 0.65, 0.0])
    only_concepts = recruit_scores(_profiles(), context=0.0)
    assert only_concepts.score[:, 0] == pytest.approx([2 * 0.5 / 1.5, 0.0, 0.0])


def test_peer_scores_are_directional():
    s = peer_scores(_profiles(), 0, context=0.0)
    # A learns from B: A's need (d1) . B's experience (d2) = 0; B learns from A: 0.5 * 0.5 / 1 = 0.25
    assert s.gains[1] == pytest.approx(0.0) and s.brings[1] == pytest.approx(0.25)
    assert s.score[1] == 0.0                      # valued by one side only: the harmonic mean is 0
    back = peer_scores(_profiles(), 1, context=0.0)
    assert back.gains[0] == pytest.approx(0.25) and back.brings[0] == pytest.approx(0.0)


def test_filters_country_population_commitment_plan_and_programme():
    pr = _profiles()
    cat = Catalog(cities={"x": City("x", "urn:x", "X", "DE")})
    assert Filters().mask(pr, cat).tolist() == [True, True, False]        # C is the dataset's city x
    assert Filters(include_programme=True, countries=frozenset({"DE"})).mask(pr, cat).tolist() == [True, False, True]
    assert Filters(population_min=200_000).mask(pr, cat).tolist() == [False, True, False]
    assert Filters(population_max=100_000, include_programme=True).mask(pr, cat).tolist() == [True, False, False]
    assert Filters(commitments=("com2030",)).mask(pr, cat).tolist() == [True, False, False]
    assert Filters(has_plan=True).mask(pr, cat).tolist() == [True, False, False]


def test_top_rows_keeps_ties_in_row_order_and_skips_filtered():
    score = np.array([0.2, 0.9, 0.5, 0.9, 0.5])
    keep = np.array([True, True, True, False, True])
    assert top_rows(score, keep, 2) == [1, 2]
    assert top_rows(score, keep, 10) == [1, 2, 4, 0]


def test_expected_rank_counts_ties_at_their_expectation():
    hits, rr, rank = expected_rank(np.array([0.5, 0.5, 0.9, 0.1]), np.ones(4, dtype=bool), 0)
    assert rank == 2.5 and rr == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert hits[1] == 0.0 and hits[10] == 1.0


# ------------------------------------------------------------------ end to end, tiny release

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("europe")
    gcom = write_release(root / "gcom")
    res = run_cli("build", str(MINI), cwd=root)
    assert res.returncode == 0, res.stderr
    return root, gcom


def test_recruit_json_ranks_the_city_whose_emissions_the_pilot_addresses(tiny):
    root, gcom = tiny
    res = run_cli("recruit", "HRH", "--gcom", str(gcom), "--format", "json", "-k", "3", cwd=root)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    # Niš: 75% of its latest inventory in residential buildings, the Home Retrofit Hub's domain
    assert rows[0]["name"] == "Niš" and rows[0]["pilot"] == "P1"
    assert rows[0]["gains"] > rows[0]["brings"]
    assert any("75% of its inventoried emissions" in e for e in rows[0]["gains_evidence"])
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert "8 signatories" in res.stderr and "rows skipped" in res.stderr


def test_recruit_csv_to_file_and_filters(tiny):
    root, gcom = tiny
    out = root / "recruit.csv"
    res = run_cli("recruit", "P1", "--gcom", str(gcom), "--format", "csv", "--out", str(out),
                  "--country", "si", "--population", "50000-", cwd=root)
    assert res.returncode == 0, res.stderr and res.stdout == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("rank,pilot,signatory,name,country")
    assert sorted(ln.split(",")[3] for ln in lines[1:]) == ["Kranj", "Mestna občina Kranj"]


@pytest.mark.parametrize("args, code, words", [
    (["recruit", "P1", "--population", "many"], 2, "--population 'many'"),
    (["recruit", "P1", "--commitment", "CoM2040"], 2, "unknown commitment 'CoM2040'"),
    (["recruit", "P1", "--country", "Germany"], 2, "ISO alpha-2"),
    (["recruit", "P9"], 3, "P9"),
    (["peers", "Atlantis"], 3, "no signatory named 'Atlantis'"),
    (["peers", "Kranj"], 3, "ambiguous"),
])
def test_bad_input_is_one_line_and_its_exit_code(tiny, args, code, words):
    root, gcom = tiny
    out = root / "never.csv"
    res = run_cli(*args, "--gcom", str(gcom), "--out", str(out), cwd=root)
    assert res.returncode == code, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and words in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_peers_and_recommend_city(tiny):
    root, gcom = tiny
    res = run_cli("peers", "Kranj", "--in", "AT", "--gcom", str(gcom), "--format", "json", "-k", "2", cwd=root)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert len(rows) == 2 and all(r["signatory"] != "107" for r in rows)
    res = run_cli("recommend", "--city", "Niš", "--gcom", str(gcom), "--json", "-k", "3", cwd=root)
    assert res.returncode == 0, res.stderr
    ranked = json.loads(res.stdout)
    assert "signatories" in res.stderr          # the count line ends every command, --json too
    # Cycle City first: two of Niš's three actions are car sharing and buses (sustainable mobility)
    assert ranked[0]["pilot"] == "P3"
    assert ranked[0]["brings_evidence"][0].startswith("2 planned actions in Sustainable mobility services")
    assert any("75% of its inventoried emissions" in e for e in ranked[1]["gains_evidence"])
    assert {r["pilot"] for r in ranked} == {"P1", "P2", "P3"}


# ------------------------------------------------------------------ the real release

@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if not GCOM.is_dir():
        pytest.skip("../shared/data/gcom not present")
    from kg.build import build, bundled_dataset
    from kg.catalog import catalog
    from recommender.europe.load import load_profiles

    cat = catalog(build([bundled_dataset()], backend="oxigraph"))
    return cat, load_profiles(GCOM, cat)


def test_real_release_recruits_outside_the_programme_with_evidence(real):
    from recommender.europe.rank import recruit

    cat, loaded = real
    pr = loaded.profiles
    assert len(pr.ids) == 11972
    programme = {pr.ids[r] for r in pr.programme_rows(cat)}
    assert len(programme) > 100
    for pilot in ("C1-12", "C2-01", "C3-07"):
        rows = recruit(pr, cat, pilot, k=20)
        assert len(rows) == 20 and not {r.signatory for r in rows} & programme
        assert all(r.gains_evidence and r.brings_evidence for r in rows[:5])
        assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True)
    de = recruit(pr, cat, "C1-12", k=10, filters=Filters(countries=frozenset({"DE"}), population_min=50_000,
                                                          commitments=("CoM2030",), has_plan=True))
    assert de and all(r.country == "DE" and r.population >= 50_000 and "CoM2030" in r.commitments
                      and r.actions > 0 for r in de)


def test_real_release_evaluation_beats_random(real):
    from recommender.europe.evaluate import evaluate_recruit

    cat, loaded = real
    report = evaluate_recruit(loaded.profiles, cat, SHARED / "pairings-dev.csv", samples=200)
    full = report["recruit"]["peerlearn (concepts + size)"]
    assert full["n"] >= 10 and full["mrr"] > 5 * report["recruit"]["random"]["mrr"]
    assert all("has no signatory" in s or "not" in s for s in report["skipped"])


# ------------------------------------------------------------------ Mission-minded pairing

def test_keyword_matcher_is_keyword_tags_rule(mini_catalog):
    from recommender.europe.mission import keyword_matcher
    from recommender.tagging import keyword_tags

    concepts = [c for c in mini_catalog.concepts.values() if c.scheme in ("domain", "lever")]
    match = keyword_matcher(concepts)
    for text in ("We extend Public Transport and cycling routes; a one-stop shop for retrofit.",
                 "Citizen assemblies decide on district heating and green bonds.", "Nothing to see here."):
        assert match(text) == {t.concept for t in keyword_tags(concepts, text)}, text


def test_portfolio_shares_by_hand(mini_catalog):
    from recommender.europe.mission import portfolios

    pr = _profiles()
    dom = "https://w3id.org/peerlearn/concept/domain/"
    pr.concepts = [dom + "mobility", dom + "buildings"]
    passages = {"northam": [("p1", "B-2", "More public transport."), ("p2", "B-2", "Cycling and transport."),
                            ("p3", "B-2", "Retrofit of housing."), ("p4", "A-1", "transport transport"),
                            ("p5", "B-2", "Nothing named.")],
                "westford": [("p6", "B-2", "public transport")]}          # not a Mission City
    pf = portfolios(pr, mini_catalog, passages)
    # mobility in 2 of 4 B-2 passages (the A-1 one does not count): 0.5, the largest domain share -> 1.0;
    # buildings in 1 passage: under MIN_PASSAGES (2), left out
    assert pf.cities == ["northam"] and pf.counts == {"northam": 4}
    assert pf.matrix.toarray().tolist() == [[1.0, 0.0]]
    assert len(pf.passages[(0, 0)]) == 2


@pytest.fixture(scope="module")
def with_contracts(tiny, tmp_path_factory):
    root, gcom = tiny
    folder = tmp_path_factory.mktemp("contracts")
    filler = ("The city council agreed the measures with residents, companies and the regional authority, set "
              "out who is responsible for each step, how it is financed and monitored every year. ") * 2
    for city, topics in (("northam", ("We extend public transport with electric buses.",
                                      "We build cycling routes and promote active travel.",
                                      "Public transport tickets become cheaper.")),
                         ("southby", ("A one-stop shop helps owners with building renovation and retrofit.",
                                      "Social housing gets deep retrofit and heat pumps.",
                                      "Building renovation loans for every household."))):
        text = ["# Climate City Contract", "", "## Module A-1 Greenhouse Gas Emissions Baseline Inventory", "",
                "Emissions come from traffic and heating. " + filler, "",
                "## Module B-2 Climate Neutrality Portfolio Design", ""]
        for t in topics:
            text += [t + " " + filler, ""]
        (folder / f"{city}.md").write_text("\n".join(text), encoding="utf-8")
    res = run_cli("ingest-ccc", str(folder), cwd=root)
    assert res.returncode == 0, res.stderr
    return root, gcom


def test_pair_mission_both_ways(with_contracts):
    root, gcom = with_contracts
    res = run_cli("pair-mission", "Niš", "--gcom", str(gcom), "--format", "json", cwd=root)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    # both Mission Cities with a portfolio; Southby's (renovation) meets 75% of Niš's emissions
    assert [r["pilot"] for r in rows] == ["southby", "northam"]
    assert rows[0]["gains_evidence"][0].startswith("Built environment (75% of its inventoried emissions); "
                                                   "contract B-2:")
    assert "Mission Cities with a B-2 portfolio: 2" in res.stderr
    res = run_cli("pair-mission", "--mission", "Southby", "--gcom", str(gcom), "--format", "json", "-k", "2",
                  cwd=root)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert rows[0]["name"] == "Niš" and rows[0]["pilot"] == "southby" and len(rows) == 2


def test_pair_mission_without_contracts_says_what_to_run(tiny, tmp_path):
    _, gcom = tiny
    assert run_cli("build", str(MINI), cwd=tmp_path).returncode == 0
    res = run_cli("pair-mission", "Niš", "--gcom", str(gcom), cwd=tmp_path)
    assert res.returncode == 4 and res.stderr.strip().endswith("run `peerlearn ingest-ccc ../shared/data/ccc` first")


def test_pair_mission_never_reads_a_contract_extract(tiny, tmp_path):
    """The bundled build holds contract extracts (kg/datasets/ccc): their B-2 passages are the
    evidence of tags, a biased subset, so they give no portfolio shares."""
    _, gcom = tiny
    assert run_cli("build", cwd=tmp_path).returncode == 0
    res = run_cli("pair-mission", "Niš", "--gcom", str(gcom), cwd=tmp_path)
    assert res.returncode == 4 and res.stderr.strip().endswith("run `peerlearn ingest-ccc ../shared/data/ccc` first")


def test_help_lists_the_commands_and_each_has_its_own():
    res = run_cli("--help")           # a help text with a bare % broke every `peerlearn --help`
    assert res.returncode == 0, res.stderr
    for command in ("recruit", "peers", "pair-mission", "evaluate-recruit"):
        assert command in res.stdout
        sub = run_cli(command, "--help")
        assert sub.returncode == 0 and "--gcom" in sub.stdout
