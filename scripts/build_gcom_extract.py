#!/usr/bin/env python3
"""Build the bundled GCoM extract (kg/datasets/gcom/) from a GCoM – MyCovenant release folder.

Reads the release as published (``kg.ingest.gcom.read_release``), matches its signatories to
the bundled dataset's cities (``kg/datasets/nzc/cities.csv``, by country plus name and
alternative names: ``kg.ingest.gcom.match_cities``) and writes, for the matched signatories
only: ``signatories.csv``, ``plans.csv``, ``actions.csv``, ``inventories.csv``,
``targets.csv`` and ``match.tsv`` (every dataset city: matched or not, and why). The README
there (attribution, licence, counts) is rewritten too. Deterministic: a rerun on the same
release gives byte-identical files. ``pairings-dev.csv`` is never read.

Usage::

    .venv/bin/python scripts/build_gcom_extract.py [GCOM_DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kg.errors import PeerlearnError  # noqa: E402
from kg.ingest.gcom import ATTRIBUTION, LICENSE, SOURCE, match_cities, read_release  # noqa: E402
from kg.ingest.gcom.extract import extract_tables  # noqa: E402
from kg.model import City  # noqa: E402

README = """# GCoM extract (bundled)

The Covenant of Mayors data of the bundled NZC dataset's own cities, taken from the JRC release
"Global Covenant of Mayors – A complete collection of action plans and monitoring reports from
MyCovenant reporting platform" (GCoM – MyCovenant; signatories: 5th release, January 2024;
actions, inventories and targets: 4th release, 2023, as redistributed by the public repository
camilofdlr/GCoM_policies, MIT).

**Attribution: {attribution}. Licence: <{license}>; source: <{source}>.** Changes: only the
rows of the matched signatories are kept, the columns listed below, as UTF-8 CSV. Every graph
built from it (`graph/gcom`) carries `dcterms:source` and `dcterms:license` to the same effect.

Regenerate from a release folder (the five files as the JRC publishes them) with:

```
.venv/bin/python scripts/build_gcom_extract.py ../shared/data/gcom
```

`peerlearn build` on the bundled dataset loads this extract into the named graph
`https://w3id.org/peerlearn/graph/gcom`; `peerlearn ingest-gcom PATH` replaces that graph with a
whole release.

## Counts

{counts}

## Files

| file | one row per |
|---|---|
| `signatories.csv` | matched signatory: id, name, country, GCoM population, coordinates, commitments, status, the dataset `city` id and `match_kind` (`name`, `alt-name`, `parent`) |
| `plans.csv` | action plan of a matched signatory |
| `actions.csv` | planned action: plan, id, lemmatised text (sector, area, instrument, title, description) |
| `inventories.csv` | inventory line: plan, inventory id, year, baseline flag, sector, carrier, MWh, t CO2-eq, population |
| `targets.csv` | CO2 target of a plan: horizon, reduction (share), base year, type |
| `match.tsv` | dataset city: matched or not, match kind, signatory, actions, inventory, other candidates, reason |

How cities are matched, and the traps handled (Medijana, Menteşe, Courcy, Gozo, Bordeaux, Kranj,
Portuguese populations, decimal commas): `kg/ingest/gcom/match.py`.
"""


def _cities(path: Path) -> list[City]:
    with path.open(encoding="utf-8", newline="") as f:
        return [City(id=r["id"], iri="", name=r["name"], country=r["country"],
                     population=int(r["population"]) if r["population"] else None,
                     alt_names=tuple(a for a in r["alt_names"].split(";") if a)) for r in csv.DictReader(f)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("release", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "gcom")
    ap.add_argument("--out", type=Path, default=ROOT / "kg" / "datasets" / "gcom")
    ap.add_argument("--cities", type=Path, default=ROOT / "kg" / "datasets" / "nzc" / "cities.csv")
    a = ap.parse_args(argv)
    try:
        rel = read_release(a.release, progress=lambda s: print(f"reading {s}", file=sys.stderr))
        cities = _cities(a.cities)
    except PeerlearnError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report = match_cities(rel, cities)
    tables = extract_tables(rel, report)
    rows = {k: v.count("\n") - 1 for k, v in tables.items()}
    counts = "\n".join([f"- {report.summary()}",
                        *(f"- `{k}`: {n} rows" for k, n in sorted(rows.items()))])
    tables["README.md"] = README.format(attribution=ATTRIBUTION, license=LICENSE, source=SOURCE, counts=counts)
    a.out.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(tables.items()):
        tmp = a.out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(a.out / name)
    print(report.summary())
    for k, n in sorted(rows.items()):
        print(f"{k}: {n} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
