"""`peerlearn run` as a user runs it (real subprocess, real store, real files), on a copy of the
mini dataset with hostile text, and with secrets in the settings:

- no secret (update token, endpoint password) reaches the store, out/, stdout or stderr;
- run and tagging provenance are typed triples that SPARQL can filter and compare;
- every spreadsheet-bound CSV (out/*.csv, the facilitator pages' ?format=csv) neutralises
  formula-like text, while SPARQL text/csv stays as the W3C format says.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from recommender.embeddings import resolve_precision
from recommender.outputs import FORMULA_START, csv_text, spreadsheet_cell
from recommender.settings import Settings, public_dict
from tests.conftest import MINI, run_cli

TOKEN = "S3CRET-t0ken"
PASSWORD = "HUNTER2-pw"
ENDPOINT = f"http://alice:{PASSWORD}@sparql.example.org/query"
UPDATE = f"http://alice:{PASSWORD}@sparql.example.org/update?api_key=K3Y-{PASSWORD}"
HOSTILE_TITLE = "=cmd|' /C calc'!A0"
HOSTILE_CITY = "@Westford"
SECRET_SETS = ["--set", f'server.update_token="{TOKEN}"', "--set", f'store.endpoint="{ENDPOINT}"',
               "--set", f'store.update_endpoint="{UPDATE}"', "--set", "server.allow_update=true",
               "--set", "matching.tag_threshold=0.3"]


def _rewrite(path: Path, key: str, value: str, column: str, new: str) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r[key] == value:
            r[column] = new
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """The mini dataset with a formula as P3's title (it has no acronym) and a city name
    starting with @."""
    d = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(MINI, d)
    _rewrite(d / "pilots.csv", "id", "P3", "title", HOSTILE_TITLE)
    _rewrite(d / "cities.csv", "id", "westford", "name", HOSTILE_CITY)
    return d


@pytest.fixture(scope="module")
def ran(hostile, tmp_path_factory):
    """One `peerlearn run` with secrets set; returns (workdir, completed process)."""
    work = tmp_path_factory.mktemp("run")
    res = run_cli(*SECRET_SETS, "run", str(hostile), "--out", "out", cwd=work)
    assert res.returncode == 0, res.stderr
    return work, res


def _query(work: Path, sparql: str) -> list[dict]:
    res = run_cli("query", sparql, "--format", "json", cwd=work)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["results"]["bindings"]


def _store_dump(work: Path) -> str:
    import pyoxigraph

    store = pyoxigraph.Store.read_only(str(work / ".peerlearn" / "store"))
    return pyoxigraph.serialize(store, format=pyoxigraph.RdfFormat.N_QUADS).decode("utf-8")


# ------------------------------------------------------------------ secrets

def test_no_secret_reaches_the_store_outputs_or_logs(ran):
    """Before: the whole settings, token included, were one JSON literal (pl:setting) in the store."""
    work, res = ran
    dump = _store_dump(work)
    assert "MatchingRun" in dump  # the run was written
    places = {"store dump": dump, "stdout": res.stdout, "stderr": res.stderr}
    for f in sorted(p for p in work.rglob("*") if p.is_file()):  # out/, the store's files, caches
        places[str(f.relative_to(work))] = f.read_bytes().decode("latin-1")
    for secret in (TOKEN, PASSWORD, "alice:"):
        leaks = [name for name, text in places.items() if secret in text]
        assert not leaks, f"{secret!r} found in {leaks}"


def test_settings_command_masks_secrets(tmp_path):
    text = run_cli(*SECRET_SETS, "settings", cwd=tmp_path)
    js = run_cli(*SECRET_SETS, "settings", "--json", cwd=tmp_path)
    assert text.returncode == js.returncode == 0
    for out in (text.stdout, js.stdout):
        assert TOKEN not in out and PASSWORD not in out and "alice" not in out
    doc = json.loads(js.stdout)
    assert doc["server"]["update_token"] == "***"
    assert doc["store"]["endpoint"] == "http://sparql.example.org/query"
    assert doc["store"]["update_endpoint"] == "http://sparql.example.org/update?api_key=***"
    assert doc["matching"]["tag_threshold"] == 0.3
    unset = json.loads(run_cli("settings", "--json", cwd=tmp_path).stdout)
    assert unset["server"]["update_token"] == ""  # an unset secret shows as unset


def test_settings_repr_and_bad_override_hide_secrets():
    s = Settings().with_overrides([f'server.update_token="{TOKEN}"', f'store.endpoint="{ENDPOINT}"'])
    assert s.server.update_token == TOKEN  # the real value is still there for the server
    from recommender.web import config_from

    for text in (repr(s), repr(s.server), repr(s.store), str(public_dict(s)), repr(config_from(s.server))):
        assert TOKEN not in text and PASSWORD not in text
    from kg.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        Settings().with_overrides([f"server_update_token={TOKEN}"])
    assert TOKEN not in str(e.value)


def test_usage_error_does_not_echo_secrets(tmp_path):
    """Before: `--set` after the command is a usage error that printed the token and password."""
    res = run_cli("run", "data", "--set", f"server.update_token={TOKEN}", "--set", f'store.endpoint="{ENDPOINT}"',
                  cwd=tmp_path)
    assert res.returncode == 2 and "unrecognized arguments" in res.stderr
    assert "server.update_token=***" in res.stderr and "http://sparql.example.org/query" in res.stderr
    assert TOKEN not in res.stderr and PASSWORD not in res.stderr


def test_cli_error_on_a_remote_store_hides_the_password(tmp_path):
    """Before: `peerlearn query` printed the endpoint URL with alice:PASSWORD in its error."""
    from tests.conftest import free_port

    url = f"http://alice:{PASSWORD}@127.0.0.1:{free_port()}/sparql"  # nothing listens there
    res = run_cli("--set", 'store.backend="remote"', "--set", f'store.endpoint="{url}"',
                  "query", "ASK { ?s ?p ?o }", cwd=tmp_path)
    assert res.returncode == 4 and "127.0.0.1" in res.stderr
    assert PASSWORD not in res.stderr + res.stdout and "alice" not in res.stderr


# ------------------------------------------------------------------ provenance

def _independent_folder_hash(folder: Path) -> str:
    lines = sorted(f"{p.relative_to(folder).as_posix()}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                   for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


PREFIXES = """PREFIX pl: <https://w3id.org/peerlearn/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


