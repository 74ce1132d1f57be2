"""Climate City Contracts into the knowledge graph, as narratives of the matching cities.

A file is matched to a Mission City by the ``ccc_file`` the dataset records, else by its
name against the city's name and alternative names (accent- and case-insensitive). A file
that matches no city, or more than one, is reported, never guessed. Each city's contract
goes into its own named graph (``graph/ccc/<city id>``), so re-ingesting one city replaces
only that city's passages.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.errors import InputError
from kg.ingest.ccc import CccDocument, read_ccc
from kg.model import Catalog, City, fold
from kg.namespaces import DATA, DOM, GRAPHS, PL


@dataclass(frozen=True)
class CccMatch:
    path: Path
    city: City | None
    problem: str = ""


def match_files(files: Sequence[str | os.PathLike], cat: Catalog) -> list[CccMatch]:
    """Match each file to one city, or say why not."""
    by_file: dict[str, list[City]] = {}
    by_name: dict[str, list[City]] = {}
    for c in cat.cities.values():
        if c.ccc_file:
            by_file.setdefault(fold(c.ccc_file), []).append(c)
        for n in {c.id, c.name, *c.alt_names}:
            by_name.setdefault(fold(n).replace("_", " ").replace("-", " "), []).append(c)
    out = []
    for f in files:
        p = Path(f)
        hits = by_file.get(fold(p.name)) or by_name.get(fold(p.stem).replace("_", " ").replace("-", " "), [])
        hits = list({c.id: c for c in hits}.values())
        if len(hits) == 1:
            out.append(CccMatch(p, hits[0]))
        elif not hits:
            out.append(CccMatch(p, None, "matches no city of the knowledge graph"))
        else:
            out.append(CccMatch(p, None, f"matches several cities ({', '.join(sorted(c.id for c in hits))})"))
    return out


def ccc_ntriples(doc: CccDocument, city: City) -> bytes:
    """The N-Triples of one contract: a narrative with its passages and emissions records.

    Written term by term (rdflib ``n3()`` escaping) rather than through a Graph: a contract
    has thousands of passages and this is several times faster.
    """
    c = URIRef(city.iri)
    n = DATA[f"ccc/{city.id}"]
    lines = []

    def t(s, p, o):
        lines.append(f"{s.n3()} {p.n3()} {o.n3()} .")

    t(c, PL.narrative, n)
    t(n, RDF.type, PL.Narrative)
    t(n, DCTERMS.source, Literal(Path(doc.path).name))
    t(n, DCTERMS.title, Literal(f"Climate City Contract of {city.name}"))
    for ps in doc.passages:
        node = URIRef(f"{n}/passage/{ps.position}")
        t(n, PL.passage, node)
        t(node, RDF.type, PL.Passage)
        t(node, PL.section, Literal(ps.section))
        t(node, PL.position, Literal(ps.position, datatype=XSD.integer))
        t(node, PL.text, Literal(ps.text))
        if ps.section_title:
            t(node, DCTERMS.title, Literal(ps.section_title))
    for i, e in enumerate(doc.emissions):
        rec = URIRef(f"{n}/emissions/{i}")
        t(c, PL.emissions, rec)
        t(rec, RDF.type, PL.EmissionsRecord)
        t(rec, PL.sectorLabel, Literal(e.sector))
        t(rec, PL.tonnesCO2e, Literal(float(e.tonnes_co2e), datatype=XSD.double))
        if e.domain:
            t(rec, PL.sector, DOM[e.domain])
        if e.year:
            t(rec, DCTERMS.date, Literal(str(e.year), datatype=XSD.gYear))
    return ("\n".join(lines) + "\n").encode("utf-8")


def ccc_graph_name(city: City) -> URIRef:
    return GRAPHS[f"ccc/{city.id}"]


def read_matched(files: Sequence[str | os.PathLike], cat: Catalog, *, skip_unmatched: bool = False,
                 progress=None) -> tuple[list[tuple[City, CccDocument]], list[CccMatch]]:
    """Read every file that matches a city. Unless ``skip_unmatched``, an unmatched file is an
    error before anything is read; a file that cannot be read is always an error."""
    matches = match_files(files, cat)
    unmatched = [m for m in matches if m.city is None]
    if unmatched and not skip_unmatched:
        m = unmatched[0]
        more = f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else ""
        raise InputError(f"{m.problem}; name the file after the city or use --skip-unmatched{more}",
                         path=m.path)
    docs = []
    seen: dict[str, Path] = {}
    for m in matches:
        if m.city is None:
            continue
        if m.city.id in seen:
            raise InputError(f"a second contract for {m.city.name} (first: {seen[m.city.id].name})", path=m.path)
        seen[m.city.id] = m.path
        docs.append((m.city, read_ccc(m.path)))
        if progress:
            progress(m.path)
    return docs, unmatched
