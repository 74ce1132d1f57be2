"""Readers for RDF files: Turtle, N-Triples and JSON-LD."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from kg.errors import InputError

FORMATS = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt",
           ".jsonld": "json-ld", ".json-ld": "json-ld"}


def is_rdf_file(path: Path) -> bool:
    return path.suffix.lower() in FORMATS


def read_rdf(path: str | Path) -> Graph:
    """Parse one RDF file; malformed content raises InputError naming the file (and line)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unknown RDF file type {path.suffix!r} (use .ttl, .nt or .jsonld)", path=path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", path=path) from None
    if not raw.strip():
        raise InputError("empty file", path=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at line {line})", path=path) from None
    g = Graph()
    try:
        g.parse(data=text, format=fmt, publicID=path.resolve().as_uri())
    except Exception as e:  # rdflib raises parser-specific exceptions
        line = getattr(e, "lines", None) or getattr(e, "lineno", None)
        msg = " ".join(str(e).split())
        if len(msg) > 200:
            msg = msg[:200] + "..."
        raise InputError(f"malformed {fmt}: {msg}", path=path, row=line if isinstance(line, int) else None) from None
    return g
