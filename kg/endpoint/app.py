"""The endpoint as an app: the query UI, ``/healthz``, the front door (Host check, headers, log),
``create_app``, ``mount_routes`` and ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import os
import shutil
import signal
import socket
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kg.endpoint.config import LOOPBACK_HOSTS, ROOT, WEB_ASSETS, YASGUI_PACKAGE, EndpointConfig
from kg.endpoint.fairqueue import _CLIENT
from kg.endpoint.pool import WorkerPool, _snapshot, default_workers
from kg.endpoint.protocol import EndpointState, _sparql
from kg.errors import ConfigError, StoreError


async def _healthz(request: Request) -> Response:
    state: EndpointState = request.app.state.endpoint
    try:
        await run_in_threadpool(state.pool.start)
    except StoreError as e:
        return JSONResponse({"status": "error", "error": str(e)}, status_code=503)
    pool = state.pool
    return JSONResponse({
        "status": "ok",
        "triples": pool.stats.get("triples"),
        "graphs": len(pool.stats.get("graphs") or []),
        "workers": pool.size, "worker_pids": pool.pids(), **pool.lanes(),
        "worker_restarts": pool.restarts,
        "network_isolated": pool.stats.get("isolated"),
        "update_enabled": state.config.allow_update,
        "ui_assets": (state.assets_dir / "yasgui.min.js").is_file(),
        "uptime_s": round(time.time() - state.started, 1),
        **{name: svc.health() for name, svc in request.app.state.services.items()},
    })


_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")


def _example_tabs(examples: list) -> list[dict]:
    tabs = []
    for ex in examples:
        head = [f"# {ex.title}"]
        head += [f"# {line}" for line in (ex.description or "").splitlines() if line.strip()]
        if ex.parameters:
            head.append("# Parameters (bind with VALUES to narrow the answer):")
            head += [f"#   ?{var}: {what}" for var, what in ex.parameters.items()]
        tabs.append({"name": ex.name, "title": ex.title, "description": ex.description,
                     "parameters": dict(ex.parameters), "query": "\n".join(head) + "\n" + ex.text.strip() + "\n"})
    return tabs


async def _ui(request: Request) -> Response:
    state: EndpointState = request.app.state.endpoint
    tabs = _example_tabs(state.examples)
    installed = (state.assets_dir / "yasgui.min.js").is_file()
    data = json.dumps(tabs, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    if installed:
        page = (WEB_ASSETS / "index.html").read_text(encoding="utf-8")
        page = page.replace("{{EXAMPLES_JSON}}", data).replace("{{N_EXAMPLES}}", str(len(tabs)))
        return HTMLResponse(page, headers={"Content-Security-Policy": _CSP})
    items = "".join(
        f'<li><a href="sparql?query={html.escape(_quote(t["query"]))}">{html.escape(t["title"])}</a>'
        f" ({html.escape(t['name'])})</li>" for t in tabs)
    page = (WEB_ASSETS / "missing_assets.html").read_text(encoding="utf-8")
    page = page.replace("{{ASSETS_DIR}}", html.escape(str(state.assets_dir))).replace("{{EXAMPLES}}", items)
    return HTMLResponse(page, headers={"Content-Security-Policy": _CSP})


class _OptionalStatic:
    """StaticFiles over a directory that may not exist (yet): 404 until it does."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._files: StaticFiles | None = None

    async def __call__(self, scope, receive, send):
        if self._files is None:
            if not self.directory.is_dir():
                await Response("not installed (make assets)\n", status_code=404,
                               media_type="text/plain; charset=utf-8")(scope, receive, send)
                return
            self._files = StaticFiles(directory=self.directory)
        await self._files(scope, receive, send)


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


