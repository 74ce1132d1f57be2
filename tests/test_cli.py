"""The `peerlearn` console script end to end, as a user runs it (real subprocesses)."""

from __future__ import annotations

import json

import pytest

from recommender.scoring import SIGNALS
from tests.conftest import MINI, SHARED, run_cli


@pytest.fixture
def built(tmp_path):
    res = run_cli("build", str(MINI), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return tmp_path


def test_help_lists_every_command():
    res = run_cli("--help")
    for name in ("build", "validate", "query", "recommend", "assign", "topics", "evaluate", "run", "settings"):
        assert name in res.stdout


def test_build_prints_counts(built):
    res = run_cli("build", str(MINI), "--json", cwd=built)
    counts = json.loads(res.stdout)
    assert (counts["cities"], counts["pilots"], counts["twins"]) == (5, 3, 3)


def _readme_counts() -> dict:
    """The counts the dataset README states (kg/datasets/nzc/README.md, section Counts)."""
    import re

    from tests.conftest import ROOT

    text = " ".join((ROOT / "kg" / "datasets" / "nzc" / "README.md").read_text(encoding="utf-8").split())

    def per_cohort(what):
        part = re.search(rf"{what}: \*\*\d+\*\* — (cohort 1: \d+, cohort 2: \d+, cohort 3: \d+)", text).group(1)
        return {k: int(v) for k, v in re.findall(r"cohort (\d): (\d+)", part)}

    return {
        "cities": int(re.search(r"Cities: \*\*(\d+)\*\* in total", text).group(1)),
        "missionCities": int(re.search(r"\*\*(\d+)\*\* Mission Cities", text).group(1)),
        "pilots": int(re.search(r"Pilot activities: \*\*(\d+)\*\*", text).group(1)),
        "twins": int(re.search(r"Twins: \*\*(\d+)\*\*", text).group(1)),
        "pilots_by_cohort": per_cohort("Pilot activities"),
        "twins_by_cohort": per_cohort("Twins"),
    }


def test_bundled_dataset_counts_match_its_readme(tmp_path):
    res = run_cli("build", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    c = json.loads(res.stdout)
    stated = _readme_counts()
    assert (c["cities"], c["missionCities"], c["pilots"], c["twins"]) == (
        stated["cities"], stated["missionCities"], stated["pilots"], stated["twins"])
    assert {k: v["pilots"] for k, v in c["by_cohort"].items()} == {str(k): v for k, v in stated["pilots_by_cohort"].items()}
    assert {k: v["twins"] for k, v in c["by_cohort"].items()} == {str(k): v for k, v in stated["twins_by_cohort"].items()}


def test_query_formats(built):
    q = "SELECT ?n WHERE { ?c <https://schema.org/name> ?n } ORDER BY ?n LIMIT 2"
    csv_out = run_cli("query", q, "--format", "csv", cwd=built).stdout
    assert csv_out.splitlines() == ["n", "Eastwick", "Northam"]
    js = json.loads(run_cli("query", q, "--format", "json", cwd=built).stdout)
    assert [b["n"]["value"] for b in js["results"]["bindings"]] == ["Eastwick", "Northam"]
    tsv = run_cli("query", q, "--format", "tsv", cwd=built).stdout
    assert tsv.splitlines()[0] == "?n" and tsv.splitlines()[1] == '"Eastwick"'
    ttl = run_cli("query", "CONSTRUCT WHERE { ?c a <https://w3id.org/peerlearn/ontology#MissionCity> }",
                  cwd=built).stdout
    assert "MissionCity" in ttl
    stdin = run_cli("query", "-", cwd=built, stdin="ASK { ?s ?p ?o }").stdout
    assert stdin.strip() == "yes"


def test_every_example_answers(built):
    names = [line.split()[0] for line in run_cli("query", "--list-examples", cwd=built).stdout.splitlines()]
    assert len(names) >= 10
    for name in names:
        res = run_cli("query", "--example", name, "--format", "csv", cwd=built)
        assert res.returncode == 0, (name, res.stderr)


@pytest.mark.parametrize("args, code, message", [
    (["query", "SELEC nothing"], 2, "SPARQL syntax error"),
    (["query", "--example", "pilots-by-domian"], 3, "did you mean pilots-by-domain"),
    (["query", "--example", "pilot-overview", "--param", "nn=3"], 2, "--param nn: example 'pilot-overview' takes n"),
    (["query", "SELECT ?a WHERE { ?a ?b ?c }", "--param", "b=3"], 2, "cannot bind ?b: a bound variable must be"),
    (["recommend", "Atlantis", "--no-model"], 3, "no twin named 'Atlantis'"),
    (["recommend", "Westfrod", "--no-model"], 3, "close matches: T1-westford"),
    (["assign", "--cohort", "7", "--no-model"], 3, "no twins in cohort 7"),
])
def test_user_errors_are_one_line_without_traceback(built, args, code, message):
    res = run_cli(*args, cwd=built)
    assert res.returncode == code
    assert message in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("weight, message", [
    ("barrier_fit=-1", "--weight: weight barrier_fit='-1' is negative"),
    ("context=nan", "--weight: weight context='nan' is not a finite number"),
    ("context=inf", "--weight: weight context='inf' is not a finite number"),
    ("context=abc", "--weight: weight context='abc' is not a number"),
    ("contxt=1", "--weight: unknown signal weight 'contxt'"),
])
def test_a_bad_weight_flag_is_one_line_exit_2(built, weight, message):
    res = run_cli("recommend", "Westford", "--no-model", "--weight", weight, cwd=built)
    assert res.returncode == 2 and res.stdout == ""
    assert message in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_weight_flags_that_switch_every_signal_off_are_refused(built):
    flags = [a for k in SIGNALS for a in ("--weight", f"{k}=0")]
    res = run_cli("assign", "--cohort", "1", "--no-model", *flags, cwd=built)
    assert res.returncode == 2 and "--weight: every weight is 0" in res.stderr, res.stderr


@pytest.mark.parametrize("toml, message", [
    ("[matching.weights]\nbarrier_fit = -1\n", "matching.weights: weight barrier_fit=-1 is negative"),
    ("[matching.weights]\ncontext = nan\n", "matching.weights: weight context=nan is not a finite number"),
    ("[matching.weights]\ncontext = inf\n", "matching.weights: weight context=inf is not a finite number"),
    ("[matching.weights]\ncontext = \"high\"\n", "matching.weights: weight context='high' is not a number"),
    ("[matching]\nweights = 3\n", "matching.weights must be a table"),
    ("[matching.weights]\n" + "".join(f"{k} = 0\n" for k in SIGNALS), "matching.weights: every weight is 0"),
])
def test_a_bad_weight_in_the_settings_file_is_one_line_exit_2(tmp_path, toml, message):
    (tmp_path / "peerlearn.toml").write_text(toml, encoding="utf-8")
    res = run_cli("settings", cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == ""
    assert f"peerlearn.toml: {message}" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("override, message", [
    ("matching.weights.context=-0.5", "--set: matching.weights: weight context=-0.5 is negative"),
    ("matching.weights.context=nan", "--set: matching.weights: weight context=nan is not a finite number"),
    ("matching.weights={context=inf}", "--set: matching.weights: weight context=inf is not a finite number"),
])
def test_a_bad_weight_override_is_one_line_exit_2(tmp_path, override, message):
    res = run_cli("--set", override, "settings", cwd=tmp_path)
    assert res.returncode == 2 and res.stdout == "" and message in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_one_weight_can_be_set_by_name(tmp_path):
    res = run_cli("--set", "matching.weights.context=0.5", "settings", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    weights = json.loads(res.stdout)["matching"]["weights"]
    assert weights["context"] == 0.5 and weights["barrier_fit"] == 1.0


def test_bad_input_exits_2_and_keeps_the_old_store(built, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "cities.csv").write_text("id,name,country\nx,X,XX\nx,Y,YY\n", encoding="utf-8")
    res = run_cli("build", str(bad), cwd=built)
    assert res.returncode == 2
    assert "cities.csv, row 3, field id: duplicate city id 'x'" in res.stderr
    again = run_cli("query", "--example", "multi-city-pilots", "--format", "csv", cwd=built)
    assert "Solar Neighbourhoods" in again.stdout


def test_validate_writes_nothing(tmp_path):
    res = run_cli("validate", str(MINI), cwd=tmp_path)
    assert res.returncode == 0 and "valid" in res.stdout
    assert not (tmp_path / ".peerlearn").exists()


def test_recommend_assign_topics_with_the_real_model(built):
    rec = run_cli("recommend", "Westford", "--json", cwd=built)
    assert rec.returncode == 0, rec.stderr
    ranked = json.loads(rec.stdout)
    assert ranked[0]["pilot"] == "P1"
    assert 0 < ranked[0]["twin_signals"]["narrative_similarity"] <= 1
    a = run_cli("assign", "--cohort", "1", "--json", cwd=built)
    doc = json.loads(a.stdout)
    assert doc["optimal"] and len(doc["assignment"]) == 3
    t = run_cli("topics", "P1", "Westford", cwd=built)
    assert "Getting started" in t.stdout and "evidence:" in t.stdout


def test_pins_file(built, tmp_path):
    pins = tmp_path / "pins.csv"
    pins.write_text("action,twin,pilot\npin,Westford,P3\n", encoding="utf-8")
    res = run_cli("assign", "--cohort", "1", "--pins", str(pins), "--no-model", "--json", cwd=built)
    doc = json.loads(res.stdout)
    assert {"twin_id": "T1-westford", "pilot_id": "P3", "pinned": True}.items() <= next(
        p for p in doc["assignment"] if p["twin_id"] == "T1-westford").items()
    assert doc["pin_costs"]["T1-westford->P3"] > 0


def test_assign_explains_each_twin_not_at_its_first_choice(built):
    res = run_cli("--set", "matching.capacity=1", "assign", "--cohort", "1", "--no-model", cwd=built)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    i = next(i for i, line in enumerate(lines) if line.strip().startswith("Northam"))
    assert lines[i].endswith("[weak]")
    assert lines[i + 1].strip().startswith("why: rank 2 of 2: SUN (rank 1) was full with Riverton. ")
    assert "Giving it SUN instead would cost the cohort" in lines[i + 1]
    assert sum(line.strip().startswith("why:") for line in lines) == 1   # the others got their first choice


def test_run_writes_outputs_and_rdf(built):
    res = run_cli("run", str(MINI), "--out", "out", cwd=built)
    assert res.returncode == 0, res.stderr
    assert (built / "out" / "assignment-cohort-1.csv").exists()
    recs = run_cli("query", "--example", "recommendations", "--format", "csv", cwd=built).stdout
    assert "T1-westford" in recs
    topics = run_cli("query", "--example", "learning-topics", "--format", "csv", cwd=built).stdout
    assert len(topics.splitlines()) > 3


@pytest.mark.skipif(not (SHARED / "pairings-dev.csv").exists(), reason="../shared/data/pairings-dev.csv not present")
def test_evaluate_on_the_dev_pairings(tmp_path):
    assert run_cli("build", cwd=tmp_path).returncode == 0
    res = run_cli("evaluate", "--pairings", str(SHARED / "pairings-dev.csv"), "--no-model", "--json", cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert doc["pairs"] == 22
    rows = {r["model"]: r for r in doc["metrics"]}
    assert rows["random"]["hit@5"] < rows["peerlearn (all signals)"]["hit@5"]


def test_serve_end_to_end(built):
    """`peerlearn serve` on a free loopback port: SPARQL, facilitator page, graceful stop."""
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    exe = Path(sys.executable).with_name("peerlearn")
    proc = subprocess.Popen([str(exe), "serve", "--port", "0"], cwd=built, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.time() + 60
        while time.time() < deadline and url is None:
            line = proc.stdout.readline()
            if '"listening"' in line:
                url = json.loads(line)["url"]
        assert url and url.startswith("http://127.0.0.1:")
        req = urllib.request.Request(url + "sparql?query=ASK%7B?s?p?o%7D",
                                     headers={"Accept": "application/sparql-results+json"})
        assert json.loads(urllib.request.urlopen(req, timeout=30).read())["boolean"] is True
        # The matcher is built in the background after start: 503 + Retry-After until then.
        deadline = time.time() + 300
        while True:
            try:
                page = urllib.request.urlopen(url + "facilitator/pair/P1/Westford", timeout=30).read().decode()
                break
            except urllib.error.HTTPError as e:
                assert e.code == 503 and time.time() < deadline, e
                time.sleep(float(e.headers["Retry-After"]) / 10)
        assert "Getting started" in page and "evidence" in page.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0


def test_serve_get_without_a_port(built):
    res = run_cli("serve", "--get", "/sparql?query=SELECT%20%3Fn%20WHERE%20%7B%3Fc%20%3Chttps%3A%2F%2Fschema.org%2Fname%3E%20%3Fn%7D%20ORDER%20BY%20%3Fn%20LIMIT%201",
                  "--accept", "text/csv", cwd=built)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["n", "Eastwick"]
    page = run_cli("serve", "--get", "/facilitator/twin/Westford?format=json", cwd=built)
    assert json.loads(page.stdout)["ranking"][0]["pilot_id"] == "P1"
    missing = run_cli("serve", "--get", "/facilitator/twin/Atlantis", cwd=built)
    assert missing.returncode == 1 and "answered 404" in missing.stderr


def test_run_with_pairings_reports_quality(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("twin_city,twin_cohort,pilot_id\nWestford,1,P1\n", encoding="utf-8")
    res = run_cli("run", str(MINI), "--out", "out", "--pairings", str(pairs), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "evaluation on 1 known pairings" in res.stdout and "random" in res.stdout
    assert (tmp_path / "out" / "evaluation-cohort-1.csv").exists()
