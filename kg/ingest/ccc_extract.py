"""The compact Climate City Contract extract shipped with a dataset (``kg/datasets/ccc/``).

For each of the dataset's cities with a contract it keeps the passages that can be the
evidence of a contract tag (verbatim, with their file, section and position), the contract's
A-1 emissions rows, and the contract's profile vector; ``manifest.json`` says how it was made.
``scripts/build_ccc_extract.py`` writes it (the selection is
``recommender.contract_extract``); ``read_extract`` reads it back, checking every row, into
light ``CccDocument``s, so ``extract_ntriples`` writes each city's graph with the same writer
(``ccc_ntriples``), node IRIs and properties as a full ingestion, plus on the narrative
``pl:isExtract true``, the score floor below which tags may be missing
(``pl:extractFloor``), the contract vector (``pl:contractVector``, base64 of little-endian
float32) and its model (``pl:embeddingModel``). The vector is kept in the graph rather than
read from the folder by the recommender: it then travels with the narrative it belongs to,
through any store backend, and goes when a full ingestion replaces the city's graph.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdflib import XSD, Literal

from kg.errors import InputError
from kg.ingest.ccc import CCC_SECTIONS, CccDocument, EmissionsRow, Passage
from kg.ingest.ccc.model import INTRO
from kg.ingest.ccc_rdf import ccc_ntriples
from kg.model import City
from kg.namespaces import PL

PASSAGES = "passages.csv"
EMISSIONS = "emissions.csv"
VECTORS = "vectors.npy"
VECTOR_CITIES = "vectors.csv"
MANIFEST = "manifest.json"
PASSAGE_COLUMNS = ("city", "file", "section", "position", "section_title", "text")
EMISSION_COLUMNS = ("city", "index", "sector", "domain", "tonnes_co2e", "year")
DOMAINS = ("energy", "mobility", "buildings", "waste", "green", "industry")


@dataclass(frozen=True)
class ExtractContract:
    """One city's contract as the extract keeps it (``doc.path`` is the file name)."""
    city: str
    doc: CccDocument
    vector: np.ndarray | None   # unit contract vector, None when its profile passages are empty