def test_run_provenance_is_typed_and_queryable(ran, hostile):
    work, _ = ran
    # weights are numbers: a numeric filter finds them (a JSON string could not be compared)
    rows = _query(work, PREFIXES + """
SELECT ?signal ?w WHERE { ?run a pl:MatchingRun ; pl:runSetting ?s .
  ?s a pl:SignalWeight ; pl:signalName ?signal ; pl:settingValue ?w . FILTER(?w >= 0.8) } ORDER BY ?signal""")
    defaults = Settings().matching.weights
    assert [r["signal"]["value"] for r in rows] == sorted(k for k, v in defaults.items() if v >= 0.8)
    assert {r["w"]["datatype"] for r in rows} == {"http://www.w3.org/2001/XMLSchema#double"}
    settings = {r["key"]["value"]: r["v"] for r in _query(work, PREFIXES + """
SELECT ?key ?v WHERE { ?run a pl:MatchingRun ; pl:runSetting [ pl:settingKey ?key ; pl:settingValue ?v ] }""")}
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert settings["matching.capacity"] == {"type": "literal", "datatype": xsd + "integer", "value": "2"}
    assert settings["matching.tag_threshold"]["datatype"] == xsd + "double"
    assert float(settings["matching.tag_threshold"]["value"]) == 0.3
    assert float(settings["matching.overload_penalty"]["value"]) == 0.15
    assert settings["model.precision"]["value"] == "auto"
    for key in ("matching.per_twin", "matching.shortlist", "matching.candidates", "model.name",
                "matching.weights.context"):
        assert key in settings
    assert not [k for k in settings if k.startswith(("server.", "store."))]
    # inputs with their content hash, computed here independently
    used = _query(work, PREFIXES + """
SELECT ?label ?sha WHERE { ?run a pl:MatchingRun ; prov:used ?i . ?i a pl:InputData ; rdfs:label ?label ;
  pl:sha256 ?sha }""".replace("rdfs:label", "<http://www.w3.org/2000/01/rdf-schema#label>"))
    assert [(r["label"]["value"], r["sha"]["value"]) for r in used] == [(str(hostile), _independent_folder_hash(hostile))]
    # the software agent with peerlearn's version
    agent = _query(work, PREFIXES + """
SELECT DISTINCT ?v WHERE { ?run a pl:MatchingRun ; prov:wasAssociatedWith ?a . ?a a prov:SoftwareAgent ; schema:softwareVersion ?v }""")
    assert [r["v"]["value"] for r in agent] == [metadata.version("peerlearn")]
    model = _query(work, PREFIXES + "SELECT ?m WHERE { ?run a pl:MatchingRun ; pl:model ?m }")
    assert [r["m"]["value"] for r in model] == [f"all-MiniLM-L6-v2@{resolve_precision('auto')}"]  # as tagging says


