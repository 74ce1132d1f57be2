"""One client cannot stall the endpoint, and shutdown is clean: real servers over real sockets.

Clients are told apart by their remote address; on loopback each test client binds its own
127.0.0.x source address, as separate machines would have.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.kg.test_endpoint import CITY_Q, RUNAWAY, make_disk_store
from tests.kg.test_endpoint_live import LiveServer, _alive

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PEERLEARN = Path(sys.executable).with_name("peerlearn")


def _client(source: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=60)


def _wait_until(check, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_runaway_queries_from_one_client_do_not_stall_another(tmp_path):
    """Three runaways from two bad clients fill both workers; a third client is still served.

    Before the lanes, both workers stayed busy until the timeout: the good client's query waited
    for the runaways to be killed (or got 503 "busy").
    """
    timeout = 8.0  # long enough that the runaways overlap on a busy machine
    s = LiveServer(make_disk_store(tmp_path / "db"), workers=2, query_timeout=timeout)
    runaways: list[tuple[str, int, str, float]] = []  # (client, status, body, answered at)
    lock = threading.Lock()

    def bad(source: str):
        with _client(source) as c:
            r = c.get(s.sparql, params={"query": RUNAWAY})
        with lock:
            runaways.append((source, r.status_code, r.text.strip(), time.monotonic()))

    threads = [threading.Thread(target=bad, args=(src,)) for src in ("127.0.0.2", "127.0.0.2", "127.0.0.3")]
    try:
        for t in threads:
            t.start()
        assert _wait_until(lambda: s.health()["busy"] >= 2)  # the runaways hold both workers
        good = []
        with _client("127.0.0.1") as c:
            for _ in range(5):
                r = c.get(s.sparql, params={"query": CITY_Q})
                good.append((r.status_code, r.text))
        good_done = time.monotonic()
        for t in threads:
            t.join(30)
    finally:
        code = s.stop()
    assert [st for st, _ in good] == [200] * 5, good  # no 503 for the client that behaves
    assert all("Kranj" in body for _, body in good)
    timed_out = [r for r in runaways if r[1] == 503]
    assert timed_out and all(r[2] == f"query time limit of {timeout:g} s exceeded" for r in timed_out)
    assert good_done < min(r[3] for r in timed_out)  # answered while the runaways still ran
    by_client = {src: sorted(st for c, st, _, _ in runaways if c == src) for src in ("127.0.0.2", "127.0.0.3")}
    # one long query at a time per client: the second of 127.0.0.2 was stopped at its slice
    assert by_client == {"127.0.0.2": [429, 503], "127.0.0.3": [503]}, runaways
    refused = next(r for r in runaways if r[1] == 429)
    assert "at most 1 at a time" in refused[2]
    assert code == 0


def test_sigterm_to_the_process_group_finishes_running_queries_and_refuses_new_ones(tmp_path):
    """``peerlearn serve`` as a service manager stops it: SIGTERM to its whole process group.

    Before: the workers died with the signal (the running query got 500), a replacement was
    spawned during shutdown and failed (``worker_restart_failed``).
    """
    store = make_disk_store(tmp_path / "db")
    proc = subprocess.Popen(
        [str(PEERLEARN), "--set", f'store.path="{store}"', "serve", "--no-pages", "--port", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True)
    lines: list[str] = []
    url = None
    for line in proc.stdout:
        lines.append(line)
        if '"event": "listening"' in line:
            url = json.loads(line)["url"].rstrip("/")
            break
    assert url, "".join(lines)
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        assert _wait_until(lambda: _healthy(url))
        pids = httpx.get(url + "/healthz").json()["worker_pids"]
        out = {}
        slow = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:x:filler> "
                "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } }")  # ~1 s of counting

        def run():
            out["r"] = httpx.get(url + "/sparql", params={"query": slow}, timeout=30)

        t = threading.Thread(target=run)
        t.start()
        assert _wait_until(lambda: httpx.get(url + "/healthz").json()["busy"] > 0)
        keep_alive = httpx.Client(timeout=5)
        assert keep_alive.get(url + "/healthz").status_code == 200  # an idle keep-alive connection
        os.killpg(proc.pid, signal.SIGTERM)
        assert _wait_until(lambda: any('"event": "stopping"' in line for line in lines), 10), "".join(lines)
        with pytest.raises(httpx.ConnectError):  # no new connection once it is stopping
            httpx.get(url + "/healthz", timeout=2)
        with pytest.raises(httpx.TransportError):  # the idle connection was closed too
            keep_alive.get(url + "/healthz")
        t.join(30)
        assert out["r"].status_code == 200, out["r"].text  # the running query got its answer
        assert out["r"].json()["results"]["bindings"][0]["n"]["value"] == str(40 ** 4)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    time.sleep(0.2)
    log = "".join(lines)
    assert "worker_restart_failed" not in log and "Traceback" not in log, log
    assert '"event": "stopped"' in log
    assert not any(_alive(p) for p in pids)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_waiting_is_bounded_per_client_and_in_all(tmp_path):
    """A client cannot fill the queue: past its quarter it gets 429, past the total others get 503."""
    from kg.endpoint import EndpointError, QueryTimeout, WorkerPool

    pool = WorkerPool(make_disk_store(tmp_path / "db"), 1, isolate=False, slice=None, max_queued=4)
    job = {"op": "query", "query": RUNAWAY, "default_graphs": None, "named_graphs": None,
           "has_from": False, "select_format": "json", "graph_format": None, "max_results": 10}
    cheap = dict(job, query="ASK {}")
    outcomes: dict[str, object] = {}

    def run(name, j, client, timeout=20.0):
        try:
            outcomes[name] = pool.run(j, timeout, wait=20.0, client=client)[0]
        except (EndpointError, QueryTimeout) as e:
            outcomes[name] = getattr(e, "status", "timeout")

    try:
        pool.start()
        holder = threading.Thread(target=run, args=("runaway", job, "bad", 3.0))
        holder.start()
        assert _wait_until(lambda: pool.busy == 1)
        waiting = [threading.Thread(target=run, args=(c, cheap, c)) for c in ("b", "c", "d", "e")]
        for t in waiting:  # one each: the queue's total (4) is reached
            t.start()
            assert _wait_until(lambda n=waiting.index(t) + 1: pool.lanes()["queued"] == n)
        with pytest.raises(EndpointError) as per_client:
            pool.run(cheap, 5.0, client="b")  # b already has its one waiting query
        assert per_client.value.status == 429
        with pytest.raises(EndpointError) as full:
            pool.run(cheap, 5.0, client="f")
        assert full.value.status == 503 and "waiting" in full.value.message
        holder.join(30)
        for t in waiting:
            t.join(30)
    finally:
        pool.close()
    assert outcomes == {"runaway": "timeout", "b": "ok", "c": "ok", "d": "ok", "e": "ok"}
