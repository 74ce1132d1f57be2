"""The worker pool: query worker processes in two lanes, deadlines, and their start and stop.

Over 500 lines: ``WorkerPool`` is one class whose lanes, deadlines and replacement of workers
share one lock and one set of counters; splitting it would spread that invariant over modules.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from kg.endpoint.config import ROOT, EndpointError
from kg.endpoint.fairqueue import _CLIENT, FairQueue
from kg.endpoint.worker import _FRAME, _send_frame
from kg.errors import StoreError


class QueryTimeout(Exception):
    pass


class _Worker:
    __slots__ = ("proc", "info", "generation", "lane", "client")

    def __init__(self, proc: subprocess.Popen, info: dict, generation: int):
        self.proc, self.info, self.generation = proc, info, generation
        self.lane = "new"  # "short", "long", "spare", or "gone" once retired
        self.client: str | None = None  # whose query a short-lane worker runs


def default_workers() -> int:
    """Short-lane query workers when none are configured: one per usable core, 2 to 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 2
    return max(2, min(8, cores))



_LONG_NICE = 19  # a worker moved to the long lane: niceness 19 and SCHED_IDLE (short lane: 0)


class WorkerPool:
    """Query worker processes over the on-disk store at ``path``; thread-safe, loop-free.

    Two lanes keep cheap queries fast while expensive ones run (see the docstring of ``kg.endpoint``):
    ``size`` short-lane workers take every query, handed out through a FairQueue (``max_queued``
    waiting at most, a quarter of that per client, each for at most ``wait`` s); when several
    clients wait, those holding less than half of the workers go first. A query still
    running after ``slice`` s moves aside: its worker leaves the short lane for the long one
    (reniced) and one of ``spares`` pre-started workers takes its place; a new spare starts in
    the background. The long query runs on to the timeout; its worker is retired afterwards. At
    most ``long_limit`` long queries run at once (503 beyond), ``long_per_client`` per client
    (429 beyond): such a query is stopped at its slice. ``slice=None``: queries keep their
    worker until the timeout. ``run(job)`` blocks (call it from a thread).
    """

    def __init__(self, path: str | os.PathLike, size: int = 2, *, memory_mb: int | None = None,
                 isolate: bool = True, log: Callable[[str], None] | None = None,
                 slice: float | None = 0.5, long_limit: int | None = None, long_per_client: int = 1,
                 max_queued: int = 64, spares: int = 2):
        self.path = str(path)
        self.size = max(1, int(size))
        self.memory_mb = memory_mb
        self.isolate = isolate
        self.slice = slice
        self.long_limit = max(1, int(long_limit or self.size))
        self.long_per_client = max(1, int(long_per_client))
        self.short_per_client = max(1, self.size // 2)
        self.spares = max(0, int(spares))
        self._log = log or (lambda line: None)
        self._queue = FairQueue(max_queued, max(1, max_queued // 4))
        self._idle: list[_Worker] = []               # short lane, free
        self._short: set[_Worker] = set()            # short lane, free or busy
        self._spare: list[_Worker] = []
        self._long: dict[_Worker, tuple[str, float]] = {}  # -> (client, deadline)
        self._long_by_client: dict[str, int] = {}
        self._short_by_client: dict[str, int] = {}
        self._pending = 0                            # spawns in progress
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._started = False
        self.closed = False
        self.draining = False   # stopping: queries in flight finish, no worker is started any more
        self.generation = 0
        self.stats: dict[str, Any] = {"triples": None, "graphs": [], "isolated": None}
        self.restarts = 0
        self._signature = _dir_signature(self.path)
        self._finalizer = weakref.finalize(self, _kill_all, self._procs)

    # -- life cycle
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        spawned: list[_Worker | BaseException] = []

        def one():
            try:
                spawned.append(self._spawn())
            except BaseException as e:  # reported below
                spawned.append(e)

        threads = [threading.Thread(target=one) for _ in range(self.size + self.spares)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [w for w in spawned if isinstance(w, BaseException)]
        if errors:
            self.close()
            raise StoreError(f"query workers failed to start: {errors[0]}")
        with self._lock:
            for w in spawned:
                assert isinstance(w, _Worker)
                if len(self._short) < self.size:
                    w.lane = "short"
                    self._short.add(w)
                    self._idle.append(w)
                else:
                    w.lane = "spare"
                    self._spare.append(w)
            self._dispatch()

    def drain(self) -> None:
        """The server is stopping: workers in flight finish their queries, none is started to
        replace one that ends (a SIGTERM to the process group ends the spare ones too, and a
        replacement started then fails)."""
        with self._lock:
            self.draining = True

    def close(self) -> None:
        """Stop every worker; queries waiting for one get 503. No worker starts afterwards."""
        with self._lock:
            self.closed = True
            while (waiter := self._queue.pop()) is not None:
                waiter.event.set()
            self._idle.clear()
        _kill_all(self._procs)

    def pids(self) -> list[int]:
        return sorted(self._procs)

    @property
    def busy(self) -> int:
        """Workers running a query (either lane)."""
        return len(self._short) - len(self._idle) + len(self._long)

    def lanes(self) -> dict[str, int]:
        with self._lock:
            return {"busy": self.busy, "long_queries": len(self._long), "spare_workers": len(self._spare),
                    "queued": len(self._queue)}

    def _spawn(self, mode: str = "worker", *, stats: bool = True) -> _Worker:
        args = json.dumps({"path": self.path, "mode": mode, "isolate": self.isolate,
                           "memory_mb": self.memory_mb, "parent": os.getpid(), "stats": stats})
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen([sys.executable, "-c", _WORKER_BOOT, args, str(ROOT / "kg")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        self._procs[proc.pid] = proc
        try:
            reply = self._recv(proc, time.monotonic() + 60)
        except (TimeoutError, EOFError, OSError, ValueError) as e:  # OSError/ValueError: closed meanwhile
            self._kill(proc)
            raise StoreError(f"a query worker did not start ({type(e).__name__})") from None
        if reply[0] != "ready":
            self._kill(proc)
            raise StoreError(reply[2])
        info = reply[1]
        self.stats.update({k: info[k] for k in ("triples", "graphs", "isolated") if k in info})
        return _Worker(proc, info, self.generation)

    def _kill(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError):
            proc.kill()
        for f in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                f.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self._procs.pop(proc.pid, None)

    # -- lanes (the _lock is held by the callers of _dispatch, _hold, _unhold)
    def _dispatch(self) -> None:
        """Free short-lane workers to waiting queries, in fair order, within the client limit."""
        while self._idle:
            # clients under their share first; the rest when none of those waits (no worker idles)
            waiter = self._queue.pop(self._may_hold) or self._queue.pop()
            if waiter is None:
                return
            w = self._idle.pop()
            self._hold(w, waiter.client)
            waiter.worker = w
            waiter.event.set()

    def _may_hold(self, client: str) -> bool:
        return self._short_by_client.get(client, 0) < self.short_per_client

    def _hold(self, w: _Worker, client: str) -> None:
        w.client = client
        self._short_by_client[client] = self._short_by_client.get(client, 0) + 1

    def _unhold(self, w: _Worker) -> None:
        if w.client is not None:
            left = self._short_by_client.pop(w.client) - 1
            if left:
                self._short_by_client[w.client] = left
            w.client = None

    def _acquire(self, client: str, give_up: float) -> _Worker:
        while True:
            waiter = None
            with self._lock:
                if self.closed:
                    raise _closing()
                if self._idle and not self._queue:
                    w = self._idle.pop()
                    self._hold(w, client)
                else:
                    waiter, why = self._queue.push(client)
                    if why == "client":
                        raise EndpointError(429, f"this client already has {self._queue.per_client} "
                                                 "queries waiting; send fewer at once",
                                            headers={"Retry-After": "1"}, note="busy")
                    if why == "full":
                        raise EndpointError(503, f"{len(self._queue)} queries are waiting already; "
                                                 "try again shortly", headers={"Retry-After": "1"}, note="busy")
                    self._dispatch()
            if waiter is not None:
                waiter.event.wait(max(0.0, give_up - time.monotonic()))
                with self._lock:
                    w = waiter.worker
                    if w is None:
                        self._queue.remove(waiter)
                        if self.closed:
                            raise _closing()
                        raise EndpointError(503, f"all {self.size} query workers are busy; try again "
                                                 "shortly", headers={"Retry-After": "1"}, note="busy")
            if w.proc.poll() is None:
                return w
            self._retire(w, failed=True)  # died while idle (e.g. the OOM killer): take another

    def _release(self, w: _Worker) -> None:
        """After a query: a short-lane worker serves on; a long-lane one is retired."""
        with self._lock:
            if w.lane == "short" and not self.closed and w.proc.poll() is None:
                self._unhold(w)
                self._idle.append(w)
                self._dispatch()
                return
        self._retire(w, failed=w.lane == "short" and not self.closed)

    def _retire(self, w: _Worker, *, failed: bool) -> None:
        """Stop a worker (idempotent) and top the short lane and the spares up again."""
        with self._lock:
            lane, w.lane = w.lane, "gone"
            if lane == "gone":
                return
            if lane == "short":
                self._short.discard(w)
                self._unhold(w)
                if w in self._idle:
                    self._idle.remove(w)
            elif lane == "long":
                client, _ = self._long.pop(w)
                left = self._long_by_client.pop(client) - 1
                if left:
                    self._long_by_client[client] = left
            elif lane == "spare":
                self._spare.remove(w)
            if failed:
                self.restarts += 1
        self._kill(w.proc)
        self._top_up()

    def _move_aside(self, w: _Worker, client: str, deadline: float) -> None:
        """The query on ``w`` outlived its slice: to the long lane, or stopped (429 / 503)."""
        refusal = None
        with self._lock:
            mine = self._long_by_client.get(client, 0)
            if self.closed:
                refusal = _closing()
            elif mine >= self.long_per_client:
                ends = [d for c, d in self._long.values() if c == client]
                wait = max(1, int(max(ends) - time.monotonic() + 1)) if ends else 1
                refusal = EndpointError(
                    429, f"this query ran past {self.slice:g} s while this client already runs "
                         f"{mine} long quer{'y' if mine == 1 else 'ies'} (at most {self.long_per_client} "
                         "at a time); send it again when that one has finished",
                    headers={"Retry-After": str(wait)}, note="long refused")
            elif len(self._long) >= self.long_limit:
                refusal = EndpointError(
                    503, f"this query ran past {self.slice:g} s and {len(self._long)} long queries "
                         "are running already (the endpoint's limit); try again shortly",
                    headers={"Retry-After": "2"}, note="long refused")
            else:
                self._short.discard(w)
                self._unhold(w)
                w.lane = "long"
                self._long[w] = (client, deadline)
                self._long_by_client[client] = mine + 1
        if refusal is not None:
            self._retire(w, failed=True)
            raise refusal
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, w.proc.pid, _LONG_NICE)
            os.sched_setscheduler(w.proc.pid, os.SCHED_IDLE, os.sched_param(0))
        self._top_up()

    def _top_up(self) -> None:
        """Spares fill gaps in the short lane; spawn what is missing in the background."""
        with self._lock:
            if self.closed or self.draining or not self._started:
                return
            while len(self._short) < self.size and self._spare:
                w = self._spare.pop()
                w.lane = "short"
                self._short.add(w)
                self._idle.append(w)
            self._dispatch()  # also for a client whose share of the short lane just freed up
            need = max(0, self.size + self.spares - len(self._short) - len(self._spare) - self._pending)
            self._pending += need
        for _ in range(need):
            threading.Thread(target=self._spawn_one, daemon=True).start()

    def _spawn_one(self) -> None:
        w = None
        for attempt in range(3):
            if self.closed or self.draining:
                break
            try:
                w = self._spawn(stats=False)
                break
            except StoreError as e:
                if self.closed or self.draining:  # stopping: no failure to report
                    break
                self._log(json.dumps({"event": "worker_restart_failed", "error": str(e)}))
                time.sleep(0.5 * (attempt + 1))
        with self._lock:
            self._pending -= 1
            keep = w is not None and not self.closed
            if keep:
                w.lane = "spare"
                self._spare.append(w)
        if keep:
            self._top_up()
        elif w is not None:
            self._kill(w.proc)

    # -- talking to a worker
    def _send(self, proc: subprocess.Popen, job: dict) -> None:
        _send_frame(proc.stdin, job)

    def _recv(self, proc: subprocess.Popen, deadline: float):
        fd = proc.stdout.fileno()
        head = _read_exact(fd, _FRAME.size, deadline)
        (n,) = _FRAME.unpack(head)
        return pickle.loads(_read_exact(fd, n, deadline))

    def _call(self, w: _Worker, job: dict, deadline: float):
        self._send(w.proc, job)
        return self._recv(w.proc, deadline)

    def run(self, job: dict, timeout: float, wait: float | None = None, *, client: str | None = None) -> tuple:
        """Run one job; returns the worker's reply or raises QueryTimeout / EndpointError.

        ``client`` (default: the remote address of the request being handled) keys the fair
        queue and the per-client limit of long queries.
        """
        self.start()
        self._check_store_changed()
        client = _CLIENT.get() if client is None else client
        w = self._acquire(client, time.monotonic() + (timeout if wait is None else wait))
        try:
            if w.generation != self.generation:
                gen = self.generation
                reply = self._call(w, {"op": "reopen"}, time.monotonic() + 60)
                w.generation = gen
                if reply[0] == "ok":
                    self.stats.update(reply[1])
            start = time.monotonic()
            cpu0 = _cpu_seconds(w.proc.pid) if self.slice is not None else None
            self._send(w.proc, job)
            if self.slice is not None and self.slice < timeout:
                self._watch_slice(w, client, start, start + timeout, cpu0)
            reply = self._recv(w.proc, start + timeout)
        except TimeoutError:
            self._retire(w, failed=True)
            raise QueryTimeout() from None
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):
            try:
                code = w.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
            closing = self.closed
            self._retire(w, failed=not closing)
            if closing:
                raise _closing() from None
            if code is not None and code in (-signal.SIGABRT, -signal.SIGKILL, -signal.SIGSEGV):
                raise EndpointError(503, "the query needs more memory than a worker may use "
                                         f"(worker_memory_mb={self.memory_mb})", note="oom") from None
            raise EndpointError(500, f"the query worker stopped unexpectedly (exit {code})",
                                note="crash") from None
        except BaseException:
            self._retire(w, failed=True)  # e.g. refused at its slice: already retired
            raise
        self._release(w)
        return reply

    def _watch_slice(self, w: _Worker, client: str, start: float, deadline: float, cpu0: float | None) -> None:
        """Move the query aside once it has used ``slice`` s of CPU (so a cheap query that is
        only slow because the machine is busy stays), or 4 slices of wall time (I/O-bound)."""
        fd = w.proc.stdout.fileno()
        check = start + self.slice
        while not _readable(fd, min(check, deadline)):
            now = time.monotonic()
            if now >= deadline:
                return  # _recv raises TimeoutError
            cpu = _cpu_seconds(w.proc.pid)
            used = None if cpu is None or cpu0 is None else cpu - cpu0
            if used is None or used >= self.slice or now - start >= 4 * self.slice:
                self._move_aside(w, client, deadline)
                return
            check = now + max(0.05, self.slice - used)

    def _check_store_changed(self) -> None:
        """A store directory replaced (``peerlearn build``) or written to: workers re-open it."""
        sig = _dir_signature(self.path)
        if sig != self._signature:
            with self._lock:
                if sig != self._signature:
                    self._signature = sig
                    self.generation += 1

    def update(self, text: str, timeout: float, base_iri: str | None = None) -> dict:
        """Run a SPARQL Update in a one-shot writer process; workers re-open afterwards."""
        with self._write_lock:
            w = self._spawn("writer")
            try:
                reply = self._call(w, {"op": "update", "update": text, "base_iri": base_iri},
                                   time.monotonic() + timeout)
            except TimeoutError:
                raise QueryTimeout() from None
            except (EOFError, OSError):
                raise EndpointError(500, "the update writer stopped unexpectedly", note="crash") from None
            finally:
                self._kill(w.proc)
            if reply[0] == "ok":
                self.stats.update(reply[1])
                with self._lock:
                    self.generation += 1
                    self._signature = _dir_signature(self.path)
                return reply[1]
            raise EndpointError(reply[1], reply[2])


# A worker imports kg.endpoint.worker without running kg/__init__ (rdflib and the rest of the
# package) or kg/endpoint/__init__ (starlette and the server side): those imports would be most
# of a worker's start-up cost, paid again for every replacement.
_WORKER_BOOT = """
import os, sys, types
kg = types.ModuleType("kg")
kg.__path__ = [sys.argv[2]]
sys.modules["kg"] = kg
endpoint = types.ModuleType("kg.endpoint")
endpoint.__path__ = [os.path.join(sys.argv[2], "endpoint")]
sys.modules["kg.endpoint"] = kg.endpoint = endpoint
from kg.endpoint.worker import _worker_main
_worker_main()
"""


def _closing() -> EndpointError:
    return EndpointError(503, "the endpoint is shutting down", headers={"Connection": "close"},
                         note="closing")


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def _readable(fd: int, deadline: float) -> bool:
    """Has the worker started answering by ``deadline``?"""
    remaining = deadline - time.monotonic()
    ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
    return bool(ready)


def _dir_signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _kill_all(procs: dict[int, subprocess.Popen]) -> None:
    for proc in list(procs.values()):
        with contextlib.suppress(OSError):
            proc.kill()
    for pid, proc in list(procs.items()):
        for f in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                f.close()
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            proc.wait(timeout=5)
        procs.pop(pid, None)


def _snapshot(store) -> str:
    """Copy a kg.store.Store into a private on-disk Oxigraph store; returns its directory."""
    import pyoxigraph as ox

    tmp = tempfile.mkdtemp(prefix="peerlearn-endpoint-")
    target = os.path.join(tmp, "db")
    snap = ox.Store(target)
    raw = getattr(store, "raw", None)
    if isinstance(raw, ox.Store):
        snap.bulk_load(raw.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
    else:
        for name in store.graph_names():
            data = store.graph(name).serialize(format="nt", encoding="utf-8")
            snap.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(name)))
    snap.flush()
    del snap
    return target
