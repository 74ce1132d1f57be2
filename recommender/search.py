"""Semantic search over the knowledge graph's narratives: pilot activities, twins, cities (from
their Climate City Contracts) and passages, each kind in its own persistent FAISS index.

``build_indexes`` writes ``<workdir>/index/<kind>/`` (NarrativeIndex: model id, dimension and a
fingerprint of the inputs) plus ``items.json`` with labels and sources. ``search`` refuses an
index built with another model or from other inputs (StaleIndexError: rebuild with
``peerlearn index``), never returning silently wrong results.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg.catalog import catalog as read_catalog
from kg.errors import InputError, StaleIndexError
from kg.files import staged_dir
from kg.store import Store
from recommender.index import NarrativeIndex, fingerprint
from recommender.narratives import SECTIONS_BY_SCHEME
from recommender.profiles import profile_text

KINDS = ("pilot", "twin", "city", "passage")
PROFILE_SECTIONS = frozenset().union(*SECTIONS_BY_SCHEME.values())   # what a contract vector reads


@dataclass(frozen=True)
class Item:
    kind: str
    id: str
    label: str
    text: str
    source: str          # where the text comes from (narrative, CCC file and section...)
    section: str = ""    # a contract passage's section (A-1 ... C-3, intro)


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    label: str
    score: float
    source: str
    text: str


def collect_items(store: Store) -> dict[str, list[Item]]:
    """Everything searchable, by kind, in a stable order."""
    from recommender.narratives import ccc_passages

    cat = read_catalog(store)
    items: dict[str, list[Item]] = {k: [] for k in KINDS}
    for p in cat.pilots.values():
        text = profile_text(cat, p)
        if text:
            items["pilot"].append(Item("pilot", p.id, p.label, text, "pilot profile"))
    for t in cat.twins.values():
        text = profile_text(cat, t)
        if text:
            items["twin"].append(Item("twin", t.id, f"{cat.city_name(t.city)} (twin, cohort {t.cohort})",
                                      text, "twin profile"))
    for city_id, ps in sorted(ccc_passages(store).items()):
        city = cat.cities.get(city_id)
        name = city.name if city else city_id
        for iri, section, text in indexed_passages(ps):
            pos = iri.rsplit("/", 1)[-1]
            items["passage"].append(Item("passage", iri, f"{name}, CCC {section} #{pos}", text,
                                         f"{city.ccc_file if city else ''} section {section}", section))
        # a city is represented by its contract's profile sections (barriers, portfolio, governance)
        core = [text for _, sec, text in ps if sec in PROFILE_SECTIONS] or [t for _, _, t in ps]
        items["city"].append(Item("city", city_id, name, "\n".join(core), f"Climate City Contract ({len(ps)} passages)"))
    return items


def indexed_passages(ps: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The passages of one contract that are indexed: its modules (A-1 ... C-3). The text
    outside the modules of a structured contract ("intro": cover, foreword, annexes, often not
    in English) is left out: 38% of the passages of the 102 contracts and the longest (229
    word pieces on average against 182; ``benchmarks/bench_ccc_encode.py``), read by no profile.
    A document without modules is all "intro", and all indexed."""
    modules = [x for x in ps if x[1] != "intro"]
    return modules or list(ps)


def build_indexes(store: Store, encoder, directory: str | os.PathLike, *, progress: bool = False,
                  say=None) -> dict[str, int]:
    """Encode and index every kind; the whole folder is replaced atomically. A city's vector is
    its contract vector as profiles use it: the mean of its indexed passages of the profile
    sections (A-3, B-2, C), or, for a contract shipped as an extract, the vector it carries
    (its kept passages are a biased subset); a document without those sections falls back to
    the mean of all its indexed passages. ``say`` hears when an extract's vectors cannot be used."""
    from recommender.narratives import extract_vectors

    directory = Path(directory)
    items = collect_items(store)
    carried = extract_vectors(store, encoder, say=say or print) if items["city"] else {}
    counts = {}
    with staged_dir(directory) as tmp:
        passage_vecs: dict[str, np.ndarray] = {}
        for kind in ("pilot", "twin", "passage", "city"):
            rows = items[kind]
            counts[kind] = len(rows)
            if not rows:
                continue
            if kind == "city":
                vectors = _city_vectors(rows, items["passage"], passage_vecs, carried, encoder)
            else:
                vectors = encoder.encode([it.text for it in rows], progress=progress)
                if kind == "passage":
                    passage_vecs = {it.id: vectors[i] for i, it in enumerate(rows)}
            idx = NarrativeIndex().fit([it.id for it in rows], vectors, model_id=encoder.model_id,
                                       fingerprint=fingerprint((it.id, it.text) for it in rows))
            idx.save(tmp / kind)
        meta = {kind: {it.id: {"label": it.label, "source": it.source, "text": it.text[:400]}
                       for it in items[kind]} for kind in KINDS}
        (tmp / "items.json").write_text(json.dumps(meta, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return counts


def _city_vectors(cities: list[Item], passages: list[Item], passage_vecs: dict[str, np.ndarray],
                  carried: dict[str, np.ndarray], encoder) -> np.ndarray:
    profile: dict[str, list[np.ndarray]] = {}
    every: dict[str, list[np.ndarray]] = {}
    for it in passages:                      # .../ccc/<city id>/passage/<n>
        city = it.id.split("/passage/")[0].rsplit("/", 1)[-1]
        every.setdefault(city, []).append(passage_vecs[it.id])
        if it.section in PROFILE_SECTIONS:
            profile.setdefault(city, []).append(passage_vecs[it.id])
    vecs = []
    for it in cities:
        if it.id in carried:
            v = np.asarray(carried[it.id], dtype=np.float32)
        else:
            own = profile.get(it.id) or every.get(it.id)
            v = np.mean(own, axis=0) if own else encoder.encode([it.text])[0]
        vecs.append(v / (np.linalg.norm(v) or 1.0))
    return np.asarray(vecs, dtype=np.float32)


def search(store: Store, encoder, directory: str | os.PathLike, text: str, *,
           kinds: tuple[str, ...] = KINDS, k: int = 5) -> list[Hit]:
    """Nearest items to ``text`` per kind, checked against the current store and model."""
    directory = Path(directory)
    if not (directory / "items.json").exists():
        raise InputError("no search index yet; run `peerlearn index`", path=directory)
    if not text.strip():
        raise InputError("empty search text")
    meta = json.loads((directory / "items.json").read_text(encoding="utf-8"))
    current = collect_items(store)
    q = encoder.encode([text])
    hits: list[Hit] = []
    for kind in kinds:
        if not current[kind]:
            continue
        if not (directory / kind).exists():
            raise StaleIndexError(f"{directory}: the index has no {kind} entries but the knowledge graph "
                                  "has some; run `peerlearn index` to rebuild")
        idx = NarrativeIndex.load(directory / kind, model_id=encoder.model_id,
                                  fingerprint=fingerprint((it.id, it.text) for it in current[kind]))
        for id_, score in idx.search(q, k)[0]:
            m = meta[kind][id_]
            hits.append(Hit(kind, id_, m["label"], float(score), m["source"], m["text"]))
    return sorted(hits, key=lambda h: (-h.score, h.kind, h.id))
