"""The facilitator pages' matcher, built once in a background thread when the server starts.

Building it loads the embedding model and scores every pair (29-37 s and ~700 MB on the first
start with a fresh store), so ``peerlearn serve`` starts the build once the SPARQL endpoint is
up (``start``, called by the endpoint's lifespan) instead of on the first page. Until it is
done, ``get()`` raises ``WarmingUp`` at once (the pages answer 503 with ``Retry-After``);
if it fails, ``get()`` raises ``WarmupFailed`` with the error (the pages answer 500 with it),
``health()`` says so in ``/healthz`` and one ``warmup_failed`` log line gives the reason.
A failed build is not retried: fix the cause and restart the server.

``PEERLEARN_WARMUP_GATE`` (tests only): a file path; the build waits (at most 300 s) until
that file exists, so a test sees the loading state for as long as it needs and then the real
build.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Warmup", "WarmingUp", "WarmupFailed"]

GATE_ENV = "PEERLEARN_WARMUP_GATE"
GATE_MAX_WAIT = 300.0


class WarmingUp(Exception):
    """The matcher is still being built; ``since`` is how long ago that started (s)."""

    def __init__(self, since: float):
        super().__init__(f"the recommender is warming up (loading the embedding model, started {since:.0f} s ago)")
        self.since = since


class WarmupFailed(Exception):
    def __init__(self, error: str):
        super().__init__(f"the recommender failed to load: {error}")
        self.error = error


def _default_log(line: str) -> None:
    logging.getLogger("peerlearn.web").info(line)


class Warmup:
    """``build()`` run once in a daemon thread; a callable that returns its result when ready.

    States: ``idle`` (not started), ``loading``, ``ready``, ``failed``.
    """

    def __init__(self, build: Callable[[], Any], *, name: str = "recommender"):
        self._build = build
        self.name = name
        self.state = "idle"
        self.error: str | None = None
        self.started: float | None = None
        self.seconds: float | None = None
        self._value: Any = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._log: Callable[[str], None] = _default_log

    # -- life cycle
    def start(self, log: Callable[[str], None] | None = None) -> None:
        """Start the build in a background thread (once; later calls do nothing)."""
        with self._lock:
            if log is not None:
                self._log = log
            if self.state != "idle":
                return
            self.state, self.started = "loading", time.monotonic()
        self._emit({"event": "warmup_started", "what": self.name})
        threading.Thread(target=self._run, name=f"warmup-{self.name}", daemon=True).start()

    def wait_for(self) -> Any:
        """The built value, waiting for the build (started if need be): ``serve --get``."""
        self.start()
        self._done.wait()
        return self()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the build has finished (ready or failed) within ``timeout`` s."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        try:
            _wait_for_gate()
            value = self._build()
        except BaseException as e:  # noqa: BLE001 - any failure must show, not hang
            error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            with self._lock:
                self.state, self.error = "failed", error
                self.seconds = time.monotonic() - (self.started or time.monotonic())
            self._emit({"event": "warmup_failed", "what": self.name, "error": error,
                        "seconds": round(self.seconds, 1)})
        else:
            with self._lock:
                self._value, self.state = value, "ready"
                self.seconds = time.monotonic() - (self.started or time.monotonic())
            self._emit({"event": "warmup_ready", "what": self.name, "seconds": round(self.seconds, 1)})
        finally:
            self._done.set()

    def _emit(self, entry: dict) -> None:
        try:
            self._log(json.dumps(entry))
        except Exception:  # noqa: BLE001 - a broken log must not break the build
            pass

    # -- use
    def __call__(self) -> Any:
        """The built value; raises ``WarmingUp`` (starting the build if nothing did) or ``WarmupFailed``."""
        if self.state == "idle":
            self.start()
        with self._lock:
            if self.state == "ready":
                return self._value
            if self.state == "failed":
                raise WarmupFailed(self.error or "unknown error")
            raise WarmingUp(time.monotonic() - (self.started or time.monotonic()))

    def health(self) -> dict:
        """For ``/healthz``: state, seconds since the start (or the build's duration), error."""
        with self._lock:
            elapsed = self.seconds if self.seconds is not None else \
                (time.monotonic() - self.started if self.started is not None else None)
            return {"state": self.state, "seconds": None if elapsed is None else round(elapsed, 1),
                    "error": self.error}


def _wait_for_gate() -> None:
    gate = os.environ.get(GATE_ENV)
    if not gate:
        return
    deadline = time.monotonic() + GATE_MAX_WAIT
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
