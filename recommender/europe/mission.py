"""Mission-minded pairing: Mission Cities for any signatory, by what the Climate City
Contract's portfolio (module B-2) offers against the city's plan and emissions, both ways; and
the reverse, the signatories that fit a Mission City's portfolio.

A Mission City's **portfolio** row: for each concept (domain, lever, solution type), the share
of its contract's B-2 passages that name it (the rule of ``recommender.tagging.keyword_tags``:
the concept's label or an alternative label, whole words), over the largest share in the same
scheme; a concept named in fewer than ``MIN_PASSAGES`` passages is left out. Then the two
sides of ``rank.two_sided``: the city **gains** (the share of its needs the portfolio works on)
and **brings** (the share of the portfolio where it has planned actions), with size
similarity; evidence: the contract passages and the city's actions.
Contracts come from the store (``peerlearn ingest-ccc``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kg.model import Catalog
from recommender.europe.profiles import SCHEMES, Profiles, _row_matrix
from recommender.europe.rank import (
    CONTEXT,
    EVIDENCE_CONCEPTS,
    Filters,
    Ranked,
    Sides,
    _ranked,
    _short,
    _why_experience,
    _why_needs,
    top_rows,
    two_sided,
)

SECTION = "B-2"
MIN_PASSAGES = 2
PASSAGE_WORDS = 30


@dataclass
class Portfolios:
    cities: list[str]                         # Mission City ids, one per row
    matrix: object                            # scipy csr: Mission Cities x concepts
    log_pop: np.ndarray
    passages: dict[tuple[int, int], list[str]]   # (row, concept column) -> passage texts naming it
    counts: dict[str, int]                     # Mission City id -> B-2 passages read


def keyword_matcher(concepts):
    """``text -> set of concept IRIs`` among ``concepts`` (domains, levers and solution types
    here): the rule of ``tagging.keyword_tags`` (a concept's label or an alternative label as
    whole words, case-insensitive), compiled once for thousands of
    passages (``keyword_tags`` splits sentences and compiles per call: 26 s for the 8,670 B-2
    passages of the 102 contracts). A test keeps the two equal."""
    import re

    pats = [(c.iri, re.compile("|".join(r"\b" + re.escape(t.lower()) + r"\b" for t in (c.label, *c.alt_labels))))
            for c in concepts]

    def match(text: str) -> set[str]:
        low = text.lower()
        return {iri for iri, pat in pats if pat.search(low)}
    return match


def portfolios(pr: Profiles, catalog: Catalog, passages: dict[str, list[tuple[str, str, str]]]) -> Portfolios:
    """Portfolio rows of every Mission City whose contract has B-2 passages in ``passages``
    (city id -> [(passage IRI, section, text)], as ``narratives.ccc_passages``)."""
    col = {c: j for j, c in enumerate(pr.concepts)}
    match = keyword_matcher([catalog.concepts[c] for c in pr.concepts if catalog.concepts[c].scheme in SCHEMES])
    ids, rows, pops, ev, counts = [], [], [], {}, {}
    for cid in sorted(passages):
        city = catalog.cities.get(cid)
        b2 = [t for _, sec, t in passages[cid] if sec == SECTION]
        if city is None or not city.mission_city or not b2:
            continue
        hits: dict[int, list[str]] = {}
        for text in b2:
            for iri in match(text):
                hits.setdefault(col[iri], []).append(text)
        r = len(ids)
        share = {j: len(t) / len(b2) for j, t in hits.items() if len(t) >= MIN_PASSAGES}
        top = {k: max((v for j, v in share.items() if pr.scheme[j] == k), default=0.0) for k in range(len(SCHEMES))}
        rows.append({j: v / top[pr.scheme[j]] for j, v in share.items()})
        for j in share:
            ev[(r, j)] = hits[j]
        ids.append(cid)
        counts[cid] = len(b2)
        pops.append(np.log10(city.population) if city.population else np.nan)
    return Portfolios(ids, _row_matrix(rows, len(pr.concepts)), np.array(pops, dtype=float), ev, counts)


def _gains_evidence(pr: Profiles, pf: Portfolios, catalog: Catalog, row: int, j: int) -> list[str]:
    """Per concept where the city's need meets the portfolio (strongest first): the need in
    words and the contract's B-2 passages naming the concept, with the first one quoted."""
    offer = pf.matrix[j].toarray().ravel()
    weights = pr.need[row].toarray().ravel() * offer
    needs = _why_needs(pr, catalog, row, offer)
    out = []
    for k, c in enumerate(c for c in np.argsort(-weights, kind="stable")[:EVIDENCE_CONCEPTS] if weights[c] > 0):
        texts = pf.passages.get((j, int(c)), [])
        quote = f"; contract B-2: {len(texts)} passages, e.g. \"{_short(texts[0], PASSAGE_WORDS)}\"" if texts else ""
        out.append(needs[k] + quote)
    return out


def scores(pr: Profiles, pf: Portfolios, *, context: float = CONTEXT) -> Sides:
    """Signatories x Mission Cities."""
    return two_sided(pr, pf.matrix, pf.log_pop, context=context)


def mission_cities_for(pr: Profiles, pf: Portfolios, catalog: Catalog, row: int, *, k: int = 10,
                       sides: Sides | None = None) -> list[Ranked]:
    """Mission Cities ranked for the signatory ``row`` (never its own city). Each row names the
    Mission City; gains: what the signatory gains from its portfolio; brings: what it brings."""
    sides = sides or scores(pr, pf)
    own = {c for c, r in pr.city_row.items() if r == row}
    s = sides.score[row]
    order = [int(j) for j in np.lexsort((np.arange(len(s)), -s)) if pf.cities[j] not in own][:k]
    out = []
    for rank, j in enumerate(order, start=1):
        cid = pf.cities[j]
        city = catalog.cities[cid]
        offer = pf.matrix[j].toarray().ravel()
        srow = pr.city_row.get(cid)
        gains_ev = _gains_evidence(pr, pf, catalog, row, j)
        out.append(Ranked(
            rank=rank, signatory=pr.ids[srow] if srow is not None else "", name=city.name, country=city.country,
            population=city.population, commitments=pr.signatories[srow].commitments if srow is not None else (),
            actions=int(pr.n_actions[srow]) if srow is not None else 0, score=float(s[j]),
            gains=float(sides.gains[row, j]), brings=float(sides.brings[row, j]), context=float(sides.context[row, j]),
            pilot=cid, gains_evidence=tuple(gains_ev),
            brings_evidence=tuple(_why_experience(pr, catalog, row, offer)),
            emission_shares={}))
    return out


def signatories_for(pr: Profiles, pf: Portfolios, catalog: Catalog, city_id: str, *, k: int = 20,
                    filters: Filters = Filters(include_programme=True), sides: Sides | None = None) -> list[Ranked]:
    """Signatories (never a Mission City) that fit a Mission City's portfolio, best first
    (``sides``: ``scores(pr, pf)`` computed once for many Mission Cities)."""
    j = pf.cities.index(city_id)
    sides = sides or scores(pr, pf)
    keep = filters.mask(pr, catalog)
    keep[[r for c, r in pr.city_row.items() if catalog.cities[c].mission_city]] = False
    offer = pf.matrix[j].toarray().ravel()
    out = []
    for rank, row in enumerate(top_rows(sides.score[:, j], keep, k), start=1):
        out.append(_ranked(pr, catalog, rank, row, sides, j,
                           _gains_evidence(pr, pf, catalog, row, j),
                           _why_experience(pr, catalog, row, offer), pilot=city_id))
    return out
