"""Two-sided rankings over every signatory: twins for a pilot activity (recruit), pilot
activities for a signatory, and peers for a signatory, each with evidence both ways.

For a city ``c`` and a pilot ``p`` (rows of ``Profiles``):

- **city gains** = ``need[c] . pilot[p] / sum(need[c])``: the share of the city's needs (its
  planned focus, and where its emissions are) that the pilot works on;
- **city brings** = ``experience[c] . pilot[p] / sum(pilot[p])``: the share of the pilot's focus
  in which the city has planned actions;

each mixed with **context** (size similarity, ``1 - |log10 ratio of populations| / 2``, 0 at a
100-fold difference) at weight ``CONTEXT``; the score is their harmonic mean (a city valued by
one side only cannot rank high), as in the programme's matching. For two cities ``a`` and ``b``
(peers) the same with ``b``'s experience against ``a``'s needs and back. All pilots against all
signatories is two sparse products.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kg.errors import InputError
from kg.model import Catalog
from recommender.europe.profiles import Profiles, commitment_mask

CONTEXT = 0.3
EVIDENCE_CONCEPTS = 3
EXAMPLE_WORDS = 12                 # words of an example action (lemmatised text) shown as evidence


@dataclass(frozen=True)
class Filters:
    countries: frozenset[str] = frozenset()     # ISO alpha-2, upper case; empty: all
    population_min: int | None = None
    population_max: int | None = None
    commitments: tuple[str, ...] = ()           # all of them required
    has_plan: bool = False                      # at least one planned action
    include_programme: bool = False             # keep the dataset's cities (pilots, twins, Mission Cities)

    def mask(self, pr: Profiles, catalog: Catalog) -> np.ndarray:
        keep = np.ones(len(pr.ids), dtype=bool)
        if self.countries:
            keep &= np.isin(pr.country, sorted(self.countries))
        if self.population_min is not None or self.population_max is not None:
            pop = np.power(10.0, pr.log_pop)
            known = ~np.isnan(pop)
            keep &= known
            if self.population_min is not None:
                keep &= np.where(known, pop >= self.population_min - 0.5, False)
            if self.population_max is not None:
                keep &= np.where(known, pop <= self.population_max + 0.5, False)
        if self.commitments:
            bits = commitment_mask(self.commitments)
            keep &= (pr.commitments & bits) == bits
        if self.has_plan:
            keep &= pr.n_actions > 0
        if not self.include_programme:
            keep[sorted(pr.programme_rows(catalog))] = False
        return keep


def parse_population(text: str | None) -> tuple[int | None, int | None]:
    """``50000-500000``, ``50000-`` or ``-500000``."""
    if not text:
        return None, None
    lo, sep, hi = text.replace("_", "").replace(",", "").partition("-")
    try:
        if not sep:
            raise ValueError
        return (int(lo) if lo.strip() else None, int(hi) if hi.strip() else None)
    except ValueError:
        raise InputError(f"--population {text!r}: expected MIN-MAX, MIN- or -MAX (inhabitants)") from None


def size_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - |log10 a - log10 b| / 2`` clipped to [0, 1]; 0 where a population is unknown."""
    d = np.abs(a - b)
    return np.where(np.isnan(d), 0.0, np.clip(1.0 - d / 2.0, 0.0, 1.0))


