"""The GCoM example queries for analysts on a real on-disk store (``peerlearn query --example``), over a
release made here so each answer is checked by hand:

- Transville (FR, CoM2050): 60% of its latest inventory in private transport, only building actions;
- Busburg (DE): 70% transport, and a bus action (sector transport -> mobility);
- Lowcar (IT): 20% transport;
- Plannedonly (ES, CoM2050 and CoM2030): no inventory, one action;
- Oldplan (PT, CoM2030): no inventory, no action.
"""

from __future__ import annotations

import csv
import io

import pytest

from kg.build import build
from kg.ingest.gcom import Action, InventoryLine, Release, Signatory
from kg.ingest.gcom.rdf import GCOM_GRAPH, ntriples
from tests.conftest import MINI, run_cli


def _inv(plan: str, transport: float, residential: float) -> list[InventoryLine]:
    return [InventoryLine(plan, "9" + plan, 2018, False, "Private and commercial transport", "Fossil fuels",
                          None, transport, None),
            InventoryLine(plan, "9" + plan, 2018, False, "Residential buildings", "Fossil fuels", None,
                          residential, None)]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    sigs = {
        "1": Signatory("1", "Transville", "FR", 90000, commitments=("CoM2050",)),
        "2": Signatory("2", "Busburg", "DE", 120000, commitments=("CoM2030",)),
        "3": Signatory("3", "Lowcar", "IT", 50000, commitments=("CoM2030",)),
        "4": Signatory("4", "Plannedonly", "ES", 300000, commitments=("CoM2030", "CoM2050")),
        "5": Signatory("5", "Oldplan", "PT", 20000, commitments=("CoM2030",)),
    }
    rel = Release(signatories=sigs, plan_org={"11": "1", "12": "2", "13": "3", "14": "4"})
    rel.actions = {
        "1": [Action("1", "11", "residential building retrofit insulation"),
              Action("2", "11", "residential building heat pump grant")],
        "2": [Action("3", "12", "transport public transport bus electric")],
        "4": [Action("4", "14", "residential building retrofit insulation")],
    }
    rel.inventories = {"1": _inv("11", 60.0, 40.0), "2": _inv("12", 70.0, 30.0), "3": _inv("13", 20.0, 80.0)}
    root = tmp_path_factory.mktemp("gcomq")
    store = build([MINI], backend="oxigraph", path=root / ".peerlearn" / "store")
    data, _ = ntriples(rel)
    store.replace_graph_ntriples(GCOM_GRAPH, data)
    store.close()
    return root


def _rows(root, *args) -> list[dict]:
    res = run_cli("query", "--format", "csv", *args, cwd=root)
    assert res.returncode == 0, res.stderr
    return list(csv.DictReader(io.StringIO(res.stdout)))


def test_transport_over_40_percent_without_a_transport_action(store_dir):
    # Busburg has 70% but a bus action; Lowcar 20%; Transville 60% and only building actions
    rows = _rows(store_dir, "--example", "gcom-transport-gap")
    assert [(r["signatory"], float(r["share"])) for r in rows] == [("Transville", 0.6)]


def test_2050_commitment_without_monitoring_report(store_dir):
    # Transville has CoM2050 and an inventory; Oldplan has no inventory but only CoM2030
    rows = _rows(store_dir, "--example", "gcom-2050-no-monitoring")
    assert [r["signatory"] for r in rows] == ["Plannedonly"]


def test_signatory_links_with_an_example_action(store_dir):
    rows = _rows(store_dir, "--example", "gcom-signatory-links", "--param", 'city="Transville"')
    assert rows and {r["city"] for r in rows} == {"Transville"}
    buildings = next(r for r in rows if r["concept"].endswith("/domain/buildings"))
    assert float(buildings["share"]) == 1.0 and buildings["actions"] == "2"
    assert buildings["example"].startswith("residential building")
