"""Credentials in URLs: stripped from every message, sent as HTTP Basic auth by the remote store
(a real HTTP server records what it receives)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kg.errors import StoreError
from kg.redact import public_url, scrub, split_credentials
from kg.store import open_store
from tests.conftest import free_port


@pytest.mark.parametrize("url, public", [
    ("http://alice:HUNTER2@example.org/sparql", "http://example.org/sparql"),
    ("https://alice@example.org:8443/q?x=1", "https://example.org:8443/q?x=1"),
    ("http://u:p@ss@host/q", "http://host/q"),                      # unencoded @ in the password
    ("http://host/q?api_key=HUNTER2&limit=5", "http://host/q?api_key=***&limit=5"),
    ("http://host/q?access_token=HUNTER2", "http://host/q?access_token=***"),
    ("http://host/sparql", "http://host/sparql"),
    ("", ""),
])
def test_public_url(url, public):
    assert public_url(url) == public


def test_scrub_finds_urls_in_text():
    text = "peerlearn build: error: http://alice:HUNTER2@10.0.0.1:7878/update: update failed (HTTP Error 401)"
    assert scrub(text) == "peerlearn build: error: http://10.0.0.1:7878/update: update failed (HTTP Error 401)"
    assert scrub("no url here: a:b@c") == "no url here: a:b@c"


def test_split_credentials_decodes():
    assert split_credentials("http://bob:p%3Ass@h/q") == ("http://h/q", ("bob", "p:ss"))
    assert split_credentials("http://h/q") == ("http://h/q", None)


def test_remote_store_error_never_shows_the_password():
    """Before: the message was ``http://alice:HUNTER2@127.0.0.1:PORT/sparql: <urlopen error ...>``."""
    port = free_port()  # nothing listens there
    store = open_store("remote", endpoint=f"http://alice:HUNTER2@127.0.0.1:{port}/sparql")
    with pytest.raises(StoreError) as e:
        store.query("ASK { ?s ?p ?o }")
    assert "HUNTER2" not in str(e.value) and "alice" not in str(e.value)
    assert f"127.0.0.1:{port}/sparql" in str(e.value)


def test_remote_store_sends_url_credentials_as_basic_auth():
    """A server that asks for Basic auth (401 + WWW-Authenticate) gets the URL's user-info as
    credentials; the password is never in the request line or body."""
    seen: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            body_in = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Authorization", "")
            seen.append((self.path, auth, body_in))
            if not auth:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="sparql"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"head": {}, "boolean": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 (http.server's names)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        store = open_store("remote", endpoint=f"http://alice:HUNTER2@127.0.0.1:{srv.server_port}/sparql")
        assert store.query("ASK { ?s ?p ?o }").boolean is True
        assert "HUNTER2" not in store.endpoint
    finally:
        srv.shutdown()
        srv.server_close()
    assert all(path.startswith("/sparql") and b"HUNTER2" not in body and "HUNTER2" not in path
               for path, _, body in seen)
    assert seen[-1][1] == "Basic " + base64.b64encode(b"alice:HUNTER2").decode()
