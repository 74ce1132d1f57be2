"""Profiles of every Covenant of Mayors signatory and of every pilot activity, as sparse
matrices over one concept space (the catalog's emission domains, levers and solution types).

A signatory's concepts come from its planned actions through the one GCoM mapping
(``kg.ingest.gcom.derive``: ``derive_links`` and ``emission_shares``); nothing here maps
GCoM categories itself. Three matrices, one row per signatory:

- ``focus``: the derived link's score (share of the city's actions behind the concept, over
  the largest share in its scheme: the city's main domain, lever or solution scores 1.0);
- ``need``: what the city would gain from: ``focus``, and for emission domains, where the city
  has an inventory, the mean of ``focus`` and the domain's share of its inventoried emissions
  over its largest share (a domain with most emissions is a need even without actions);
- ``experience``: what the city brings: ``min(1, log(1 + actions) / log(1 + EXPERIENCE_FULL))``
  of the actions behind the concept (50 actions count fully, 5 actions about half).

A pilot activity's row: its links in the catalog, weighted as matching trusts them
(``Link.weight``: stated 1.0, inferred 0.7, tagged half its score, and the links its cities'
Covenant of Mayors plans imply, which ``kg.catalog`` combines over the pilot's cities:
0.7 x score), so a pilot without stated concepts is still described by what its cities plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from kg.ingest.gcom import Release, Signatory, match_cities
from kg.ingest.gcom.derive import DerivedLink, derive_links, emission_shares
from kg.model import Catalog

SCHEMES = ("domain", "lever", "solution")
EXPERIENCE_FULL = 50
COMMITMENTS = ("CoM2020", "CoM2030", "CoM2050", "MayorsAdapt")


@dataclass
class Profiles:
    """Every signatory (row ``i`` of each matrix) and every pilot (row ``p`` of ``pilot``)."""

    ids: list[str]                         # organisation_id per row
    signatories: list[Signatory]
    concepts: list[str]                    # concept IRI per column
    scheme: np.ndarray                     # column -> index into SCHEMES
    focus: sparse.csr_matrix
    need: sparse.csr_matrix
    experience: sparse.csr_matrix
    need_sum: np.ndarray
    log_pop: np.ndarray                    # log10 population, nan when unknown
    country: np.ndarray                    # ISO alpha-2 per row
    commitments: np.ndarray                # bit j set: COMMITMENTS[j]
    n_actions: np.ndarray
    shares: list[dict[str, float]]         # emission domain IRI -> share of the latest inventory
    links: list[list[DerivedLink]]         # derived links per row (evidence)
    pilot_ids: list[str]
    pilot: sparse.csr_matrix               # pilots x concepts
    pilot_log_pop: np.ndarray              # log10 population of the pilot's cities (mean), nan unknown
    pilot_rows: dict[str, tuple[int, ...]]  # pilot id -> rows of its cities' signatories
    city_row: dict[str, int]               # dataset city id -> row of its matched signatory
    unmatched: dict[str, str]              # dataset city id -> why no signatory

    @property
    def row(self) -> dict[str, int]:
        return {oid: i for i, oid in enumerate(self.ids)}

    def programme_rows(self, catalog: Catalog) -> set[int]:
        """Rows of signatories already in the programme: the dataset's cities (Mission Cities,
        pilot cities, twins) matched to a signatory."""
        return {self.city_row[c] for c in catalog.cities if c in self.city_row}


def _row_matrix(rows: list[dict[int, float]], width: int) -> sparse.csr_matrix:
    indptr, indices, data = [0], [], []
    for r in rows:
        for j in sorted(r):
            indices.append(j)
            data.append(r[j])
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64),
                              np.array(indptr, dtype=np.int64)), shape=(len(rows), width))


def _experience(actions: int) -> float:
    return min(1.0, math.log1p(actions) / math.log1p(EXPERIENCE_FULL))


def build_profiles(release: Release, catalog: Catalog,
                   progress: Callable[[str], None] | None = None) -> Profiles:
    """Signatory and pilot matrices for one release and one catalog."""
    concepts = sorted(c.iri for c in catalog.concepts.values() if c.scheme in SCHEMES)
    col = {c: j for j, c in enumerate(concepts)}
    scheme = np.array([SCHEMES.index(catalog.concepts[c].scheme) for c in concepts], dtype=np.int8)
    domain_cols = {c for c in concepts if catalog.concepts[c].scheme == "domain"}

    ids = sorted(release.signatories, key=lambda s: (len(s), s))
    sigs = [release.signatories[i] for i in ids]
    focus_rows, need_rows, exp_rows, shares, links = [], [], [], [], []
    n_actions = np.zeros(len(ids), dtype=np.int32)
    if progress:
        progress("signatory profiles")
    for i, oid in enumerate(ids):
        acts = release.actions.get(oid, ())
        n_actions[i] = len(acts)
        lk = [x for x in derive_links(acts) if x.concept in col] if acts else []
        sh = {c: v for c, v in emission_shares(release.latest_inventory(oid)).items() if c in col}
        links.append(lk)
        shares.append(sh)
        f = {col[x.concept]: x.score for x in lk}
        focus_rows.append(f)
        exp_rows.append({col[x.concept]: _experience(x.actions) for x in lk})
        need = dict(f)
        top = max(sh.values(), default=0.0)
        if top > 0:
            for c in domain_cols:
                j = col[c]
                need[j] = 0.5 * f.get(j, 0.0) + 0.5 * sh.get(c, 0.0) / top
        need_rows.append({j: v for j, v in need.items() if v > 0})
    width = len(concepts)
    focus = _row_matrix(focus_rows, width)
    need = _row_matrix(need_rows, width)
    experience = _row_matrix(exp_rows, width)
    log_pop = np.array([math.log10(s.population) if s.population and s.population > 0 else np.nan
                        for s in sigs])
    commitments = np.array([sum(1 << COMMITMENTS.index(c) for c in s.commitments if c in COMMITMENTS)
                            for s in sigs], dtype=np.int8)

    if progress:
        progress("pilot profiles")
    report = match_cities(release, catalog.cities.values())
    row_of = {oid: i for i, oid in enumerate(ids)}
    city_row = {c: row_of[m.signatory] for c, m in report.matched.items() if m.signatory in row_of}
    unmatched = {m.city: m.reason for m in report.matches if not m.signatory}
    pilot_ids = sorted(catalog.pilots)
    pilot_rows, pilot_vecs, pilot_pop = {}, [], []
    for pid in pilot_ids:
        p = catalog.pilots[pid]
        rows = tuple(city_row[c] for c in p.cities if c in city_row)
        pilot_rows[pid] = rows
        vec: dict[int, float] = {}
        for lk in (*p.domains, *p.levers, *p.solutions):
            j = col.get(lk.concept)
            if j is not None:
                vec[j] = max(vec.get(j, 0.0), lk.weight)
        pilot_vecs.append(vec)
        pops = [catalog.cities[c].population for c in p.cities
                if c in catalog.cities and catalog.cities[c].population]
        pops += [sigs[r].population for r in rows if not pops and sigs[r].population]
        pilot_pop.append(float(np.mean([math.log10(x) for x in pops])) if pops else np.nan)
    return Profiles(
        ids=ids, signatories=sigs, concepts=concepts, scheme=scheme, focus=focus, need=need,
        experience=experience, need_sum=np.asarray(need.sum(axis=1)).ravel(), log_pop=log_pop,
        country=np.array([s.country for s in sigs]), commitments=commitments, n_actions=n_actions,
        shares=shares, links=links, pilot_ids=pilot_ids, pilot=_row_matrix(pilot_vecs, width),
        pilot_log_pop=np.array(pilot_pop), pilot_rows=pilot_rows, city_row=city_row, unmatched=unmatched)


def commitment_mask(commitments: Iterable[str]) -> int:
    """The bit mask of commitment names (``CoM2030``, case-insensitive); unknown names are errors."""
    from kg.errors import InputError

    bits = 0
    known = {c.casefold(): i for i, c in enumerate(COMMITMENTS)}
    for c in commitments:
        if c.casefold() not in known:
            raise InputError(f"unknown commitment {c!r}; known: {', '.join(COMMITMENTS)}")
        bits |= 1 << known[c.casefold()]
    return bits
