"""``/facilitator/recruit/{pilot}`` over real HTTP from a running ``peerlearn serve`` on the mini
dataset and the tiny GCoM release: 503 with Retry-After while the profiles load, then the
table (HTML, CSV, JSON) with filters; 404 for an unknown pilot, 400 for a bad filter."""

from __future__ import annotations

import csv
import io
import json
import time

import httpx
import pytest

from tests.kg.gcom_release import write_release
from tests.recommender.test_web_warmup import MINI, Serve


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from kg import build

    root = tmp_path_factory.mktemp("recruit-web")
    store = root / "store"
    build([MINI], backend="oxigraph", path=store).close()
    gcom = write_release(root / "gcom")
    srv = Serve(store, root / "work", sets=(f"data.gcom_dir={json.dumps(str(gcom))}",))
    yield srv
    srv.stop()


def _ready(srv, path: str, timeout: float = 240) -> httpx.Response:
    deadline = time.monotonic() + timeout
    first = srv.get(path)
    res = first
    while res.status_code == 503 and time.monotonic() < deadline:
        assert res.headers["Retry-After"] == "5"
        time.sleep(0.5)
        res = srv.get(path)
    return res


def test_recruit_page_table_and_downloads(server):
    res = _ready(server, "/facilitator/recruit/HRH")
    assert res.status_code == 200, res.text
    html = res.text
    assert "Recruit twins for P1 HRH" in html and 'data-signatory="101"' in html
    assert html.index('data-signatory="101"') < html.index('data-signatory="102"')   # Niš first
    assert "75% of its inventoried emissions" in html and "CC BY 4.0" in html
    assert "default-src 'none'" in res.headers["Content-Security-Policy"]
    res = server.get("/facilitator/recruit/P1.csv?country=SI,FR&k=2")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.text)))
    assert len(rows) == 2 and {r["country"] for r in rows} <= {"SI", "FR"}
    data = server.get("/facilitator/recruit/P1?format=json&population=-100000").json()
    assert data["pilot"] == "P1" and "JRC" in data["attribution"]
    assert data["recruit"] and all(r["population"] <= 100000 for r in data["recruit"])


@pytest.mark.parametrize("path, status, words", [
    ("/facilitator/recruit/P9", 404, "P9"),
    ("/facilitator/recruit/P1?population=lots", 400, "--population 'lots'"),
    ("/facilitator/recruit/P1?k=0", 400, "k: between 1"),
    ("/facilitator/recruit/P1?commitment=CoM2040", 400, "unknown commitment"),
])
def test_recruit_page_errors(server, path, status, words):
    _ready(server, "/facilitator/recruit/P1.json")
    res = server.get(path + ("&" if "?" in path else "?") + "format=json")
    assert res.status_code == status and words in res.json()["error"]
