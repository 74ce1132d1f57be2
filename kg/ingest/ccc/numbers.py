"""Numbers in table cells: "1.234" vs "1,234", accounting negatives, footnote marks."""

from __future__ import annotations

import re

NUM_CELL_RE = re.compile(r"^[-+]?\d[\d ,.']*$")


def _clean_num(cell: str) -> str:
    s = cell.strip().rstrip("*").strip()
    s = re.sub(r"\^\{?[a-z0-9]\}?$", "", s)
    if s.startswith("(") and s.endswith(")") and s[1:2].isdigit():
        s = "-" + s[1:-1]  # accounting negative: "(230)"
    return s


def looks_numeric(cell: str) -> bool:
    s = _clean_num(cell)
    return bool(s) and bool(NUM_CELL_RE.match(s))


def num_candidates(cell: str) -> list[float]:
    """Readings of a numeric cell: [] if not a readable number, else one float, or two for
    an ambiguous "12.345" (thousands first, decimal second)."""
    s = _clean_num(cell)
    if not s or not NUM_CELL_RE.match(s):
        return []
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-").replace(" ", "").replace("'", "")
    if not s or not s[0].isdigit():
        return []
    try:
        return [sign * v for v in _readings(s)]
    except ValueError:
        return []


def _readings(s: str) -> list[float]:
    """Unsigned digits with separators: both kinds, one kind, or none."""
    if "." in s and "," in s:
        return _two_separators(s)
    sep = "." if "." in s else ("," if "," in s else "")
    return _one_separator(s, sep) if sep else [float(s)]


def _two_separators(s: str) -> list[float]:
    """"1,234.5" or "1.234,5": the last separator is the decimal one, the other groups by three."""
    dec = "." if s.rfind(".") > s.rfind(",") else ","
    th = "," if dec == "." else "."
    intpart, frac = s.rsplit(dec, 1)
    groups = intpart.split(th)
    if th in frac or dec in intpart or any(len(g) != 3 for g in groups[1:]):
        return []
    return [float("".join(groups) + "." + frac)]


def _one_separator(s: str, sep: str) -> list[float]:
    """"1.234.567" (thousands), "12.5" (decimal), or "12.345" (either: two readings)."""
    groups = s.split(sep)
    if len(groups) > 2:
        if any(len(g) != 3 for g in groups[1:]) or not 1 <= len(groups[0]) <= 3:
            return []
        return [float("".join(groups))]
    head, tail = groups
    if not head or not tail:
        return []
    if len(tail) != 3 or len(head) > 3 or head == "0":
        return [float(head + "." + tail)]
    return [float(head + tail), float(head + "." + tail)]


def style_votes(cells: list[str]) -> set[str]:
    """Thousands separator used by a table, from its unambiguous numbers: "dot", "comma"."""
    votes: set[str] = set()
    for c in cells:
        s = _clean_num(c).lstrip("+-").replace(" ", "")
        if not s or not NUM_CELL_RE.match(s):
            continue
        d, k = s.count("."), s.count(",")
        if d and k:
            votes.add("comma" if s.rfind(".") > s.rfind(",") else "dot")
        elif d > 1 or (k == 1 and len(s.split(",")[1]) != 3):
            votes.add("dot")      # 1.234.567 or 12,5
        elif k > 1 or (d == 1 and len(s.split(".")[1]) != 3):
            votes.add("comma")    # 1,234,567 or 12.5
    return votes


def pick(cands: list[float], cell: str, style: str | None, thousands: bool | None) -> float | None:
    if len(cands) == 1:
        return cands[0]
    if style is not None:
        sep = "." if "." in cell else ","
        return cands[0] if (style == "dot") == (sep == ".") else cands[1]
    if thousands is None:
        return None
    return cands[0] if thousands else cands[1]
