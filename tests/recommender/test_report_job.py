"""`peerlearn report`: content agrees with `recommend`, writes are atomic, PDFs and pages
render in a real headless Chromium (screenshots in test-artifacts/screenshots/reports)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from recommender import outputs
from recommender.matcher import Matcher
from recommender.reports.pdf import FLAGS, find_chromium
from recommender.result import run_result
from recommender.settings import Settings
from recommender.tables import columns
from tests.conftest import ROOT, run_cli

SHOTS = ROOT / "test-artifacts" / "screenshots" / "reports"


@pytest.fixture(scope="module")
def matcher(mini_catalog):
    return Matcher.from_catalog(mini_catalog, Settings(), encoder=False)


def _chromium_or_skip():
    path = find_chromium()
    if path is None:
        if os.environ.get("PEERLEARN_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (PEERLEARN_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    return path


def test_shortlists_agree_with_recommend(matcher, tmp_path):
    result = run_result(matcher, Settings(), cohorts=[1])
    a = result.cohort(1).assignment
    outputs.write_outputs(result, tmp_path / "out")
    with open(tmp_path / "out" / "shortlists-cohort-1.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for twin in ("T1-westford", "T1-riverton", "T1-northam"):
        mine = [r for r in rows if r["twin_id"] == twin]
        ranked = matcher.rank_pilots(twin, limit=5)
        assert [r["pilot_id"] for r in mine] == [s.pilot for s in ranked]
        assert [float(r["score"]) for r in mine] == [round(s.score, 4) for s in ranked]
    doc = json.loads((tmp_path / "out" / "cohort-1.json").read_text(encoding="utf-8"))
    assert {(p["twin_id"], p["pilot_id"]) for p in doc["assignment"]} == {(p.twin, p.pilot) for p in a.pairs}
    assert all(t["evidence"] for t in doc["topics"])
    assert set(doc["assignment"][0]) == set(columns("assignment"))


def test_interrupted_write_leaves_the_old_report(matcher, tmp_path, monkeypatch):
    a = run_result(matcher, Settings(), cohorts=[1])
    out = tmp_path / "out"
    outputs.write_outputs(a, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real = Path.write_text
    calls = {"n": 0}

    def crash(self, *args, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("interrupted mid-write")
        return real(self, *args, **kw)

    monkeypatch.setattr(Path, "write_text", crash)
    with pytest.raises(KeyboardInterrupt):
        outputs.write_outputs(a, out)
    monkeypatch.undo()
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]   # no staging folder left behind


def test_same_inputs_give_identical_files(matcher, tmp_path):
    a = run_result(matcher, Settings(), cohorts=[1])
    outputs.write_outputs(a, tmp_path / "one")
    outputs.write_outputs(a, tmp_path / "two")
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert one == two and len(one) > 8


@pytest.mark.browser
def test_pdfs_are_printed_and_deterministic(matcher, tmp_path):
    _chromium_or_skip()
    a = run_result(matcher, Settings(), cohorts=[1])
    outputs.write_outputs(a, tmp_path / "out", pdf=True)
    pdf = tmp_path / "out" / "cohort-1.pdf"
    first = pdf.read_bytes()
    assert first.startswith(b"%PDF") and len(first) > 5000
    assert (tmp_path / "out" / "twins" / "T1-westford.pdf").exists()
    assert f"file://{(tmp_path / 'out').resolve()}/twins/".encode() in first   # links point at the published pages
    outputs.write_outputs(a, tmp_path / "out", pdf=True)
    assert pdf.read_bytes() == first


@pytest.mark.browser
@pytest.mark.parametrize("page", ["cohort-1.html", "twins/T1-westford.html", "twins/T1-northam.html",
                                  "pilots/P1.html"])
def test_pages_render_in_chromium(matcher, tmp_path, page):
    chromium = _chromium_or_skip()
    outputs.write_outputs(run_result(matcher, Settings(), cohorts=[1]), tmp_path / "out")
    url = (tmp_path / "out" / page).resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120).stdout
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / (page.replace("/", "_").replace(".html", ".png"))
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                        "--window-size=1200,1600", url], capture_output=True, timeout=120)
    assert "</html>" in dom and "<h1" in dom
    if page.startswith("twins/T1-westford"):
        assert "Learning journey" in dom and "Replication Plan" in dom
    assert shot.exists() and shot.stat().st_size > 10_000


def test_report_command_for_one_twin(tmp_path):
    from tests.conftest import MINI

    assert run_cli("build", str(MINI), cwd=tmp_path).returncode == 0
    res = run_cli("report", "--twin", "Westford", "--out", "rep", "--no-model", "--no-pdf", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    names = sorted(str(p.relative_to(tmp_path / "rep")) for p in (tmp_path / "rep").rglob("*") if p.is_file())
    assert names[-1] == "twins/T1-westford.html"                # the twin's page and its pair brief
    assert len(names) == 2 and names[0].startswith("pairs/T1-westford--") and names[0].endswith(".html")
    bad = run_cli("report", "--out", "rep", "--no-model", cwd=tmp_path)
    assert bad.returncode == 2 and "give --cohort N or --twin NAME" in bad.stderr


def test_report_with_known_pairings_shows_the_evaluation(tmp_path):
    from tests.conftest import MINI

    assert run_cli("build", str(MINI), cwd=tmp_path).returncode == 0
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("twin_city,twin_cohort,pilot_id\nWestford,1,P1\nRiverton,1,P2\n", encoding="utf-8")
    res = run_cli("report", "--cohort", "1", "--out", "rep", "--no-model", "--no-pdf",
                  "--pairings", str(pairs), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "rep" / "cohort-1.html").read_text(encoding="utf-8")
    assert "Match quality against known pairings" in page and "random" in page
    rows = (tmp_path / "rep" / "evaluation-cohort-1.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("model,n,twins,hit@1,hit@3,hit@5,mrr,hit@1_low,hit@1_high,") and rows[1].startswith("peerlearn (all signals),2,")
