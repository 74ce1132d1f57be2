"""Each derived source of the profiles can be left out (issue 13, item 8): the GCoM plans
(``matching.gcom``), the Climate City Contracts (``matching.contracts``) and the tagger's reading of
the narratives (``matching.narrative_tags``), and ``evaluate --by-source`` measures each."""

from __future__ import annotations

import json
import shutil

import pytest

from kg import build, catalog
from recommender.narratives import ingest_ccc, tag_store
from tests.conftest import MINI, ROOT, SHARED, run_cli

WESTFORD_CCC = ROOT / "tests" / "fixtures" / "ccc" / "westford.md"
PAIRINGS = SHARED / "pairings-dev.csv"


def _links(item):
    return [x for f in ("domains", "levers", "barriers") for x in getattr(item, f)]


@pytest.fixture(scope="module")
def tagged_store(tmp_path_factory, encoder):
    """The mini dataset with Westford's contract ingested twice (also as Southby's), tagged."""
    tmp = tmp_path_factory.mktemp("ablation")
    store = build([MINI], backend="oxigraph", path=tmp / "store")
    southby = tmp / "southby.md"
    shutil.copy(WESTFORD_CCC, southby)
    ingest_ccc(store, [WESTFORD_CCC, southby], say=lambda s: None)
    tag_store(store, encoder, threshold=0.35, say=lambda s: None)
    yield store
    store.close()


def test_contract_links_are_told_apart_and_can_be_left_out(tagged_store):
    full = catalog(tagged_store)
    contract = [x for x in _links(full.pilots["P2"]) if x.origin == "contract"]
    assert contract and all(x.source == "contract" and x.status == "tagged" for x in contract)
    assert all(x.weight == pytest.approx(0.5 * x.score) for x in contract)      # trusted like every tag
    narrative = [x for t in full.twins.values() for x in _links(t) if x.status == "tagged" and not x.origin]
    assert narrative and all(x.source == "tagged" for x in narrative)

    off = catalog(tagged_store, contracts=False)
    assert [x for x in _links(off.pilots["P2"]) if x.origin == "contract"] == []
    assert [x for t in off.twins.values() for x in _links(t) if x.status == "tagged" and not x.origin] == narrative

    no_tags = catalog(tagged_store, narrative_tags=False)
    assert [x for t in no_tags.twins.values() for x in _links(t) if x.status == "tagged" and not x.origin] == []
    assert [x for x in _links(no_tags.pilots["P2"]) if x.origin == "contract"] == contract


@pytest.mark.skipif(not PAIRINGS.exists(), reason="../shared/data/pairings-dev.csv not present")
def test_evaluate_by_source_measures_each_source_on_the_same_pairs(tmp_path):
    assert run_cli("build", cwd=tmp_path).returncode == 0
    res = run_cli("evaluate", "--pairings", str(PAIRINGS), "--by-source", "--no-model", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    rows = {r["model"]: r for r in doc["metrics"]}
    assert list(rows) == ["all sources", "without gcom", "without contracts", "without narrative_tags",
                          "without all three"]
    assert all(r["n"] == 22 for r in rows.values())
    changes = {c["model"]: c for c in doc["source_changes"]}
    for name, c in changes.items():     # the paired change is the difference of the two MRRs
        assert c["mrr_change"] == pytest.approx(rows[name]["mrr"] - rows["all sources"]["mrr"], abs=2e-3)
        assert c["mrr_change_low"] <= c["mrr_change"] <= c["mrr_change_high"]
    # the bundled GCoM extract gives links to 24 twins: leaving it out changes the ranking
    assert rows["without gcom"]["mrr"] != rows["all sources"]["mrr"]
