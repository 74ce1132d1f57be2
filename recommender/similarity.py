"""The two similarity tables a ``MatchContext`` holds before scoring: narrative similarity
(cosine of profile vectors, ``narrative_table``) and knowledge-graph proximity
(personalised PageRank both ways, ``proximities``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kg.model import Catalog
from recommender.graph import knowledge_graph, ppr_matrix
from recommender.scoring import PairTable


def narrative_table(twin_vectors: Mapping[str, np.ndarray], pilot_vectors: Mapping[str, np.ndarray]) -> PairTable:
    """Cosine of unit-length profile vectors for every (twin, pilot) pair, as one matrix."""
    tv = np.asarray(list(twin_vectors.values()), dtype=np.float32).reshape(len(twin_vectors), -1)
    pv = np.asarray(list(pilot_vectors.values()), dtype=np.float32).reshape(len(pilot_vectors), -1)
    return PairTable(list(twin_vectors), list(pilot_vectors), (tv @ pv.T).astype(np.float64))


def proximities(cat: Catalog) -> PairTable:
    """Personalised-PageRank proximity both ways, each normalised per source over its
    eligible partners (1.0 = the closest one), as a table of (twin->pilot, pilot->twin).

    Only the twin direction is solved: on an undirected graph PPR is reversible,
    ``deg(s) ppr_s(t) = deg(t) ppr_t(s)``, so the pilot->twin mass is the twin->pilot mass
    times ``deg(twin) / deg(pilot)``, and the ``1 / deg(pilot)`` cancels in the per-pilot
    normalisation.
    """
    G = knowledge_graph(cat)
    twins, pilots = list(cat.twins.values()), list(cat.pilots.values())
    if not twins or not pilots:
        return PairTable([t.id for t in twins], [p.id for p in pilots])
    raw = ppr_matrix(G, [t.iri for t in twins], [p.iri for p in pilots])
    deg = np.array([G.degree(t.iri, weight="weight") for t in twins], dtype=float)
    back = raw * deg[:, None]
    col = {p.id: j for j, p in enumerate(pilots)}
    row_cohort = np.array([t.cohort for t in twins])
    # eligible[i, j]: pilot j is open to twin i's cohort and not run by its city
    eligible = np.zeros(raw.shape, dtype=bool)
    for j, p in enumerate(pilots):
        eligible[:, j] = np.isin(row_cohort, (p.cohort, *p.open_to_cohorts))
    run_by: dict[str, list[int]] = {}
    for p in pilots:
        for c in p.cities:
            run_by.setdefault(c, []).append(col[p.id])
    for i, t in enumerate(twins):
        eligible[i, run_by.get(t.city, [])] = False
    fwd = _normalise(raw, eligible, axis=1)
    back = _normalise(back, eligible, axis=0)
    return PairTable([t.id for t in twins], [p.id for p in pilots], fwd, back)


def _normalise(values: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """``values`` divided by the largest masked value along ``axis`` (0 where that is 0),
    clipped to [0, 1] so a pair outside the mask cannot exceed the best eligible one."""
    top = np.where(mask, values, 0.0).max(axis=axis, keepdims=True)
    out = np.divide(values, top, out=np.zeros_like(values), where=top > 0)
    return np.clip(out, 0.0, 1.0)
