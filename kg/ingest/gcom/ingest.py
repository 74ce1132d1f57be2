"""A whole GCoM release into a store: read, match to the store's cities, write ``graph/gcom``.

The graph is replaced as a whole (a rerun replaces it; other graphs are untouched). Everything
is read, matched and turned into N-Triples before the store is touched, so a bad release
(missing or unreadable file) leaves the store as it was.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kg.ingest.gcom.match import MatchReport, match_cities
from kg.ingest.gcom.rdf import GCOM_GRAPH, write_ntriples
from kg.ingest.gcom.release import Release, read_release
from kg.model import City
from kg.store import Store


@dataclass(frozen=True)
class GcomIngest:
    release: Release
    report: MatchReport
    written: dict[str, int]

    def lines(self) -> list[str]:
        c, w = self.release.counts, self.written
        out = [f"GCoM: {w['signatories']} signatories, {w['plans']} action plans, {w['actions']} actions, "
               f"{w['inventory_entries']} inventory entries, {w['links']} concept links, "
               f"{w['emission_shares']} emission shares, {w['triples']} triples -> {GCOM_GRAPH}",
               f"actions in the release: {c['actions']} in {c['action_plans']} plans; {c['actions_linked']} tied to "
               f"an organisation through df_EIners_MR / cov_emissions, {c['actions_unlinked']} not "
               f"(their plans are in no file that names the organisation); "
               f"{c['actions_linked'] - w['actions']} of an organisation missing from df1",
               self.report.summary()]
        odd = self.release.tally.lines()
        out.append(f"odd cells and rows (counted, not fatal): {len(odd)} kinds" + (":" if odd else ""))
        out.extend(f"  {line}" for line in odd)
        return out


def ingest_release_on_disk(path: str | Path, folder: str | Path, *,
                           progress: Callable[[str, int, int], None] | None = None) -> GcomIngest:
    """``ingest_release`` for the on-disk Oxigraph store at ``path``, built beside it and swapped
    in when complete: every other graph is copied as it is and ``graph/gcom`` bulk-loaded into
    the new store. Removing 1.76 million triples from the live store took 20 times longer than
    loading them (``benchmarks/bench_gcom.py``), and a failure leaves the old store intact."""
    from kg.catalog import catalog
    from kg.store import atomic_oxigraph_dir, open_store

    old = open_store("oxigraph", path=path, read_only=True)
    try:
        cities = list(catalog(old).cities.values())
        with atomic_oxigraph_dir(path) as new:
            if progress:
                progress("copying the other graphs", 0, 0)
            for g in old.graph_names():
                if g != GCOM_GRAPH:
                    new.add_ntriples(old.graph_ntriples(g), g)
            result = ingest_release(new, folder, cities, progress=progress)
    finally:
        old.close()
    return result


def ingest_release(store: Store, folder: str | Path, cities: list[City], *,
                   progress: Callable[[str, int, int], None] | None = None) -> GcomIngest:
    """Read the release in ``folder``, match it to ``cities`` and replace ``graph/gcom``."""
    rel = read_release(folder, progress=(lambda step: progress(f"reading {step}", 0, 0)) if progress else None)
    report = match_cities(rel, cities)
    iri = {c.id: c.iri for c in cities}
    matched = {m.signatory: (iri[m.city], m.kind) for m in sorted(report.matched.values(), key=lambda m: m.city)}
    with tempfile.TemporaryDirectory(prefix="peerlearn-gcom-") as tmp:
        nt = Path(tmp) / "gcom.nt"
        with nt.open("w", encoding="utf-8") as fh:
            written = write_ntriples(fh, rel, matched, progress=(
                lambda n, total: progress("signatories", n, total)) if progress else None)
        if progress:
            progress("writing the graph", 0, 0)
        store.replace_graph_ntriples_file(GCOM_GRAPH, nt)
    return GcomIngest(rel, report, written)
