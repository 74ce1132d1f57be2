"""What the encoder reads of a twin or pilot activity (``profile_text``), their unit-length
profile vectors, and the configured encoder that makes them (``make_encoder``). The
narrative candidate source, the narrative signal and the search index all embed these texts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from kg.model import Catalog, PilotActivity, Twin


def profile_text(cat: Catalog, item: Twin | PilotActivity) -> str:
    """The text embedded for a twin or pilot: its narrative, summary or interests, and labels."""
    if isinstance(item, PilotActivity):
        parts = [item.title, item.summary, item.narrative]
    else:
        city = cat.cities.get(item.city)
        parts = [city.name if city else item.city, item.interests, item.narrative]
    return "\n".join(p for p in parts if p).strip()


def profile_vectors(cat: Catalog, encoder, twin_ids: Iterable[str] | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Unit-length profile vectors (``profile_text``) of the given twins (default all)
    and of every pilot: ``({twin id: vector}, {pilot id: vector})``."""
    twins = [cat.twins[t] for t in (twin_ids if twin_ids is not None else cat.twins)]
    pilots = list(cat.pilots.values())
    tv = np.asarray(encoder.encode([profile_text(cat, t) for t in twins]), dtype=np.float32)
    pv = np.asarray(encoder.encode([profile_text(cat, p) for p in pilots]), dtype=np.float32)
    return ({t.id: tv[i] for i, t in enumerate(twins)}, {p.id: pv[j] for j, p in enumerate(pilots)})


def make_encoder(settings):
    """The configured sentence encoder with its on-disk cache."""
    from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

    m = settings.model
    enc = SentenceTransformerEncoder(m.name, precision=m.precision, batch_size=m.batch_size)
    return CachedEncoder(enc, Path(settings.data.workdir) / "cache")
