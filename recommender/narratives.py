"""Narratives into evidence: Climate City Contracts into the knowledge graph, and concept
tags (inferred links with their passages) from narratives and contracts.

Tagging reads pilot and twin narratives sentence by sentence, and for twins whose city has an
ingested contract, the contract's passages: A-3 (barriers and opportunities) for barriers,
B-2 and C-1/C-2 (portfolio, governance, social innovation) for domains and levers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rdflib import PROV, RDF, XSD, Graph, Literal, URIRef

from kg.catalog import catalog as read_catalog
from kg.errors import InputError
from kg.ingest.ccc import CccDocument
from kg.ingest.ccc_rdf import (
    CccBatch,
    CccSkip,
    ccc_graph_name,
    ccc_ntriples,
    match_documents,
    read_documents,
    read_matched,
)
from kg.model import City
from kg.namespaces import DATA, GRAPHS, PL
from kg.store import Store
from recommender.provenance import activity, add_setting
from recommender.tagging import ConceptTagger, Tag, sentences

PROPERTY = {  # (role, scheme) -> direct property a tag qualifies
    ("pilot", "domain"): PL.worksInDomain, ("pilot", "lever"): PL.usesLever,
    ("pilot", "barrier"): PL.addressesBarrier,
    ("twin", "domain"): PL.interestedInDomain, ("twin", "lever"): PL.interestedInLever,
    ("twin", "barrier"): PL.facesBarrier,
}
# contract sections (kg.ingest.ccc.CCC_SECTIONS) whose passages are tagged with each scheme
SECTIONS_BY_SCHEME = {"barrier": {"A-3"}, "domain": {"B-2", "C-1", "C-2"}, "lever": {"B-2", "C-1", "C-2", "C-3"}}


def ingest_ccc(store: Store, files: Sequence[str | os.PathLike], *, strict: bool = False,
               skip_unmatched: bool = False, say: Callable[[str], None] = print) -> CccBatch:
    """Read contracts, then write each matched city's graph. Lenient by default (bad files
    skipped with their reasons, documents without modules read by headings), but an error
    when no file at all can be ingested; ``strict``: nothing is written if any file fails
    (see ``kg.ingest.ccc_rdf``)."""
    cat = read_catalog(store)
    if not files:
        raise InputError("no Climate City Contract files given")
    docs, skipped = read_matched(files, cat, strict=strict, skip_unmatched=skip_unmatched)
    if not docs:  # every file was skipped: nothing to do is a mistake, not a success
        for k in skipped:
            say(f"skipped {k.path}: {k.reason}")
        raise InputError(f"no Climate City Contract could be ingested ({len(skipped)} file(s) skipped)")
    return write_ccc(store, docs, skipped, say=say)


def read_ccc_dir(directory: str | os.PathLike, *, strict: bool = False) -> tuple[list[CccDocument], list[CccSkip]]:
    """Read every ``*.md`` of a folder (before the store exists: ``run --ccc``)."""
    d = Path(directory)
    if not d.is_dir():
        raise InputError("no such folder of Climate City Contracts", path=d)
    return read_documents(sorted(d.glob("*.md")), strict=strict)


def ingest_read(store: Store, read: tuple[list[CccDocument], list[CccSkip]], *, strict: bool = False,
                say: Callable[[str], None] = print) -> CccBatch:
    """Match documents read by ``read_ccc_dir`` and write them. A folder may hold contracts
    of cities not in the dataset: those are skipped, even when ``strict``."""
    docs, unreadable = read
    matched, skipped = match_documents(docs, read_catalog(store), strict=strict, skip_unmatched=True)
    return write_ccc(store, matched, unreadable + skipped, say=say)


def write_ccc(store: Store, docs: Sequence[tuple[City, CccDocument]], skipped: Sequence[CccSkip], *,
              say: Callable[[str], None] = print) -> CccBatch:
    """Write each city's contract graph; report each file, skipped ones with their reason."""
    for k in skipped:
        say(f"skipped {k.path}: {k.reason}")
    for city, doc in docs:
        store.replace_graph_ntriples(ccc_graph_name(city), ccc_ntriples(doc, city))
        how = (f"sections {' '.join(doc.sections)}" if doc.structured
               else "unstructured (no modules: passages split by headings)")
        say(f"{Path(doc.path).name} -> {city.name}: {len(doc.passages)} passages, {how}, "
            f"{len(doc.emissions)} emissions rows")
    return CccBatch(ingested=tuple(Path(d.path).name for _, d in docs),
                    unstructured=tuple(Path(d.path).name for _, d in docs if not d.structured),
                    skipped=tuple(skipped))


