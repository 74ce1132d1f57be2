"""GCoM links reach the catalog: a twin gets its city's links, an activity the combination of its
cities' (mean over the cities with GCoM data); `matching.gcom=false` leaves them out; the
example queries for analysts run on the real bundled store; `peerlearn ingest-gcom` reads a
release into its own graph, replaces it on rerun and reports odd rows."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kg.build import build, bundled_dataset
from kg.catalog import catalog, combine_city_links
from kg.examples import EXAMPLES
from kg.model import City, Link
from tests.conftest import ROOT
from tests.kg.gcom_release import write_release

DOM = "https://w3id.org/peerlearn/concept/domain/"


@pytest.fixture(scope="module")
def store():
    return build([bundled_dataset()], backend="oxigraph")


def test_several_cities_combine_by_mean_over_cities_with_data():
    g = lambda c, s, e: Link(DOM + c, "inferred", s, e, "gcom")  # noqa: E731
    a = City("a", "", "A", "XX", links=(g("buildings", 1.0, "ea"), g("mobility", 0.5, "ea2")))
    b = City("b", "", "B", "XX", links=(g("buildings", 0.5, "eb"),))
    c = City("c", "", "C", "XX")                       # no GCoM data: not counted
    got = {x.concept.rsplit("/", 1)[-1]: (x.score, x.evidence, x.source) for x in combine_city_links([a, b, c])}
    assert got == {"buildings": (0.75, "ea", "gcom"), "mobility": (0.25, "ea2", "gcom")}


def test_gcom_link_weight_is_its_origin_weight_times_score():
    assert Link(DOM + "energy", "inferred", 0.5, origin="gcom").weight == pytest.approx(0.35)
    assert Link(DOM + "energy", "inferred").weight == 0.7 and Link(DOM + "energy", "inferred").source == "inferred"


def test_twins_and_pilots_get_their_cities_gcom_links(store):
    cat = catalog(store)
    twins = [t for t in cat.twins.values() if any(x.source == "gcom" for x in t.domains + t.levers)]
    pilots = [p for p in cat.pilots.values()
              if any(x.source == "gcom" for x in p.domains + p.levers + p.solutions)]
    assert len(twins) >= 20 and len(pilots) >= 30
    t = next(t for t in twins if t.city == "matosinhos")
    assert {x.concept.rsplit("/", 1)[-1] for x in t.domains if x.source == "gcom"} >= {"buildings", "mobility"}
    assert all(x.evidence.startswith("https://w3id.org/peerlearn/data/gcom/action/")
               for x in t.domains if x.source == "gcom")
    off = catalog(store, gcom=False)
    assert not any(x.source == "gcom" for t in off.twins.values() for x in t.domains + t.levers)


def test_example_queries_run_on_the_bundled_store(store):
    rows = store.select_values(EXAMPLES["gcom-city-links"].text)
    assert {r["cityName"] for r in rows} >= {"Matosinhos", "Aachen"}
    shares = [r for r in store.select_values(EXAMPLES["gcom-emission-shares"].text) if r["city"] == "Matosinhos"]
    assert {r["domain"]: r["share"] for r in shares}["buildings"] == "0.4585"
    mapping = store.select_values(EXAMPLES["gcom-mapping"].text)
    assert {(r["category"].rsplit("/", 1)[-1], r["concept"].rsplit("/", 1)[-1]) for r in mapping} >= {
        ("transport", "mobility"), ("grants-subsidies", "finance"), ("clean-mobility", "sustainable-mobility")}
    for name in ("gcom-transport-gap", "gcom-2050-no-monitoring"):
        store.select_values(EXAMPLES[name].text)


def _peerlearn(*args, cwd):
    exe = [sys.executable, "-c", "from recommender.cli import main; raise SystemExit(main())"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_ingest_gcom_replaces_its_graph_and_counts_odd_rows(tmp_path):
    release = write_release(tmp_path / "release")
    assert _peerlearn("build", cwd=tmp_path).returncode == 0
    count = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/peerlearn/graph/gcom> "
             "{ ?s a <https://w3id.org/peerlearn/gcom#Signatory> } }")
    before = _peerlearn("query", count, "--format", "csv", cwd=tmp_path).stdout.split()[-1]
    assert int(before) > 100                                   # the bundled extract
    for _ in range(2):                                          # a rerun replaces, never adds
        r = _peerlearn("ingest-gcom", str(release), "--report", "m.tsv", "--quiet", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert _peerlearn("query", count, "--format", "csv", cwd=tmp_path).stdout.split()[-1] == "8"
    assert "GCoM: 8 signatories, 3 action plans, 6 actions" in r.stdout
    assert "df1 organisation_latitude: 1 decimal comma" in r.stdout
    assert "cov_emissions2005_2030 *: 1 file not UTF-8, read as Latin-1" in r.stdout
    assert (tmp_path / "m.tsv").read_text(encoding="utf-8").startswith("city\tstatus")


def test_cli_ingest_gcom_bad_release_is_one_line_exit_2_and_store_untouched(tmp_path):
    release = write_release(tmp_path / "release")
    (release / "tokens_lemma_new.txt.gz").unlink()
    assert _peerlearn("build", cwd=tmp_path).returncode == 0
    r = _peerlearn("ingest-gcom", str(release), "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "missing tokens_lemma_new.txt.gz" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_profile_shows_each_link_with_source_weight_evidence_and_facts(tmp_path):
    import json

    assert _peerlearn("build", cwd=tmp_path).returncode == 0
    r = _peerlearn("profile", "Matosinhos", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["kind"] == "twin" and doc["id"] == "T1-matosinhos"
    gcom = [x for x in doc["links"] if x["source"] == "gcom"]
    assert gcom and all(x["evidence_text"] and x["weight"] > 0 for x in gcom)
    facts = {f["fact"]: (f["value"], f["source"]) for f in doc["facts"]}
    assert facts["Matosinhos: GCoM population"] == ("175478", "JRC GCoM - MyCovenant (CC BY 4.0)")
    assert facts["Matosinhos: population"][1] == "dataset (GeoNames)"
    belfast = json.loads(_peerlearn("profile", "Belfast", "--json", cwd=tmp_path).stdout)
    assert {"stated"} <= {x["source"] for x in belfast["links"]}
    r = _peerlearn("profile", "Nowhere", cwd=tmp_path)
    assert r.returncode == 3 and "no twin, pilot activity or city named 'Nowhere'" in r.stderr
