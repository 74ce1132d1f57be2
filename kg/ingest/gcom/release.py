"""One GCoM – MyCovenant release, read and joined: signatories, their action plans, planned
actions, emission inventories and targets.

Joins (as the release's README says): an action's ``ID`` is ``"<action_plan_id> <action_id>"``;
a plan belongs to an organisation through ``df_EIners_MR.xlsx`` or ``cov_emissions2005_2030.txt``
(``action_plan_id`` -> ``organisation_id``); ``organisation_id`` is the signatory of
``df1_Signatories_2024.xlsx``. Actions of plans no file ties to an organisation are counted,
not kept; so are plans claimed by two organisations (the first file read wins: df_EIners_MR).
Odd cells (``-``, ``NA``, decimal commas, Latin-1 text) are counted in ``Release.tally``.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import InputError
from kg.ingest.gcom.files import text_rows, xlsx_rows
from kg.ingest.gcom.values import Tally

SIGNATORIES = "df1_Signatories_2024.xlsx"
ACTIONS = "tokens_lemma_new.txt.gz"
INVENTORIES = "df_EIners_MR.xlsx"
EMISSIONS = "cov_emissions2005_2030.txt"
TARGETS = "df2A_1.xlsx"
FILES = (SIGNATORIES, ACTIONS, INVENTORIES, EMISSIONS, TARGETS)

COMMITMENTS = {"commitment_CoM2020_flag": "CoM2020", "commitment_CoM2030_flag": "CoM2030",
               "commitment_CoM2050_flag": "CoM2050", "commitment_mayoradapt_flag": "MayorsAdapt"}

SOURCE = "https://data.jrc.ec.europa.eu/collection/id-00354"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = ("European Commission, Joint Research Centre (JRC): Global Covenant of Mayors – "
               "MyCovenant (GCoM-MyCovenant), CC BY 4.0")


@dataclass(frozen=True)
class Signatory:
    id: str                      # organisation_id
    name: str
    country: str                 # ISO alpha-2, upper case
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    commitments: tuple[str, ...] = ()
    adhesion_type: str = ""
    status: str = ""
    adhesion_date: _dt.date | None = None
    group: bool = False          # group_profile, or a group committing collectively (joint SEAP option 2)


@dataclass(frozen=True)
class Action:
    id: str                      # action id (second half of ID)
    plan: str                    # action_plan_id
    text: str                    # lemmatised words: sector, area, instrument, title, description


@dataclass(frozen=True)
class InventoryLine:
    plan: str
    inventory: str               # emission_inventory_id
    year: int
    baseline: bool               # bei_flag: the baseline emission inventory
    sector: str
    carrier: str
    energy_mwh: float | None
    emission_t: float | None     # t CO2-eq
    population: int | None


@dataclass(frozen=True)
class Target:
    plan: str
    horizon: str                 # CoM2020 / CoM2030 / CoM2050 / mid-term
    reduction: float | None      # share, 0.55 = 55 %
    base_year: int | None
    kind: str                    # absolute / per_capita


@dataclass
class Release:
    signatories: dict[str, Signatory] = field(default_factory=dict)
    plan_org: dict[str, str] = field(default_factory=dict)
    actions: dict[str, list[Action]] = field(default_factory=lambda: defaultdict(list))   # org -> actions
    inventories: dict[str, list[InventoryLine]] = field(default_factory=lambda: defaultdict(list))  # org ->
    targets: dict[str, list[Target]] = field(default_factory=lambda: defaultdict(list))  # plan ->
    tally: Tally = field(default_factory=Tally)
    counts: dict[str, int] = field(default_factory=dict)

    def plans_of(self, org: str) -> list[str]:
        return sorted((p for p, o in self.plan_org.items() if o == org), key=_num)

    def latest_inventory(self, org: str) -> list[InventoryLine]:
        """The lines of the organisation's most recent inventory (latest year, then latest id)."""
        lines = self.inventories.get(org, [])
        if not lines:
            return []
        best = max((ln.year, _num(ln.inventory)) for ln in lines)
        return [ln for ln in lines if (ln.year, _num(ln.inventory)) == best]


def _num(s: str) -> tuple[int, str]:
    return (int(s), "") if s.isdigit() else (10**12, s)


def _signatories(folder: Path, rel: Release) -> None:
    t, f = rel.tally, "df1"
    for row in xlsx_rows(folder / SIGNATORIES, "1"):
        oid = t.text(row.get("organisation_id"), f, "organisation_id")
        name = t.text(row.get("organisation_name"), f, "organisation_name")
        country = t.text(row.get("country_code"), f, "country_code").upper()
        if not oid or not name or len(country) != 2:
            t.note(f, "*", "row skipped: no id, name or country")
            continue
        if oid in rel.signatories:
            t.note(f, "organisation_id", "duplicate id, first row kept")
            continue
        adhesion = t.text(row.get("adhesion_type"), f, "adhesion_type")
        rel.signatories[oid] = Signatory(
            id=oid, name=name, country=country,
            population=t.integer(row.get("population_adhesion"), f, "population_adhesion"),
            latitude=t.number(row.get("organisation_latitude"), f, "organisation_latitude"),
            longitude=t.number(row.get("organisation_longitude"), f, "organisation_longitude"),
            commitments=tuple(v for k, v in COMMITMENTS.items() if t.flag(row.get(k), f, k)),
            adhesion_type=adhesion,
            status=t.text(row.get("signatory_status"), f, "signatory_status"),
            adhesion_date=t.date(row.get("date_of_adhesion"), f, "date_of_adhesion"),
            group=bool(t.flag(row.get("group_profile"), f, "group_profile")) or "collectively" in adhesion)


