"""Shared fixtures: the tiny hand-checkable dataset, paths to the real shared data."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini"
SHARED = Path(os.environ.get("PEERLEARN_SHARED_DATA", ROOT.parent / "shared" / "data"))
CONFORMANCE = Path(os.environ.get("PEERLEARN_CONFORMANCE", ROOT.parent / "shared" / "conformance"))


@pytest.fixture
def mini_dir(tmp_path) -> Path:
    """A writable copy of the mini dataset (5 cities, 3 pilots, 3 twins)."""
    d = tmp_path / "mini"
    shutil.copytree(MINI, d)
    return d


@pytest.fixture(scope="session")
def mini_store():
    """An in-memory Oxigraph store built from the mini dataset."""
    from kg import build

    return build([MINI], backend="oxigraph")


@pytest.fixture(scope="session")
def mini_catalog(mini_store):
    from kg import catalog

    return catalog(mini_store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def oxigraph_server(tmp_path):
    """A real standalone Oxigraph SPARQL server (PyPI `oxigraph`) on a loopback port."""
    exe = Path(sys.executable).with_name("oxigraph")
    if not exe.exists():
        pytest.skip("the `oxigraph` server (pip package oxigraph) is not installed")
    port = free_port()
    proc = subprocess.Popen([str(exe), "serve", "--location", str(tmp_path / "oxdb"),
                             "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("oxigraph server did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory):
    """A real Virtuoso Open Source (Debian `virtuoso-opensource`) on loopback ports, the anonymous
    SPARQL user granted SPARQL_UPDATE, Debian's row cap (ResultSetMaxRows 10000); see
    scripts/virtuoso_local.py. One per test session: it takes a few seconds to create its
    database. Yields the /sparql URL. Skipped when Virtuoso is not installed, unless
    PEERLEARN_REQUIRE_VIRTUOSO=1 (then it fails), as in CI."""
    from scripts import virtuoso_local

    if virtuoso_local.executables() is None:
        reason = "Virtuoso (virtuoso-t and isql-vt, Debian package virtuoso-opensource) is not installed"
        if os.environ.get("PEERLEARN_REQUIRE_VIRTUOSO") == "1":
            pytest.fail(f"{reason} (PEERLEARN_REQUIRE_VIRTUOSO=1)")
        pytest.skip(reason)
    server = virtuoso_local.start(tmp_path_factory.mktemp("virtuoso"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def listener():
    """A loopback socket that records every connection made to it (a server must never call out)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    hits, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            hits.append(conn.recv(200))
            conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1], hits
    stop.set()
    t.join(2)
    srv.close()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the real `peerlearn` console script."""
    exe = Path(sys.executable).with_name("peerlearn")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, input=stdin,
                          capture_output=True, text=True, timeout=600)


class LiveServer:
    """A server subprocess (``peerlearn serve`` or ``kg.endpoint.serve``) on a free loopback port:
    its output lines are collected in ``lines``, ``url`` is taken from its ``listening`` log line."""

    def __init__(self, cmd: list[str], *, cwd: Path, env: dict | None = None, wait: float = 60):
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        self.lines: list[str] = []
        self.url: str | None = None
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if '"event": "listening"' in line:
                    self.url = json.loads(line)["url"].rstrip("/")
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(wait) or self.url is None:
            self.stop()
            raise RuntimeError("the server did not start:\n" + "\n".join(self.lines))

    def stop(self, wait: float = 30) -> None:
        """SIGTERM (the server finishes running requests), then kill if it takes too long."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
