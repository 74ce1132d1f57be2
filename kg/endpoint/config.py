"""The endpoint's settings (``EndpointConfig``), its error (``EndpointError``) and paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (kg/endpoint/config.py)
WEB_ASSETS = Path(__file__).resolve().parents[1] / "web_assets"  # kg/web_assets
YASGUI_PACKAGE = "@zazuko/yasgui"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class EndpointConfig:
    """How the endpoint listens and what it allows. Defaults are the safe ones."""

    host: str = "127.0.0.1"
    port: int = 7878                 # 0 picks a free port (``serve`` logs the one it got)
    query_timeout: float = 10.0      # seconds a query may run; then its worker is killed (503)
    max_results: int = 10000         # rows or triples; more -> 400 "result too large"
    max_body_bytes: int = 1_000_000  # request body (and GET query string) limit -> 413 / 414
    allow_update: bool = False       # SPARQL Update needs this AND the bearer token
    update_token: str | None = field(default=None, repr=False)  # a secret: never in a repr
    workers: int = 0                 # short-lane query worker processes; 0: one per core, 2 to 8
    query_slice: float = 0.5         # s of CPU a query may use in the short lane; then it moves aside
    long_queries: int = 0            # long queries running at once (503 beyond); 0: = workers
    long_queries_per_client: int = 1  # ... per client address (429 beyond)
    max_queued: int = 64             # queries waiting for a worker (503 beyond; 429 beyond a
    #                                  quarter of it from one client)
    worker_memory_mb: int | None = 2048  # address-space limit of a worker process
    isolate_network: bool = True     # move workers into an empty network namespace when possible
    allowed_hosts: tuple[str, ...] | None = None  # Host header names; None: loopback names when
    #                                               bound to loopback, anything otherwise


class EndpointError(Exception):
    """A request the endpoint answers with ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None,
                 note: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.note = note
