"""Warm-up of the facilitator pages: the real `peerlearn serve` in its own process, real HTTP.

The server starts building the matcher (the bundled embedding model included) in the
background once it listens. While it loads, /healthz says so and every page answers at once
with 503 + Retry-After (HTML: a page that says so and reloads itself); once ready, the pages
rank. ``PEERLEARN_WARMUP_GATE`` holds the real build back until the test creates the gate file,
so the loading state is seen every time, not by luck of timing. A failed build shows in
/healthz, the log and the pages; ``--no-pages`` never loads the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from recommender.web.warmup import GATE_ENV, WarmingUp, Warmup, WarmupFailed
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "fixtures" / "mini"
TWIN = "/facilitator/twin/T1-westford"
QUICK = 10.0  # s: a page that needs longer than this hangs (the gated build never ends by itself)


class Serve(LiveServer):
    """``peerlearn serve --port 0`` (the console script) in a subprocess; stdout lines collected."""

    def __init__(self, store: Path, workdir: Path, *args: str, sets: tuple[str, ...] = (), env=None):
        exe = Path(sys.executable).with_name("peerlearn")
        cmd = [str(exe), "--set", f"store.path={json.dumps(str(store))}",
               "--set", f"data.workdir={json.dumps(str(workdir))}"]
        for s in sets:
            cmd += ["--set", s]
        cmd += ["serve", "--port", "0", *args]
        super().__init__(cmd, cwd=ROOT, env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})})

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.url + path, timeout=QUICK, **kw)

    def health(self) -> dict:
        return self.get("/healthz").json()

    def until(self, states: set[str], timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = self.health().get("recommender") or {}
            if h.get("state") in states:
                return h
            time.sleep(0.2)
        raise AssertionError(f"warm-up not {states} after {timeout} s: {self.health()}")

    def events(self) -> list[str]:
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line).get("event"))
            except (ValueError, AttributeError):
                pass
        return out



@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from kg import build

    path = tmp_path_factory.mktemp("warmup") / "store"
    build([MINI], backend="oxigraph", path=path).close()
    return path


def _mapped(pid: int, word: str) -> bool:
    """Whether the process has a shared object whose path contains ``word`` mapped."""
    return word in Path(f"/proc/{pid}/maps").read_text()


# ---------------------------------------------------------------- real server, real model

@pytest.mark.slow
def test_pages_say_warming_up_while_the_model_loads_then_rank(store, tmp_path):
    gate = tmp_path / "gate"
    s = Serve(store, tmp_path / "work", env={GATE_ENV: str(gate)})
    try:
        # Right after start: the endpoint answers, the pages say "warming up" at once.
        assert s.health()["recommender"]["state"] == "loading"
        r = s.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
        assert r.status_code == 200 and r.json()["boolean"] is True

        page = s.get(TWIN)
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert page.headers["content-type"].startswith("text/html")
        assert '<meta http-equiv="refresh" content="5">' in page.text
        assert 'id="warming-up"' in page.text and "warming up" in page.text
        for path, params in ((TWIN, {"format": "csv"}), (TWIN + ".csv", {}), ("/facilitator", {"format": "csv"})):
            r = s.get(path, params=params)
            assert (r.status_code, r.headers["retry-after"]) == (503, "5"), path
            assert r.headers["content-type"].startswith("text/plain") and "warming up" in r.text
        r = s.get("/facilitator/cohort/1", params={"format": "json"})
        assert (r.status_code, r.headers["retry-after"]) == (503, "5")
        assert r.json()["warming_up"] is True and r.json()["status"] == 503
        assert s.health()["recommender"]["state"] == "loading"  # the gate holds the build back

        gate.touch()
        h = s.until({"ready", "failed"})
        assert h["state"] == "ready" and h["error"] is None and h["seconds"] > 0, h

        page = s.get(TWIN)
        assert page.status_code == 200 and "retry-after" not in page.headers
        assert 'id="ranking"' in page.text and "warming up" not in page.text
        rows = s.get(TWIN, params={"format": "json"}).json()["ranking"]
        assert [r["pilot_id"] for r in rows] and rows[0]["rank"] == 1
        assert all(0 <= r["score"] <= 1 for r in rows)
        # The real model ran: narrative similarity (cosine of embeddings) is part of the evidence.
        assert any("narrative cosine" in r["evidence"] for r in rows)
        assert s.events().count("warmup_started") == 1 and "warmup_ready" in s.events()
        assert _mapped(s.proc.pid, "torch")
    finally:
        s.stop()


@pytest.mark.slow
def test_a_failed_warm_up_shows_in_healthz_the_log_and_the_pages(store, tmp_path):
    s = Serve(store, tmp_path / "work", sets=('model.name="/nonexistent/model"',))
    try:
        assert s.health()["recommender"]["state"] in ("loading", "failed")
        h = s.until({"ready", "failed"})
        assert h["state"] == "failed" and "/nonexistent/model" in h["error"], h
        assert s.health()["status"] == "ok"  # the SPARQL endpoint itself is fine
        page = s.get(TWIN)
        assert page.status_code == 500 and "/nonexistent/model" in page.text
        assert "failed to load" in page.text and "refresh" not in page.text
        r = s.get(TWIN, params={"format": "csv"})
        assert r.status_code == 500 and "/nonexistent/model" in r.text
        failed = [json.loads(line) for line in s.lines if '"warmup_failed"' in line]
        assert len(failed) == 1 and "/nonexistent/model" in failed[0]["error"]
    finally:
        s.stop()


@pytest.mark.slow
def test_no_pages_never_loads_the_model(store, tmp_path):
    s = Serve(store, tmp_path / "work", "--no-pages")
    try:
        h = s.health()
        assert h["status"] == "ok" and "recommender" not in h
        assert s.get("/facilitator").status_code == 404
        time.sleep(1.0)
        assert not any(e and e.startswith("warmup") for e in s.events())
        assert not _mapped(s.proc.pid, "torch")
    finally:
        s.stop()


@pytest.mark.slow
def test_serve_get_waits_for_the_build(store, tmp_path):
    """`serve --get` answers one request without a port: a page waits for the build rather
    than printing the warming-up page."""
    exe = Path(sys.executable).with_name("peerlearn")
    r = subprocess.run([str(exe), "--set", f"store.path={json.dumps(str(store))}",
                        "--set", f"data.workdir={json.dumps(str(tmp_path))}", "serve", "--get", TWIN + ".csv"],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("twin_id,twin,rank,pilot_id,") and "narrative cosine" in r.stdout


# ---------------------------------------------------------------- the Warmup object

def test_warmup_states_and_health():
    go = threading.Event()
    log: list[str] = []
    w = Warmup(lambda: (go.wait(10), "matcher")[1])
    assert w.health() == {"state": "idle", "seconds": None, "error": None}
    w.start(log.append)
    w.start(log.append)  # once only
    with pytest.raises(WarmingUp):
        w()
    assert w.health()["state"] == "loading"
    go.set()
    assert w.wait(10)
    assert w() == "matcher" and w.health()["state"] == "ready"
    assert [json.loads(x)["event"] for x in log] == ["warmup_started", "warmup_ready"]


def test_warmup_failure_is_kept_and_reported():
    log: list[str] = []

    def boom():
        raise MemoryError("out of memory")

    w = Warmup(boom)
    w.start(log.append)
    assert w.wait(10)
    with pytest.raises(WarmupFailed, match="MemoryError: out of memory"):
        w()
    assert w.health()["error"] == "MemoryError: out of memory"
    assert json.loads(log[-1]) == {"event": "warmup_failed", "what": "recommender",
                                   "error": "MemoryError: out of memory", "seconds": json.loads(log[-1])["seconds"]}


def test_a_page_before_anything_started_the_build_starts_it():
    go = threading.Event()
    w = Warmup(lambda: (go.wait(10), "m")[1])
    with pytest.raises(WarmingUp):
        w()
    go.set()
    assert w.wait(10) and w() == "m"


def test_make_app_starts_the_warm_up_with_the_server(store):
    from recommender.settings import Settings
    from recommender.web import make_app

    app = make_app(store, Settings().with_overrides(['model.name="/nonexistent/model"']), log=lambda line: None)
    with TestClient(app, base_url="http://127.0.0.1:7878") as c:
        w = app.state.services["recommender"]
        assert w.state in ("loading", "failed")  # started by the lifespan, before any page
        assert w.wait(30)
        assert c.get("/healthz").json()["recommender"]["state"] == "failed"
        assert c.get(TWIN).status_code == 500