def _harmonic(g: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = g + b
    return np.divide(2 * g * b, s, out=np.zeros_like(s), where=s > 0)


@dataclass(frozen=True)
class Sides:
    """Scores of every signatory (rows) against every pilot (columns), or one column."""

    score: np.ndarray
    gains: np.ndarray
    brings: np.ndarray
    context: np.ndarray


def recruit_scores(pr: Profiles, pilots: list[int] | None = None, *, context: float = CONTEXT) -> Sides:
    """Signatories x pilots (all pilots, or the given pilot rows)."""
    P = pr.pilot if pilots is None else pr.pilot[pilots]
    plp = pr.pilot_log_pop if pilots is None else pr.pilot_log_pop[pilots]
    return two_sided(pr, P, plp, context=context)


def two_sided(pr: Profiles, P, plp: np.ndarray, *, context: float = CONTEXT) -> Sides:
    """Signatories x the rows of ``P`` (concept vectors of what each offers and asks for, with
    log10 populations ``plp``): gains, brings, size and their harmonic mean."""
    psum = np.asarray(P.sum(axis=1)).ravel()
    gains = np.asarray((pr.need @ P.T).todense())
    gains = np.divide(gains, pr.need_sum[:, None], out=np.zeros_like(gains), where=pr.need_sum[:, None] > 0)
    brings = np.asarray((pr.experience @ P.T).todense())
    brings = np.divide(brings, psum[None, :], out=np.zeros_like(brings), where=psum[None, :] > 0)
    ctx = size_similarity(pr.log_pop[:, None], plp[None, :])
    g = (1 - context) * gains + context * ctx
    b = (1 - context) * brings + context * ctx
    return Sides(_harmonic(g, b), g, b, ctx)


def peer_scores(pr: Profiles, row: int, *, context: float = CONTEXT) -> Sides:
    """The city ``row`` against every signatory: ``gains`` what the city learns from each one,
    ``brings`` what each one learns from the city."""
    na, ka = pr.need[row], pr.experience[row]
    learns = np.asarray((pr.experience @ na.T).todense()).ravel()
    learns = learns / pr.need_sum[row] if pr.need_sum[row] > 0 else np.zeros_like(learns)
    teaches = np.asarray((pr.need @ ka.T).todense()).ravel()
    teaches = np.divide(teaches, pr.need_sum, out=np.zeros_like(teaches), where=pr.need_sum > 0)
    ctx = size_similarity(pr.log_pop, np.full(len(pr.ids), pr.log_pop[row]))
    g = (1 - context) * learns + context * ctx
    b = (1 - context) * teaches + context * ctx
    return Sides(_harmonic(g, b), g, b, ctx)


def top_rows(score: np.ndarray, keep: np.ndarray, k: int) -> list[int]:
    """The ``k`` best rows among ``keep``, best first; ties in row order."""
    idx = np.flatnonzero(keep)
    if k <= 0 or not len(idx):
        return []
    s = score[idx]
    if k < len(idx):
        part = np.argpartition(-s, k - 1)[:k]
        cut = s[part].min()
        part = np.flatnonzero(s >= cut)          # all tied at the cut, then order and trim
    else:
        part = np.arange(len(idx))
    order = part[np.lexsort((idx[part], -s[part]))]
    return [int(i) for i in idx[order][:k]]


# ------------------------------------------------------------------------ evidence

@dataclass(frozen=True)
class Ranked:
    """One row of a ranking with both sides and the evidence in words."""

    COLUMNS = ("rank", "pilot", "signatory", "name", "country", "population", "commitments", "actions",
               "score", "gains", "brings", "context", "gains_evidence", "brings_evidence", "emission_shares")

    rank: int
    signatory: str
    name: str
    country: str
    population: int | None
    commitments: tuple[str, ...]
    actions: int
    score: float
    gains: float                     # recruit: the city gains from the pilot; peers: the city learns
    brings: float                    # recruit: the city brings to the pilot; peers: the other learns
    context: float
    pilot: str = ""
    gains_evidence: tuple[str, ...] = ()
    brings_evidence: tuple[str, ...] = ()
    emission_shares: dict[str, float] = field(default_factory=dict)

    def cells(self) -> dict:
        """One flat row for CSV and tables: lists joined by `` | ``, shares as ``domain 63%``."""
        d = self.as_dict()
        d["commitments"] = " ".join(self.commitments)
        d["gains_evidence"] = " | ".join(self.gains_evidence)
        d["brings_evidence"] = " | ".join(self.brings_evidence)
        d["emission_shares"] = "; ".join(f"{k} {v:.0%}" for k, v in sorted(self.emission_shares.items(),
                                                                          key=lambda kv: -kv[1]))
        return d

    def as_dict(self) -> dict:
        return {"rank": self.rank, "pilot": self.pilot, "signatory": self.signatory, "name": self.name,
                "country": self.country, "population": self.population,
                "commitments": list(self.commitments), "actions": self.actions,
                "score": round(self.score, 4), "gains": round(self.gains, 4), "brings": round(self.brings, 4),
                "context": round(self.context, 4), "gains_evidence": list(self.gains_evidence),
                "brings_evidence": list(self.brings_evidence),
                "emission_shares": {k: round(v, 4) for k, v in self.emission_shares.items()}}


def _label(catalog: Catalog, iri: str) -> str:
    c = catalog.concepts.get(iri)
    return c.label if c else iri.rsplit("/", 1)[-1]


def _why_needs(pr: Profiles, catalog: Catalog, row: int, offer: np.ndarray) -> list[str]:
    """The city's needs that ``offer`` (a concept vector) meets, strongest first, in words."""
    need = pr.need[row].toarray().ravel() * offer
    links = {x.concept: x for x in pr.links[row]}
    out = []
    for j in np.argsort(-need, kind="stable")[:EVIDENCE_CONCEPTS]:
        if need[j] <= 0:
            break
        iri = pr.concepts[j]
        bits = []
        if iri in pr.shares[row]:
            bits.append(f"{pr.shares[row][iri]:.0%} of its inventoried emissions")
        if iri in links:
            bits.append(f"{links[iri].share:.0%} of its planned actions")
        out.append(f"{_label(catalog, iri)} ({', '.join(bits) or 'emissions'})")
    return out


def _short(text: str, words: int = EXAMPLE_WORDS) -> str:
    w = text.split()
    return " ".join(w[:words]) + (" ..." if len(w) > words else "")


def _why_experience(pr: Profiles, catalog: Catalog, row: int, wanted: np.ndarray) -> list[str]:
    """The city's experience in what ``wanted`` asks for, with an example action."""
    exp = pr.experience[row].toarray().ravel() * wanted
    links = {x.concept: x for x in pr.links[row]}
    out = []
    for j in np.argsort(-exp, kind="stable")[:EVIDENCE_CONCEPTS]:
        if exp[j] <= 0:
            break
        lk = links[pr.concepts[j]]
        example = f": e.g. \"{_short(lk.evidence[0].text)}\"" if lk.evidence else ""
        out.append(f"{lk.actions} planned actions in {_label(catalog, lk.concept)}{example}")
    return out


def _ranked(pr: Profiles, catalog: Catalog, rank: int, row: int, sides: Sides, col: int | None,
            gains_ev: list[str], brings_ev: list[str], pilot: str = "") -> Ranked:
    s = pr.signatories[row]
    pick = (lambda a: float(a[row, col])) if col is not None else (lambda a: float(a[row]))
    return Ranked(rank=rank, signatory=s.id, name=s.name, country=s.country, population=s.population,
                  commitments=s.commitments, actions=int(pr.n_actions[row]), score=pick(sides.score),
                  gains=pick(sides.gains), brings=pick(sides.brings), context=pick(sides.context),
                  pilot=pilot, gains_evidence=tuple(gains_ev), brings_evidence=tuple(brings_ev),
                  emission_shares={_label(catalog, k): v for k, v in pr.shares[row].items()})


def pilot_index(pr: Profiles, pilot_id: str) -> int:
    return pr.pilot_ids.index(pilot_id)


def recruit(pr: Profiles, catalog: Catalog, pilot_id: str, *, k: int = 20,
            filters: Filters = Filters(), sides: Sides | None = None) -> list[Ranked]:
    """The ``k`` signatories most worth recruiting as twins for a pilot activity; never a city
    the pilot runs. ``sides``: precomputed ``recruit_scores`` for all pilots."""
    p = pilot_index(pr, pilot_id)
    one = sides is None
    sides = sides or recruit_scores(pr, [p])
    col = 0 if one else p
    keep = filters.mask(pr, catalog)
    keep[list(pr.pilot_rows[pilot_id])] = False
    offer = pr.pilot[p].toarray().ravel()
    out = []
    for rank, row in enumerate(top_rows(sides.score[:, col], keep, k), start=1):
        out.append(_ranked(pr, catalog, rank, row, sides, col, _why_needs(pr, catalog, row, offer),
                           _why_experience(pr, catalog, row, offer), pilot=pilot_id))
    return out


def pilots_for(pr: Profiles, catalog: Catalog, row: int, *, k: int = 10) -> list[tuple[str, Ranked]]:
    """Pilot activities ranked for one signatory (a pilot its city runs is left out)."""
    sides = recruit_scores(pr)
    keep = np.array([row not in pr.pilot_rows[p] for p in pr.pilot_ids])
    scores = sides.score[row]
    order = [int(j) for j in np.lexsort((np.arange(len(scores)), -scores)) if keep[j]][:k]
    out = []
    for rank, p in enumerate(order, start=1):
        offer = pr.pilot[p].toarray().ravel()
        out.append((pr.pilot_ids[p], _ranked(pr, catalog, rank, row, sides, p,
                                             _why_needs(pr, catalog, row, offer),
                                             _why_experience(pr, catalog, row, offer),
                                             pilot=pr.pilot_ids[p])))
    return out


def peers(pr: Profiles, catalog: Catalog, row: int, *, k: int = 10,
          filters: Filters = Filters(include_programme=True)) -> list[Ranked]:
    """The ``k`` cities most worth learning with: ``gains`` what ``row`` learns from each,
    ``brings`` what each learns from ``row``; evidence both ways."""
    sides = peer_scores(pr, row)
    keep = filters.mask(pr, catalog)
    keep[row] = False
    my_need = pr.need[row].toarray().ravel()
    out = []
    for rank, other in enumerate(top_rows(sides.score, keep, k), start=1):
        # what ``row`` learns: the other's experience in ``row``'s needs; and back
        learns = _why_experience(pr, catalog, other, my_need)
        teaches = _why_experience(pr, catalog, row, pr.need[other].toarray().ravel())
        out.append(_ranked(pr, catalog, rank, other, sides, None, learns, teaches))
    return out
