"""Profiles on the web and in the CLI (issue 13, item 7), over real HTTP: `peerlearn serve` on a
built store of the mini dataset with Westford's Climate City Contract ingested (also under
Southby's name, so pilot activity P2 has one) and tagged with the real bundled model. The twin
and pilot pages show every concept link with its source (stated, inferred, tagged, contract),
weight and evidence; the page's JSON and CSV and `peerlearn profile --json` give the same rows,
formats of one ``ProfileView``."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kg.model import Link, link_origin
from recommender.outputs import spreadsheet_cell
from tests.conftest import MINI, ROOT, LiveServer
from tests.recommender.test_web import Tables

PEERLEARN = Path(sys.executable).with_name("peerlearn")
WESTFORD_CCC = ROOT / "tests" / "fixtures" / "ccc" / "westford.md"
BAR = "https://w3id.org/peerlearn/concept/barrier/"


def test_a_tag_reads_as_contract_or_tagged_by_the_text_it_came_from():
    """Before: every tagged link read "tagged", whether its passage came from the item's own
    narrative or from its city's contract."""
    subject = "https://w3id.org/peerlearn/data/twin/T1-westford"
    assert link_origin(f"{subject}/tag/contract/barrier/capacity") == "contract"
    assert link_origin(f"{subject}/tag/narrative/barrier/capacity") == ""
    contract = Link(BAR + "capacity", "tagged", 0.6, origin="contract")
    narrative = Link(BAR + "capacity", "tagged", 0.6)
    assert (contract.source, narrative.source) == ("contract", "tagged")
    assert contract.weight == narrative.weight == pytest.approx(0.3)   # matching weighs both as tags
    assert Link(BAR + "capacity", "stated").source == "stated"
    assert Link(BAR + "capacity", "inferred", 0.5, origin="gcom").source == "gcom"


@pytest.fixture(scope="module")
def served(tmp_path_factory, encoder):
    from kg import build, catalog
    from recommender.narratives import ingest_ccc, tag_store

    tmp = tmp_path_factory.mktemp("webprofile")
    path = tmp / "store"
    store = build([MINI], backend="oxigraph", path=path)
    southby = tmp / "southby.md"
    shutil.copy(WESTFORD_CCC, southby)
    ingest_ccc(store, [WESTFORD_CCC, southby], say=lambda s: None)
    tag_store(store, encoder, threshold=0.35, say=lambda s: None)
    cat = catalog(store)
    store.close()
    server = LiveServer([str(PEERLEARN), "--set", f'store.path="{path}"', "serve", "--port", "0"], cwd=tmp)
    try:
        yield server, tmp, path, cat
    finally:
        server.stop()


def _get(server: LiveServer, path: str) -> httpx.Response:
    """GET a page, waiting while the recommender warms up (503 + Retry-After)."""
    deadline = time.monotonic() + 300
    while True:
        r = httpx.get(server.url + path, timeout=60)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r
        time.sleep(float(r.headers.get("retry-after", "1")) / 5)


