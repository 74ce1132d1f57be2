"""The facilitator pages (recommender.web) in-process, on the same app as the SPARQL endpoint,
over the mini dataset (no embedding model: encoder=False). Every number on a page is checked
against the Matcher, and the CSV and JSON forms against the HTML."""

from __future__ import annotations

import csv
import html
import io
import re
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from kg.endpoint import EndpointConfig, create_app
from recommender.matcher import Matcher
from recommender.scoring import SIGNALS
from recommender.settings import Settings
from recommender.web import COLUMNS, config_from, facilitator_routes, make_app
from recommender.words import MODULE_LABELS, SIGNAL_WORDS

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini"
BASE = "http://127.0.0.1:7878"
WHATIF = {"barrier_fit": 0, "domain_fit": 0, "lever_fit": 0, "solution_fit": 0, "shared_challenge": 0,
          "experience_fit": 1, "narrative_similarity": 0, "graph_proximity": 0, "context": 0}


# ---------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    from kg import build

    path = tmp_path_factory.mktemp("web") / "store"
    store = build([MINI], backend="oxigraph", path=path)
    store.close()
    return path


@pytest.fixture(scope="module")
def matcher(store_path) -> Matcher:
    from kg import catalog
    from kg.store import open_store

    store = open_store("oxigraph", path=store_path, read_only=True)
    try:
        return Matcher.from_catalog(catalog(store), Settings(), encoder=False)
    finally:
        store.close()


@pytest.fixture(scope="module")
def client(store_path, matcher):
    app = make_app(store_path, Settings(), matcher=matcher, log=lambda line: None)
    with TestClient(app, base_url=BASE) as c:
        yield c


