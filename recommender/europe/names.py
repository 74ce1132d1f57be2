"""Find a signatory by organisation id, by its name (accent- and case-insensitive, with or
without a municipal form: ``Comune di Parma`` or ``Parma``), or by the name of a dataset city
matched to it (``Belfast``). Never a guess: an ambiguous name lists the candidates with
country and id, an unknown one the closest names."""

from __future__ import annotations

import difflib

from kg.errors import AmbiguousNameError, NotFoundError
from kg.ingest.gcom.match import core_name
from kg.model import Catalog, fold
from recommender.europe.profiles import Profiles


def _keys(pr: Profiles) -> dict[str, set[int]]:
    keys: dict[str, set[int]] = {}
    for i, s in enumerate(pr.signatories):
        for k in {fold(s.name), core_name(s.name)}:
            keys.setdefault(k, set()).add(i)
    return keys


def find_signatory(pr: Profiles, catalog: Catalog, name: str, country: str | None = None) -> int:
    """The row of the signatory ``name`` (optionally in ``country``, ISO alpha-2)."""
    name = name.strip()
    if name in pr.row:
        return pr.row[name]
    cc = country.upper() if country else None
    keys = _keys(pr)
    hits = {i for i in keys.get(fold(name), set()) | keys.get(core_name(name), set())
            if cc is None or pr.country[i] == cc}
    exact = {i for i in hits if fold(pr.signatories[i].name) == fold(name)}
    if len(exact) == 1:
        return exact.pop()
    if len(hits) == 1:
        return hits.pop()
    if not hits:
        for cid, c in catalog.cities.items():
            if cid in pr.city_row and (cc is None or c.country == cc) and fold(name) in {
                    fold(cid), fold(c.name), *map(fold, c.alt_names)}:
                hits.add(pr.city_row[cid])
        if len(hits) == 1:
            return hits.pop()
    if hits:
        listed = "; ".join(f"{pr.signatories[i].name} ({pr.country[i]}, id {pr.ids[i]})"
                           for i in sorted(hits)[:8])
        raise AmbiguousNameError(f"signatory {name!r} is ambiguous: {listed}; use --country or the id")
    for cid, c in catalog.cities.items():
        if cid in pr.unmatched and fold(name) in {fold(cid), fold(c.name), *map(fold, c.alt_names)}:
            raise NotFoundError(f"{c.name} ({c.country}) has no Covenant of Mayors signatory: {pr.unmatched[cid]}")
    close = difflib.get_close_matches(fold(name), list(keys), n=5, cutoff=0.75)
    hint = f"; close: {', '.join(sorted({pr.signatories[i].name for k in close for i in keys[k]})[:5])}" \
        if close else ""
    where = f" in {cc}" if cc else ""
    raise NotFoundError(f"no signatory named {name!r}{where}{hint}")