def _cli_profile(tmp: Path, store: Path, name: str) -> dict:
    r = subprocess.run([str(PEERLEARN), "--set", f'store.path="{store}"', "profile", name, "--json"],
                       cwd=tmp, capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_twin_page_shows_every_link_with_its_source_weight_and_evidence(served):
    server, _, _, cat = served
    twin = cat.twins["T1-westford"]
    r = _get(server, "/facilitator/twin/Westford")
    assert r.status_code == 200
    rows = Tables(r.text).rows("profile-links")
    links = [x for f in ("domains", "levers", "barriers", "experience") for x in getattr(twin, f)]
    assert len(rows) == len(links) + len(twin.shadowed)
    by_concept = {a["data-concept"]: (a["data-source"], cells) for a, cells in rows if a["data-used"] == "true"}
    assert len(by_concept) == len(links)
    for x in links:
        source, cells = by_concept[x.concept.replace("https://w3id.org/peerlearn/concept/", "")
                                   .replace("domain/", "dom:").replace("lever/", "lev:").replace("barrier/", "bar:")]
        assert source == x.source and cells[1] == cat.concepts[x.concept].label and cells[2] == x.source
        assert float(cells[3]) == pytest.approx(x.weight, abs=6e-4)
    # the stated and inferred links of twins.csv, and tags from its city's contract
    assert {s for s, _ in by_concept.values()} == {"stated", "inferred", "contract"}
    contract = [cells for s, cells in by_concept.values() if s == "contract"]
    # each with the passage quoted, then its IRI
    assert all(c[4].split("data:ccc/westford/passage/")[0].strip() for c in contract)
    facts = {cells[0]: cells[1:] for _, cells in Tables(r.text).rows("profile-facts")}
    assert facts["Westford: population"][1] == "dataset (GeoNames)"
    # Riverton has no contract: a tag from its own narrative reads "tagged", with its sentence
    rows = Tables(_get(server, "/facilitator/twin/T1-riverton").text).rows("profile-links")
    tagged = [cells for a, cells in rows if a["data-source"] == "tagged"]
    assert tagged and all("data:twin/T1-riverton/narrative-sentence/" in c[4] for c in tagged)
    assert "contract" not in {a["data-source"] for a, _ in rows}


def test_pilot_page_shows_the_contract_links_of_its_cities(served):
    """P2 is run by Southby (a contract) and Eastwick (none): its contract links carry
    Southby's passages as evidence."""
    server, _, _, cat = served
    r = _get(server, "/facilitator/pilot/SUN")
    assert r.status_code == 200 and "Solar Neighbourhoods" in r.text
    rows = Tables(r.text).rows("profile-links")
    contract = [cells for a, cells in rows if a["data-source"] == "contract"]
    assert contract and all("data:ccc/southby/" in c[4] for c in contract)
    assert {a["data-source"] for a, _ in rows} >= {"stated", "inferred", "contract"}
    # the evidence link asks this server's endpoint what the graph says of the passage
    href = html.unescape(re.search(r'<a class="iri" href="([^"]+)"', r.text).group(1))
    assert href.startswith("/sparql?query=")
    passage = httpx.get(server.url + href, timeout=60, headers={"Accept": "application/sparql-results+json"})
    values = [b["value"]["value"] for b in passage.json()["results"]["bindings"]]
    quote = re.search(r"<q>(.*?)</q>", r.text, re.S).group(1)
    assert any(html.unescape(quote).rstrip("…") in v for v in values)


def _short(iri: str) -> str:
    return (iri.replace("https://w3id.org/peerlearn/concept/", "").replace("domain/", "dom:")
            .replace("lever/", "lev:").replace("barrier/", "bar:").replace("solution/", "sol:"))


def test_every_link_is_shown_and_a_weaker_one_on_the_same_concept_is_marked_not_used(served):
    """Matching reads one link per concept; the profile also shows the others (another source on
    the same concept), marked not used. Before, the weaker ones were not shown at all."""
    server, tmp, store, cat = served
    items = [("twin", t) for t in cat.twins.values()] + [("pilot", p) for p in cat.pilots.values()]
    shadowed = [(kind, x) for kind, x in items if x.shadowed]
    assert shadowed                                   # tags and contracts repeat stated concepts here
    for kind, item in shadowed:
        rows = Tables(_get(server, f"/facilitator/{kind}/{item.id}").text).rows("profile-links")
        unused = sorted((a["data-concept"], a["data-source"], float(cells[3])) for a, cells in rows
                        if a["data-used"] == "false")
        assert unused == sorted((_short(x.concept), x.source, pytest.approx(x.weight, abs=6e-4))
                                for _, x in item.shadowed)
        used = {a["data-concept"]: float(cells[3]) for a, cells in rows if a["data-used"] == "true"}
        assert all(used[c] >= w for c, _, w in unused)             # the one read weighs at least as much
        assert all("not used" in cells[2] for a, cells in rows if a["data-used"] == "false")
    kind, item = shadowed[0]
    cli = _cli_profile(tmp, store, item.id)
    assert sum(not x["used"] for x in cli["links"]) == len(item.shadowed)


def test_cli_and_web_give_the_same_profile_rows(served):
    """One ProfileView, three formats: `peerlearn profile --json`, the page's JSON and its CSV."""
    server, tmp, store, _ = served
    cli = _cli_profile(tmp, store, "T1-westford")
    page = _get(server, "/facilitator/twin/T1-westford?format=json").json()
    assert cli["links"] == page["profile_links"] and cli["facts"] == page["profile_facts"]
    assert {x["source"] for x in cli["links"]} >= {"stated", "contract"}
    as_csv = _get(server, "/facilitator/twin/T1-westford?format=csv&table=profile_links").text
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    cell = lambda v: str(v).lower() if isinstance(v, bool) else str(spreadsheet_cell(v))   # noqa: E731
    assert rows == [{k: cell(v) for k, v in x.items()} for x in cli["links"]]
    pilot = _get(server, "/facilitator/pilot/P2.json").json()
    assert pilot["profile_links"] == _cli_profile(tmp, store, "P2")["links"]


def test_profile_text_is_escaped(mini_dir, tmp_path):
    """Names and values from the data reach the profile tables as text, never as markup."""
    from starlette.testclient import TestClient

    from kg import build, catalog
    from kg.store import open_store
    from recommender.matcher import Matcher
    from recommender.settings import Settings
    from recommender.web import make_app

    cities = mini_dir / "cities.csv"
    cities.write_text(cities.read_text(encoding="utf-8").replace(
        "westford,Westford,", 'westford,"Westford <script>alert(1)</script> & Co",'), encoding="utf-8")
    build([mini_dir], backend="oxigraph", path=tmp_path / "store").close()
    store = open_store("oxigraph", path=tmp_path / "store", read_only=True)
    try:
        matcher = Matcher.from_catalog(catalog(store), Settings(), encoder=False)
    finally:
        store.close()
    with TestClient(make_app(tmp_path / "store", Settings(), matcher=matcher, log=lambda line: None),
                    base_url="http://127.0.0.1:7878") as client:
        page = client.get("/facilitator/twin/T1-westford").text
    facts = [cells for _, cells in Tables(page).rows("profile-facts")]
    assert ["Westford <script>alert(1)</script> & Co: country", "IE", "dataset"] in facts
    assert "<script" not in page and "Westford &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co: country" in page
