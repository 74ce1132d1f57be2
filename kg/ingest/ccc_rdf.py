"""Climate City Contracts into the knowledge graph, as narratives of the matching cities.

A file is matched to a Mission City by the ``ccc_file`` the dataset records, else by its
name against the city's name and alternative names (accent- and case-insensitive). A file
that matches no city, or more than one, is reported, never guessed. Each city's contract
goes into its own named graph (``graph/ccc/<city id>``), so re-ingesting one city replaces
only that city's passages.

A batch is lenient by default: a file that cannot be read (empty, binary, not UTF-8, no
text), that matches no city or is a second contract for a city is skipped with its reason,
and a document without Action Plan modules is read by its headings and marked
``pl:structured false``. ``strict`` makes the batch all-or-nothing: the first bad file
(including one without modules) is an ``InputError`` before anything is written.
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


@dataclass(frozen=True)
class CccSkip:
    """A file of a batch that was not ingested, and why."""
    path: Path
    reason: str


@dataclass(frozen=True)
class CccBatch:
    """What a lenient batch did: file names written, those of them read without modules,
    and the files skipped with their reasons."""
    ingested: tuple[str, ...]
    unstructured: tuple[str, ...]
    skipped: tuple[CccSkip, ...]

    def summary(self) -> str:
        return (f"Climate City Contracts: {len(self.ingested)} ingested, {len(self.unstructured)} unstructured "
                f"(no modules: passages split by headings), {len(self.skipped)} skipped")


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


def ccc_ntriples(doc: CccDocument, city: City, *, narrative_facts: Sequence[tuple[URIRef, Literal]] = ()) -> bytes:
    """The N-Triples of one contract: a narrative with its passages and emissions records
    (``narrative_facts``: more (property, value) of the narrative, as an extract's flag).

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
    t(n, PL.structured, Literal(doc.structured))
    for p, o in narrative_facts:
        t(n, p, o)
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


def read_documents(files: Sequence[str | os.PathLike], *, strict: bool = False,
                   progress=None) -> tuple[list[CccDocument], list[CccSkip]]:
    """Read each file. ``strict``: the first file that cannot be read, or has no module, is an
    ``InputError``; otherwise it is skipped with its reason, and a document without modules
    is read by its headings."""
    docs: list[CccDocument] = []
    skipped: list[CccSkip] = []
    for f in files:
        try:
            docs.append(read_ccc(f, allow_unstructured=not strict))
        except InputError as e:
            if strict:
                raise
            skipped.append(CccSkip(Path(f), e.message))
        if progress:
            progress(Path(f))
    return docs, skipped


def match_documents(docs: Sequence[CccDocument], cat: Catalog, *, strict: bool = False,
                    skip_unmatched: bool = False) -> tuple[list[tuple[City, CccDocument]], list[CccSkip]]:
    """Each document with its city. A document that matches no city, or a second one for a
    city, is an ``InputError`` when ``strict`` (unmatched ones not with ``skip_unmatched``),
    else skipped with its reason."""
    out: list[tuple[City, CccDocument]] = []
    skipped: list[CccSkip] = []
    seen: dict[str, Path] = {}
    for m, doc in zip(match_files([d.path for d in docs], cat), docs):
        if m.city is None:
            if strict and not skip_unmatched:
                raise InputError(f"{m.problem}; name the file after the city or use --skip-unmatched", path=m.path)
            skipped.append(CccSkip(m.path, m.problem))
        elif m.city.id in seen:
            problem = f"a second contract for {m.city.name} (first: {seen[m.city.id].name})"
            if strict:
                raise InputError(problem, path=m.path)
            skipped.append(CccSkip(m.path, problem))
        else:
            seen[m.city.id] = m.path
            out.append((m.city, doc))
    return out, skipped


def read_matched(files: Sequence[str | os.PathLike], cat: Catalog, *, strict: bool = False,
                 skip_unmatched: bool = False, progress=None) -> tuple[list[tuple[City, CccDocument]], list[CccSkip]]:
    """Read and match a batch (see the module docstring); skipped files in file order. When
    ``strict``, an unmatched file is an error before anything is read."""
    if strict and not skip_unmatched:
        unmatched = [m for m in match_files(files, cat) if m.city is None]
        if unmatched:
            m = unmatched[0]
            more = f" (and {len(unmatched) - 1} more)" if len(unmatched) > 1 else ""
            raise InputError(f"{m.problem}; name the file after the city or use --skip-unmatched{more}",
                             path=m.path)
    docs, unreadable = read_documents(files, strict=strict, progress=progress)
    matched, unmatched_or_twice = match_documents(docs, cat, strict=strict, skip_unmatched=skip_unmatched)
    order = {str(Path(f)): i for i, f in enumerate(files)}
    skipped = sorted(unreadable + unmatched_or_twice, key=lambda k: order.get(str(k.path), len(order)))
    return matched, skipped