@dataclass(frozen=True)
class CccExtract:
    model: str                  # model id the vectors and the selection were made with
    floor: float                # tags scoring at least this are exactly those of the full contract
    contracts: tuple[ExtractContract, ...]


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def extract_files(contracts: Sequence[ExtractContract], manifest: Mapping) -> dict[str, bytes]:
    """File name -> bytes of the extract (deterministic: cities, passages and rows in order)."""
    contracts = sorted(contracts, key=lambda c: c.city)
    passages = [(c.city, c.doc.path, p.section, p.position, p.section_title, p.text)
                for c in contracts for p in sorted(c.doc.passages, key=lambda p: p.position)]
    emissions = [(c.city, i, e.sector, e.domain or "", repr(float(e.tonnes_co2e)), e.year or "")
                 for c in contracts for i, e in enumerate(c.doc.emissions)]
    with_vec = [c for c in contracts if c.vector is not None]
    buf = io.BytesIO()
    np.save(buf, np.asarray([c.vector for c in with_vec], dtype="<f4").reshape(len(with_vec), -1),
            allow_pickle=False)
    return {PASSAGES: _csv(PASSAGE_COLUMNS, passages).encode(),
            EMISSIONS: _csv(EMISSION_COLUMNS, emissions).encode(),
            VECTOR_CITIES: _csv(("city",), [(c.city,) for c in with_vec]).encode(),
            VECTORS: buf.getvalue(),
            MANIFEST: (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()}


def _rows(path: Path, header: Sequence[str]):
    """(row number, row dict) of a CSV with exactly ``header``; row 1 is the header."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("missing file of the Climate City Contract extract", path=path) from None
    except (UnicodeDecodeError, OSError) as e:
        raise InputError(f"cannot be read as UTF-8 text ({e.__class__.__name__})", path=path) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        head = next(reader, None)
        if head is None or tuple(head) != tuple(header):
            raise InputError(f"the header must be {','.join(header)}", path=path, row=1)
        for n, r in enumerate(reader, start=2):
            if len(r) != len(header):
                raise InputError(f"{len(r)} fields, expected {len(header)}", path=path, row=n)
            yield n, dict(zip(header, r))
    except csv.Error as e:
        raise InputError(f"not valid CSV ({e})", path=path, row=reader.line_num) from None


def _int(v: str, path: Path, row: int, field: str, *, empty: bool = False) -> int | None:
    if empty and v == "":
        return None
    try:
        out = int(v)
    except ValueError:
        raise InputError(f"not an integer: {v!r}", path=path, row=row, field=field) from None
    if out < 0:
        raise InputError(f"negative: {v!r}", path=path, row=row, field=field)
    return out


def read_extract(folder: str | Path) -> CccExtract:
    """Read and check an extract folder; ``InputError`` (file, row, field) on the first bad value."""
    folder = Path(folder)
    mpath = folder / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        model, floor, files = str(manifest["model"]), float(manifest["floor"]), manifest["contracts"]
        if not isinstance(files, dict) or not math.isfinite(floor):
            raise ValueError
    except FileNotFoundError:
        raise InputError("missing file of the Climate City Contract extract", path=mpath) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InputError("not a manifest: JSON with model, floor and contracts (city -> file, structured)",
                         path=mpath) from None
    passages: dict[str, list[Passage]] = {}
    ppath = folder / PASSAGES
    seen: set[tuple[str, int]] = set()
    for n, r in _rows(ppath, PASSAGE_COLUMNS):
        city = r["city"]
        if city not in files:
            raise InputError(f"city {city!r} has no contract in {MANIFEST}", path=ppath, row=n, field="city")
        if r["file"] != files[city].get("file"):
            raise InputError(f"file {r['file']!r} is not {city}'s contract in {MANIFEST}", path=ppath, row=n,
                             field="file")
        if r["section"] not in (*CCC_SECTIONS, INTRO):
            raise InputError(f"unknown section {r['section']!r}", path=ppath, row=n, field="section")
        pos = _int(r["position"], ppath, n, "position")
        if (city, pos) in seen:
            raise InputError(f"a second passage at position {pos} of {city}", path=ppath, row=n, field="position")
        seen.add((city, pos))
        if not r["text"].strip():
            raise InputError("empty passage text", path=ppath, row=n, field="text")
        passages.setdefault(city, []).append(Passage(r["section"], r["section_title"], pos, r["text"]))
    emissions: dict[str, list[EmissionsRow]] = {}
    epath = folder / EMISSIONS
    for n, r in _rows(epath, EMISSION_COLUMNS):
        city = r["city"]
        if city not in files:
            raise InputError(f"city {city!r} has no contract in {MANIFEST}", path=epath, row=n, field="city")
        if _int(r["index"], epath, n, "index") != len(emissions.get(city, [])):
            raise InputError(f"index must be {len(emissions.get(city, []))} (rows of a city in order)",
                             path=epath, row=n, field="index")
        if r["domain"] and r["domain"] not in DOMAINS:
            raise InputError(f"unknown domain {r['domain']!r}", path=epath, row=n, field="domain")
        try:
            tonnes = float(r["tonnes_co2e"])
            if not math.isfinite(tonnes):
                raise ValueError
        except ValueError:
            raise InputError(f"not a number: {r['tonnes_co2e']!r}", path=epath, row=n, field="tonnes_co2e") from None
        if not r["sector"].strip():
            raise InputError("empty sector", path=epath, row=n, field="sector")
        emissions.setdefault(city, []).append(
            EmissionsRow(r["sector"], r["domain"] or None, tonnes, _int(r["year"], epath, n, "year", empty=True)))
    vectors = _vectors(folder, files)
    out = []
    for city in sorted(files):
        info = files[city]
        ps = tuple(sorted(passages.get(city, ()), key=lambda p: p.position))
        doc = CccDocument(path=str(info["file"]), sections=tuple(dict.fromkeys(p.section for p in ps)),
                          passages=ps, emissions=tuple(emissions.get(city, ())),
                          structured=bool(info.get("structured", True)))
        out.append(ExtractContract(city, doc, vectors.get(city)))
    return CccExtract(model, floor, tuple(out))


def _vectors(folder: Path, files: Mapping) -> dict[str, np.ndarray]:
    cpath, vpath = folder / VECTOR_CITIES, folder / VECTORS
    cities = []
    for n, r in _rows(cpath, ("city",)):
        if r["city"] not in files:
            raise InputError(f"city {r['city']!r} has no contract in {MANIFEST}", path=cpath, row=n, field="city")
        cities.append(r["city"])
    try:
        m = np.load(vpath, allow_pickle=False)
    except FileNotFoundError:
        raise InputError("missing file of the Climate City Contract extract", path=vpath) from None
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"not a NumPy array file ({e})", path=vpath) from None
    if m.ndim != 2 or m.shape[0] != len(cities) or not np.issubdtype(m.dtype, np.floating):
        raise InputError(f"expected a float array of {len(cities)} rows (one per {VECTOR_CITIES} row), "
                         f"found shape {m.shape} {m.dtype}", path=vpath)
    if len(cities) and not np.all(np.isfinite(m)):
        raise InputError("holds a value that is not a finite number", path=vpath)
    return {c: m[i].astype("<f4") for i, c in enumerate(cities)}


def vector_literal(v: np.ndarray) -> Literal:
    return Literal(base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii"), datatype=XSD.base64Binary)


def vector_of(literal: str) -> np.ndarray:
    """The float32 vector a ``pl:contractVector`` literal holds."""
    return np.frombuffer(base64.b64decode(literal), dtype="<f4").astype(np.float32)


def extract_ntriples(ex: CccExtract, cities: Mapping[str, City], *, where: Path | str = "") -> dict[str, bytes]:
    """City id -> N-Triples of its graph (``ccc_graph_name``); a city not in ``cities`` is an
    ``InputError`` naming the manifest. A contract of which the extract keeps no passage (one read
    without modules: tagging reads none of it) has no graph, as a narrative needs a passage."""
    out = {}
    for c in ex.contracts:
        city = cities.get(c.city)
        if city is None:
            raise InputError(f"city {c.city!r} is not in the dataset", path=Path(where) / MANIFEST, field="contracts")
        if not c.doc.passages:
            continue
        facts = [(PL.isExtract, Literal(True)), (PL.extractFloor, Literal(ex.floor, datatype=XSD.double))]
        if c.vector is not None:
            facts += [(PL.contractVector, vector_literal(c.vector)), (PL.embeddingModel, Literal(ex.model))]
        out[c.city] = ccc_ntriples(c.doc, city, narrative_facts=facts)
    return out
