"""The fair queue of queries waiting for a short-lane worker, and the client each request is for."""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable

# The client of the request being handled (its remote address), set by _Frontdoor; the pool's
# fair queue and its per-client limit of long queries key on it.
_CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("peerlearn_endpoint_client", default="")


class _Waiter:
    __slots__ = ("client", "event", "worker")

    def __init__(self, client: str):
        self.client, self.event, self.worker = client, threading.Event(), None


class FairQueue:
    """Queries waiting for a short-lane worker: one line per client, the lines served in turn.

    A client that sends many queries at once waits behind its own queries only. ``limit`` bounds
    the waiting queries in all, ``per_client`` those of one client. Not thread-safe: WorkerPool
    calls it under its lock.

    >>> q = FairQueue(limit=10, per_client=3)
    >>> [q.push(c)[0].client for c in "aaab"]
    ['a', 'a', 'a', 'b']
    >>> q.push("a")
    (None, 'client')
    >>> "".join(q.pop().client for _ in range(3))
    'aba'
    >>> q.pop(lambda client: client != "a") is None  # a client at its limit is skipped
    True
    """

    def __init__(self, limit: int, per_client: int):
        self.limit, self.per_client = max(1, limit), max(1, per_client)
        self._lines: dict[str, deque[_Waiter]] = {}
        self._turns: deque[str] = deque()  # clients with waiting queries, next to serve first
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def push(self, client: str) -> tuple[_Waiter | None, str | None]:
        """(a new waiter, None), or (None, "full" / "client") when a bound is reached."""
        line = self._lines.get(client)
        if line is not None and len(line) >= self.per_client:
            return None, "client"
        if self.n >= self.limit:
            return None, "full"
        if line is None:
            line = self._lines[client] = deque()
            self._turns.append(client)
        w = _Waiter(client)
        line.append(w)
        self.n += 1
        return w, None

    def pop(self, eligible: Callable[[str], bool] | None = None) -> _Waiter | None:
        """The oldest waiter of the next client in turn (skipping those ``eligible`` refuses)."""
        client = next((c for c in self._turns if eligible is None or eligible(c)), None)
        if client is None:
            return None
        self._turns.remove(client)
        line = self._lines[client]
        w = line.popleft()
        self.n -= 1
        if line:
            self._turns.append(client)
        else:
            del self._lines[client]
        return w

    def remove(self, w: _Waiter) -> None:
        line = self._lines.get(w.client)
        if line is None or w not in line:
            return
        line.remove(w)
        self.n -= 1
        if not line:
            del self._lines[w.client]
            self._turns.remove(w.client)