class Tables(HTMLParser):
    """Rows of every <table id=...>: (tr attributes, [cell texts])."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[tuple[dict, list[str]]]] = {}
        self._table = None
        self._row = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = (a, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table: str) -> list[tuple[dict, list[str]]]:
        """Body rows (those with data-* attributes)."""
        return [r for r in self.tables[table] if r[0]]


def csv_rows(resp) -> list[dict]:
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(resp.text)))


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# ---------------------------------------------------------------- wiring

def test_config_from_maps_every_server_setting():
    s = Settings().with_overrides(["server.port=9000", "server.query_timeout=3.5", "server.max_results=7",
                                   "server.max_body_bytes=1234", "server.allow_update=true",
                                   'server.update_token="tok"', 'server.host="::1"'])
    cfg = config_from(s.server)
    assert (cfg.host, cfg.port, cfg.query_timeout, cfg.max_results, cfg.max_body_bytes) == \
        ("::1", 9000, 3.5, 7, 1234)
    assert cfg.allow_update is True and cfg.update_token == "tok"
    default = config_from(Settings().server)
    assert default.update_token is None and default.allow_update is False and default.host == "127.0.0.1"


def test_endpoint_routes_share_the_app(client):
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    assert r.status_code == 200 and int(r.json()["results"]["bindings"][0]["n"]["value"]) > 0
    assert client.get("/").status_code == 200


def test_make_app_without_a_matcher_builds_one_from_the_store(store_path, monkeypatch):
    calls = []

    def from_store(store, settings, *, encoder=None):
        calls.append(encoder)
        return Matcher.from_catalog(__import__("kg").catalog(store), settings, encoder=False)

    monkeypatch.setattr(Matcher, "from_store", staticmethod(from_store))
    app = make_app(store_path, Settings(), log=lambda line: None)
    with TestClient(app, base_url=BASE) as c:
        assert app.state.services["recommender"].wait(30)  # built in the background at start
        assert c.get("/healthz").json()["recommender"]["state"] == "ready"
        assert "Westford" in c.get("/facilitator/twin/Westford").text
        assert c.get("/facilitator/twin/Riverton").status_code == 200
    assert calls == [None]  # built once, with the configured encoder


def test_scoring_runs_off_the_event_loop(store_path, matcher):
    seen: dict[str, str] = {}

    class Spy:
        def __getattr__(self, name):
            if name == "cohort_scores":
                seen["scoring"] = threading.current_thread().name
            return getattr(matcher, name)

    async def probe(request):
        seen["loop"] = threading.current_thread().name
        return JSONResponse({})

    app = create_app(store_path, EndpointConfig(), log=lambda line: None,
                     extra_routes=[*facilitator_routes(lambda: Spy()), Route("/probe", probe)])
    with TestClient(app, base_url=BASE) as c:
        c.get("/probe")
        assert c.get("/facilitator/twin/T1-westford").status_code == 200
    assert seen["scoring"] != seen["loop"]


# ---------------------------------------------------------------- index

def test_index_lists_cohorts_twins_and_links(client, matcher):
    r = client.get("/facilitator")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Cohort 1" in r.text and 'href="/facilitator/cohort/1"' in r.text
    for tid in matcher.catalog.twins:
        assert f'href="/facilitator/twin/{tid}"' in r.text
        assert f'href="/facilitator/whatif?twin={tid}"' in r.text
    data = client.get("/facilitator", params={"format": "json"}).json()
    assert {t["twin_id"] for t in data["twins"]} == set(matcher.catalog.twins)
    assert {p["pilot_id"] for p in data["pilots"]} == {"P1", "P2", "P3"}
    rows = csv_rows(client.get("/facilitator.csv"))
    assert [c for c, _ in COLUMNS["twins"]] == list(rows[0])
    assert {r["twin_id"]: int(r["candidates"]) for r in rows} == \
        {t.id: len(matcher.candidates(t)) for t in matcher.catalog.twins.values()}


# ---------------------------------------------------------------- twin page

@pytest.mark.parametrize("name", ["Westford", "T1-westford", "westford"])
def test_twin_page_ranks_pilots_with_both_scores_and_evidence(client, matcher, name):
    r = client.get(f"/facilitator/twin/{name}")
    assert r.status_code == 200
    expected = matcher.rank_pilots("T1-westford")
    rows = Tables(r.text).rows("ranking")
    assert [a["data-pilot"] for a, _ in rows] == [s.pilot for s in expected]
    assert rows[0][0]["data-pilot"] == "P1"
    for (_, cells), s in zip(rows, expected):
        assert cells[2:5] == [f"{s.score:.3f}", f"{s.twin_score:.3f}", f"{s.pilot_score:.3f}"]
        for e in s.evidence:
            assert e.words in cells[6]
        for _, k, _v in s.strongest(3):
            assert SIGNAL_WORDS[k] in cells[5]
    assert 'href="/facilitator/pair/P1/T1-westford"' in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_twin_csv_and_json_agree_with_the_html(client, matcher):
    page = Tables(client.get("/facilitator/twin/T1-riverton").text).rows("ranking")
    rows = csv_rows(client.get("/facilitator/twin/T1-riverton.csv"))
    assert list(rows[0]) == [c for c, _ in COLUMNS["ranking"]]
    j = client.get("/facilitator/twin/T1-riverton", params={"format": "json"})
    assert j.headers["content-type"] == "application/json"
    data = j.json()
    assert data["twin_id"] == "T1-riverton" and data["columns"]["ranking"] == list(rows[0])
    expected = matcher.rank_pilots("T1-riverton")
    assert len(rows) == len(data["ranking"]) == len(page) == len(expected)
    for c, js, (attrs, cells), s in zip(rows, data["ranking"], page, expected):
        assert c["pilot_id"] == js["pilot_id"] == attrs["data-pilot"] == s.pilot
        assert int(c["rank"]) == js["rank"] == int(cells[0])
        for key, html_cell, value in (("score", cells[2], s.score), ("twin_score", cells[3], s.twin_score),
                                      ("pilot_score", cells[4], s.pilot_score)):
            assert float(c[key]) == js[key] == round(value, 4)
            assert abs(float(html_cell) - js[key]) <= 0.0006
        assert c["evidence"].split(" | ") == [e.words for e in s.evidence]


# ---------------------------------------------------------------- pair page

def test_pair_page_shows_topics_by_module_and_direction_with_evidence(client, matcher):
    r = client.get("/facilitator/pair/P1/Westford")
    assert r.status_code == 200
    topics = matcher.topics("T1-westford", "P1")
    assert topics
    page = html.unescape(r.text)
    for t in topics:
        assert t.title in page and t.evidence.words in page
        for q in t.questions:
            assert q in page
    for label in MODULE_LABELS.values():
        assert f"<h3>{label}</h3>" in r.text
    assert "pilot → twin" in page and "twin → pilot" in page
    # each topic sits in its module's block, under its direction
    for t in topics:
        block = page.split(f'id="module-{t.module}"', 1)[1].split('class="module ', 1)[0]
        column = block.split(f'data-direction="{t.direction}"', 1)[1].split('data-direction="', 1)[0]
        assert t.title in column
    plan = matcher.plan("T1-westford", "P1")
    assert "Replication Plan outline" in page
    for _, what, whom, ev in plan.items:
        assert what in page and whom in page and ev in page
    s = matcher.score([("T1-westford", "P1")])[0]
    assert Tables(r.text).tables["scores"][1][1][:3] == [f"{s.score:.3f}", f"{s.twin_score:.3f}",
                                                         f"{s.pilot_score:.3f}"]
    assert "discussion questions" in page


def test_pair_by_names_and_its_data(client, matcher):
    by_id = client.get("/facilitator/pair/P1/T1-westford").text
    assert client.get("/facilitator/pair/HRH/westford").text == by_id
    data = client.get("/facilitator/pair/HRH/Westford.json").json()
    topics = matcher.topics("T1-westford", "P1")
    assert [t["title"] for t in data["topics"]] == [t.title for t in topics]
    assert data["candidate"] is True and data["score"] == round(matcher.score([("T1-westford", "P1")])[0].score, 4)
    rows = csv_rows(client.get("/facilitator/pair/P1/T1-westford", params={"format": "csv"}))
    assert [r["title"] for r in rows] == [t.title for t in topics]
    assert [r["questions"].split(" | ") for r in rows] == [list(t.questions) for t in topics]
    assert {r["direction"] for r in rows} == {"pilot → twin", "twin → pilot"}
    plan = csv_rows(client.get("/facilitator/pair/P1/T1-westford.csv", params={"table": "plan"}))
    assert [r["what"] for r in plan] == [i[1] for i in matcher.plan("T1-westford", "P1").items]
    assert plan and all(r["evidence"].startswith("“") for r in plan)   # each item quotes its evidence
    ev = csv_rows(client.get("/facilitator/pair/P1/T1-westford.csv?table=evidence"))
    assert [r["words"] for r in ev] == [e.words for e in matcher.score([("T1-westford", "P1")])[0].evidence]


def test_pair_that_is_no_candidate_says_so(client):
    r = client.get("/facilitator/pair/P1/T1-northam")  # Northam runs P1 itself
    assert r.status_code == 200 and "is not a candidate" in r.text


# ---------------------------------------------------------------- cohort page

def test_cohort_page_lists_pairs_loads_and_notes(client, matcher):
    a = matcher.assign(1)
    r = client.get("/facilitator/cohort/1")
    assert r.status_code == 200
    t = Tables(r.text)
    pairs = [(attrs["data-twin"], attrs["data-pilot"]) for attrs, _ in t.rows("assignment")]
    assert pairs == [(p.twin, p.pilot) for p in a.pairs] and len(pairs) == 3
    for (_, cells), p in zip(t.rows("assignment"), a.pairs):
        assert cells[2:5] == [f"{p.score:.3f}", f"{p.twin_score:.3f}", f"{p.pilot_score:.3f}"]
    loads = {attrs["data-pilot"]: cells[1] for attrs, cells in t.rows("loads")}
    assert loads == {p: f"{a.loads[p]} / {c}" for p, c in a.capacities.items()}
    assert f"{a.objective:.3f}" in r.text and "proven optimal" in r.text
    for note in a.notes:
        assert html.escape(note) in r.text
    data = client.get("/facilitator/cohort/1.json").json()
    assert data["objective"] == a.objective and data["optimal"] is True
    assert [(x["twin_id"], x["pilot_id"]) for x in data["assignment"]] == pairs
    assert data["loads"] == csv_rows_as_json(client.get("/facilitator/cohort/1.csv?table=loads"))
    assign_csv = csv_rows(client.get("/facilitator/cohort/1", params={"format": "csv"}))
    assert [float(x["score"]) for x in assign_csv] == [x["score"] for x in data["assignment"]]
    assert {x["pinned"] for x in assign_csv} == {"false"}


def csv_rows_as_json(resp) -> list[dict]:
    return [{k: int(v) if v.isdigit() else v for k, v in r.items()} for r in csv_rows(resp)]


def test_cohort_pins_and_exclusions_show_their_costs(client, matcher):
    from recommender.assignment import Overrides

    pins = "pin,Westford,SUN\nexclude,Riverton,P2"
    r = client.get("/facilitator/cohort/1", params={"pins": pins})
    assert r.status_code == 200
    a = matcher.assign(1, Overrides((("T1-westford", "P2"),), (("T1-riverton", "P2"),)))
    t = Tables(r.text)
    assigned = {attrs["data-twin"]: attrs["data-pilot"] for attrs, _ in t.rows("assignment")}
    assert assigned["T1-westford"] == "P2" and assigned["T1-riverton"] != "P2"
    assert "pinned" in r.text and html.escape(pins) in r.text  # the textarea keeps the input
    over = t.tables["overrides"][1:]
    assert [c[0] for _, c in over] == ["pin", "exclude"]
    assert over[0][1][3] == f"{a.pin_costs['T1-westford->P2']:.3f}"
    for note in a.notes:
        assert html.escape(note) in r.text
    data = client.get("/facilitator/cohort/1", params={"pins": pins, "format": "json"}).json()
    assert data["overrides"][0]["cost"] == round(a.pin_costs["T1-westford->P2"], 4)
    assert data["objective"] == a.objective
    # the data links keep the pins
    assert "pins=pin%2CWestford%2CSUN" in r.text
    # the same as an uploaded facilitator file, header included, and as a POSTed textarea
    up = client.post("/facilitator/cohort/1", files={"file": ("pins.csv", f"action,twin,pilot\n{pins}\n", "text/csv")})
    assert up.status_code == 200
    assert {a_["data-twin"]: a_["data-pilot"] for a_, _ in Tables(up.text).rows("assignment")} == assigned
    form = client.post("/facilitator/cohort/1", data={"pins": pins})
    assert {a_["data-twin"]: a_["data-pilot"] for a_, _ in Tables(form.text).rows("assignment")} == assigned


@pytest.mark.parametrize("pins, words", [
    ("pin,Nowhere,P1", "line 1: no twin named 'Nowhere'"),
    ("pin,Westford,P9", "line 1"),
    ("keep,Westford,P1", "unknown action 'keep'"),
    ("pin,Westford,P1\nexclude,Westford,P1", "both pinned and excluded"),
])
def test_bad_pins_are_a_400_with_the_reason(client, pins, words):
    r = client.get("/facilitator/cohort/1", params={"pins": pins})
    assert r.status_code == 400 and words in html.unescape(r.text)


# ---------------------------------------------------------------- what-if

def test_whatif_form_has_one_input_per_weight_with_defaults(client, matcher):
    r = client.get("/facilitator/whatif")
    assert r.status_code == 200
    for k, v in matcher.weights.items():
        assert re.search(rf'<input type="number" id="w-{k}" name="{k}" value="{v}"', r.text)
    for tid in matcher.catalog.twins:
        assert f'<option value="{tid}"' in r.text
    assert "Choose a twin" in r.text


def test_whatif_reranks_riverton(client, matcher):
    default = [s.pilot for s in matcher.rank_pilots("T1-riverton")]
    new = [s.pilot for s in matcher.rank_pilots("T1-riverton", weights=WHATIF)]
    assert new != default
    r = client.get("/facilitator/whatif", params={"twin": "Riverton", **WHATIF})
    assert r.status_code == 200
    t = Tables(r.text)
    assert [a["data-pilot"] for a, _ in t.rows("default-ranking")] == default
    assert [a["data-pilot"] for a, _ in t.rows("whatif-ranking")] == new
    changes = {a["data-pilot"]: cells[5] for a, cells in t.rows("whatif-ranking")}
    for p in new:
        d = default.index(p) - new.index(p)
        assert changes[p] == (f"▲ {d}" if d > 0 else f"▼ {-d}" if d < 0 else "=")
    assert 'value="1.0"' in r.text
    assert 'id="zero-note"' in r.text  # experience_fit alone leaves the twin side at 0
    rows = csv_rows(client.get("/facilitator/whatif.csv", params={"twin": "T1-riverton", **WHATIF}))
    assert [x["pilot_id"] for x in rows] == new
    assert [int(x["rank_change"]) for x in rows] == [default.index(p) - new.index(p) for p in new]
    data = client.get("/facilitator/whatif", params={"twin": "T1-riverton", "format": "json", **WHATIF}).json()
    assert data["weights"]["experience_fit"] == 1 and data["weights"]["barrier_fit"] == 0
    assert data["default_weights"] == matcher.weights
    ws = matcher.rank_pilots("T1-riverton", weights=WHATIF)
    assert [x["pilot_score"] for x in data["whatif"]] == [round(s.pilot_score, 4) for s in ws]


def test_whatif_with_two_signals_matches_the_matcher(client, matcher):
    weights = {**{k: 0 for k in matcher.weights}, "context": 1, "experience_fit": 2}
    expected = matcher.rank_pilots("T1-riverton", weights=weights)
    assert all(s.score > 0 for s in expected)
    r = client.get("/facilitator/whatif", params={"twin": "T1-riverton", **weights})
    rows = Tables(r.text).rows("whatif-ranking")
    assert [a["data-pilot"] for a, _ in rows] == [s.pilot for s in expected]
    assert [c[2] for _, c in rows] == [f"{s.score:.3f}" for s in expected]
    assert 'id="zero-note"' not in r.text


def test_cohort_post_needs_a_form(client):
    r = client.post("/facilitator/cohort/1", content=b"pin,Westford,P1", headers={"content-type": "text/csv"})
    assert r.status_code == 415


def test_whatif_with_default_weights_changes_nothing(client, matcher):
    rows = client.get("/facilitator/whatif.json", params={"twin": "Westford"}).json()["whatif"]
    assert all(x["rank_change"] == 0 and x["score"] == x["default_score"] for x in rows)


@pytest.mark.parametrize("params, words", [
    ({"barrier_fit": "abc"}, "weight barrier_fit='abc' is not a number"),
    ({"barrier_fit": "-1"}, "is negative"),
    ({"context": "nan"}, "not a finite number"),
    ({"context": "inf"}, "not a finite number"),
    ({"barrier_fitt": "1"}, "unknown signal weight 'barrier_fitt'"),
    ({"barrier_fitt": ""}, "unknown signal weight 'barrier_fitt'"),
    ({k: "0" for k in SIGNALS}, "every weight is 0"),
])
def test_bad_weights_are_a_400(client, params, words):
    r = client.get("/facilitator/whatif", params={"twin": "Riverton", **params})
    assert r.status_code == 400 and words in html.unescape(r.text)
    j = client.get("/facilitator/whatif", params={"twin": "Riverton", "format": "json", **params})
    assert j.status_code == 400 and words in j.json()["error"]


# ---------------------------------------------------------------- names, errors, hygiene

@pytest.mark.parametrize("path, words", [
    ("/facilitator/twin/Westfrod", "no twin named 'Westfrod'; close matches: T1-westford"),
    ("/facilitator/twin/Atlantis", "no twin named 'Atlantis'"),
    ("/facilitator/pair/P9/T1-westford", "no pilot activity named 'P9'"),
    ("/facilitator/pilot/P9", "no pilot activity named 'P9'"),
    ("/facilitator/pair/P1/Rivertn", "close matches: T1-riverton"),
    ("/facilitator/whatif?twin=Nowhere", "no twin named 'Nowhere'"),
    ("/facilitator/cohort/7", "no twins in cohort 7"),
    ("/facilitator/cohort/one", "no cohort 'one'"),
])
def test_unknown_names_are_a_404_with_the_message(client, path, words):
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert words in html.unescape(r.text)
    j = client.get(path + ("&" if "?" in path else "?") + "format=json")
    assert j.status_code == 404 and words in j.json()["error"]


def test_ambiguous_names_are_a_404_too(store_path, matcher):
    import dataclasses

    cat = matcher.catalog
    pilots = dict(cat.pilots)
    pilots["P4"] = dataclasses.replace(pilots["P3"], id="P4", iri=pilots["P3"].iri + "-copy")
    twin_matcher = Matcher(dataclasses.replace(cat, pilots=pilots), dict(matcher.weights))
    app = create_app(store_path, EndpointConfig(), log=lambda line: None,
                     extra_routes=facilitator_routes(lambda: twin_matcher))
    with TestClient(app, base_url=BASE) as c:
        r = c.get("/facilitator/pair/Cycle City/T1-westford")
    assert r.status_code == 404 and "is ambiguous: it matches P3, P4; use the id" in html.unescape(r.text)


def test_bad_format_and_table_are_a_400(client):
    assert client.get("/facilitator/twin/Westford?format=xml").status_code == 400
    r = client.get("/facilitator/cohort/1.csv?table=nope")
    assert r.status_code == 400 and "tables: assignment, loads, explanations, overrides" in r.text


PAGES = ["/facilitator", "/facilitator/twin/T1-westford", "/facilitator/twin/T1-northam",
         "/facilitator/pair/P1/T1-westford", "/facilitator/pair/P3/T1-riverton", "/facilitator/cohort/1",
         "/facilitator/cohort/1?pins=pin,Westford,P2", "/facilitator/whatif",
         "/facilitator/whatif?twin=T1-riverton&experience_fit=1", "/facilitator/twin/Nowhere",
         "/facilitator/pilot/P2", "/facilitator/pilot/Nowhere"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_stay_on_this_server(client, path):
    r = client.get(path)
    assert r.status_code in (200, 404)
    urls = re.findall(r"""(?:https?:)?//[^\s"'<>]+""", r.text)
    assert urls == [], urls
    for ref in re.findall(r'(?:href|src|action)="([^"]*)"', r.text):
        assert ref.startswith(("/", "#")) or ref == "data:,", ref      # this server, or this page
    assert "<script" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_every_documented_table_is_served(client):
    seen = set()
    for path in ["/facilitator", "/facilitator/twin/T1-westford", "/facilitator/pair/P1/T1-westford",
                 "/facilitator/cohort/1", "/facilitator/whatif?twin=T1-westford"]:
        data = client.get(path, params={"format": "json"}).json()
        for table, cols in data["columns"].items():
            assert cols == [c for c, _ in COLUMNS[table]]
            assert all(list(row) == cols for row in data[table])
            seen.add(table)
    assert seen == set(COLUMNS)


def test_pages_explain_each_assignment(client, matcher):
    """Northam's first choice (SUN) keeps Riverton; the cohort, twin and pair pages say why, in
    the words of the run result (the same as explanations-cohort-N.csv)."""
    from recommender.result import run_result

    e = run_result(matcher, Settings()).cohort(1).explanation("T1-northam", "P3")
    words = e.words(matcher.catalog.twin_name, matcher.catalog.pilot_name)
    assert e.rank == 2 and words.startswith("rank 2 of 2: SUN (rank 1) has places left")
    cohort = client.get("/facilitator/cohort/1").text
    assert 'id="why"' in cohort and words in html.unescape(cohort) and 'class="tag weak"' in cohort
    assert words in html.unescape(client.get("/facilitator/twin/T1-northam").text)
    assert words in html.unescape(client.get("/facilitator/pair/P3/T1-northam").text)
    assert 'id="why"' not in client.get("/facilitator/pair/P2/T1-northam").text   # not assigned: nothing to explain
    rows = client.get("/facilitator/cohort/1", params={"format": "json"}).json()["explanations"]
    assert next(r for r in rows if r["twin_id"] == "T1-northam")["why"] == words
