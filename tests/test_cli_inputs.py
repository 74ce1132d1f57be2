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


@pytest.mark.parametrize("backend", ["oxigraph", "rdflib"])
def test_a_federated_query_is_refused_before_it_calls_out(built, backend, listener):
    """`peerlearn query` with SERVICE: pyoxigraph and rdflib would both make the HTTP call."""
    port, hits = listener
    q = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
    res = run_cli("--set", f"store.backend={backend}", "--set", f"data.sources=[\"{MINI}\"]",
                  "query", q, cwd=built)
    line = _one_line_error(res, 2)
    assert "SERVICE" in line and "not allowed" in line
    assert hits == []


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


def _billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb inside a list field: 1 kB of YAML, 10^9 values once expanded."""
    lines = ["cities:", '  - {id: a0, name: A, country: NL, alt_names: &l0 ["lol", "lol", "lol", "lol", "lol",'
             ' "lol", "lol", "lol", "lol", "lol"]}']
    for i in range(1, levels):
        lines.append(f"  - {{id: a{i}, name: A, country: NL, alt_names: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]}}")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_in_bounded_memory(tmp_path):
    """Run under a 2 GB address-space cap and a timeout, so a regression fails the test
    instead of eating the machine (before the fix: MemoryError traceback under the cap)."""
    import resource
    import subprocess
    import sys
    from pathlib import Path

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_billion_laughs(), encoding="utf-8")
    assert bomb.stat().st_size < 2000

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    exe = Path(sys.executable).with_name("peerlearn")
    res = subprocess.run([str(exe), "build", str(bomb)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, preexec_fn=cap)
    line = _one_line_error(res, 2)
    assert f"{bomb}: refused YAML: aliases expand" in line
    assert not (tmp_path / ".peerlearn" / "store").exists()


def test_a_build_killed_mid_write_is_cleaned_up_by_the_next_build(tmp_path):
    """SIGKILL a real `peerlearn build` while its staging store is on disk; the next build
    removes it (before: `.store.<random>` folders stayed forever, 165 MB at 20k cities)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.conftest import ROOT

    data = tmp_path / "synth"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "synth.py"), "--cities", "1500", "--out", str(data)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / ".peerlearn"

    def staging():
        return sorted(p.name for p in work.iterdir() if p.name.startswith(".store.")) if work.exists() else []

    exe = Path(sys.executable).with_name("peerlearn")
    proc = subprocess.Popen([str(exe), "build", str(data)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while not any(not n.endswith(".lock") for n in staging()) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the build finished before its staging folder was seen"
    assert staging(), "a killed build leaves its staging folder"
    res = run_cli("build", str(MINI), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert staging() == []
    assert sorted(p.name for p in work.iterdir()) == ["store"]


@pytest.mark.parametrize("args, code, message", [
    (["query", "ASK { ?s ?p ?o }"], 4, ".peerlearn/store: no knowledge graph yet; run `peerlearn build` first"),
    (["serve", "--get", "/healthz"], 4, "no knowledge graph yet"),
    (["--set", "store.backend=rdflib", "serve", "--get", "/healthz"], 2, "serve needs the on-disk oxigraph store"),
    (["--set", "store.backend=rdflib", "ingest-ccc", "lund.md"], 2, "the rdflib backend lives in memory"),
])
def test_each_error_exits_with_its_class_code(tmp_path, args, code, message):
    """No store yet is a store problem (4), a backend that cannot do the job a settings problem
    (2); before, both were the unclassified 1."""
    line = _one_line_error(run_cli(*args, cwd=tmp_path), code)
    assert message in line
