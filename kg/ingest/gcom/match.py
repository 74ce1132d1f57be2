"""Match GCoM signatories to the dataset's cities: same country, and the signatory's name equal
to the city's name or one of its alternative names, accent- and case-insensitively, after
removing a municipal form around the name (``Municipality of Kula``, ``Mestna občina Kranj``,
``Comune di Parma``, ``Stadt Wien``); a bilingual name (``Bruxelles/Brussel``) matches by
either part. Never by name alone, and never through a metropolitan,
intermunicipal or group body (``BORDEAUX METROPOLE``, ``Muğla Metropolitan Municipality``,
``La Rochelle (Communauté d'Agglomération)``) unless the dataset itself names the body as an
alternative name of the city (Bordeaux's ``Bordeaux Métropole``).

When a city has several candidates (Kranj and Mestna občina Kranj, Bordeaux and BORDEAUX
METROPOLE), the one kept is the one with most data: planned actions, then an inventory, then
a match on the primary name, then published status, then a single municipality rather than
a group, then the name as written (not only its core), then the larger population; the others
are listed in the report.

The traps the release's README lists, checked by hand and mapped here (``CURATED``):

- Medijana (a city municipality inside Niš) -> the City of Niš, kind ``parent``: the plan of
  the city that contains it;
- Menteşe (the central district of Muğla) -> Muğla Metropolitan Municipality, kind ``parent``
  (the dataset's alternative name ``Muğla`` alone does not match a metropolitan body);
- Courcy (a commune inside Grand Reims): Grand Reims is not a signatory, so unmatched (reason);
- Gozo (14 localities, seven of them signatories, none named Gozo): unmatched with that
  reason, never guessed from one locality;
- Bordeaux and Kranj (two rows each): the candidate rule above, both rows in the report;
- Portuguese municipalities (Matosinhos 175k in GCoM, 28k in GeoNames): matched; the GCoM
  population is kept as the signatory's own, and a ratio over 3 is flagged in the report;
- decimal-comma coordinates: read as numbers (``values.Tally``), counted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from kg.ingest.gcom.release import Release, Signatory
from kg.model import City, fold

# (country, folded signatory name) of the curated parent matches, with the reason.
CURATED: dict[str, tuple[str, str, str]] = {
    "medijana": ("RS", "nis", "city municipality inside Niš: matched to the City of Niš (parent)"),
    "mentese": ("TR", "mugla metropolitan municipality",
                "central district of Muğla: matched to Muğla Metropolitan Municipality (parent)"),
}
UNMATCHABLE: dict[str, str] = {
    "gozo": "Gozo is 14 localities, seven of them signatories, none named Gozo: not guessed",
    "courcy": "commune inside Grand Reims, which is not a signatory: no plan covers it alone",
}

# A municipal form around a name: removed before comparing. Metropolitan and group forms are not here.
_PREFIX = re.compile(
    r"^(municipality of|city of|town of|the city of|comune di|citta di|ayuntamiento de|ajuntament de|"
    r"concello de|municipio de|camara municipal de|ville de|commune de|mairie de|stadt|gemeente|"
    r"kommune|mestna obcina|obcina|grad|opstina|gmina miejska|gmina|miasto|urzad miasta|"
    r"municipiul|orasul|comuna|statutarni mesto|mesto|obec|mesto|dimos|dimos|municipalite de|"
    r"municipality|city)\s+", re.I)
_SUFFIX = re.compile(r"\s+(municipality|city council|city|town|kommune|kommun|kaupunki|varos|"
                     r"belediyesi|municipal council)$", re.I)
_BODY = re.compile(r"metropol|communaute|agglomeration|grand |region|province|provincia|county|"
                   r"district|union|association|consorzio|unione|mancomunidad|comarca|landkreis|"
                   r"kreis|group|,|\band\b|\bet\b|\bi\b", re.I)


def core_name(name: str) -> str:
    """The folded name without a municipal form around it:
    >>> core_name("Mestna občina Kranj"), core_name("Municipality of Kula"), core_name("BORDEAUX METROPOLE")
    ('kranj', 'kula', 'bordeaux metropole')
    """
    s = " ".join(re.sub(r"[()'’.\-/]", " ", fold(name)).split())
    for _ in range(2):
        s = _SUFFIX.sub("", _PREFIX.sub("", s)).strip()
    return s


def is_body(name: str) -> bool:
    """A metropolitan, intermunicipal or group body (never matched by its core name)."""
    return bool(_BODY.search(fold(name)))


@dataclass(frozen=True)
class CityMatch:
    city: str                       # dataset city id
    signatory: str = ""             # organisation_id, "" when unmatched
    kind: str = ""                  # name / alt-name / parent / "" (unmatched)
    reason: str = ""                # why unmatched, or a note (population ratio, curated)
    others: tuple[str, ...] = ()    # other candidate signatories, not kept
    actions: int = 0
    inventory: bool = False


@dataclass(frozen=True)
class MatchReport:
    matches: tuple[CityMatch, ...]

    @property
    def matched(self) -> dict[str, CityMatch]:
        return {m.city: m for m in self.matches if m.signatory}

    def lines(self, names: dict[str, str] | None = None) -> list[str]:
        """Tab-separated lines: city, status, kind, signatory, actions, inventory, others, reason."""
        out = []
        for m in sorted(self.matches, key=lambda m: (not m.signatory, m.city)):
            out.append("\t".join([m.city, "matched" if m.signatory else "unmatched", m.kind, m.signatory,
                                  str(m.actions), "yes" if m.inventory else "no", ";".join(m.others), m.reason]))
        return out

    def summary(self) -> str:
        n = len(self.matched)
        kinds = defaultdict(int)
        for m in self.matched.values():
            kinds[m.kind] += 1
        with_actions = sum(1 for m in self.matched.values() if m.actions)
        with_inv = sum(1 for m in self.matched.values() if m.inventory)
        by = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        return (f"GCoM match: {n} of {len(self.matches)} cities matched ({by}); {with_actions} with actions, "
                f"{with_inv} with an inventory; {len(self.matches) - n} unmatched")


def _index(rel: Release) -> tuple[dict[tuple[str, str], list[Signatory]], dict[tuple[str, str], list[Signatory]]]:
    exact, core = defaultdict(list), defaultdict(list)
    for s in rel.signatories.values():
        exact[(s.country, fold(s.name))].append(s)
        if not is_body(s.name):
            # a bilingual name (``Bruxelles/Brussel``) is each of its parts as well
            for key in {core_name(s.name), *(core_name(p) for p in s.name.split("/") if "/" in s.name)}:
                core[(s.country, key)].append(s)
    return exact, core


def match_cities(rel: Release, cities: Iterable[City]) -> MatchReport:
    """One ``CityMatch`` per city, matched or with the reason it is not."""
    exact, core = _index(rel)
    out = []
    for c in cities:
        n_actions = lambda s: len(rel.actions.get(s.id, ()))  # noqa: E731
        if c.id in UNMATCHABLE:
            out.append(CityMatch(c.id, reason=UNMATCHABLE[c.id]))
            continue
        if c.id in CURATED:
            country, key, why = CURATED[c.id]
            found = exact.get((country, key), []) or core.get((country, key), [])
            if found:
                s = found[0]
                out.append(CityMatch(c.id, s.id, "parent", why, actions=n_actions(s),
                                     inventory=s.id in rel.inventories))
                continue
        cands: dict[str, tuple[Signatory, str]] = {}
        for kind, names in (("name", [c.name]), ("alt-name", list(c.alt_names))):
            for n in names:
                for s in exact.get((c.country, fold(n)), []) + core.get((c.country, core_name(n)), []):
                    cands.setdefault(s.id, (s, kind))
        if not cands:
            same = sorted({s.name for (cc, k), ss in core.items() if k == core_name(c.name) and cc != c.country
                           for s in ss})
            why = "no signatory of that name in " + c.country
            if same:
                why += f" (same name elsewhere: {'; '.join(same[:3])}; never matched by name alone)"
            out.append(CityMatch(c.id, reason=why))
            continue
        ranked = sorted(cands.values(), key=lambda sk: (
            -n_actions(sk[0]), sk[0].id not in rel.inventories, sk[1] != "name", sk[0].status != "published",
            sk[0].group, fold(sk[0].name) not in {fold(c.name), *map(fold, c.alt_names)},
            -(sk[0].population or 0), sk[0].id))
        s, kind = ranked[0]
        note = ""
        if s.population and c.population and max(s.population, c.population) > 3 * min(s.population, c.population):
            note = f"population differs: GCoM {s.population}, dataset {c.population} (kept as each source's)"
        out.append(CityMatch(c.id, s.id, kind, note, tuple(f"{o.id} {o.name}" for o, _ in ranked[1:]),
                             n_actions(s), s.id in rel.inventories))
    return MatchReport(tuple(out))
