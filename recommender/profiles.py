"""What the encoder reads of a twin or pilot activity (``profile_text``), their unit-length
profile vectors (with their cities' contracts where given), and the configured encoder that
makes them (``make_encoder``). The
narrative candidate source, the narrative signal and the search index all embed these texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from kg.model import Catalog, PilotActivity, Twin
from recommender.tagging import assertive


def profile_text(cat: Catalog, item: Twin | PilotActivity) -> str:
    """The text embedded for a twin or pilot: its narrative, summary or interests, and labels,
    each read without the sentences that say nothing is known (``tagging.assertive``: "No public
    source states its learning interests."), which would otherwise make every empty profile
    look alike."""
    if isinstance(item, PilotActivity):
        parts = [item.title, item.summary, item.narrative]
    else:
        city = cat.cities.get(item.city)
        parts = [city.name if city else item.city, item.interests, item.narrative]
    return "\n".join(t for t in (assertive(p) for p in parts if p) if t).strip()


def profile_vectors(cat: Catalog, encoder, twin_ids: Iterable[str] | None = None, *,
                    contracts: Mapping[str, Sequence[str]] | None = None,
                    city_vectors: Mapping[str, np.ndarray] | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Unit-length profile vectors of the given twins (default all) and of every pilot:
    ``({twin id: vector}, {pilot id: vector})``.

    Without ``contracts`` a profile vector is its ``profile_text``'s. ``contracts`` (city id ->
    the contract passages that describe it, ``recommender.narratives.contract_texts``) adds the
    cities' contracts: a city's contract vector is the mean of its passages' vectors; a twin's
    or activity's contract vector the mean of its cities' (cities without a contract are left
    out); the profile vector is the normalised sum of the unit text vector and the unit
    contract vector, so what the twin or activity says of itself and what its cities' contracts
    say count equally (its direction is their bisector). ``city_vectors`` gives cities' contract
    vectors made already (a contract shipped as an extract carries its own:
    ``recommender.narratives.extract_vectors``)."""
    twins = [cat.twins[t] for t in (twin_ids if twin_ids is not None else cat.twins)]
    pilots = list(cat.pilots.values())
    tv = np.asarray(encoder.encode([profile_text(cat, t) for t in twins]), dtype=np.float32)
    pv = np.asarray(encoder.encode([profile_text(cat, p) for p in pilots]), dtype=np.float32)
    if contracts or city_vectors:
        city_vec = {**contract_vectors(encoder, contracts or {}), **(city_vectors or {})}
        tv = _with_contracts(tv, [(t.city,) for t in twins], city_vec)
        pv = _with_contracts(pv, [p.cities for p in pilots], city_vec)
    return ({t.id: tv[i] for i, t in enumerate(twins)}, {p.id: pv[j] for j, p in enumerate(pilots)})


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n else v.astype(np.float32)


def contract_vectors(encoder, contracts: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """City id -> unit mean of its contract passages' vectors (one encoding call for all)."""
    cities = [c for c in sorted(contracts) if contracts[c]]
    flat = [t for c in cities for t in contracts[c]]
    if not flat:
        return {}
    vectors = np.asarray(encoder.encode(flat), dtype=np.float32)
    out, start = {}, 0
    for c in cities:
        n = len(contracts[c])
        out[c] = _unit(vectors[start:start + n].mean(axis=0))
        start += n
    return out


def _with_contracts(text_vectors: np.ndarray, cities: Sequence[Sequence[str]],
                    city_vec: Mapping[str, np.ndarray]) -> np.ndarray:
    out = text_vectors.copy()
    for i, own in enumerate(cities):
        vs = [city_vec[c] for c in dict.fromkeys(own) if c in city_vec]
        if vs:
            out[i] = _unit(_unit(text_vectors[i]) + _unit(np.mean(vs, axis=0)))
    return out


def make_encoder(settings):
    """The configured sentence encoder with its on-disk cache."""
    from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

    m = settings.model
    enc = SentenceTransformerEncoder(m.name, precision=m.precision, batch_size=m.batch_size)
    return CachedEncoder(enc, Path(settings.data.workdir) / "cache")
