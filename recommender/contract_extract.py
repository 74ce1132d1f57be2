"""Climate City Contracts made small enough to ship: which passages an extract keeps, and the
contract vectors an extract carries.

Contract tags (``recommender.narratives.tag_graph``) depend only on each concept's best score
over a city's passages of the scheme's sections (``SECTIONS_BY_SCHEME``) and on the passage
that gives it (the first one, in document order, on a tie). ``select`` keeps, for each city
and scheme, that passage for every concept of the scheme whose best score is at least
``floor``. Tagging the kept passages in document order then gives exactly the tags of the whole
contract for any ``matching.tag_threshold >= floor`` and any ``top``, with the same model: a
concept at or above the floor keeps its score and its evidence (its best passage is kept and
no kept passage can beat it or come before it with the same score), one below the floor stays
below it, so the ranking and the threshold pick the same concepts.

A profile vector reads all of a contract's profile passages, which an extract does not hold:
the extract carries each city's contract vector (``contract_vectors``), and ``stored_vectors``
reads them back from the graph.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from kg.model import Concept
from kg.queries import PREFIXES
from kg.store import Store
from recommender.tagging import ConceptTagger, assertive, concept_description

FLOOR = 0.25   # below any sensible tag threshold (default 0.35)

EXTRACT_VECTORS = PREFIXES + """
SELECT ?owner ?vector ?model ?floor WHERE {
  ?ownerNode pl:narrative ?n ; dcterms:identifier ?owner .
  ?n pl:isExtract true .
  OPTIONAL { ?n pl:contractVector ?vector ; pl:embeddingModel ?model }
  OPTIONAL { ?n pl:extractFloor ?floor }
}
ORDER BY ?owner
"""


def concepts_sha256(concepts: Iterable[Concept]) -> str:
    """SHA-256 of the concept descriptions the tagger embeds (``concept_description``), so an
    extract made with other descriptions is seen to be stale."""
    lines = sorted(f"{c.iri}\t{concept_description(c)}" for c in concepts)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def select(tagger: ConceptTagger, passages: Sequence[tuple[str, str, str]],
           sections_by_scheme: Mapping[str, set[str]], floor: float = FLOOR) -> set[str]:
    """The ids (first element) of ``passages`` ``[(id, section, text)]`` (one city's, in document
    order) an extract keeps: per scheme, the best passage of each of its concepts scoring at least
    ``floor`` over the scheme's sections; when that is none, the first passage of a tagged section
    (it can give no tag, as every concept scores below the floor, but keeps the contract's vote
    in ``narratives.contract_links``)."""
    keep: set[str] = set()
    tagged = set().union(*sections_by_scheme.values())
    for scheme, sections in sections_by_scheme.items():
        ps = [(pid, text) for pid, sec, text in passages if sec in sections]
        if not ps:
            continue
        best, where = tagger.scores([t for _, t in ps])
        for i, c in enumerate(tagger.concepts):
            if c.scheme == scheme and best[i] >= floor:
                keep.add(ps[int(where[i])][0])
    if not keep:
        first = next((pid for pid, sec, _ in passages if sec in tagged), None)
        keep = {first} if first is not None else set()
    return keep


def warm(encoder, texts: Sequence[str], *, chunk: int = 512, say: Callable[[str], None] = print) -> None:
    """Encode ``texts`` as tagging reads them (``assertive``) in chunks through a caching encoder,
    saying how far it got, so an interrupted run keeps what it encoded."""
    todo = list(dict.fromkeys(t for t in (assertive(x) for x in texts) if t))
    for start in range(0, len(todo), chunk):
        encoder.encode(todo[start:start + chunk])
        say(f"encoded {min(start + chunk, len(todo))}/{len(todo)} passages")


def model_name(model_id: str) -> str:
    """The model part of a model id (``name@precision``)."""
    return model_id.rsplit("@", 1)[0]


def stored_vectors(store: Store) -> tuple[dict[str, np.ndarray], dict[str, str], float | None]:
    """Of the extract narratives in ``store``: (city id -> contract vector, city id -> its model
    id, the highest floor)."""
    from kg.ingest.ccc_extract import vector_of

    vectors: dict[str, np.ndarray] = {}
    models: dict[str, str] = {}
    floor = None
    for r in store.query(EXTRACT_VECTORS).records():
        city = str(r["owner"])
        if r.get("vector") is not None:
            vectors[city] = vector_of(str(r["vector"]))
            models[city] = str(r["model"])
        if r.get("floor") is not None:
            floor = max(float(r["floor"]), floor if floor is not None else float("-inf"))
    return vectors, models, floor


def extract_cities(store: Store) -> set[str]:
    """City ids whose contract in ``store`` is an extract."""
    return {str(r["owner"]) for r in store.query(EXTRACT_VECTORS).records()}
