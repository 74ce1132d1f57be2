"""Read a GCoM release folder and build the profiles for one catalog, with a one-line account
of what was read, skipped and left unmatched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kg.ingest.gcom import read_release
from kg.model import Catalog
from recommender.europe.profiles import Profiles, build_profiles


@dataclass(frozen=True)
class Loaded:
    profiles: Profiles
    summary: str


def summarise(release, pr: Profiles, catalog: Catalog) -> str:
    skipped = sum(n for (_f, _fld, what), n in release.tally.counts.items() if what.startswith("row skipped"))
    c = release.counts
    return (f"GCoM (JRC, CC BY 4.0): {len(pr.ids):,} signatories, {int((pr.n_actions > 0).sum()):,} with "
            f"planned actions ({c.get('actions_linked', 0):,} actions; {c.get('actions_unlinked', 0):,} in plans "
            f"no file ties to a signatory), {sum(1 for s in pr.shares if s):,} with an inventory; rows skipped: "
            f"{skipped}; dataset cities matched {len(pr.city_row)} of {len(catalog.cities)} "
            f"({len(pr.unmatched)} unmatched); pilots without a profile: "
            f"{sum(1 for p in range(len(pr.pilot_ids)) if pr.pilot[p].nnz == 0)}")


def load_profiles(folder, catalog: Catalog, progress: Callable[[str], None] | None = None) -> Loaded:
    release = read_release(folder, progress)
    pr = build_profiles(release, catalog, progress)
    return Loaded(pr, summarise(release, pr, catalog))
