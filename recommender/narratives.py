"""Narratives into evidence: Climate City Contracts into the knowledge graph, and concept
tags (inferred links with their passages) from narratives and contracts.

Tagging reads pilot and twin narratives sentence by sentence, and the ingested contracts of
their cities (each contract once, however many pilots and twins share the city): A-3
(barriers and opportunities) for barriers, B-2 and C-1/C-2 (portfolio, governance, social
innovation) for domains and levers, and C-3 (funding) for levers. A contract informs its city's twin and every
pilot activity its city runs (``contract_links``: how a city-level document weighs in an
activity's profile). A contract shipped as an extract (``kg/datasets/ccc``,
``recommender.contract_extract``) is tagged the same way and gives the same tags; its profile
vector is the one it carries (``extract_vectors``), not the mean of its few passages.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
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
from recommender.contract_extract import extract_cities, model_name, stored_vectors
from recommender.profiles import contract_vectors
from recommender.provenance import activity, add_setting
from recommender.tagging import ConceptTagger, assertive, sentences

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
    """City id -> [(passage IRI, section, text)] of ingested contracts, in document order.
    Read as plain values (``select_values``): on the 44,245 passages of the 102 contracts that
    takes 4 s against 6 s through rdflib terms."""
    from kg.queries import PASSAGES

    out: dict[str, list[tuple[str, str, str]]] = {}
    for r in store.select_values(PASSAGES):
        out.setdefault(r["owner"], []).append((r["p"], r["section"], r["text"]))
    return out


def contract_texts(store: Store, *, extracts: bool = False,
                   passages: dict[str, list[tuple[str, str, str]]] | None = None) -> dict[str, list[str]]:
    """City id -> the passages of its ingested contract that describe it in a profile: the
    sections tagging reads (``SECTIONS_BY_SCHEME``), each read as tagging reads it (without
    what says nothing), so their vectors are the ones tagging cached. Contracts shipped as an
    extract are left out (their passages are the evidence of tags, a biased subset: their
    vectors are ``extract_vectors``'), or, with ``extracts``, are the only ones given.
    ``passages``: ``ccc_passages(store)`` when the caller has read it already."""
    sections = set().union(*SECTIONS_BY_SCHEME.values())
    partial = extract_cities(store)
    out: dict[str, list[str]] = {}
    for city, ps in (passages if passages is not None else ccc_passages(store)).items():
        if (city in partial) != extracts:
            continue
        texts = [t for t in (assertive(text) for _, sec, text in ps if sec in sections) if t]
        if texts:
            out[city] = texts
    return out


def extract_vectors(store: Store, encoder, *, say: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    """City id -> contract vector of each contract shipped as an extract: the one it carries when
    made by the encoder's model (the precision may differ: fp32 and bf16 vectors agree to a
    cosine above 0.9999), else the unit mean of the extract's passages, said once."""
    vectors, models, _ = stored_vectors(store)
    mine = model_name(str(getattr(encoder, "model_id", "")))
    other = sorted({m for m in models.values() if model_name(m) != mine})
    out = {c: v for c, v in vectors.items() if model_name(models[c]) == mine}
    missing = extract_cities(store) - set(out)     # the passages are read only when a vector is missing
    rest = {c: t for c, t in contract_texts(store, extracts=True).items() if c in missing} if missing else {}
    if rest:
        made = f"made with {', '.join(other)}, not {mine}" if other else "not given"
        say(f"contract vectors of {len(rest)} extract contract(s) {made}: using the mean of their "
            f"extract passages instead (regenerate with scripts/build_ccc_extract.py)")
        out.update(contract_vectors(encoder, rest))
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
    """Tag every pilot and twin from its narrative, and from the contracts of its cities
    (``contract_links``); return the tags graph (with its ``pl:TaggingRun``) and the number of
    links."""
    cat = read_catalog(store)
    passages = ccc_passages(store)
    g = Graph()
    run = tagging_activity(g, tagger, when)
    people = [("pilot", p) for p in cat.pilots.values()] + [("twin", t) for t in cat.twins.values()]
    jobs: list[tuple[str, str, list[str]]] = []       # (role, subject IRI, sentences)
    for role, item in people:
        sents = sentences(item.narrative)
        if sents:
            jobs.append((role, item.iri, sents))
    cities = sorted({c for role, item in people for c in (item.cities if role == "pilot" else (item.city,))
                     if c in passages})
    city_jobs: list[tuple[str, str, list[tuple[str, str]]]] = []   # (city, scheme, [(passage IRI, text)])
    for city in cities:
        for scheme, sections in SECTIONS_BY_SCHEME.items():
            ps = [(iri, text) for iri, sec, text in passages[city] if sec in sections]
            if ps:
                city_jobs.append((city, scheme, ps))
    results = tagger.tag_many([j[2] for j in jobs] + [[t for _, t in ps] for _, _, ps in city_jobs])
    count = 0
    for (role, iri, sents), tags in zip(jobs, results[:len(jobs)]):
        for tag in tags:
            node = URIRef(f"{iri}/narrative-sentence/{tag.passage_index}")
            count += _add_tag(g, URIRef(iri), role, "narrative", tag.concept, tag.scheme, tag.score, [node], run)
            g.add((node, RDF.type, PL.Passage))
            g.add((node, PL.text, Literal(sents[tag.passage_index])))
            g.add((node, PL.section, Literal("narrative")))
            g.add((node, PL.position, Literal(tag.passage_index, datatype=XSD.integer)))
    by_city: dict[str, dict[str, tuple[str, float, str]]] = {}   # city -> concept -> (scheme, score, passage)
    for (city, scheme, ps), tags in zip(city_jobs, results[len(jobs):]):
        for tag in tags:
            if tag.scheme == scheme:
                by_city.setdefault(city, {})[tag.concept] = (scheme, tag.score, ps[tag.passage_index][0])
    read = {city: passages[city] for city, _, _ in city_jobs}    # contracts tagging had something to read in
    for role, item in people:
        mine = item.cities if role == "pilot" else (item.city,)
        for concept, (scheme, score, evidence) in contract_links(mine, read, by_city).items():
            count += _add_tag(g, URIRef(item.iri), role, "contract", concept, scheme, score,
                              [URIRef(e) for e in evidence], run)
    return g, count