def ccc_passages(store: Store) -> dict[str, list[tuple[str, str, str]]]:
    """City id -> [(passage IRI, section, text)] of ingested contracts, in document order."""
    from kg.queries import PASSAGES

    out: dict[str, list[tuple[str, str, str]]] = {}
    for r in store.query(PASSAGES).records():
        out.setdefault(str(r["owner"]), []).append((str(r["p"]), str(r["section"]), str(r["text"])))
    return out


def tagging_activity(g: Graph, tagger: ConceptTagger, when: datetime | None = None) -> URIRef:
    """The ``pl:TaggingRun`` behind a tags graph: when, the software, the encoder's model id
    (name and precision) and the threshold the tagger used."""
    when = when or datetime.now(UTC).replace(microsecond=0)
    model = str(getattr(tagger.encoder, "model_id", "unknown"))
    key = f"{model}|{tagger.threshold}|{tagger.top}|{when.isoformat()}"
    run = DATA[f"tagging/{hashlib.sha256(key.encode()).hexdigest()[:12]}"]
    activity(g, run, PL.TaggingRun, when, f"peerlearn concept tagging, {model}")
    g.add((run, PL.model, Literal(model)))
    add_setting(g, run, "matching.tag_threshold", float(tagger.threshold))
    return run


def tag_graph(store: Store, tagger: ConceptTagger, *, when: datetime | None = None) -> tuple[Graph, int]:
    """Tag every pilot and twin; return the tags graph (with its ``pl:TaggingRun``) and the
    number of links."""
    cat = read_catalog(store)
    passages = ccc_passages(store)
    g = Graph()
    run = tagging_activity(g, tagger, when)
    jobs: list[tuple[str, str, str, list[str], list[URIRef | None], set[str] | None]] = []
    for role, items in (("pilot", cat.pilots.values()), ("twin", cat.twins.values())):
        for item in items:
            sents = sentences(item.narrative)
            if sents:
                nodes = [URIRef(f"{item.iri}/narrative-sentence/{i}") for i in range(len(sents))]
                jobs.append((role, item.iri, "narrative", sents, nodes, None))
            if role == "twin" and item.city in passages:
                for scheme, sections in SECTIONS_BY_SCHEME.items():
                    ps = [(iri, text) for iri, sec, text in passages[item.city] if sec in sections]
                    if ps:
                        jobs.append((role, item.iri, "ccc", [t for _, t in ps], [URIRef(i) for i, _ in ps],
                                     {scheme}))
    results = tagger.tag_many([j[3] for j in jobs])
    count = 0
    for (role, iri, source, texts, nodes, schemes), tags in zip(jobs, results):
        for tag in tags:
            if schemes is not None and tag.scheme not in schemes:
                continue
            count += _add_tag(g, URIRef(iri), role, source, tag, nodes[tag.passage_index], texts, run)
    return g, count


def _add_tag(g: Graph, subject: URIRef, role: str, source: str, tag: Tag, node: URIRef, texts,
             run: URIRef) -> int:
    prop = PROPERTY[(role, tag.scheme)]
    code = tag.concept.rstrip("/").rsplit("/", 1)[-1]
    link = URIRef(f"{subject}/tag/{source}/{tag.scheme}/{code}")
    g.add((subject, PL.hasConceptLink, link))
    g.add((link, RDF.type, PL.ConceptLink))
    g.add((link, PL.concept, URIRef(tag.concept)))
    g.add((link, PL.linkProperty, prop))
    g.add((link, PL.status, PL.Tagged))
    g.add((link, PL.score, Literal(round(min(1.0, max(0.0, tag.score)), 6), datatype=XSD.double)))
    g.add((link, PL.evidence, node))
    g.add((link, PROV.wasGeneratedBy, run))
    if source == "narrative":
        g.add((node, RDF.type, PL.Passage))
        g.add((node, PL.text, Literal(texts[tag.passage_index])))
        g.add((node, PL.section, Literal("narrative")))
        g.add((node, PL.position, Literal(tag.passage_index, datatype=XSD.integer)))
    return 1


def tag_store(store: Store, encoder, *, threshold: float, say=print) -> int:
    """Replace the tags graph of ``store`` with fresh tags; return how many links."""
    cat = read_catalog(store)
    tagger = ConceptTagger.from_catalog(cat, encoder, threshold=threshold)
    g, n = tag_graph(store, tagger)
    store.replace_graph(GRAPHS.tags, g)
    say(f"tagged: {n} inferred concept links with their evidence passages")
    return n
