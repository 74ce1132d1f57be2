"""`peerlearn ingest-ccc` and `run --ccc` on a batch with one contract, one document without
modules and one binary file (tests/fixtures/ccc): lenient by default, all-or-nothing with
--strict. Real subprocesses, real store."""

from __future__ import annotations

import pytest

from tests.conftest import MINI, ROOT, run_cli

BATCH = ROOT / "tests" / "fixtures" / "ccc"  # westford.md (contract), northam.md (no modules), eastwick.md (binary)
FLAGS = ("SELECT ?city ?structured WHERE { ?c <https://w3id.org/peerlearn/ontology#narrative> ?n ; "
         "<https://schema.org/name> ?city . ?n <https://w3id.org/peerlearn/ontology#structured> ?structured } "
         "ORDER BY ?city")


@pytest.fixture
def built(tmp_path):
    res = run_cli("build", str(MINI), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return tmp_path


def _flags(cwd) -> list[str]:
    res = run_cli("query", FLAGS, "--format", "csv", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return res.stdout.splitlines()[1:]


def test_ingest_ccc_batch_goes_on_past_a_bad_file(built):
    res = run_cli("ingest-ccc", str(BATCH), cwd=built)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert f"skipped {BATCH / 'eastwick.md'}: binary file (contains NUL bytes), expected Markdown text" in lines
    assert any(ln.startswith("northam.md -> Northam: 4 passages, unstructured") for ln in lines)
    assert lines[-1].startswith("Climate City Contracts: 2 ingested, 1 unstructured "
                                "(no modules: passages split by headings), 1 skipped")
    assert _flags(built) == ["Northam,false", "Westford,true"]


def test_ingest_ccc_strict_is_all_or_nothing(built):
    res = run_cli("ingest-ccc", str(BATCH), "--strict", cwd=built)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"peerlearn ingest-ccc: error: {BATCH / 'eastwick.md'}: binary file (contains NUL bytes), expected Markdown text"]
    assert _flags(built) == []


def test_ingest_ccc_with_nothing_to_ingest_is_an_error(built):
    res = run_cli("ingest-ccc", str(BATCH / "eastwick.md"), "nowhere.md", cwd=built)
    assert res.returncode == 2
    assert res.stdout.splitlines() == [
        f"skipped {BATCH / 'eastwick.md'}: binary file (contains NUL bytes), expected Markdown text",
        "skipped nowhere.md: file not found"]
    assert res.stderr.strip() == ("peerlearn ingest-ccc: error: no Climate City Contract could be ingested "
                                  "(2 file(s) skipped)")


def test_run_ccc_strict_fails_before_building_anything(tmp_path):
    res = run_cli("run", str(MINI), "--ccc", str(BATCH), "--strict", "--out", "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "eastwick.md: binary file" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / ".peerlearn").exists() and not (tmp_path / "out").exists()


def test_run_ccc_reports_and_goes_on(tmp_path):
    res = run_cli("run", str(MINI), "--ccc", str(BATCH), "--out", "out", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"skipped {BATCH / 'eastwick.md'}: binary file (contains NUL bytes), expected Markdown text" in res.stdout
    assert "Climate City Contracts: 2 ingested, 1 unstructured" in res.stdout
    assert (tmp_path / "out" / "assignment-cohort-1.csv").exists()
    assert _flags(tmp_path) == ["Northam,false", "Westford,true"]
