"""What each side of a pair actually does or needs, in its own words: passages from a list of
sources, found per (side, concept), each carrying where it comes from (document, section, link).

A source is anything with ``name`` and ``passages(catalog, owner_id) -> list[Passage]``, where
the owner is a pilot activity or twin id. ``ProfileSource`` (pilot descriptions and summaries,
twins' stated interests and profiles) is always there; ``ContractSource`` adds the passages of
ingested Climate City Contracts of the side's cities. A new source (Covenant of Mayors actions,
contract clauses...) plugs in by being added to the list given to ``EvidenceFinder``.

Ranking: a passage the concept tagger linked to the concept (a tagged link's evidence sentence,
found by embedding similarity when the graph was tagged) comes first; then passages by how many
of the concept's terms (label words, alternative labels) they contain; a passage with none is
never returned for that concept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kg.model import Catalog, Concept, PilotActivity, Twin
from recommender.tagging import sentences

# what a passage says about its side: it does something (action), plans it in a contract,
# describes itself, or states an interest
KIND_RANK = {"action": 0, "contract": 1, "description": 2, "interest": 3}
# sentences about the record rather than the city ("No public source states its interests")
_ABOUT_RECORD = re.compile(r"\bno (public )?source|\bnot public\b|\bare recorded\b|\bis recorded\b|"
                           r"\bno (emission domains?|levers?|barriers?)\b|\bnames? no\b|\bstates? no\b", re.I)
_LISTING = re.compile(r"^\s*(?:[A-Z][\w ]{0,30}:|Stated|Inferred|Themes)", re.I)
_STOP = frozenset(["and", "or", "of", "the", "for", "a", "an", "in", "on", "to", "with", "barriers", "barrier", "based"])


@dataclass(frozen=True)
class Passage:
    """A quotable passage of one side (pilot activity or twin), with its source."""

    owner: str                 # pilot or twin id
    text: str
    document: str              # "Galway City Net Zero: pilot activity description"
    kind: str = "description"  # action, contract, description, interest (KIND_RANK)
    section: str = ""          # "B-2 portfolio of actions", "sentence 3"
    link: str = ""             # URL of the published source, where there is one
    ref: str = ""              # IRI of the passage or sentence node, where there is one

    @property
    def cite(self) -> str:
        """Where the passage comes from, in words: document, section."""
        return ", ".join(x for x in (self.document, self.section) if x)


class PassageSource(Protocol):
    name: str

    def passages(self, cat: Catalog, owner: str) -> list[Passage]: ...


def _first_url(sources: Sequence[str]) -> str:
    return next((s for s in sources if s.startswith(("http://", "https://"))), "")


class ProfileSource:
    """Pilot activity descriptions (summary and narrative) and twins' stated interests and
    profiles, sentence by sentence; sentence nodes keep the IRIs tagged links point at."""

    name = "profiles"

    def passages(self, cat: Catalog, owner: str) -> list[Passage]:
        item: PilotActivity | Twin | None = cat.pilots.get(owner) or cat.twins.get(owner)
        if item is None:
            return []
        link = _first_url(item.sources)
        out = []
        if isinstance(item, PilotActivity):
            doc = f"{item.display_name}: pilot activity description"
            if item.summary:
                out.append(Passage(owner, item.summary, doc, "description", "summary", link))
        else:
            doc = f"{cat.city_name(item.city)}: twin city profile"
            if item.interests:
                out.append(Passage(owner, item.interests, f"{cat.city_name(item.city)}: stated interests",
                                   "interest", "", link))
        for i, s in enumerate(sentences(item.narrative)):
            out.append(Passage(owner, s, doc, "description" if isinstance(item, PilotActivity) else "interest",
                               f"sentence {i + 1}", link, f"{item.iri}/narrative-sentence/{i}"))
        return out


class ContractSource:
    """Passages of ingested Climate City Contracts (``recommender.narratives.ccc_passages``)
    for the cities of a side: a twin's city, a pilot activity's cities."""

    name = "contracts"
    SECTION_WORDS = {"A-1": "A-1 emissions inventory", "A-3": "A-3 barriers and opportunities",
                     "B-2": "B-2 portfolio of actions", "C-1": "C-1 governance", "C-2": "C-2 social innovation",
                     "C-3": "C-3 funding"}

    def __init__(self, by_city: dict[str, list[tuple[str, str, str]]]):
        self.by_city = by_city

    def passages(self, cat: Catalog, owner: str) -> list[Passage]:
        cities = (cat.twins[owner].city,) if owner in cat.twins else \
            cat.pilots[owner].cities if owner in cat.pilots else ()
        out = []
        for cid in cities:
            name = cat.city_name(cid)
            for iri, section, text in self.by_city.get(cid, ()):
                kind = "contract" if section in ("B-2", "C-1", "C-2", "C-3") else "description"
                out.append(Passage(owner, text, f"Climate City Contract of {name}", kind,
                                   self.SECTION_WORDS.get(section, section), "", iri))
        return out


def concept_terms(concept: Concept) -> tuple[set[str], list[str]]:
    """(content-word stems of the label, alternative labels in lower case)."""
    words = {_stem(w) for w in re.findall(r"[a-z][a-z-]+", concept.label.lower()) if w not in _STOP}
    words |= {_stem(p) for w in list(words) for p in w.split("-") if len(p) > 3 and p not in _STOP}
    return words, [a.lower() for a in concept.alt_labels if len(a) > 2]


def _stem(word: str) -> str:
    return word[:6]


class EvidenceFinder:
    """Passages per (side, concept) over a list of sources, cached per side."""

    def __init__(self, cat: Catalog, sources: Iterable[PassageSource] | None = None):
        self.cat = cat
        self.sources = list(sources) if sources is not None else [ProfileSource()]
        self._cache: dict[str, list[Passage]] = {}

    def all(self, owner: str) -> list[Passage]:
        if owner not in self._cache:
            self._cache[owner] = [p for s in self.sources for p in s.passages(self.cat, owner)]
        return self._cache[owner]

    def _tagged(self, owner: str, concept: str) -> set[str]:
        item = self.cat.pilots.get(owner) or self.cat.twins.get(owner)
        if item is None:
            return set()
        fields = ("domains", "levers", "barriers") + (("solutions",) if owner in self.cat.pilots else ("experience",))
        return {link.evidence for f in fields for link in getattr(item, f) if link.concept == concept and link.evidence}

    def find(self, owner: str, concept: str, *, k: int = 1, kinds: Sequence[str] | None = None,
             avoid: Iterable[str] = ()) -> list[Passage]:
        """The ``k`` passages of ``owner`` that best say what it does or needs about ``concept``."""
        c = self.cat.concepts.get(concept)
        if c is None:
            return []
        words, alts = concept_terms(c)
        tagged = self._tagged(owner, concept)
        avoid = set(avoid)
        scored = []
        for i, p in enumerate(self.all(owner)):
            if (kinds and p.kind not in kinds) or p.text in avoid or _ABOUT_RECORD.search(p.text):
                continue
            low = p.text.lower()
            toks = {_stem(w) for w in re.findall(r"[a-z][a-z-]+", low)}
            score = 2.0 * sum(1 for a in alts if re.search(rf"\b{re.escape(a)}", low)) + len(words & toks)
            if p.ref and p.ref in tagged:
                score += 3.0
            if score <= 0:
                continue
            listing = bool(_LISTING.match(p.text))   # "Levers: a, b and c." says less than a sentence
            scored.append((listing, -score, KIND_RANK.get(p.kind, 9), len(p.text) > 600, i, p))
        scored.sort(key=lambda x: x[:5])
        return [x[-1] for x in scored[:k]]

    def facts(self, owner: str) -> Passage | None:
        """The side's first descriptive sentence that gives its size or place (a number), else
        its first passage."""
        for p in self.all(owner):
            if p.section.startswith("sentence") and re.search(r"\d", p.text) and not _ABOUT_RECORD.search(p.text):
                return p
        return self.describe(owner)

    def describe(self, owner: str) -> Passage | None:
        """How the side describes itself as a whole: its summary, else its first passage."""
        ps = [p for p in self.all(owner) if not _ABOUT_RECORD.search(p.text)]
        return next((p for p in ps if p.section == "summary"), ps[0] if ps else None)

    def matching(self, owner: str, pattern: str) -> list[Passage]:
        """The side's passages whose text matches a regular expression (budget, owner...)."""
        rx = re.compile(pattern, re.I)
        return [p for p in self.all(owner) if rx.search(p.text)]
