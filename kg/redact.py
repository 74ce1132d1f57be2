"""Credentials never leave in text: the one home of the rule for URLs.

A URL may carry a credential in its user-info (``http://user:password@host/sparql``) or in a
query parameter (``?api_key=...``). ``public_url`` gives the URL without them, ``scrub`` does
the same for every URL inside free text (an error message), and ``split_credentials`` turns
the user-info into an HTTP Basic pair for a client that sends it as a header instead.
Which *settings* are secret is said by ``recommender.settings`` (it uses ``public_url``).

>>> public_url("http://alice:s3cret@sparql.example.org:7878/query?timeout=5&api_key=abc")
'http://sparql.example.org:7878/query?timeout=5&api_key=***'
>>> scrub("http://alice:s3cret@host/sparql: connection refused")
'http://host/sparql: connection refused'
>>> split_credentials("https://bob:p%40ss@host/q")
('https://host/q', ('bob', 'p@ss'))
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
# Query-parameter names whose values are credentials.
_SECRET_PARAM = re.compile(r"(?i)^(.*[-_])?(token|secret|pass|passwd|password|pwd|key|apikey|api[-_]key|auth|"
                           r"authorization|credential|credentials|signature|sig|session|access[-_]token)$")
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s<>\"'`]+")
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://)[^/?#\s]*@")


def _host_part(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def public_url(url: str) -> str:
    """``url`` without user-info, and with the values of credential-like query parameters
    (``token``, ``api_key``, ``password``, ...) replaced by ``***``."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\1", url)
    query = parts.query
    if query:
        pairs = []
        for item in query.split("&"):
            name, eq, value = item.partition("=")
            pairs.append(f"{name}={MASK}" if eq and value and _SECRET_PARAM.match(unquote(name)) else item)
        query = "&".join(pairs)
    return urlunsplit((parts.scheme, _host_part(parts.netloc), parts.path, query, parts.fragment))


def scrub(text: str) -> str:
    """``text`` with every URL in it made public (``public_url``)."""
    return _URL.sub(lambda m: public_url(m.group()), text) if "://" in text else text


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without user-info, (user, password) from it or None), percent-decoded."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    user, _, password = parts.netloc.rpartition("@")[0].partition(":")
    bare = urlunsplit((parts.scheme, _host_part(parts.netloc), parts.path, parts.query, parts.fragment))
    return bare, (unquote(user), unquote(password))
