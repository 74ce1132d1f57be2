"""Units of a mass of CO2(e): t, tCO2e, Mg, tonnes -> x1; kt, 1000 t, Gg -> x1e3; Mt, million
tonnes -> x1e6; intensities (per capita, per kWh) and energy units are refused."""

from __future__ import annotations

import re

PER_RE = re.compile(
    r"per\b|/ ?(?:cap|inh|capita|person|kwh|mwh|gwh|gj|tj|km|m3|unit|ton|t\b|€)|intensit", re.I
)
_PER_YEAR_RE = re.compile(r"(?i)per (?:year|annum|yr)|/ ?(?:year|yr|a)\b")
_ENERGY_UNIT_RE = re.compile(r"\b(?:[kmgt]wh|tj|gj|pj|toe|ktoe)\b", re.I)
_UNIT_MT_RE = re.compile(r"\bmt\b|\bmtco2|million (?:metric )?ton|\bmio\.? ?t\b|\bmt ?co2", re.I)
_UNIT_KT_RE = re.compile(
    r"\bkt\b|\bktco2|kilo ?ton|thousand (?:metric )?ton|\b1[ .,]?000 ?(?:t\b|tons?|tonnes?|metric)|"
    r"\bgg\b|\btsd\.? ?t\b|tausend t|\bkt ?co2|\bkton",
    re.I,
)
_UNIT_T_RE = re.compile(
    r"(?<![a-z0-9])(?:t|mg|tn)(?![a-z0-9])|\btco2|\btonn?es?\b|\btons?\b|\bmetric tons?", re.I
)


def unit_factor(s: str, *, strict: bool) -> float | None:
    """Tonnes per unit for a unit string; None when it is not a mass of CO2(e).
    ``strict`` (free text such as a caption) needs a CO2/GHG word as well."""
    low = s.lower().replace("_", "").replace("{", "").replace("}", "")
    if _ENERGY_UNIT_RE.search(low) and "co2" not in low:
        return None
    if strict and not re.search(r"co2|ghg|greenhouse|carbon", low):
        return None
    per = PER_RE.search(low)
    if per and not _PER_YEAR_RE.search(low[per.start():per.start() + 12]):
        return None
    if _UNIT_MT_RE.search(low):
        return 1e6
    if _UNIT_KT_RE.search(low):
        return 1e3
    if _UNIT_T_RE.search(low):
        return 1.0
    return None
