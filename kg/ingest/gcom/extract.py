"""The compact GCoM extract shipped with a dataset (``kg/datasets/gcom/``): the signatories
matched to the dataset's cities and everything the release says about them, as UTF-8 CSV, with
the match report. ``scripts/build_gcom_extract.py`` writes it from a release folder;
``read_extract`` reads it back into a ``Release`` and the organisation -> (city id, match kind)
map, so the graph is built from it exactly as from the whole release.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
from collections.abc import Iterable
from pathlib import Path

from kg.errors import InputError
from kg.ingest.gcom.match import MatchReport
from kg.ingest.gcom.release import Action, InventoryLine, Release, Signatory, Target

TABLES = {
    "signatories.csv": ("organisation_id", "organisation_name", "country", "population", "latitude", "longitude",
                        "commitments", "adhesion_type", "signatory_status", "date_of_adhesion", "group", "city",
                        "match_kind"),
    "plans.csv": ("action_plan_id", "organisation_id"),
    "actions.csv": ("action_plan_id", "action_id", "text"),
    "inventories.csv": ("action_plan_id", "organisation_id", "emission_inventory_id", "inventory_year", "bei_flag",
                        "sector", "carrier", "energy_mwh", "emission_t_co2e", "population"),
    "targets.csv": ("action_plan_id", "horizon", "reduction", "base_year", "reduction_type"),
}
MATCH_FILE = "match.tsv"


def _s(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _csv(rows: Iterable[Iterable[object]], header: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_s(v) for v in r])
    return buf.getvalue()


def extract_tables(rel: Release, report: MatchReport) -> dict[str, str]:
    """File name -> text of the extract for the matched signatories (sorted, deterministic)."""
    matched = report.matched
    by_org = {m.signatory: m for m in sorted(matched.values(), key=lambda m: m.city)}
    orgs = sorted(by_org, key=lambda x: (len(x), x))
    plans = sorted(((p, o) for p, o in rel.plan_org.items() if o in by_org), key=lambda x: (len(x[0]), x[0]))
    plan_set = {p for p, _ in plans}
    sig = []
    for o in orgs:
        s, m = rel.signatories[o], by_org[o]
        sig.append((s.id, s.name, s.country, s.population, s.latitude, s.longitude, ";".join(s.commitments),
                    s.adhesion_type, s.status, s.adhesion_date.isoformat() if s.adhesion_date else "", s.group,
                    m.city, m.kind))
    acts = [(a.plan, a.id, a.text) for o in orgs for a in rel.actions.get(o, ())]
    inv = [(ln.plan, o, ln.inventory, ln.year, ln.baseline, ln.sector, ln.carrier, ln.energy_mwh, ln.emission_t,
            ln.population) for o in orgs for ln in rel.inventories.get(o, ())]
    tg = [(t.plan, t.horizon, t.reduction, t.base_year, t.kind) for p, _ in plans for t in rel.targets.get(p, ())
          if p in plan_set]
    out = {name: _csv(rows, TABLES[name]) for name, rows in (
        ("signatories.csv", sig), ("plans.csv", plans), ("actions.csv", acts), ("inventories.csv", inv),
        ("targets.csv", tg))}
    out[MATCH_FILE] = ("city\tstatus\tkind\tsignatory\tactions\tinventory\tother candidates\treason\n"
                       + "".join(line + "\n" for line in report.lines()))
    return out


def _rows(folder: Path, name: str):
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("GCoM extract incomplete: file missing", path=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8", path=str(path)) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in TABLES[name] if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"missing columns: {', '.join(missing)}", path=str(path))
    yield from enumerate(reader, start=2)


def _num(v: str, path: str, row: int, field: str, kind=float):
    if v == "":
        return None
    try:
        return kind(v)
    except ValueError:
        raise InputError(f"not a number: {v!r}", path=path, row=row, field=field) from None


def read_extract(folder: str | Path) -> tuple[Release, dict[str, tuple[str, str]]]:
    """The extract as a ``Release`` and organisation id -> (dataset city id, match kind)."""
    folder = Path(folder)
    rel, cities = Release(), {}
    p = str(folder / "signatories.csv")
    for i, r in _rows(folder, "signatories.csv"):
        oid = r["organisation_id"]
        rel.signatories[oid] = Signatory(
            id=oid, name=r["organisation_name"], country=r["country"],
            population=_num(r["population"], p, i, "population", int),
            latitude=_num(r["latitude"], p, i, "latitude"), longitude=_num(r["longitude"], p, i, "longitude"),
            commitments=tuple(c for c in r["commitments"].split(";") if c), adhesion_type=r["adhesion_type"],
            status=r["signatory_status"],
            adhesion_date=_dt.date.fromisoformat(r["date_of_adhesion"]) if r["date_of_adhesion"] else None,
            group=r["group"] == "true")
        if r["city"]:
            cities[oid] = (r["city"], r["match_kind"])
    for _, r in _rows(folder, "plans.csv"):
        rel.plan_org[r["action_plan_id"]] = r["organisation_id"]
    for _, r in _rows(folder, "actions.csv"):
        org = rel.plan_org.get(r["action_plan_id"])
        if org:
            rel.actions.setdefault(org, []).append(Action(r["action_id"], r["action_plan_id"], r["text"]))
    p = str(folder / "inventories.csv")
    for i, r in _rows(folder, "inventories.csv"):
        rel.inventories.setdefault(r["organisation_id"], []).append(InventoryLine(
            plan=r["action_plan_id"], inventory=r["emission_inventory_id"],
            year=_num(r["inventory_year"], p, i, "inventory_year", int), baseline=r["bei_flag"] == "true",
            sector=r["sector"], carrier=r["carrier"], energy_mwh=_num(r["energy_mwh"], p, i, "energy_mwh"),
            emission_t=_num(r["emission_t_co2e"], p, i, "emission_t_co2e"),
            population=_num(r["population"], p, i, "population", int)))
    p = str(folder / "targets.csv")
    for i, r in _rows(folder, "targets.csv"):
        rel.targets.setdefault(r["action_plan_id"], []).append(Target(
            plan=r["action_plan_id"], horizon=r["horizon"], reduction=_num(r["reduction"], p, i, "reduction"),
            base_year=_num(r["base_year"], p, i, "base_year", int), kind=r["reduction_type"]))
    rel.actions, rel.inventories, rel.targets = dict(rel.actions), dict(rel.inventories), dict(rel.targets)
    return rel, cities


def extract_ntriples(folder: str | Path) -> tuple[bytes, dict[str, int]]:
    """The extract's ``graph/gcom`` as N-Triples (signatories tied to the dataset's city IRIs)."""
    from kg.ingest.gcom.rdf import ntriples
    from kg.ingest.tabular import city_iri

    rel, cities = read_extract(folder)
    return ntriples(rel, {o: (str(city_iri(c)), kind) for o, (c, kind) in cities.items()})
