"""Text -> concepts (emission domains, levers, barrier classes), zero-shot, through the same
encoder as the narratives, each with a score and the passage that supports it.

Each concept is described by its SKOS label, definition and alternative labels; a text is
split into passages (sentences for short narratives, the CCC reader's passages for long
documents) and a concept's score is its best cosine to any passage, so the evidence is the
passage that scored. A concept is tagged when its score reaches ``threshold`` and it is among
the ``top`` best of its scheme. ``keyword_tags`` is the baseline: a concept is tagged when its
label or an alternative label occurs in the text.

Tags enter the knowledge graph as ``pl:ConceptLink`` with status ``pl:Tagged``, a score and
``pl:evidence`` pointing at the passage: inferred links, distinct from stated ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kg.model import Catalog, Concept

SCHEMES = ("domain", "lever", "barrier")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class Tag:
    concept: str        # concept IRI
    scheme: str
    score: float        # best cosine of the concept description to a passage
    passage: str        # the passage that scored
    passage_index: int  # its position in the passages given


def sentences(text: str, *, min_words: int = 4) -> list[str]:
    """Split a short narrative into sentence passages.

    >>> sentences("Kranj runs one-stop shops. They advise residents on energy. OK.")
    ['Kranj runs one-stop shops.', 'They advise residents on energy.']
    """
    parts = [p.strip() for p in _SENTENCE.split(" ".join(text.split())) if p.strip()]
    return [p for p in parts if len(p.split()) >= min_words]


def concept_description(c: Concept) -> str:
    alts = ", ".join(c.alt_labels[:8])
    return f"{c.label}: {c.definition}" + (f" ({alts})" if alts else "")


class ConceptTagger:
    """Zero-shot concept tagger over one encoder."""

    def __init__(self, concepts: Iterable[Concept], encoder, *, threshold: float = 0.35, top: int = 3):
        self.concepts = [c for c in concepts if c.scheme in SCHEMES]
        self.encoder = encoder
        self.threshold = threshold
        self.top = top
        self._vectors = None

    @classmethod
    def from_catalog(cls, cat: Catalog, encoder, **kw) -> ConceptTagger:
        return cls(cat.concepts.values(), encoder, **kw)

    @property
    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = np.asarray(self.encoder.encode([concept_description(c) for c in self.concepts]))
        return self._vectors

    def scores(self, passages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(best score per concept, index of the best passage per concept)."""
        if not passages:
            n = len(self.concepts)
            return np.zeros(n), np.zeros(n, dtype=int)
        sims = self.vectors @ np.asarray(self.encoder.encode(list(passages))).T
        return sims.max(axis=1), sims.argmax(axis=1)

    def tag(self, passages: Sequence[str]) -> list[Tag]:
        """Tags for one document given as passages, best first within each scheme."""
        best, where = self.scores(passages)
        return self._select(best, where, passages)

    def tag_many(self, documents: Sequence[Sequence[str]]) -> list[list[Tag]]:
        """Tags for many documents with one encoding pass over all passages."""
        flat = [p for doc in documents for p in doc]
        if not flat:
            return [[] for _ in documents]
        sims = self.vectors @ np.asarray(self.encoder.encode(flat)).T
        out, start = [], 0
        for doc in documents:
            if not doc:
                out.append([])
                continue
            block = sims[:, start:start + len(doc)]
            out.append(self._select(block.max(axis=1), block.argmax(axis=1), doc))
            start += len(doc)
        return out

    def _select(self, best, where, passages) -> list[Tag]:
        tags = []
        for scheme in SCHEMES:
            idx = [i for i, c in enumerate(self.concepts) if c.scheme == scheme]
            idx.sort(key=lambda i: -best[i])
            for i in idx[: self.top]:
                if best[i] >= self.threshold:
                    j = int(where[i])
                    tags.append(Tag(self.concepts[i].iri, scheme, round(float(best[i]), 6), passages[j], j))
        return tags


def keyword_tags(concepts: Iterable[Concept], text: str) -> list[Tag]:
    """Baseline: a concept is tagged when its label or an alternative label occurs in the text
    (case-insensitive, whole words). Score 1.0; the passage is the sentence with the hit."""
    low = text.lower()
    sents = sentences(text, min_words=1) or [text]
    out = []
    for c in concepts:
        if c.scheme not in SCHEMES:
            continue
        terms = [c.label, *c.alt_labels]
        for term in terms:
            pat = re.compile(r"\b" + re.escape(term.lower()) + r"\b")
            if pat.search(low):
                j = next((k for k, s in enumerate(sents) if pat.search(s.lower())), 0)
                out.append(Tag(c.iri, c.scheme, 1.0, sents[j], j))
                break
    return out


@dataclass(frozen=True)
class PRF:
    scheme: str
    precision: float
    recall: float
    f1: float
    support: int     # items evaluated


def prf(predicted: list[set[str]], truth: list[set[str]], scheme: str) -> PRF:
    """Micro-averaged precision, recall and F1 over items."""
    tp = sum(len(p & t) for p, t in zip(predicted, truth))
    fp = sum(len(p - t) for p, t in zip(predicted, truth))
    fn = sum(len(t - p) for p, t in zip(predicted, truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(scheme, precision, recall, f1, len(truth))


def evaluate_tagging(cat: Catalog, tagger: ConceptTagger) -> list[tuple[str, PRF]]:
    """Precision/recall/F1 per scheme on pilot activities with stated links in that scheme,
    from their narratives alone, for the tagger and the keyword baseline."""
    field = {"domain": "domains", "lever": "levers", "barrier": "barriers"}
    rows = []
    pilots = [p for p in cat.pilots.values() if p.narrative]
    docs = [sentences(p.narrative) or [p.narrative] for p in pilots]
    tagged = tagger.tag_many(docs)
    for scheme in SCHEMES:
        items = [(i, p) for i, p in enumerate(pilots)
                 if any(link.status == "stated" for link in getattr(p, field[scheme]))]
        truth = [{link.concept for link in getattr(p, field[scheme]) if link.status == "stated"} for _, p in items]
        model = [{t.concept for t in tagged[i] if t.scheme == scheme} for i, _ in items]
        base = [{t.concept for t in keyword_tags(cat.concepts.values(), p.narrative) if t.scheme == scheme}
                for _, p in items]
        rows.append(("tagger", prf(model, truth, scheme)))
        rows.append(("keywords", prf(base, truth, scheme)))
    return rows
