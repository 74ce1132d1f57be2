"""The records a contract is read into."""

from __future__ import annotations

from dataclasses import dataclass

# the contract's section codes (its Action Plan modules; the programme's modules are
# recommender.types.MODULES)
CCC_SECTIONS: tuple[str, ...] = ("A-1", "A-2", "A-3", "B-1", "B-2", "B-3", "C-1", "C-2", "C-3")
INTRO = "intro"


@dataclass(frozen=True)
class Passage:
    section: str        # module code ("A-1" ... "C-3") or "intro"
    section_title: str  # the heading that opened the section, cleaned
    position: int       # 0-based order of the passage in the whole document
    text: str           # cleaned, whitespace-normalised text


@dataclass(frozen=True)
class EmissionsRow:
    sector: str          # sector label as in the table (cleaned)
    domain: str | None   # energy, mobility, buildings, waste, green, industry, or None
    tonnes_co2e: float   # tonnes CO2e
    year: int | None


@dataclass(frozen=True)
class CccDocument:
    path: str
    sections: tuple[str, ...]
    passages: tuple[Passage, ...]
    emissions: tuple[EmissionsRow, ...]
    structured: bool = True  # False: no module found, passages split by headings (all "intro")
