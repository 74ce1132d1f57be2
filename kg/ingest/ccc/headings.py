"""What one heading-like line means for sectioning: a module (by code or title words), the
Investment Plan, the Action Plan, a "Part A/B/C" heading, or a reset to ``intro``.

A *module heading* is a Markdown heading, a bold-only line, or a short plain line, that
names a code: ``Module A-1``, ``2.3 Module A-3``, ``A-3.2: ...``, ``(A-1)``, ``AP3 A-1``,
``Section B-1``, ``A.1-5``, ``B3-INDICATORS``, ``... (Module A-2)``. A code without a
separator (``A1``) needs the word "Module" or the module's title words; a plain line
without "Module" needs the title words ("B-1 Climate Neutrality Scenarios ..."). A heading
carrying only a module's title ("4.5 Systemic Barriers and Opportunities ...") is a weak
module event (see ``sections``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.ingest.ccc.clean import PAGE_TAIL_RE, strip_numbering

# module codes: letter, optional separator, digit; "IP-" marks the Investment Plan
_CODE_RE = re.compile(
    r"(?<![A-Za-z0-9])(IP[- ]?)?([ABC])(?:(\s?[-.]\s?|\s)|)([123])(?![0-9]|[A-Za-z]{2})"
)
_MODULE_WORD_RE = re.compile(r"\b(?:module|modul|módulo|modulo|moduł|moduuli)\b", re.I)
_PREFIX_WORD_RE = re.compile(r"(?i)\b(?:section|sección|secção|sezione|chapter|kapitel|capitolo|rozdział)$")
_PART_RE = re.compile(r"^(?:part|partie|parte|teil|część|osa|del|deel|rész|partea)\s+([ABC])\b", re.I)

TITLE_RES: dict[str, re.Pattern[str]] = {
    "A-1": re.compile(
        r"(?:emission|ghg|greenhouse|co2).{0,40}(?:inventor|baseline)|baseline.{0,30}(?:emission|ghg|inventor)"
    ),
    "A-2": re.compile(
        r"current polic|polic(?:y|ies),? (?:and )?strateg|(?:polic|strateg).{0,30}assessment|"
        r"assessment of (?:current|existing)|evaluation of (?:current )?polic"
    ),
    "A-3": re.compile(r"systemic (?:barrier|obstacle)|barriers and opportunit"),
    "B-1": re.compile(
        r"impact pathway|neutral(?:ity)? scenario|scenarios? and (?:impact )?pathway|"
        r"scenarios? (?:for|towards?) climate neutral"
    ),
    "B-2": re.compile(
        r"portfolio design|action portfolio|neutrality portfolio|portfolio of (?:transformative )?actions|"
        r"design of (?:the )?(?:action )?portfolio|individual action outline"
    ),
    "B-3": re.compile(r"indicators? for monitoring|monitoring,? evaluation|evaluation,? and learning"),
    "C-1": re.compile(
        r"governance innovation|organi[sz]ational and governance|governance interventions|"
        r"organi[sz]ational (?:innovation|and management|interventions)|innovations? in organi[sz]ation|governance model"
    ),
    "C-2": re.compile(r"social (?:and other )?innovation|social interventions|social and other interventions"),
    "C-3": re.compile(
        r"financing (?:of |the )*(?:action )?portfolio|funding and financing|portfolio financing|"
        r"financing (?:of )?(?:the )?actions?|financing strateg"
    ),
}
# title checks run in this order: "financing of the action portfolio" is C-3, not B-2
_TITLE_ORDER: tuple[str, ...] = ("C-3",) + tuple(c for c in TITLE_RES if c != "C-3")
# Investment Plan module titles that reuse the A-1 ... C-3 codes (e.g. Seville)
_IP_TITLE_RE = re.compile(
    r"existing (?:climate action )?funding|financial (?:policy|barrier)|barriers to (?:climate )?invest|"
    r"cost scenario|capital planning|economic and financial indicator|raising and deploying capital|"
    r"capital formation|risk identification|identification and mitigation of risk|"
    r"capacity building and stakeholder"
)
_RESET_RE = re.compile(
    r"^(?:(?:annex(?:es)?|appendix|appendices|attachments?|anhang|anlagen?(?= ?\d|$)|anexos?|"
    r"allegat[oi]|bijlagen?|liitteet|liite|bilag[ae]|bilagor|załącznik|příloh[ay])\b|"
    r"(?:outlook and )?next steps$|plans for (?:the )?next\b|"
    r"(?:(?:the )?\d{4} )?climate neutrality commitments\b|commitments$|"
    r"(?:the )?climate city contract$)",
    re.I,
)
# the title of the Investment Plan document (not any heading that mentions it)
_IP_START_RE = re.compile(
    r"^(?:annex \w{1,3}\s*[:.-]?\s*)?(?:the )?(?:\d{4} )?(?:climate )?(?:neutrality )?"
    r"investment plan(?: (?:of|for) .{0,60})?$",
    re.I,
)
_AP_START_RE = re.compile(
    r"^(?:(?:the )?\d{4} )?(?:climate )?(?:neutrality )?action plan(?: (?:of|for) .{0,60})?$", re.I
)
_MODULE_PAREN_RE = re.compile(r"\((?:module|modul|módulo|modulo)\s+([ABC])-?([123])\)", re.I)


@dataclass(frozen=True)
class Event:
    """What a heading-like line means for sectioning."""
    kind: str             # "mod", "reset", "ip" (Investment Plan starts), "ap" (Action Plan), "part"
    code: str = ""        # module code for "mod", part letter for "part"
    strong: bool = True   # "mod": named by code (False: by title words only)
    titled: bool = False  # "mod": the module's own title words follow the code
    sub: bool = False     # "mod": a template sub-section code ("A-3.2")
    money: bool = False   # "mod": funding / capital / investment words (Investment Plan style)


def code_of(text: str) -> str | None:
    """Module code named at the start of a heading-like text, if any (no checks)."""
    m = _CODE_RE.search(strip_numbering(text)[:60])
    if not m or m.group(1):
        return None
    return f"{m.group(2)}-{m.group(4)}"


_MONEY_RE = re.compile(r"(?i)fund|financ|capital|invest|cost|risk|budget")


def classify_heading(text: str, *, plain: bool) -> Event | None:
    """What a heading-like line means for sectioning (see module docstring)."""
    t = strip_numbering(text)
    if not t or len(t) > 220:
        return None
    ev = _classify_title(t, plain=plain)
    if ev is not None and ev.kind in ("mod", "part") and PAGE_TAIL_RE.search(t):
        return None  # "Module C-2 Social Innovation Interventions 177": a TOC entry
    return ev


# a rule that does not apply: the next one decides
_PASS = Event("pass")


def _classify_title(t: str, *, plain: bool) -> Event | None:
    """The rules in order: a plain line by its code and title words; "(Module A-1)"; a code
    near the start; then (headings only) title words, "Part B", the Investment Plan, the
    Action Plan and reset headings."""
    module_word = bool(_MODULE_WORD_RE.match(t)) or bool(_MODULE_WORD_RE.search(t[:25]))
    if plain and not module_word:
        return _plain_line(t)
    pm = _MODULE_PAREN_RE.search(t)
    if pm:  # "Baseline inventory of greenhouse gas emissions (Module A-1)"
        return Event("mod", f"{pm.group(1).upper()}-{pm.group(2)}", titled=True)
    ev = _by_code(t, plain=plain, module_word=module_word)
    if ev is not _PASS:
        return ev
    if plain:
        return None
    return _by_words(t, module_word=module_word)


def _plain_line(t: str) -> Event | None:
    """A plain line "B-1 Climate Neutrality Scenarios ..." counts only with the title words."""
    m = _CODE_RE.match(t.lstrip("("))
    if not m or m.group(1) or not (m.group(3) or "").strip():
        return None
    code = f"{m.group(2)}-{m.group(4)}"
    rest = t.lstrip("(")[m.end():].lower()
    if TITLE_RES[code].search(rest[:40]):
        return Event("mod", code, titled=True, money=bool(_MONEY_RE.search(rest)))
    return None


def _code_in_place(before: str, module_word: bool) -> bool:
    """Text before a code leaves it a heading's code: nothing, or up to two short words
    ("Module", "AP3", "Section")."""
    nb = len(before.split())
    return nb == 0 or (nb <= 2 and (module_word or len(before) <= 6 or bool(_PREFIX_WORD_RE.search(before))))


def _by_code(t: str, *, plain: bool, module_word: bool) -> Event | None:
    """A module (or Investment Plan) code near the start decides; ``_PASS`` when there is
    none in place."""
    m = _CODE_RE.search(t[:70])
    if not m:
        return _PASS
    before = t[: m.start()].strip(" (-:[")
    if not _code_in_place(before, module_word):
        return _PASS
    if m.group(1) or re.search(r"\bIP[- ]?$", before):
        return Event("ip")
    code = f"{m.group(2)}-{m.group(4)}"
    rest = t[m.end():].lower()
    sep = m.group(3)
    loose = not (sep or "").strip() and not (sep == " " and re.match(r"\.\d", rest))
    if loose and not module_word and not TITLE_RES[code].search(rest):
        return None  # "A1", "A 1" need "Module" or the module's title words ("A 2.1" is fine)
    if _IP_TITLE_RE.search(rest):
        return Event("ip")
    sub = bool(re.match(r"\s?[.-]?\d", rest))  # "A-3.2", "A.1-5": a template sub-section
    titled = bool(TITLE_RES[code].search(rest))
    first = re.search(r"[^\W\d_]+", t[m.end():])
    if plain and not titled and first and not first.group(0)[0].isupper():
        return None  # "Module C3 provides an overview ...": a sentence, not a heading
    return Event("mod", code, titled=titled, sub=sub, money=bool(_MONEY_RE.search(rest)))


def _title_code(low: str, *, within: int | None = None) -> str | None:
    """The module whose title words the text carries (starting within ``within`` characters)."""
    for code in _TITLE_ORDER:
        tm = TITLE_RES[code].search(low)
        if tm and (within is None or tm.start() <= within):
            return code
    return None


def _by_words(t: str, *, module_word: bool) -> Event | None:
    """A heading without a code in place: "Module 4-2: <title words>", "Part B", a heading
    that is a module's title, or one that starts the Investment Plan, the Action Plan or a
    reset."""
    low = t.lower()
    money = bool(_MONEY_RE.search(low))
    code = _title_code(low) if module_word else None
    if code:  # "Module 4-2: Climate Neutrality Portfolio Design": trust the title words
        return Event("mod", code, titled=True, money=money)
    pm = _PART_RE.match(t)
    if pm:
        return Event("part", pm.group(1).upper())
    words = len(t.split())
    code = _title_code(low, within=20) if words <= 14 else None
    if code:  # the heading *is* the module title
        return Event("mod", code, strong=False, titled=True, money=money)
    if words > 10:
        return None
    if _IP_START_RE.match(t):
        return Event("ip")
    if _RESET_RE.match(t):
        return Event("reset")
    if _AP_START_RE.match(t):
        return Event("ap")
    return None
