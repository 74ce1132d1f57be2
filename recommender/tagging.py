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

A sentence that denies or says nothing is known ("No public source states its interests, so
no emission domains, levers or barriers are recorded."; a contract cell "Not applicable")
never creates a link (``says_nothing``): the model reads it as being about data gaps or
barriers, so before this rule 94 tags on 43 pilots and twins rested on such sentences.
Tagging reads each passage without its such sentences (and table cells); a passage with
nothing else cannot be evidence. This is the one home of that rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kg.model import Catalog, Concept

SCHEMES = ("domain", "lever", "barrier")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'(])")
# the units a passage is judged by: sentences, and the cells of tables the CCC reader flattened to "a | b"
_UNIT = re.compile(r"((?<=[.!?;])\s+(?=[A-Z0-9\"'(])|\s+\|\s+|\n+)")
# "says nothing is known": a negation whose scope (the next 12 words of its clause) reaches a word about sources,
# records or statements ("no public source states", "is not published", "are not known"), sources
# that do not say, "gives no" / "describe no", "not public", or a placeholder cell; "not only", "not just", "not to mention" assert.
_NEG = r"(?:no|not|none|neither|nor|never|without|cannot|\w+n't)"
_META = (r"(?:the\s+sources|source\s+(?:states?|says?|gives?)|public\s+sources?|published|publish|records?|recorded|"
         r"stat(?:e|es|ed)|says?|said|gives?|(?:are|is|was|were|be)\s+given|describes?|described|mentions?|"
         r"mentioned|known|specif(?:y|ies|ied)|documented|detailed|reported|applicable|identified)")
_DENIAL = re.compile(
    rf"\b(?!not\s+(?:only|just|merely|to\s+mention)\b){_NEG}\b(?:[^\w.;:|]+\w+){{0,11}}?[^\w.;:|]+{_META}\b"
    r"|\b(?:gives?|describes?|records?|states?|says?|mentions?|specif(?:y|ies))\s+(?:no|neither|nothing)\b"
    r"|\b(?:sources?|documents?|applications?(?:\s+forms?)?)\s+(?:(?:do|does|did|are|is|were|was)\s+)?(?:not|n't)\b"
    r"|\bno\s+(?:further\s+|more\s+)?(?:information|details)\b"
    r"|\bnot\s+(?:made\s+)?public(?:ly\s+available)?\s*(?:[.;,:)]|$)|\bunpublished\b",
    re.I)
_PLACEHOLDER = re.compile(r"^\W*(?:n/?a|n\.a\.?|none|nil|tbd|tbc|not applicable|not specified|not known|no data|"
                          r"unknown|to be (?:defined|determined|confirmed))\W*$", re.I)


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


def says_nothing(sentence: str) -> bool:
    """Whether a sentence denies or says nothing is known, so that it can support no concept.

    >>> says_nothing("No public source states its interests, so no barriers are recorded.")
    True
    >>> says_nothing("Whether the heat in the title means heating supply is not stated.")
    True
    >>> says_nothing("Not applicable")
    True
    >>> says_nothing("Households cannot pay the upfront cost and banks will not lend to them.")
    False
    >>> says_nothing("Heat pumps not only cut emissions but also save money.")
    False
    """
    return bool(_PLACEHOLDER.match(sentence) or _DENIAL.search(sentence))


def assertive(passage: str) -> str:
    """The passage without its sentences and table cells that say nothing (``says_nothing``);
    the passage itself when it has none, "" when nothing else is left."""
    parts = _UNIT.split(passage)          # unit, separator, unit, ...
    units = parts[0::2]
    if not any(u.strip() and says_nothing(u) for u in units):
        return passage
    kept = [(parts[2 * i - 1] if i else "", u) for i, u in enumerate(units) if u.strip() and not says_nothing(u)]
    return "".join((sep if j else "") + u for j, (sep, u) in enumerate(kept))   # each unit after its separator


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
        sims = self._similarities(passages)
        return sims.max(axis=1), sims.argmax(axis=1)

    def _similarities(self, passages: Sequence[str]) -> np.ndarray:
        """Cosine of each concept to each passage read without what says nothing (``assertive``);
        -inf where nothing is left, so such a passage is never the evidence of a tag."""
        texts = [assertive(p) for p in passages]
        keep = [i for i, t in enumerate(texts) if t]
        sims = np.full((len(self.concepts), len(texts)), -np.inf)
        if keep:
            sims[:, keep] = self.vectors @ np.asarray(self.encoder.encode([texts[i] for i in keep])).T
        return sims

    def tag(self, passages: Sequence[str]) -> list[Tag]:
        """Tags for one document given as passages, best first within each scheme."""
        best, where = self.scores(passages)
        return self._select(best, where, passages)

    def tag_many(self, documents: Sequence[Sequence[str]]) -> list[list[Tag]]:
        """Tags for many documents with one encoding pass over all passages."""
        flat = [p for doc in documents for p in doc]
        if not flat:
            return [[] for _ in documents]
        sims = self._similarities(flat)
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
    (case-insensitive, whole words), outside sentences that say nothing. Score 1.0; the passage
    is the sentence with the hit."""
    sents = [s for s in (sentences(text, min_words=1) or [text]) if assertive(s)]
    low = " ".join(sents).lower()
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