def test_tagged_links_have_provenance(ran):
    """Before: pl:Tagged links had no prov:wasGeneratedBy."""
    work, _ = ran
    rows = _query(work, PREFIXES + """
SELECT ?link ?act ?model ?t WHERE { ?link pl:status pl:Tagged .
  OPTIONAL { ?link prov:wasGeneratedBy ?act . ?act a pl:TaggingRun ; pl:model ?model ;
             prov:wasAssociatedWith/a prov:SoftwareAgent ;
             pl:runSetting [ pl:settingKey "matching.tag_threshold" ; pl:settingValue ?t ] } }""")
    assert rows, "the run tagged nothing"
    assert all("act" in r for r in rows), [r["link"]["value"] for r in rows if "act" not in r]
    assert {r["model"]["value"] for r in rows} == {f"all-MiniLM-L6-v2@{resolve_precision('auto')}"}
    assert {float(r["t"]["value"]) for r in rows} == {0.3}  # the threshold actually used


def test_provenance_passes_the_shapes_and_the_example_runs(ran):
    from rdflib import Graph

    from kg.validate import violations

    work, _ = ran
    res = run_cli("query", "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
                  "FILTER(?g IN (<https://w3id.org/peerlearn/graph/recommendations>, "
                  "<https://w3id.org/peerlearn/graph/tags>)) }", "--format", "nt", cwd=work)
    assert res.returncode == 0, res.stderr
    g = Graph().parse(data=res.stdout, format="nt")
    assert len(g) > 100
    assert violations(g) == []
    ex = run_cli("query", "--example", "run-provenance", "--format", "csv", cwd=work)
    assert ex.returncode == 0, ex.stderr
    rows = list(csv.DictReader(io.StringIO(ex.stdout)))
    kinds = {(r["activity"], r["what"]) for r in rows}
    assert {("MatchingRun", "model"), ("MatchingRun", "setting"), ("MatchingRun", "input"),
            ("TaggingRun", "model"), ("TaggingRun", "setting")} <= kinds


# ------------------------------------------------------------------ CSV injection

def test_spreadsheet_cell_rule():
    for bad in ("=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "-cmd"):
        assert spreadsheet_cell(bad) == "'" + bad
    for fine in ("Oulu", "", " =1", "T1-westford", -0.5, 3, None, True, "-0.5", "+3", "1e-3"):
        assert spreadsheet_cell(fine) == fine
    assert csv_text([{"a": "=x", "b": -0.25}]) == "a,b\n'=x,-0.25\n"


def _formula_cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row
            if c.startswith(FORMULA_START) and spreadsheet_cell(c) != c]


def test_batch_csvs_neutralise_formulas(ran):
    """Before: the assignment, shortlist and topic CSVs held `=cmd|' /C calc'!A0` as-is."""
    work, _ = ran
    out = work / "out"
    csvs = sorted(out.glob("*.csv"))
    assert {p.name for p in csvs} >= {"assignment-cohort-1.csv", "shortlists-cohort-1.csv",
                                       "topics-cohort-1.csv", "loads-cohort-1.csv"}
    for p in csvs:
        assert _formula_cells(p.read_text(encoding="utf-8")) == [], p.name
    short = list(csv.DictReader(io.StringIO((out / "shortlists-cohort-1.csv").read_text(encoding="utf-8"))))
    assert "'" + HOSTILE_TITLE in {r["pilot"] for r in short}
    assert "'" + HOSTILE_CITY in {r["twin"] for r in short}
    assert all(float(r["score"]) >= 0 and not r["score"].startswith("'") for r in short)
    loads = list(csv.DictReader(io.StringIO((out / "loads-cohort-1.csv").read_text(encoding="utf-8"))))
    assert "'" + HOSTILE_TITLE in {r["pilot"] for r in loads}
    # JSON is data, not a spreadsheet: it keeps the text as it is
    doc = json.loads((out / "cohort-1.json").read_text(encoding="utf-8"))
    assert HOSTILE_TITLE in {r["pilot"] for r in doc["loads"]}


def test_web_csv_neutralises_formulas_and_sparql_csv_does_not(ran):
    """Before: /facilitator?format=csv gave the formula as-is."""
    work, _ = ran
    page = run_cli("serve", "--get", "/facilitator?format=csv&table=pilots", cwd=work)
    assert page.returncode == 0, page.stderr
    assert _formula_cells(page.stdout) == []
    rows = list(csv.DictReader(io.StringIO(page.stdout)))
    assert {r["title"] for r in rows if r["pilot_id"] == "P3"} == {"'" + HOSTILE_TITLE}
    # SPARQL text/csv is the W3C format: values exactly as stored, from the endpoint and the CLI
    q = 'SELECT ?t WHERE { ?p <http://purl.org/dc/terms/identifier> "P3" ; <http://purl.org/dc/terms/title> ?t }'
    cli = run_cli("query", q, "--format", "csv", cwd=work)
    assert cli.stdout.splitlines() == ["t", HOSTILE_TITLE]
    from urllib.parse import quote

    sparql = run_cli("serve", "--no-pages", "--get", "/sparql?query=" + quote(q), "--accept", "text/csv", cwd=work)
    assert sparql.returncode == 0, sparql.stderr
    assert sparql.stdout.splitlines() == ["t", HOSTILE_TITLE]