def _link_plan(rel: Release, plan: str, org: str, f: str) -> None:
    if not plan or not org:
        return
    old = rel.plan_org.setdefault(plan, org)
    if old != org:
        rel.tally.note(f, "action_plan_id", "plan claimed by a second organisation (first kept)")


def _inventories(folder: Path, rel: Release) -> None:
    t, f = rel.tally, "df_EIners_MR"
    for row in xlsx_rows(folder / INVENTORIES):
        org = t.text(row.get("organisation_id"), f, "organisation_id")
        plan = t.text(row.get("action_plan_id"), f, "action_plan_id")
        _link_plan(rel, plan, org, f)
        year = t.integer(row.get("inventory_year"), f, "inventory_year")
        sector = t.text(row.get("sector"), f, "sector")
        if not org or year is None or not sector:
            t.note(f, "*", "row skipped: no organisation, year or sector")
            continue
        rel.inventories[org].append(InventoryLine(
            plan=plan, inventory=t.text(row.get("emission_inventory_id"), f, "emission_inventory_id"),
            year=year, baseline=bool(t.flag(row.get("bei_flag"), f, "bei_flag")), sector=sector,
            carrier=t.text(row.get("carrier"), f, "carrier"),
            energy_mwh=t.number(row.get("energy_measure"), f, "energy_measure"),
            emission_t=t.number(row.get("emission_measure"), f, "emission_measure"),
            population=t.integer(row.get("population_in_the_inventory_year"), f,
                                 "population_in_the_inventory_year")))


def _emissions(folder: Path, rel: Release) -> None:
    t, f = rel.tally, "cov_emissions2005_2030"
    for row in text_rows(folder / EMISSIONS, t):
        plan = t.text(row.get("action_plan_id"), f, "action_plan_id")
        org = t.text(row.get("organisation_id"), f, "organisation_id")
        _link_plan(rel, plan, org, f)


def _targets(folder: Path, rel: Release) -> None:
    t, f = rel.tally, "df2A_1"
    horizons = {"CoM2020": "CoM2020", "CoM2030": "CoM2030",
                "Long-term_climate_neutrality_target(CoM2050)": "CoM2050", "Mid-term target": "mid-term"}
    for row in xlsx_rows(folder / TARGETS):
        plan = t.text(row.get("action_plan_id"), f, "action_plan_id")
        if not plan:
            t.note(f, "*", "row skipped: no action_plan_id")
            continue
        for col, h in horizons.items():
            red = t.number(row.get(f"co2_target_{col}"), f, f"co2_target_{col}")
            if red is None:
                continue
            rel.targets[plan].append(Target(
                plan=plan, horizon=h, reduction=red,
                base_year=t.integer(row.get(f"base_year_{col}"), f, f"base_year_{col}"),
                kind=t.text(row.get(f"reduction_type_{col}"), f, f"reduction_type_{col}")))


def _actions(folder: Path, rel: Release) -> None:
    t, f = rel.tally, "tokens_lemma_new"
    plans, linked, unlinked = set(), 0, 0
    for row in text_rows(folder / ACTIONS, t):
        parts = (row.get("ID") or "").split()
        text = " ".join((row.get("text") or "").split())
        if len(parts) != 2 or not text:
            t.note(f, "ID" if len(parts) != 2 else "text", "row skipped: bad ID or empty text")
            continue
        plan, aid = parts
        plans.add(plan)
        org = rel.plan_org.get(plan)
        if org is None:
            unlinked += 1
            continue
        linked += 1
        rel.actions[org].append(Action(id=aid, plan=plan, text=text))
    rel.counts.update(actions=linked + unlinked, action_plans=len(plans), actions_linked=linked,
                      actions_unlinked=unlinked,
                      plans_linked_with_actions=len({a.plan for acts in rel.actions.values() for a in acts}))


def read_release(folder: str | Path, progress: Callable[[str], None] | None = None) -> Release:
    """Read and join the five files of a release folder. A missing or unreadable file is an
    ``InputError``; odd rows and cells are counted in ``tally``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder with a GCoM release", path=str(folder))
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"GCoM release incomplete: missing {', '.join(missing)}", path=str(folder))
    rel = Release()
    for step, fn in (("signatories", _signatories), ("inventories", _inventories),
                     ("plan emissions", _emissions), ("targets", _targets), ("actions", _actions)):
        if progress:
            progress(step)
        fn(folder, rel)
    rel.counts.update(signatories=len(rel.signatories), plans_linked=len(rel.plan_org),
                      organisations_with_actions=len(rel.actions),
                      organisations_with_inventory=len(rel.inventories))
    rel.actions = dict(rel.actions)
    rel.inventories = dict(rel.inventories)
    rel.targets = dict(rel.targets)
    return rel
