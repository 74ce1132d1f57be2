"""From a signatory's planned actions and inventories to peerlearn concepts, through the one
explicit mapping in ``ontology/vocabularies/gcom.ttl``.

An action's text is the lemmatised words of its sector, area, instrument, title and
description. A GCoM category applies to an action when one of its ``skos:hiddenLabel`` phrases
occurs in the text as whole words: for a sector (``gsec:``) at the start of the text (the
longest such phrase wins: ``building light`` is public lighting, ``building`` municipal
buildings), for an instrument (``ginst:``) or measure (``gmeas:``) anywhere. Each category maps
to peerlearn concepts by SKOS mapping properties weighted ``MATCH_WEIGHTS``; an action counts
once per concept, at the best weight among its categories.

A signatory's link to a concept has ``share`` = (weighted) actions behind it / all its actions,
and ``score`` = share / the largest share in the same peerlearn scheme (the city's main
domain, lever or solution type scores 1.0). Concepts with a share under ``MIN_SHARE`` or fewer
than ``MIN_ACTIONS`` actions give no link. Inventory shares: emissions of the latest inventory
by emission domain (the ``ginv:`` sectors' mapping), over the inventory's total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rdflib import RDF, SKOS, Graph, URIRef

from kg.ingest.gcom.release import Action, InventoryLine

GCOM_NS = "https://w3id.org/peerlearn/gcom#"
CONCEPT = "https://w3id.org/peerlearn/concept/"
SECTORS, INSTRUMENTS, MEASURES, INVENTORY = (CONCEPT + s + "/" for s in (
    "gcom-sector", "gcom-instrument", "gcom-measure", "gcom-inventory-sector"))
MATCH_WEIGHTS = {SKOS.exactMatch: 1.0, SKOS.closeMatch: 1.0, SKOS.broadMatch: 0.7, SKOS.narrowMatch: 0.7,
                 SKOS.relatedMatch: 0.4}
SCHEMES = {CONCEPT + "domain/": "domain", CONCEPT + "lever/": "lever", CONCEPT + "solution/": "solution"}
MIN_SHARE = 0.05
MIN_ACTIONS = 2
EVIDENCE_ACTIONS = 5          # actions kept as evidence per link (the first ones, by plan and id)


@dataclass(frozen=True)
class Category:
    iri: str
    scheme: str                            # SECTORS / INSTRUMENTS / MEASURES
    phrases: tuple[str, ...]
    targets: tuple[tuple[str, float], ...]  # (peerlearn concept IRI, weight)


@dataclass(frozen=True)
class Mapping:
    categories: tuple[Category, ...]
    inventory: dict[str, tuple[tuple[str, float], ...]]   # published inventory sector -> (domain, weight)
    inventory_concept: dict[str, str]                      # published inventory sector -> ginv: concept IRI

    @cached_property
    def _index(self) -> dict[str, list[tuple[tuple[str, ...], Category]]]:
        """First word of a phrase -> (phrase words, category), longest phrases first."""
        idx: dict[str, list[tuple[tuple[str, ...], Category]]] = defaultdict(list)
        for c in self.categories:
            for p in c.phrases:
                words = tuple(p.split())
                idx[words[0]].append((words, c))
        for v in idx.values():
            v.sort(key=lambda x: -len(x[0]))
        return dict(idx)

    def categorise(self, text: str) -> list[Category]:
        """The categories an action text names (one sector at most, any instruments and measures)."""
        words = text.split()
        idx = self._index
        sector, found = None, {}
        for i, w in enumerate(words):
            for phrase, c in idx.get(w, ()):
                if tuple(words[i:i + len(phrase)]) != phrase:
                    continue
                if c.scheme == SECTORS:
                    if i == 0 and sector is None:
                        sector = c          # the longest sector phrase at the start (sorted longest first)
                else:
                    found.setdefault(c.iri, c)
        return ([sector] if sector else []) + list(found.values())


def _targets(g: Graph, c: URIRef) -> tuple[tuple[str, float], ...]:
    best: dict[str, float] = {}
    for prop, w in MATCH_WEIGHTS.items():
        for o in g.objects(c, prop):
            best[str(o)] = max(best.get(str(o), 0.0), w)
    return tuple(sorted(best.items()))


def mapping_from_graph(g: Graph) -> Mapping:
    cats, inv, inv_c = [], {}, {}
    for c in sorted(set(g.subjects(RDF.type, SKOS.Concept)), key=str):
        iri = str(c)
        scheme = next((s for s in (SECTORS, INSTRUMENTS, MEASURES) if iri.startswith(s)), None)
        if scheme:
            phrases = tuple(sorted({" ".join(str(h).casefold().split()) for h in g.objects(c, SKOS.hiddenLabel)}))
            cats.append(Category(iri, scheme, phrases, _targets(g, c)))
        elif iri.startswith(INVENTORY):
            for n in g.objects(c, SKOS.notation):
                inv[str(n)] = _targets(g, c)
                inv_c[str(n)] = iri
    return Mapping(tuple(cats), inv, inv_c)


@lru_cache(maxsize=1)
def load_mapping() -> Mapping:
    """The mapping shipped in ``ontology/vocabularies/gcom.ttl``."""
    from kg.ontology import vocabulary_graph

    return mapping_from_graph(vocabulary_graph("gcom.ttl"))


@dataclass(frozen=True)
class DerivedLink:
    concept: str            # peerlearn concept IRI
    scheme: str             # domain / lever / solution
    share: float            # weighted share of the signatory's actions
    score: float            # share / the largest share in the scheme
    actions: int            # actions behind it
    evidence: tuple[Action, ...]


def action_categories(actions: Iterable[Action], mapping: Mapping | None = None) -> dict[tuple[str, str], list[str]]:
    """(plan, action id) -> category IRIs."""
    m = mapping or load_mapping()
    return {(a.plan, a.id): [c.iri for c in m.categorise(a.text)] for a in actions}


def derive_links(actions: Sequence[Action], mapping: Mapping | None = None) -> list[DerivedLink]:
    """The concept links a signatory's actions imply (see the module docstring)."""
    m = mapping or load_mapping()
    if not actions:
        return []
    mass: dict[str, float] = defaultdict(float)
    behind: dict[str, list[Action]] = defaultdict(list)
    for a in actions:
        best: dict[str, float] = {}
        for cat in m.categorise(a.text):
            for concept, w in cat.targets:
                best[concept] = max(best.get(concept, 0.0), w)
        for concept, w in best.items():
            mass[concept] += w
            behind[concept].append(a)
    n = len(actions)
    top: dict[str, float] = defaultdict(float)
    kept = []
    for concept, v in mass.items():
        scheme = next((s for p, s in SCHEMES.items() if concept.startswith(p)), None)
        if scheme is None or v / n < MIN_SHARE or len(behind[concept]) < MIN_ACTIONS:
            continue
        kept.append((concept, scheme, v / n))
        top[scheme] = max(top[scheme], v / n)
    return [DerivedLink(c, s, round(share, 4), round(share / top[s], 4), len(behind[c]),
                        tuple(behind[c][:EVIDENCE_ACTIONS]))
            for c, s, share in sorted(kept, key=lambda x: (x[1], -x[2], x[0]))]


def emission_shares(lines: Sequence[InventoryLine], mapping: Mapping | None = None) -> dict[str, float]:
    """Emission domain IRI -> share of the inventory's emissions (lines of one inventory)."""
    m = mapping or load_mapping()
    by: dict[str, float] = defaultdict(float)
    total = 0.0
    for ln in lines:
        e = ln.emission_t or 0.0
        if e <= 0:
            continue
        total += e
        for concept, w in m.inventory.get(ln.sector, ()):
            if w >= 1.0:
                by[concept] += e
    return {c: round(v / total, 4) for c, v in sorted(by.items())} if total else {}