class _Frontdoor:
    """ASGI middleware: Host check, security headers, one JSON log line per request."""

    def __init__(self, app, log: Callable[[str], None], allowed_hosts: tuple[str, ...] | None):
        self.app = app
        self.log = log
        self.allowed = None if allowed_hosts is None or "*" in allowed_hosts else \
            {h.lower().strip("[]") for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, sent = [0], [0]

        async def _send(msg):
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
                headers = list(msg.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                msg = {**msg, "headers": headers}
            elif msg["type"] == "http.response.body":
                sent[0] += len(msg.get("body", b""))
            await send(msg)

        client = scope.get("client") or ("", 0)
        client_token = _CLIENT.set(client[0])
        try:
            if self.allowed is not None and _host_name(scope) not in self.allowed:
                scope.setdefault("state", {})["log_note"] = "host refused"
                await Response("invalid Host header\n", status_code=400,
                               media_type="text/plain; charset=utf-8")(scope, receive, _send)
            else:
                await self.app(scope, receive, _send)
        finally:
            _CLIENT.reset(client_token)
            entry = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "method": scope.get("method"), "path": scope.get("path"),
                     "status": status[0] or 500, "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                     "bytes": sent[0], "client": client[0]}
            note = (scope.get("state") or {}).get("log_note")
            if note:
                entry["note"] = note
            with contextlib.suppress(Exception):
                self.log(json.dumps(entry))


def _host_name(scope) -> str:
    for k, v in scope.get("headers", []):
        if k == b"host":
            host = v.decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1:].split("]", 1)[0]
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _default_log(line: str) -> None:
    logging.getLogger("peerlearn.endpoint").info(line)


def create_app(store_path: str | os.PathLike | None = None, config: EndpointConfig = EndpointConfig(), *,
               examples: Mapping[str, Any] | Iterable[Any] | None = None, store=None,
               extra_routes: Sequence[BaseRoute] = (), log: Callable[[str], None] | None = None,
               assets_dir: str | os.PathLike | None = None, services: Mapping[str, Any] | None = None) -> Starlette:
    """The endpoint as a Starlette app (workers start with the app's lifespan or on first use).

    ``store_path``: an on-disk Oxigraph store, opened read-only by the workers; or ``store``: a
    ``kg.store.Store`` whose content is copied into a private temporary store. ``examples``:
    ExampleQuery objects (a dict or a list), default ``kg.examples.EXAMPLES``. ``extra_routes``:
    more Starlette routes on the same app (``mount_routes`` adds them later). ``assets_dir``:
    where YASGUI's ``build/`` is (default ``node_modules/@zazuko/yasgui/build`` at the repo root,
    or ``$PEERLEARN_YASGUI_DIR``). ``services``: name -> object with ``start(log)``, called once
    the workers are up (it must not block), and ``health()``, a dict shown under ``name`` in
    ``/healthz`` (the facilitator pages' warm-up).
    """
    if (store_path is None) == (store is None):
        raise ConfigError("create_app needs exactly one of store_path and store")
    if config.allow_update and not config.update_token:
        raise ConfigError("allow_update needs an update_token (clients send it as a bearer token)")
    if config.query_timeout <= 0 or config.max_results < 1 or config.max_body_bytes < 1:
        raise ConfigError("query_timeout, max_results and max_body_bytes must be positive")
    if min(config.workers, config.long_queries) < 0 or config.query_slice <= 0 or \
            config.long_queries_per_client < 1 or config.max_queued < 1:
        raise ConfigError("workers and long_queries must be 0 (automatic) or more; query_slice, "
                          "long_queries_per_client and max_queued positive")
    log = log or _default_log
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if store is not None:
        path = _snapshot(store)
        tmp_root = os.path.dirname(path)
        cleanup = lambda: shutil.rmtree(tmp_root, ignore_errors=True)  # noqa: E731
    else:
        path = str(store_path)
        if not Path(path).is_dir():
            raise StoreError(f"{path}: no store here; run `peerlearn build` first")
    if examples is None:
        from kg.examples import EXAMPLES

        examples = EXAMPLES
    example_list = list(examples.values()) if isinstance(examples, Mapping) else list(examples)
    if assets_dir is None:
        assets_dir = os.environ.get("PEERLEARN_YASGUI_DIR") or ROOT / "node_modules" / YASGUI_PACKAGE / "build"
    assets = Path(assets_dir)
    pool = WorkerPool(path, config.workers or default_workers(), memory_mb=config.worker_memory_mb,
                      isolate=config.isolate_network, log=log, slice=config.query_slice,
                      long_limit=config.long_queries or None,
                      long_per_client=config.long_queries_per_client, max_queued=config.max_queued)
    state = EndpointState(pool, config, example_list, assets, cleanup)
    weakref.finalize(state, cleanup)

    @asynccontextmanager
    async def lifespan(app):
        import anyio.to_thread

        # Every running or waiting query holds a thread: room for all of them, and for pages.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens,
                                   pool.size + pool.long_limit + config.max_queued + 16)
        await run_in_threadpool(pool.start)
        log(json.dumps({"event": "workers_started", "workers": pool.size, "pids": pool.pids(),
                        "triples": pool.stats.get("triples"),
                        "network_isolated": pool.stats.get("isolated")}))
        for svc in app.state.services.values():
            svc.start(log)
        try:
            yield
        finally:
            state.close()

    routes: list[BaseRoute] = [
        Route("/", _ui, methods=["GET"], name="ui"),
        Route("/sparql", _sparql, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
              name="sparql"),
        Route("/healthz", _healthz, methods=["GET"], name="healthz"),
        Mount("/assets/yasgui", _OptionalStatic(assets), name="yasgui"),
        Mount("/assets/peerlearn", StaticFiles(directory=WEB_ASSETS), name="peerlearn_assets"),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.endpoint = state
    app.state.services = dict(services or {})
    hosts = config.allowed_hosts
    if hosts is None and _is_loopback(config.host):
        hosts = LOOPBACK_HOSTS
    app.add_middleware(_Frontdoor, log=log, allowed_hosts=hosts)
    return app


def mount_routes(app: Starlette, routes: Iterable[BaseRoute]) -> None:
    """Add routes (e.g. facilitator pages) to an endpoint app; they share its Host check and log.

    Route handlers can run queries through the endpoint's workers with
    ``await request.app.state.endpoint.query(sparql)``.
    """
    app.router.routes.extend(routes)


def serve(store_path: str | os.PathLike | None, config: EndpointConfig = EndpointConfig(), *,
          examples=None, log: Callable[[str], None] = print, store=None,
          extra_routes: Sequence[BaseRoute] = (), services: Mapping[str, Any] | None = None) -> None:
    """Run the endpoint with uvicorn until SIGINT/SIGTERM, then shut down gracefully."""
    import uvicorn

    def log_line(line: str) -> None:
        log(line)
        with contextlib.suppress(Exception):
            sys.stdout.flush()

    app = create_app(store_path, config, examples=examples, store=store, extra_routes=extra_routes,
                     log=log_line, services=services)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only then; without
    # it every keep-alive response waits ~40 ms (Nagle + delayed ACK between headers and body).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {config.host}:{config.port} ({e})") from None
    sock.listen(128)
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if family == socket.AF_INET6 else config.host
    if not _is_loopback(config.host):
        log_line(json.dumps({"event": "warning", "message": f"listening on {config.host}, reachable "
                             "from other machines; the endpoint has no user accounts"}))
    log_line(json.dumps({"event": "listening", "url": f"http://{host}:{port}/", "sparql":
                         f"http://{host}:{port}/sparql", "pid": os.getpid()}))
    class _Server(uvicorn.Server):
        loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets=None):
            self.loop = asyncio.get_running_loop()
            await super().startup(sockets=sockets)

        def handle_exit(self, sig, frame):  # stop gracefully, then return (uvicorn would re-raise)
            first = not self.should_exit
            super().handle_exit(sig, frame)
            with contextlib.suppress(AttributeError):
                self._captured_signals.clear()
            if first and self.loop is not None:  # not from here: a signal handler may not log
                with contextlib.suppress(RuntimeError):
                    self.loop.call_soon_threadsafe(self.stop_accepting, sig)

        def stop_accepting(self, sig):
            # At once, not at uvicorn's next 0.1 s tick: no new connection, idle keep-alive
            # connections closed; requests in flight finish (then the lifespan stops workers).
            app.state.endpoint.pool.drain()   # no replacement worker while stopping
            for s in getattr(self, "servers", []):
                s.close()
            for conn in list(self.server_state.connections):
                with contextlib.suppress(Exception):
                    conn.shutdown()
            log_line(json.dumps({"event": "stopping", "signal": signal.Signals(sig).name,
                                 "running": app.state.endpoint.pool.busy}))

    server = _Server(uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", proxy_headers=False,
        server_header=False, timeout_graceful_shutdown=max(5, int(config.query_timeout) + 2),
        h11_max_incomplete_event_size=max(65536, config.max_body_bytes + 16384)))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        log_line(json.dumps({"event": "stopped"}))
