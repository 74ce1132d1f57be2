"""A tiny GCoM release written as the JRC publishes it (xlsx through openpyxl, text tables
tab-separated and quoted, the ``cov`` file in Latin-1, the actions gzipped), hand-checkable:

- signatories: 101 Niš (RS), 102 Kranj and 103 Mestna občina Kranj (SI, 103 a collective
  group), 104 BORDEAUX METROPOLE and 105 Bordeaux (FR), 106 Liège (BE, decimal-comma
  latitude, population ``-``), 107 Kranj (AT: same name, other country), 108 Muğla
  Metropolitan Municipality (TR);
- plans: 11 -> 101 and 12 -> 104 (inventories), 13 -> 106 (cov file only), 99 tied to nobody;
- actions: 3 in plan 11, 2 in plan 12, 1 in plan 13, 2 in plan 99 (unlinked), one bad ID.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

SIG_HEAD = ["organisation_id", "organisation_name", "coordinator_name", "supporter_name", "country_code",
            "country_name", "population_adhesion", "organisation_latitude", "organisation_longitude",
            "group_organisation_id", "group_name", "commitment_CoM2020_flag", "commitment_CoM2030_flag",
            "commitment_CoM2050_flag", "commitment_mayoradapt_flag", "adhesion_type", "signatory_status",
            "mayor", "date_of_adhesion", "action_plan_expected", "group_profile", "gcom_id"]
IND = "As an individual signatory"
COLL = "As a group of signatories committing collectively (joint SEAP - option 2)"
SIGS = [
    (101, "Niš", "rs", 255518, 43.32, 21.9, True, True, False, IND, "published"),
    (102, "Kranj", "si", 54500, 46.24, 14.36, True, False, False, IND, "published"),
    (103, "Mestna občina Kranj", "si", 55795, 46.24, 14.36, True, False, False, COLL, "published"),
    (104, "BORDEAUX METROPOLE", "fr", 720000, 44.84, -0.58, False, True, True, IND, "published"),
    (105, "Bordeaux", "fr", 696364, 44.84, -0.58, True, False, False, IND, "on_hold"),
    (106, "Liège", "be", "-", "50,63", 5.57, True, True, False, IND, "published"),
    (107, "Kranj", "at", 1000, 47.0, 14.0, True, False, False, IND, "published"),
    (108, "Muğla Metropolitan Municipality", "tr", 1048185, 37.2, 28.4, False, True, False, IND, "on_hold"),
]
INV_HEAD = ["organisation_id", "organisation_name", "action_plan_id", "bei_flag", "emission_inventory_id",
            "inventory_year", "activity_reporting_unit", "energy_measure", "emission_reporting_unit",
            "emission_measure", "sector", "carrier", "population_in_the_inventory_year", "country_code"]
INV = [
    (101, "Niš", 11, True, 500, 2010, "MWh/year", 100.0, "tonnes CO2 equivalent", 40.0,
     "Residential buildings", "Fossil fuels", 250000, "rs"),
    (101, "Niš", 11, False, 501, 2018, "MWh/year", 90.0, "tonnes CO2 equivalent", 30.0,
     "Residential buildings", "Fossil fuels", 255000, "rs"),
    (101, "Niš", 11, False, 501, 2018, "MWh/year", 50.0, "tonnes CO2 equivalent", 10.0,
     "Private and commercial transport", "Fossil fuels", 255000, "rs"),
    (104, "BORDEAUX METROPOLE", 12, True, 502, 2015, "MWh/year", "NA", "tonnes CO2 equivalent", 7.5,
     "Waste", "Non-energy related emissions", 720000, "fr"),
]
ACTIONS = [("11 1", "residential building retrofit grant insulation"), ("11 2", "awareness train car share"),
           ("11 3", "public transport bus electric"), ("12 7", "waste recycle collection"),
           ("12 8", "land use planning bicycle lane"), ("13 4", "local electricity production photovoltaic"),
           ("99 5", "street light led"), ("99 6", "tree plant park"), ("bad", "no plan here")]


def write_release(folder: Path) -> Path:
    import openpyxl

    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "README"
    ws.append(["Licence", "CC BY 4.0"])
    ws = wb.create_sheet("1")
    ws.append(SIG_HEAD)
    for (oid, name, cc, pop, lat, lon, c20, c30, c50, adh, status) in SIGS:
        ws.append([oid, name, "-", "-", cc, cc, pop, lat, lon, "-", "-", c20, c30, c50, False, adh, status,
                   "-", dt.datetime(2012, 3, 4), True, adh == COLL, "-"])
    ws.append([None, None, "-", "-", None])           # a row without id or name: counted, skipped
    wb.save(folder / "df1_Signatories_2024.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "df_EIners_MR"
    ws.append(INV_HEAD)
    for r in INV:
        ws.append(list(r))
    wb.save(folder / "df_EIners_MR.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["action_plan_id", "co2_target_CoM2020", "co2_target_CoM2030", "base_year_CoM2020",
               "base_year_CoM2030", "reduction_type_CoM2020", "reduction_type_CoM2030"])
    ws.append([11, 0.2, 0.4, 2010, 2010, "absolute", "absolute"])
    ws.append([13, "-", 0.55, "-", 2005, "-", "per_capita"])
    wb.save(folder / "df2A_1.xlsx")

    cov = ('"action_plan_id"\t"co2_target_CoM2030"\t"organisation_id"\t"organisation_name"\n'
           '"13"\t0.55\t"106"\t"Liège"\n'
           '"11"\t0.4\t"101"\t"Niš"\n'
           '"14"\t0.3\n')                         # short row: counted, skipped
    (folder / "cov_emissions2005_2030.txt").write_bytes(cov.encode("latin-1", errors="replace"))
    text = '"ID"\t"text"\t"numw"\n' + "".join(f'"{i}"\t"{t}"\t{len(t.split())}\n' for i, t in ACTIONS)
    (folder / "tokens_lemma_new.txt.gz").write_bytes(gzip.compress(text.encode()))
    return folder
