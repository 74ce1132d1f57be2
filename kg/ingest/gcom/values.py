"""Cell values of the GCoM release as published, read leniently and counted.

The JRC tables mark a missing value with ``-``, ``NA``, ``null`` or an empty cell, and a few
cells hold a number with a decimal comma (``10,219287``) or a number as text. ``Tally`` counts
every such cell per file and field, so a reader can say what it met without failing on it.

>>> t = Tally()
>>> t.number("10,219287", "df1", "organisation_latitude")
10.219287
>>> t.number("-", "df1", "population_adhesion") is None
True
>>> t.number("twelve", "df1", "population_adhesion") is None
True
>>> sorted(t.counts.items())
[(('df1', 'organisation_latitude', 'decimal comma'), 1), (('df1', 'population_adhesion', 'missing'), 1), (('df1', 'population_adhesion', 'not a number'), 1)]
"""

from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from dataclasses import dataclass, field

MISSING = frozenset({"", "-", "na", "n/a", "nan", "null", "none"})


@dataclass
class Tally:
    """Odd cells and rows met while reading: (file, field, what) -> count."""

    counts: Counter = field(default_factory=Counter)

    def note(self, file: str, fld: str, what: str, n: int = 1) -> None:
        self.counts[(file, fld, what)] += n

    def text(self, value: object, file: str, fld: str) -> str:
        """A text cell; missing markers become ""."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        s = str(value).strip()
        if s.casefold() in MISSING:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))       # ids read as floats by the xlsx reader
        return s

    def number(self, value: object, file: str, fld: str) -> float | None:
        """A number cell: floats as they are, text with a decimal comma or point converted;
        missing markers and anything else give None (counted)."""
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, int | float):
            if isinstance(value, float) and math.isnan(value):
                self.note(file, fld, "missing")
                return None
            return float(value)
        s = "" if value is None else str(value).strip()
        if s.casefold() in MISSING:
            self.note(file, fld, "missing")
            return None
        try:
            return float(s)
        except ValueError:
            pass
        if s.count(",") == 1 and "." not in s:
            try:
                v = float(s.replace(",", "."))
            except ValueError:
                pass
            else:
                self.note(file, fld, "decimal comma")
                return v
        self.note(file, fld, "not a number")
        return None

    def integer(self, value: object, file: str, fld: str) -> int | None:
        v = self.number(value, file, fld)
        return None if v is None else int(round(v))

    def flag(self, value: object, file: str, fld: str) -> bool | None:
        """A TRUE/FALSE cell (bool, 0/1 or text)."""
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        s = "" if value is None else str(value).strip().casefold()
        if s in ("true", "yes", "1"):
            return True
        if s in ("false", "no", "0"):
            return False
        self.note(file, fld, "missing" if s in MISSING else "not a flag")
        return None

    def date(self, value: object, file: str, fld: str) -> _dt.date | None:
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        s = "" if value is None else str(value).strip()
        if s.casefold() in MISSING:
            return None
        try:
            return _dt.date.fromisoformat(s[:10])
        except ValueError:
            self.note(file, fld, "not a date")
            return None

    def lines(self) -> list[str]:
        """One line per (file, field, what), sorted: ``df1 organisation_latitude: 11 decimal comma``."""
        return [f"{f} {fld}: {n} {what}" for (f, fld, what), n in sorted(self.counts.items())]
