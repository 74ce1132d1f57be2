"""Sector label -> emission domain, by the first keyword in the label:

    waste, wastewater, landfill, incineration                       -> waste
    AFOLU, LULUCF, agriculture, forestry, land use, sinks           -> green
    energy industries / supply / production, power generation       -> energy
    IPPU, industrial processes, industry, manufacturing, F-gases    -> industry
    transport, mobility, traffic, vehicles, aviation, shipping      -> mobility
    buildings, residential, commercial, tertiary, households, services,
    public sector, heating, stationary energy (fuel burnt in
    buildings and facilities; its grid share is reported apart)     -> buildings
    electricity, power, energy, district heat, grid                 -> energy
    "Other ...", "Undefined", fuels and gases (coal, diesel, CH4)   -> None
"""

from __future__ import annotations

import re

_DOMAIN_RULES: tuple[tuple[str | None, re.Pattern[str]], ...] = (
    ("waste", re.compile(r"waste|landfill|abfall|residuos|rifiuti|afval|jäte|odpad|déchet|incinerat")),
    ("green", re.compile(
        r"afolu|lulucf|agricultur|forest|land[- ]use|sinks?\b|landwirtschaft|agricol|agrar|maatalous|rolnictw"
    )),
    ("energy", re.compile(
        r"energy (?:industr|supply|production|generation|sector)|power (?:plant|generation|sector)|"
        r"electricity (?:production|generation|supply)|energy and heat production"
    )),
    ("industry", re.compile(r"ippu|industr|manufactur|product use|f-gas|fluorinated")),
    ("mobility", re.compile(
        r"transport|mobilit|traffic|vehicle|aviation|shipping|\brail|\broad|verkehr|trasport|vervoer|liikenne|"
        r"navigation|maritime|marine"
    )),
    ("buildings", re.compile(
        r"building|residential|commercial|tertiary|household|housing|domestic|stationary|institution|"
        r"public sector|public service|services|heating|gebäude|wohn|edific|edifici|gebouw|rakennu|budyn|dwelling|built environment"
    )),
    ("energy", re.compile(r"electric|power|energy|district heat|fernwärme|\bstrom|\bgrid|\bchp|heat production")),
)


_NO_DOMAIN_RE = re.compile(
    r"^(?:others?|undefined|unidentified|unallocated|remaining|rest|non-energy|"
    # energy carriers and gases: a breakdown row, not a sector
    r"(?:natural |liquid |liquefied )?gas|coal|hard coal|lignite|biomass|biogas|solar|geothermal|"
    r"(?:heating |fuel )?oil|petrol|petroleum|gasoline|diesel|lpg|cng|lng|kerosene|hydrogen|wood|"
    r"heat/cold|environmental heat|local heat|electrical energy|carbon dioxide|methane|nitrous oxide)\b"
)


def domain(label: str) -> str | None:
    """Sector label -> domain code (see the module docstring for the mapping): the domain
    whose keyword comes first in the label wins ("Buildings, incl. agricultural ...")."""
    low = label.lower()
    if _NO_DOMAIN_RE.match(low):
        return None
    best: tuple[int, int] | None = None
    dom_out: str | None = None
    for rank, (dom, rx) in enumerate(_DOMAIN_RULES):
        m = rx.search(low)
        if m and (best is None or (m.start(), rank) < best):
            best, dom_out = (m.start(), rank), dom
    return dom_out
