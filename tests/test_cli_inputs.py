"""Hostile and broken input through the real `peerlearn` script: bad queries, remote JSON-LD
contexts, YAML alias bombs, and staging folders left by a killed run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import MINI, run_cli


@pytest.fixture
def built(tmp_path):
    res = run_cli("build", str(MINI), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return tmp_path


def _one_line_error(res, code: int) -> str:
    assert res.returncode == code, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


@pytest.mark.parametrize("backend", ["oxigraph", "rdflib"])
def test_a_malformed_query_is_bad_input_with_the_parsers_message(built, backend):
    res = run_cli("--set", f"store.backend={backend}", "--set", f"data.sources=[\"{MINI}\"]",
                  "query", "SELECT ?x WHERE { ?x ?p }", cwd=built)
    line = _one_line_error(res, 2)
    assert line.startswith("peerlearn query: error: SPARQL syntax error: ")


def test_a_remote_json_ld_context_is_never_fetched(tmp_path, listener):
    port, hits = listener
    url = f"http://127.0.0.1:{port}/context.jsonld"
    doc = {"@context": url, "@id": "https://w3id.org/peerlearn/data/city/x", "name": "X"}
    f = tmp_path / "city.jsonld"
    f.write_text(json.dumps(doc), encoding="utf-8")
    res = run_cli("build", str(f), cwd=tmp_path)
    line = _one_line_error(res, 2)
    assert f"city.jsonld: remote JSON-LD context '{url}' is never fetched" in line
    nested = {"@context": {"@import": url}, "@graph": [{"@id": "urn:x", "@context": [url]}]}
    f.write_text(json.dumps(nested), encoding="utf-8")
    assert "is never fetched" in _one_line_error(run_cli("validate", str(f), cwd=tmp_path), 2)
    assert hits == []
    assert not (tmp_path / ".peerlearn" / "store").exists()