def contract_links(cities: Sequence[str], passages: dict, by_city: dict[str, dict[str, tuple[str, float, str]]]
                   ) -> dict[str, tuple[str, float, list[str]]]:
    """Concept -> (scheme, score, evidence passages) that the contracts of ``cities`` give a
    twin (one city) or a pilot activity (its cities); ``passages``: the contracts tagging read
    (city id -> passages), those with a passage in a tagged section (``SECTIONS_BY_SCHEME``).

    A contract speaks for its whole city, an activity for the cities that run it: each city
    whose contract tagging read has one vote, its tag score for the concept (0 when its contract
    does not give the concept), and the activity's score is the mean of the votes. A concept
    all of an activity's contracts give keeps its score; one that one city in three gives keeps
    a third. Cities without a contract, or whose contract has no passage in a tagged section
    (one read without modules: all ``intro``), do not vote (they say nothing either way), so
    a contract shipped as an extract votes exactly as the whole one. A twin has
    one city, so its contract links carry the contract's tag scores. Matching then weighs
    them as every tag (half the score); the evidence is each voting city's best passage."""
    voters = [c for c in dict.fromkeys(cities) if c in passages]
    out: dict[str, tuple[str, float, list[str]]] = {}
    for concept in sorted({k for c in voters for k in by_city.get(c, {})}):
        hits = [by_city[c][concept] for c in voters if concept in by_city.get(c, {})]
        score = sum(h[1] for h in hits) / len(voters)
        out[concept] = (hits[0][0], score, [h[2] for h in hits])
    return out


def _add_tag(g: Graph, subject: URIRef, role: str, source: str, concept: str, scheme: str, score: float,
             evidence: Sequence[URIRef], run: URIRef) -> int:
    """One tagged link; its IRI names its source: ``.../tag/narrative/...`` or ``.../tag/contract/...``."""
    prop = PROPERTY[(role, scheme)]
    code = concept.rstrip("/").rsplit("/", 1)[-1]
    link = URIRef(f"{subject}/tag/{source}/{scheme}/{code}")
    g.add((subject, PL.hasConceptLink, link))
    g.add((link, RDF.type, PL.ConceptLink))
    g.add((link, PL.concept, URIRef(concept)))
    g.add((link, PL.linkProperty, prop))
    g.add((link, PL.status, PL.Tagged))
    g.add((link, PL.score, Literal(round(min(1.0, max(0.0, score)), 6), datatype=XSD.double)))
    for node in evidence:
        g.add((link, PL.evidence, node))
    g.add((link, PROV.wasGeneratedBy, run))
    return 1


def tag_store(store: Store, encoder, *, threshold: float, say=print) -> int:
    """Replace the tags graph of ``store`` with fresh tags; return how many links."""
    cat = read_catalog(store)
    tagger = ConceptTagger.from_catalog(cat, encoder, threshold=threshold)
    floor = stored_vectors(store)[2]
    if floor is not None and threshold < floor:
        say(f"note: matching.tag_threshold {threshold} is below the contract extracts' floor {floor}: "
            f"contract tags scoring below {floor} may be missing (ingest the full contracts with --ccc)")
    g, n = tag_graph(store, tagger)
    store.replace_graph(GRAPHS.tags, g)
    say(f"tagged: {n} inferred concept links with their evidence passages")
    return n
