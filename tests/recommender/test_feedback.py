"""Facilitators' decisions round-trip: CSV -> `peerlearn feedback` -> the on-disk store (SPARQL,
SHACL, provenance) -> recommend/assign leave declined pairs out -> `fit --feedback` learns from
accepted ones; and the web POST through a running `peerlearn serve` over real HTTP."""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import MINI, LiveServer, run_cli

DECISIONS = ("twin,pilot,decision,reason,instead\n"
             "Westford,HRH,declined,too far to visit,\n"
             "Riverton,P2,accepted,,\n"
             "T1-northam,P3,swapped,,P2\n")

@pytest.fixture
def built(tmp_path):
    assert run_cli("build", str(MINI), cwd=tmp_path).returncode == 0
    return tmp_path


def _ranked(cwd, *extra) -> list[str]:
    res = run_cli("recommend", "Westford", "--no-model", "--json", *extra, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return [r["pilot"] for r in json.loads(res.stdout)]


def _decisions(cwd) -> list[dict]:
    res = run_cli("feedback", "--list", "--json", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_decisions_round_trip_through_the_store(built):
    assert _ranked(built) == ["P1", "P2", "P3"]
    (built / "d.csv").write_text(DECISIONS, encoding="utf-8")
    res = run_cli("feedback", "d.csv", cwd=built)
    assert res.returncode == 0, res.stderr
    assert "recorded 3 decisions (1 accepted, 1 declined, 1 swapped)" in res.stdout

    # in the graph: typed, with the reason, the swap, and the file's SHA-256 as provenance
    from kg.store import open_store
    from kg.validate import violations
    from recommender.feedback import FEEDBACK_GRAPH

    store = open_store("oxigraph", path=built / ".peerlearn" / "store", read_only=True)
    try:
        g = store.graph(FEEDBACK_GRAPH)
        rows = store.select_values("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
            PREFIX prov: <http://www.w3.org/ns/prov#>
            SELECT ?twin ?pilot ?outcome ?reason ?instead ?sha WHERE { GRAPH ?g {
              ?d a pl:Decision ; pl:twin ?twin ; pl:pilot ?pilot ; pl:outcome ?outcome ; prov:wasGeneratedBy ?run .
              ?run a pl:FeedbackRecording ; prov:used/pl:sha256 ?sha .
              OPTIONAL { ?d pl:reason ?reason } OPTIONAL { ?d pl:swappedTo ?instead } } } ORDER BY ?twin""")
    finally:
        store.close()
    assert violations(g) == []
    short = [(r["twin"].rsplit("/", 1)[1], r["pilot"].rsplit("/", 1)[1], r["outcome"].rsplit("#", 1)[1],
              r["reason"], (r["instead"] or "").rsplit("/", 1)[-1]) for r in rows]
    assert short == [("T1-northam", "P3", "Swapped", None, "P2"), ("T1-riverton", "P2", "Accepted", None, ""),
                     ("T1-westford", "P1", "Declined", "too far to visit", "")]
    assert {r["sha"] for r in rows} == {hashlib.sha256(DECISIONS.encode()).hexdigest()}

    # a declined pair is not proposed again for that twin, unless asked
    assert _ranked(built) == ["P2", "P3"]
    assert _ranked(built, "--include-declined") == ["P1", "P2", "P3"]
    assign = json.loads(run_cli("assign", "--cohort", "1", "--no-model", "--json", cwd=built).stdout)
    assigned = {p["twin_id"]: p["pilot_id"] for p in assign["assignment"]}
    assert "T1-westford" in assigned and assigned["T1-westford"] != "P1"

    # a rebuild keeps what facilitators recorded; a later decision on the pair counts
    assert run_cli("build", str(MINI), cwd=built).returncode == 0
    assert len(_decisions(built)) == 3
    (built / "d2.csv").write_text("twin,pilot,decision\nWestford,P1,accepted\n", encoding="utf-8")
    assert run_cli("feedback", "d2.csv", cwd=built).returncode == 0
    assert _ranked(built) == ["P1", "P2", "P3"]
    latest = {(d["twin"], d["pilot"]): d["decision"] for d in _decisions(built)}
    assert latest[("T1-westford", "P1")] == "accepted"

    # fit learns from confirmed pairs: accepted ones and the pilot a swapped twin joined
    res = run_cli("fit", "--feedback", "--no-model", "--out", "w.toml", "--json", cwd=built)
    assert res.returncode == 0, res.stderr
    assert "3 pairs confirmed by facilitators' decisions" in res.stdout
    assert json.loads(res.stdout[res.stdout.index("{"):])["pairs"] == 3


def test_evaluation_and_fit_still_rank_declined_pilots(mini_catalog):
    """A matcher that leaves a declined pair out of proposals (as `run` makes it) still ranks it
    when evaluating: a facilitator's "no" is not a ranking miss."""
    from recommender.evaluate import Pairing, evaluate
    from recommender.fit import choices
    from recommender.matcher import Matcher
    from recommender.settings import Settings

    m = Matcher.from_catalog(mini_catalog, Settings(), encoder=False)
    m.declined = frozenset({("T1-westford", "P1")})
    assert "P1" not in m.candidates(mini_catalog.twins["T1-westford"])
    pairs = [Pairing("T1-westford", "P1", 2)]
    assert evaluate(m, pairs)[0].hit[1] == 1.0
    assert choices(m, pairs)[0].true is not None


@pytest.mark.parametrize("csv, where", [
    ("twin,pilot,decision\nWestford,HRH,maybe\n", "d.csv, row 3, field decision: decision 'maybe'"),
    ("twin,pilot,decision\nWestfrod,HRH,declined\n", "d.csv, row 3, field twin: no twin named 'Westfrod'"),
    ("twin,pilot,decision\nNortham,HRH,declined\n", "d.csv, row 3, field pilot: P1 is not a pilot activity T1-northam"),
    ("twin,pilot,decision,instead\nWestford,HRH,accepted,P2\n", "field instead: 'instead' is for swapped"),
    ("twin,pilot\nWestford,HRH\n", "d.csv"),
])
def test_bad_decisions_are_one_line_exit_2_and_nothing_is_written(built, csv, where):
    # a good row first (row 2): it must not be written when a later row is bad
    (built / "d.csv").write_text("twin,pilot,decision\nRiverton,P2,accepted\n" + csv.split("\n", 1)[1]
                                 if csv.startswith("twin,pilot,decision\n") else csv, encoding="utf-8")
    res = run_cli("feedback", "d.csv", cwd=built)
    assert res.returncode == 2 and where in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert _decisions(built) == []          # the good first row was not written either


# ------------------------------------------------------------------ the web POST, over real HTTP

def _post(url, data: dict, headers: dict | None = None):
    req = urllib.request.Request(url, data=urlencode(data).encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _serve(cwd, *sets):
    exe = str(Path(sys.executable).with_name("peerlearn"))
    # the pages' matcher is not needed to record a decision: a model that cannot load keeps the
    # test from loading the real one in the background
    return LiveServer([exe, "--set", 'model.name="/nonexistent-model"', *sets, "serve", "--port", "0"], cwd=cwd)


def test_a_decision_posted_on_the_cohort_page_reaches_the_store(built):
    server = _serve(built, "--set", 'server.update_token="s3cret-token"')
    try:
        url = server.url + "/facilitator/cohort/1/decision"
        form = {"twin": "Westford", "pilot": "HRH", "decision": "declined", "reason": "met already"}
        assert _post(url, form)[0] == 403
        assert _post(url, form, {"Authorization": "Bearer wrong"})[0] == 403
        status, body = _post(url, {**form, "decision": "later"}, {"Authorization": "Bearer s3cret-token"})
        assert status == 400 and "decision 'later'" in body["error"]
        status, body = _post(url, form, {"Authorization": "Bearer s3cret-token"})
        assert status == 201, body
        assert body["recorded"] == {"twin": "T1-westford", "pilot": "P1", "decision": "declined",
                                    "reason": "met already", "instead": ""}
        status, _ = _post(url, {"twin": "Riverton", "pilot": "P2", "decision": "accepted", "token": "s3cret-token"})
        assert status == 201
        # read back over HTTP from the same server's SPARQL endpoint
        q = ("PREFIX pl: <https://w3id.org/peerlearn/ontology#> SELECT ?o ?r WHERE { GRAPH "
             "<https://w3id.org/peerlearn/graph/feedback> { ?d pl:outcome ?o . OPTIONAL { ?d pl:reason ?r } } }")
        req = urllib.request.Request(server.url + "/sparql?" + urlencode({"query": q}),
                                     headers={"Accept": "application/sparql-results+json"})
        got = json.loads(urllib.request.urlopen(req, timeout=60).read())["results"]["bindings"]
        assert sorted((b["o"]["value"].rsplit("#", 1)[1], b.get("r", {}).get("value")) for b in got) == \
            [("Accepted", None), ("Declined", "met already")]
        assert not any("s3cret-token" in line for line in server.lines)       # the token is never logged
    finally:
        server.stop()
    assert _ranked(built) == ["P2", "P3"]           # and the CLI reads the same store


def test_without_an_update_token_the_server_stays_read_only(built):
    server = _serve(built)
    try:
        status, body = _post(server.url + "/facilitator/cohort/1/decision",
                             {"twin": "Westford", "pilot": "HRH", "decision": "declined", "token": ""})
        assert status == 403 and "read-only" in body["error"]
    finally:
        server.stop()
    assert _decisions(built) == []
