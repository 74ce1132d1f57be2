"""PROV-O for the activities that write into the knowledge graph (``peerlearn run`` and the
concept tagger): when, which software, which inputs, which settings, as typed triples.

- the software: ``prov:wasAssociatedWith`` a ``prov:SoftwareAgent`` per peerlearn version
  (``schema:softwareVersion``);
- inputs: ``prov:used`` a ``pl:InputData`` per file or folder read, named by the SHA-256 of its
  content (``content_hash``) so the same bytes are the same resource in every run;
- settings: ``pl:runSetting`` nodes with ``pl:settingKey`` and a typed ``pl:settingValue``
  (weights as ``pl:SignalWeight`` with ``pl:signalName``), taken from the public view of the
  settings (``recommender.settings.public_items``), so a secret can never be recorded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import datetime
from importlib import metadata
from pathlib import Path

from rdflib import PROV, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

from kg.namespaces import DATA, PL
from kg.redact import scrub
from recommender.settings import public_items

SDO = Namespace("https://schema.org/")
# The settings that decide what a matching run writes (the rest say where and how fast).
RUN_SETTINGS = ("model.name", "model.precision", "matching.")
_CHUNK = 1 << 20


def peerlearn_version() -> str:
    try:
        return metadata.version("peerlearn")
    except metadata.PackageNotFoundError:
        return "unknown"


def software_agent(g: Graph) -> URIRef:
    """The running peerlearn as a ``prov:SoftwareAgent`` in ``g``."""
    version = peerlearn_version()
    agent = DATA[f"agent/peerlearn/{version}"]
    g.add((agent, RDF.type, PROV.SoftwareAgent))
    g.add((agent, RDFS.label, Literal(f"peerlearn {version}")))
    g.add((agent, SDO.softwareVersion, Literal(version)))
    return agent


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def content_hash(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes; for a folder, of the lines ``relative/path<TAB>sha256``
    of every file under it, sorted by path (so it does not depend on listing order).

    >>> import tempfile; d = Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x")
    >>> content_hash(d / "a.csv") == hashlib.sha256(b"x").hexdigest()
    True
    >>> content_hash(d) == hashlib.sha256(f"a.csv\\t{content_hash(d / 'a.csv')}\\n".encode()).hexdigest()
    True
    """
    p = Path(path)
    if not p.is_dir():
        return _file_hash(p)
    lines = sorted(f"{f.relative_to(p).as_posix()}\t{_file_hash(f)}\n" for f in p.rglob("*") if f.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def hash_inputs(paths: Iterable[str | os.PathLike]) -> list[tuple[str, str]]:
    """``(label, sha256)`` per input: the path as given (URLs made public) and its content hash."""
    return [(scrub(str(p)), content_hash(p)) for p in paths]


def add_inputs(g: Graph, activity: URIRef, inputs: Iterable[tuple[str, str]]) -> list[URIRef]:
    """``activity prov:used`` one ``pl:InputData`` per ``(label, sha256)`` (``hash_inputs``)."""
    out = []
    for label, digest in inputs:
        entity = DATA[f"input/sha256/{digest}"]
        g.add((entity, RDF.type, PL.InputData))
        g.add((entity, RDF.type, PROV.Entity))
        g.add((entity, PL.sha256, Literal(digest, datatype=XSD.string)))
        g.add((entity, RDFS.label, Literal(label)))
        g.add((activity, PROV.used, entity))
        out.append(entity)
    return out


def _typed(value) -> Literal:
    if isinstance(value, bool):
        return Literal(value, datatype=XSD.boolean)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(value, datatype=XSD.double)
    return Literal(str(value), datatype=XSD.string)


def add_setting(g: Graph, activity: URIRef, key: str, value) -> None:
    """One ``pl:RunSetting`` (a ``pl:SignalWeight`` for ``matching.weights.SIGNAL``)."""
    node = URIRef(f"{activity}/setting/{key}")
    g.add((activity, PL.runSetting, node))
    g.add((node, RDF.type, PL.RunSetting))
    g.add((node, PL.settingKey, Literal(key, datatype=XSD.string)))
    g.add((node, PL.settingValue, _typed(value)))
    if key.startswith("matching.weights."):
        g.add((node, RDF.type, PL.SignalWeight))
        g.add((node, PL.signalName, Literal(key.rsplit(".", 1)[1], datatype=XSD.string)))


def run_settings(settings) -> list[tuple[str, object]]:
    """``(key, value)`` of the settings that reproduce a run (``RUN_SETTINGS``), weights one
    per signal, from the public view."""
    out = []
    for key, value in public_items(settings):
        if not key.startswith(RUN_SETTINGS):
            continue
        if isinstance(value, dict):
            out.extend((f"{key}.{k}", float(v)) for k, v in sorted(value.items()))
        else:
            out.append((key, value))
    return out


def activity(g: Graph, iri: URIRef, kind: URIRef, when: datetime, label: str) -> URIRef:
    """An activity of ``kind`` started at ``when`` by the peerlearn software agent."""
    g.add((iri, RDF.type, kind))
    g.add((iri, RDF.type, PROV.Activity))
    g.add((iri, PROV.startedAtTime, Literal(when.isoformat(), datatype=XSD.dateTime)))
    g.add((iri, PROV.wasAssociatedWith, software_agent(g)))
    g.add((iri, RDFS.label, Literal(label)))
    return iri
