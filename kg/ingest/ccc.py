"""Reader for Climate City Contracts (CCC): Markdown converted from the cities' PDFs.

A CCC Action Plan follows one template of nine modules::

    A-1 greenhouse-gas emissions baseline inventory   B-1 impact pathways / scenarios
    A-2 current policies and strategies               B-2 climate neutrality portfolio design
    A-3 systemic barriers and opportunities           B-3 indicators for monitoring
    C-1 organisational and governance innovation      C-2 social innovation
    C-3 financing of the action portfolio

``read_ccc`` splits a document into passages sized for a sentence-embedding model, each
tagged with the module it belongs to, and reads the A-1 emissions-by-sector table when
that can be done without guessing. Standard library only; every decision is per line and
the regexes are anchored or run on short strings, so no input can make them backtrack badly.

Sections
    * A *module heading* is a Markdown heading, a bold-only line, or a short plain line,
      that names a code: ``Module A-1``, ``2.3 Module A-3``, ``A-3.2: ...``, ``(A-1)``,
      ``AP3 A-1``, ``Section B-1``, ``A.1-5``, ``B3-INDICATORS``, ``... (Module A-2)``.
      A code without a separator (``A1``) needs the word "Module" or the module's title
      words; a plain line without "Module" needs the title words ("B-1 Climate Neutrality
      Scenarios ...").
    * A heading carrying only a module's title ("4.5 Systemic Barriers and Opportunities
      ...") counts when no heading of the document names that module by code.
    * Tables of contents are skipped: lines with dot leaders, module lines ending in a page
      number, the region after a "Table of contents" heading (up to the first prose line or
      the first heading it listed), and clusters of module headings with no text between
      them when the same module comes again later.
    * A heading naming the current module ("A-3.2: ...") is a sub-heading: kept as text.
    * Text under a "Part B ..." heading goes to the next module when that is in part B.
    * ``intro`` is everything outside the Action Plan modules: front matter, and after a
      reset heading (annex / appendix / attachments, outlook and next steps, the
      Commitments, the Investment Plan) until a module heading comes again. Inside the
      Investment Plan its own modules (``Module IP-A1``, or ``A-1.1 Current climate
      finance``) stay ``intro``; a later code heading reopens a module already seen only
      with its title words or a sub-code (so "B-2 Bike lanes" in an annex does not).

Passages
    Running headers and footers (short lines seen 4+ times), page numbers, image
    placeholders, HTML/TeX markup, NetZeroCities template boilerplate and TOC lines are
    dropped. Table rows are kept as "cell | cell" text when they carry words; bare numbers
    and column labels ("Scope 1", "Total") are dropped from them. Sub-headings are kept as
    the first sentence of the paragraph they introduce. ``split_passages`` then packs
    paragraphs to about ``target_words`` (never over ``max_words``), cutting long
    paragraphs between sentences (table rows), and a sentence only when it alone is too
    long. Passages under 8 words, mostly numbers, or repeated verbatim are dropped.

Emissions (conservative: an empty tuple rather than a guess)
    From the first table of A-1 that reads as a baseline inventory by sector: its title
    (own first row, else a caption-like line above) must not be a projection, BAU,
    target, activity or emission-factor table, and it must speak of emissions / GHG /
    CO2. The unit comes from a "Unit" row, a header cell, or the caption: t, tCO2e, Mg,
    tonnes -> x1; kt, 1000 t, Gg -> x1e3; Mt, million tonnes -> x1e6; intensities (per
    capita, per kWh) and energy units are refused. The value of a row is its "Total"
    column, else the sum of its "Scope n" columns; each base-year column block gives its
    own rows (years from 2025 on are projections and skipped). "1.234" vs "1,234" is
    settled by the table's unambiguous numbers, then by its own Total row, then (tonnes
    only) as thousands; a number that cannot be read rejects the whole table. Rows that
    break down the row above (their values add up to it), breakdowns by fuel or gas, and
    subtotals are dropped; the whole table must be plausible for a city (1e4 .. 2e8 t).
    Sector -> domain, by the first keyword in the label:

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

import html
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError

__all__ = [
    "CccDocument",
    "EmissionsRow",
    "MODULES",
    "Passage",
    "read_ccc",
    "split_passages",
]

MODULES: tuple[str, ...] = ("A-1", "A-2", "A-3", "B-1", "B-2", "B-3", "C-1", "C-2", "C-3")
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


# --------------------------------------------------------------------------- text cleaning

_CHAR_MAP: dict[str, str | None] = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\u00a0": " ", "\u202f": " ", "\u2007": " ",
    "\u2009": " ", "\u200a": " ", "\u3000": " ", "\t": " ", "\u00ad": None,
    "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
    "\u2082": "2", "\u2083": "3", "\u2084": "4", "\u2086": "6", "\u2080": "0",
    "\u2081": "1", "\u00b2": "2", "\u00b3": "3",
}


def _normalise_chars(text: str) -> str:
    """Dashes to "-", odd spaces to " ", invisible characters out, subscript digits to digits
    (``str.replace`` per character present: much faster than ``str.translate`` here)."""
    for ch, rep in _CHAR_MAP.items():
        if ch in text:
            text = text.replace(ch, rep or "")
    return text

_IMAGE_RE = re.compile(r"!\[[^\]\n]{0,500}\]\([^)\n]{0,1000}\)")
_LINK_RE = re.compile(r"\[([^\]\n]{1,500})\]\([^)\n]{0,1000}\)")
_TAG_RE = re.compile(r"</?[a-zA-Z][^<>\n]{0,300}>")
_MATH_RE = re.compile(r"\$\$?([^$\n]{1,300})\$\$?")
_TEX_CMD_RE = re.compile(r"\\(?:mathrm|text|mathbf|mathit|operatorname|rm|bf)\s*")
_TEX_ARROW_RE = re.compile(r"\\(?:right|Right|long|Long)?(?:arrow|Arrow|rightarrow)")
_TEX_OTHER_RE = re.compile(r"\\[a-zA-Z]+")
_EMPH_RE = re.compile(r"(\*{1,3}|_{2,3})(?=\S)(.+?)(?<=\S)\1")
_SPACES_RE = re.compile(r"\s+")
_HTML_ROW_RE = re.compile(r"</tr\s*>", re.I)
_HTML_CELL_RE = re.compile(r"<t[dh][^<>]{0,200}>", re.I)


def _tex(m: re.Match[str]) -> str:
    s = m.group(1).replace("\\%", "%").replace("\\,", " ").replace("\\ ", " ")
    s = _TEX_ARROW_RE.sub(" -> ", s)
    s = _TEX_CMD_RE.sub("", s)
    s = _TEX_OTHER_RE.sub(" ", s)
    s = s.replace("{", "").replace("}", "").replace("_", "").replace("^", "")
    return _SPACES_RE.sub(" ", s).strip()


def _clean_inline(s: str) -> str:
    """Markdown/HTML/TeX noise out of one line of text; whitespace normalised."""
    if "![" in s:
        s = _IMAGE_RE.sub(" ", s)
    if "](" in s:
        s = _LINK_RE.sub(r"\1", s)
    if "<" in s:
        s = _TAG_RE.sub(" ", s)
    if "$" in s:
        s = _MATH_RE.sub(_tex, s)
    if "&" in s:
        s = html.unescape(s)
    if "*" in s or "__" in s:
        s = _EMPH_RE.sub(r"\2", s)
        s = s.replace("**", "")
    if "\\" in s:
        s = s.replace("\\*", "*").replace("\\_", "_").replace("\\&", "&").replace("\\#", "#")
    return " ".join(s.split())


# ------------------------------------------------------------------------- passage splitter

_PARA_SPLIT_RE = re.compile(r"\n[ \t]*\n")
# a sentence ends with . ! ? … before a capital or digit; a bullet starts a new item
_SENT_SPLIT_RE = re.compile(
    r"(?<=[.!?…])\s+(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-ÞĀ-ſ])|\s+(?=[•▪●■◦‣∙]\s)"
)


def _sentences(par: str, max_words: int) -> list[str]:
    """A paragraph as sentences; a table (one row a line) as its rows, a row longer than
    ``max_words`` as its sentences."""
    lines = [ln.strip() for ln in par.split("\n") if ln.strip()]
    if len(lines) > 1 and sum(" | " in ln for ln in lines) * 2 >= len(lines):
        out: list[str] = []
        for ln in lines:
            out.extend([ln] if len(ln.split()) <= max_words else _sentences(ln, max_words))
        return out
    flat = " ".join(par.split())
    return [s for s in _SENT_SPLIT_RE.split(flat) if s]


def _pack(units: list[tuple[str, int]], target: int, max_words: int) -> list[tuple[str, int]]:
    """Greedy packing of (text, words) units: close a chunk once it reaches ``target``
    or when the next unit would push it over ``max_words``."""
    out: list[tuple[str, int]] = []
    cur: list[str] = []
    n = 0
    for text, w in units:
        if cur and (n >= target or n + w > max_words):
            out.append((" ".join(cur), n))
            cur, n = [], 0
        cur.append(text)
        n += w
    if cur:
        out.append((" ".join(cur), n))
    # a tiny tail goes back into the chunk before it when that stays within the limit
    if len(out) > 1 and out[-1][1] < max(8, target // 4) and out[-2][1] + out[-1][1] <= max_words:
        last = out.pop()
        prev = out.pop()
        out.append((prev[0] + " " + last[0], prev[1] + last[1]))
    return out


def split_passages(text: str, *, target_words: int = 120, max_words: int = 200) -> list[str]:
    """Chunk ``text`` into passages of about ``target_words`` words, never more than
    ``max_words``. Paragraphs (blank-line separated) are kept whole when they fit and
    packed together while the passage is under the target; a longer paragraph is cut
    between sentences (rows, for a table). A sentence is cut only when it alone exceeds
    ``max_words``. Whitespace is normalised."""
    if target_words < 1 or max_words < target_words:
        raise ValueError("need 1 <= target_words <= max_words")
    units: list[tuple[str, int]] = []
    for par in _PARA_SPLIT_RE.split(text):
        flat = " ".join(par.split())
        if not flat:
            continue
        words = flat.split(" ")
        if len(words) <= max_words:
            units.append((flat, len(words)))
            continue
        sents: list[tuple[str, int]] = []
        for sent in _sentences(par, max_words):
            sw = sent.split()
            if not sw:
                continue
            if len(sw) <= max_words:
                sents.append((" ".join(sw), len(sw)))
            else:  # one sentence longer than the limit: cut it into even word windows
                k = math.ceil(len(sw) / max_words)
                size = math.ceil(len(sw) / k)
                for i in range(0, len(sw), size):
                    piece = sw[i:i + size]
                    sents.append((" ".join(piece), len(piece)))
        units.extend(_pack(sents, target_words, max_words))
    return [t for t, _ in _pack(units, target_words, max_words)]


# ----------------------------------------------------------------------- line classification

_TOC_TAIL_RE = re.compile(r"(?:\.{3,}|…+|(?:\. ){2,}\.?|_{3,})\s*\d{0,4}\s*$|\s\.{2,}\s*\d{1,4}\s*$")
_PAGE_TAIL_RE = re.compile(r"(?<=[A-Za-z)\]'\"”’:])\s+\d{1,3}\s*$")
_NUMBERING_RE = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,4}\.?|[IVX]{1,4}\.|[a-z]\))\s+")
_NOISE_LINE_RE = re.compile(r"^[\W\d_]*$")
_TABLE_SEP_RE = re.compile(r"^\|?[\s:|-]*-[\s:|-]*\|?$")
_BOLD_LINE_RE = re.compile(r"^\*\*(.{2,200}?)\*\*:?$")
_TOC_TITLE_RE = re.compile(
    r"^(?:table of contents?|contents?|index|summary of contents|list of (?:figures|tables|"
    r"abbreviations|acronyms|mandatory tables|boxes|maps|graphs|charts)|índice|indice|"
    r"sommaire|table des matières|inhaltsverzeichnis|inhalt|spis treści|sisällys(?:luettelo)?|"
    r"innehåll(?:sförteckning)?|indholdsfortegnelse|innholdsfortegnelse|obsah|tartalom(?:jegyzék)?|"
    r"cuprins|turinys|saturs|sadržaj|kazalo|περιεχόμενα|πίνακας περιεχομένων|içindekiler|"
    r"inhoud(?:sopgave)?|sommario|efnisyfirlit|съдържание)$",
    re.I,
)

# module codes: letter, optional separator, digit; "IP-" marks the Investment Plan
_CODE_RE = re.compile(
    r"(?<![A-Za-z0-9])(IP[- ]?)?([ABC])(?:(\s?[-.]\s?|\s)|)([123])(?![0-9]|[A-Za-z]{2})"
)
_MODULE_WORD_RE = re.compile(r"\b(?:module|modul|módulo|modulo|moduł|moduuli)\b", re.I)
_PREFIX_WORD_RE = re.compile(r"(?i)\b(?:section|sección|secção|sezione|chapter|kapitel|capitolo|rozdział)$")
_PART_RE = re.compile(r"^(?:part|partie|parte|teil|część|osa|del|deel|rész|partea)\s+([ABC])\b", re.I)

_TITLE_RES: dict[str, re.Pattern[str]] = {
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
_TITLE_ORDER: tuple[str, ...] = ("C-3",) + tuple(c for c in _TITLE_RES if c != "C-3")
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
class _Event:
    """What a heading-like line means for sectioning."""
    kind: str             # "mod", "reset", "ip" (Investment Plan starts), "ap" (Action Plan), "part"
    code: str = ""        # module code for "mod", part letter for "part"
    strong: bool = True   # "mod": named by code (False: by title words only)
    titled: bool = False  # "mod": the module's own title words follow the code
    sub: bool = False     # "mod": a template sub-section code ("A-3.2")
    money: bool = False   # "mod": funding / capital / investment words (Investment Plan style)


@dataclass
class _Item:
    kind: str            # "blank", "head", "text", "table"
    text: str            # cleaned text (table: cells joined by " | ")
    level: int = 0       # heading level; 7 for bold lines, 8 for plain module lines
    toc: bool = False
    event: _Event | None = None


def _norm_key(s: str) -> str:
    s = _TOC_TAIL_RE.sub("", s)
    s = _PAGE_TAIL_RE.sub("", s)
    s = _NUMBERING_RE.sub("", s)
    return re.sub(r"[^0-9a-zà-ÿ]+", " ", s.lower()).strip()


def _strip_numbering(s: str) -> str:
    if not s[:1].isdigit() and s[:1] not in "IVXabcdefghijklmnopqrstuvwxyz":
        return s  # cheap exit: no "2.1 ", "IV. ", "a) " in front
    prev = None
    while prev != s:
        prev = s
        s = _NUMBERING_RE.sub("", s).strip()
    return s


def _tokenise(text: str) -> list[_Item]:
    text = _normalise_chars(text)
    if "<t" in text or "<T" in text:  # HTML tables to pipe rows
        text = _HTML_ROW_RE.sub("|\n", text)
        text = _HTML_CELL_RE.sub("| ", text)
    lines = text.split("\n")
    pipe = [("|" in ln) for ln in lines]
    items: list[_Item] = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            items.append(_Item("blank", ""))
            continue
        if pipe[i] and (s.startswith("|") or (i > 0 and pipe[i - 1])
                        or (i + 1 < len(lines) and pipe[i + 1])):
            if _TABLE_SEP_RE.match(s):
                continue
            cells = [" ".join(c.split()) for c in _clean_inline(s).strip("|").split("|")]
            items.append(_Item("table", " | ".join(cells)))
            continue
        if s.startswith("#"):
            level = len(s) - len(s.lstrip("#"))
            t = _clean_inline(s.lstrip("#"))
            if not t or _NOISE_LINE_RE.match(t):
                items.append(_Item("blank", ""))
                continue
            items.append(_Item("head", t, level=min(level, 6)))
            continue
        m = _BOLD_LINE_RE.match(s)
        if m and len(s) < 160:
            t = _clean_inline(m.group(1))
            if t and not _NOISE_LINE_RE.match(t):
                items.append(_Item("head", t, level=7))
                continue
        items.append(_Item("text", _clean_inline(s)))
    return items


def _is_toc_line(s: str) -> bool:
    if s[-1:] not in _TOC_END_CHARS:
        return False
    tail = s[-60:]  # only the tail matters; dot leaders or an underscore rule must be there
    return (".." in tail or "…" in tail or ". ." in tail or "___" in tail) and bool(_TOC_TAIL_RE.search(tail))


_TOC_END_CHARS = frozenset("0123456789.…_")


def _mark_toc(items: list[_Item]) -> None:
    """Flag table-of-contents regions and TOC-looking lines (dot leaders, page numbers)."""
    n = len(items)
    i = 0
    while i < n:
        it = items[i]
        if it.kind in ("head", "text") and len(it.text) < 60 and _TOC_TITLE_RE.match(
            _strip_numbering(it.text).rstrip(":").strip()
        ):
            it.toc = True
            seen: set[str] = set()
            codes: set[str] = set()
            j = i + 1
            limit = min(n, i + 400)
            while j < limit:
                jt = items[j]
                if jt.kind == "blank":
                    j += 1
                    continue
                words = jt.text.count(" ") + 1
                if jt.kind == "text" and words >= 22 and not _is_toc_line(jt.text):
                    break
                key = _norm_key(jt.text)
                if jt.kind == "head" and key and key in seen and not _is_toc_line(jt.text):
                    break  # a heading the TOC listed: the body starts here
                if jt.kind == "head" and _TOC_TITLE_RE.match(_strip_numbering(jt.text).rstrip(":")):
                    jt.toc = True
                    j += 1
                    continue
                code = _code_of(jt.text)
                if code and jt.kind == "head" and code in codes and not _is_toc_line(jt.text):
                    break
                if code:
                    codes.add(code)
                if key:
                    seen.add(key)
                jt.toc = True
                j += 1
            i = j
            continue
        if it.kind in ("head", "text") and _is_toc_line(it.text):
            it.toc = True
        i += 1


def _code_of(text: str) -> str | None:
    """Module code named at the start of a heading-like text, if any (no checks)."""
    m = _CODE_RE.search(_strip_numbering(text)[:60])
    if not m or m.group(1):
        return None
    return f"{m.group(2)}-{m.group(4)}"


_PLAIN_CODE_RE = re.compile(r"\(?[ABC][-. ]?[123]")
_MONEY_RE = re.compile(r"(?i)fund|financ|capital|invest|cost|risk|budget")


def _classify_heading(text: str, *, plain: bool) -> _Event | None:
    """What a heading-like line means for sectioning (see module docstring)."""
    t = _strip_numbering(text)
    if not t or len(t) > 220:
        return None
    ev = _classify_title(t, plain=plain)
    if ev is not None and ev.kind in ("mod", "part") and _PAGE_TAIL_RE.search(t):
        return None  # "Module C-2 Social Innovation Interventions 177": a TOC entry
    return ev


def _classify_title(t: str, *, plain: bool) -> _Event | None:
    low = t.lower()
    words = t.split()
    has_module_word = bool(_MODULE_WORD_RE.match(t)) or bool(_MODULE_WORD_RE.search(t[:25]))
    if plain and not has_module_word:
        # a plain line "B-1 Climate Neutrality Scenarios ..." counts only with the title words
        m = _CODE_RE.match(t.lstrip("("))
        if not m or m.group(1) or not (m.group(3) or "").strip():
            return None
        code = f"{m.group(2)}-{m.group(4)}"
        rest = t.lstrip("(")[m.end():].lower()
        if _TITLE_RES[code].search(rest[:40]):
            return _Event("mod", code, titled=True, money=bool(_MONEY_RE.search(rest)))
        return None
    pm = _MODULE_PAREN_RE.search(t)
    if pm:  # "Baseline inventory of greenhouse gas emissions (Module A-1)"
        return _Event("mod", f"{pm.group(1).upper()}-{pm.group(2)}", titled=True)
    m = _CODE_RE.search(t[:70])
    if m:
        before = t[: m.start()].strip(" (-:[")
        nb = len(before.split())
        ok_pos = nb == 0 or (nb <= 2 and (has_module_word or len(before) <= 6
                                          or bool(_PREFIX_WORD_RE.search(before))))
        if ok_pos:
            if m.group(1) or re.search(r"\bIP[- ]?$", before):
                return _Event("ip")
            code = f"{m.group(2)}-{m.group(4)}"
            rest = t[m.end():].lower()
            sep = m.group(3)
            loose = not (sep or "").strip() and not (sep == " " and re.match(r"\.\d", rest))
            if loose and not has_module_word and not _TITLE_RES[code].search(rest):
                return None  # "A1", "A 1" need "Module" or the module's title words ("A 2.1" is fine)
            if _IP_TITLE_RE.search(rest):
                return _Event("ip")
            sub = bool(re.match(r"\s?[.-]?\d", rest))  # "A-3.2", "A.1-5": a template sub-section
            titled = bool(_TITLE_RES[code].search(rest))
            first = re.search(r"[^\W\d_]+", t[m.end():])
            if plain and not titled and first and not first.group(0)[0].isupper():
                return None  # "Module C3 provides an overview ...": a sentence, not a heading
            return _Event("mod", code, titled=titled, sub=sub, money=bool(_MONEY_RE.search(rest)))
    if has_module_word and not plain:
        # "Module 4-2: Climate Neutrality Portfolio Design": trust the title words
        for code in _TITLE_ORDER:
            if _TITLE_RES[code].search(low):
                return _Event("mod", code, titled=True, money=bool(_MONEY_RE.search(low)))
    if plain:
        return None
    pm = _PART_RE.match(t)
    if pm:
        return _Event("part", pm.group(1).upper())
    if len(words) <= 14:
        for code in _TITLE_ORDER:
            tm = _TITLE_RES[code].search(low)
            if tm and tm.start() <= 20:  # the heading *is* the module title
                return _Event("mod", code, strong=False, titled=True, money=bool(_MONEY_RE.search(low)))
    if len(words) <= 10:
        if _IP_START_RE.match(t):
            return _Event("ip")
        if _RESET_RE.match(t):
            return _Event("reset")
        if _AP_START_RE.match(t):
            return _Event("ap")
    return None


# ------------------------------------------------------------------------------ read_ccc


def _load(path: Path) -> str:
    if not path.exists():
        raise InputError("file not found", path=str(path))
    if not path.is_file():
        raise InputError("not a file", path=str(path))
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror or e})", path=str(path)) from e
    if not data.strip():
        raise InputError("empty file", path=str(path))
    if b"\x00" in data:
        raise InputError("binary file (contains NUL bytes), expected Markdown text", path=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"binary file or not UTF-8 text (undecodable byte at offset {e.start})", path=str(path)
        ) from e


_TEMPLATE_PAR_RE = re.compile(r'^Module [ABC]-[123] ["“]')
_LETTER_RE = re.compile(r"[^\W\d_]{3,}")
_PUNCT = "()[]{}\"'“”‘’«»,.;:!?*•-–/"


def _has_words(text: str, n: int) -> bool:
    """At least ``n`` words that start with three letters (cheaper than a regex count)."""
    k = 0
    for w in text.split():
        if w.strip(_PUNCT)[:3].isalpha():
            k += 1
            if k >= n:
                return True
    return False

# NetZeroCities template lines that every CCC repeats: they say nothing about the city
_BOILERPLATE_RE = re.compile(
    r"(?i)^(?:(?:net ?zero ?cities )?eu mission platform \| climate neutral and smart cities|"
    r"net ?zero ?cities$|"
    r"the content of this document reflects only the author|"
    r"net ?zero ?cities has received funding|"
    r"this section should draw any necessary conclusions|"
    r"the list of abbreviations and acronyms identifies|"
    r"(?:is|does) the (?:indicator|data source) [^|]{0,120}\? \| (?:yes|no|local|regional|national)\b|"
    r"other indicator systems using this indicator$|"
    r"\(?(?:fill out|please (?:specify|indicate|describe|list|fill))\b)"
)
_NUMERIC_CELL_RE = re.compile(r"^[-+~<>≈]?\s?[€$£]?\s?[\d\s.,%'/()+-]*[€$£%]?$")
_NUMERIC_START = frozenset("0123456789-+~<>≈€$£.,%('/ ")
# header cells that only name a column of numbers
_LABEL_CELL_RE = re.compile(r"(?i)^(?:scope ?\d\*?|total|sum|% of total|share|unit|base ?year|year|20\d\d)$")


def _table_row_text(text: str) -> str | None:
    """A table row as text when it carries words; numeric-only rows are dropped."""
    cells: list[str] = []
    numbers = 0
    for c in text.split(" | "):
        c = c.strip()
        if not c:
            continue
        if c[0] in _NUMERIC_START and _NUMERIC_CELL_RE.match(c):
            numbers += 1  # a bare number: noise for semantic search
            continue
        if c in ("x", "X", "N/A", "n/a", "n.a.") or (len(c) <= 12 and _LABEL_CELL_RE.match(c)):
            continue  # a tick or a column label
        if c not in cells:
            cells.append(c)
    if not cells or (numbers and len(cells) == 1 and len(cells[0].split()) <= 8):
        return None  # "Transport | 123 | 456": a label and its numbers
    row = " | ".join(cells)
    if not _has_words(row, 3) or _BOILERPLATE_RE.match(row):
        return None
    return row


def _classify_lines(items: list[_Item], freq: Counter[str]) -> set[str]:
    """Attach a sectioning event to heading-like items; return the module codes that some
    heading names by code (those then ignore title-only headings)."""
    strong: set[str] = set()
    for it in items:
        if it.toc or it.kind not in ("head", "text"):
            continue
        if it.kind == "text":
            t = it.text
            if len(t) > 120 or t.endswith(".") or not (
                    "odul" in t[:40] or "ODUL" in t[:40] or _PLAIN_CODE_RE.match(_strip_numbering(t))):
                continue  # cheap exits: a plain line needs "Module" or a leading code
            ev = _classify_heading(t, plain=True)
            if ev is not None:
                it.level = 8
        else:
            ev = _classify_heading(it.text, plain=False)
        if ev is None:
            continue
        if ev.kind in ("reset", "ip", "ap") and freq[it.text.lower()] >= 4:
            continue  # a running header, not a part boundary
        it.event = ev
        if ev.kind == "mod" and ev.strong:
            strong.add(ev.code)
    return strong


def _events(items: list[_Item], strong: set[str]) -> list[tuple[int, str, str]]:
    """Walk the events in order, applying the Investment-Plan state and the rule that an
    annex heading like "B-2 Ideenmanagement" does not reopen a module without its title.
    Returns (item index, "mod" | "reset" | "part", code)."""
    ip_mode = False
    seen_codes: set[str] = set()
    cur_code = INTRO
    events: list[tuple[int, str, str]] = []
    for idx, it in enumerate(items):
        ev = it.event
        if ev is None:
            continue
        kind, code = ev.kind, ev.code
        if kind in ("ip", "reset") or (kind == "ap" and ip_mode):
            ip_mode = kind == "ip"
            events.append((idx, "reset", INTRO))
            cur_code = INTRO
        elif kind == "part":
            if not ip_mode:
                events.append((idx, "part", code))
        elif kind == "mod":
            if ip_mode:
                if not (ev.strong and ev.titled and not ev.money):
                    continue  # an Investment Plan (sub-)module reusing the code
                ip_mode = False  # an Action Plan module by code and title: the IP is over
            if not ev.strong and code in strong:
                continue
            if code != cur_code and code in seen_codes and ev.strong and not (ev.titled or ev.sub):
                continue
            events.append((idx, "mod", code))
            seen_codes.add(code)
            cur_code = code
    return events


def _transitions(events: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Events that change the section: a module event naming the current module is only a
    sub-heading of it."""
    out: list[tuple[int, str, str]] = []
    cur = INTRO
    for ev in events:
        if ev[1] == "mod" and ev[2] == cur:
            continue
        out.append(ev)
        if ev[1] in ("mod", "reset"):
            cur = ev[2]
    return out


def _sections(items: list[_Item], freq: Counter[str]) -> tuple[dict[int, tuple[str, str]], list[str]]:
    """Where sections start: {item index: (section, title)}, and the module codes in order."""
    events = _events(items, _classify_lines(items, freq))
    # content words before each item, to spot TOC-like clusters of module headings
    cum = [0]
    for it in items:
        cum.append(cum[-1] + (it.text.count(" ") + 1 if it.kind in ("text", "table") and not it.toc else 0))
    for _ in range(3):
        trans = _transitions(events)
        drop: set[int] = set()
        for k, (idx, kind, code) in enumerate(trans):
            if kind != "mod":
                continue
            end = trans[k + 1][0] if k + 1 < len(trans) else len(items)
            if cum[end] - cum[idx + 1] < 15 and any(t[1] == "mod" and t[2] == code for t in trans[k + 1:]):
                drop.add(idx)  # no text before the next heading, and the module comes again
        if not drop:
            break
        events = [ev for ev in events if ev[0] not in drop]

    trans = _transitions(events)
    section_at: dict[int, tuple[str, str]] = {}
    sections: list[str] = []
    prev: tuple[str, str] = (INTRO, "")
    for k, (idx, kind, code) in enumerate(trans):
        if kind == "part":  # "Part B ...": its text goes to the next module if that is in part B
            nxt = next((t for t in trans[k + 1:] if t[1] != "part"), None)
            if nxt is not None and nxt[1] == "mod" and nxt[2][0] == code:
                section_at[idx] = (nxt[2], items[nxt[0]].text)
            else:
                section_at[idx] = prev
            continue
        prev = section_at[idx] = (code, items[idx].text)
        if kind == "mod" and code not in sections:
            sections.append(code)
    return section_at, sections


_A1_TABLE_TITLE_RE = re.compile(r"(?i)^(?:table\s*)?[A-Z]{1,2}[-.]?\d+(?:\.\d+)*[a-z]?\b")


def _collect(
    items: list[_Item], section_at: dict[int, tuple[str, str]], freq: Counter[str]
) -> tuple[list[tuple[str, str, list[str]]], list[tuple[list[str], list[str]]]]:
    """Cleaned paragraphs per section run, and the tables of module A-1 with their captions."""
    runs: list[tuple[str, str, list[str]]] = []
    cur_sec, cur_title = INTRO, ""
    pars: list[str] = []
    buf: list[str] = []           # lines of the paragraph being built
    buf_table = False
    pending_head: list[str] = []  # sub-headings waiting for their paragraph
    tables: list[tuple[list[str], list[str]]] = []
    a1_context: list[str] = []
    a1_rows: list[str] = []

    def flush_par() -> None:
        nonlocal buf, buf_table
        if buf:
            sep = "\n" if buf_table else " "
            body = sep.join(buf)
            if pending_head:
                body = " ".join(pending_head) + sep + body
                pending_head.clear()
            if not _TEMPLATE_PAR_RE.match(body):
                pars.append(body)
        buf, buf_table = [], False

    def flush_table() -> None:
        nonlocal a1_rows
        if a1_rows:
            tables.append((a1_rows, [c for c in a1_context[-1:] if len(c.split()) <= 30]))
            a1_rows = []

    for idx, it in enumerate(items):
        if idx in section_at:
            flush_par()
            flush_table()
            if pending_head:
                pars.append(" ".join(pending_head))
                pending_head.clear()
            if section_at[idx] != (cur_sec, cur_title):  # ("Part A" text runs on into A-1)
                runs.append((cur_sec, cur_title, pars))
                pars = []
                cur_sec, cur_title = section_at[idx]
            a1_context = [it.text]
            continue
        if it.kind == "table":
            if cur_sec == "A-1" and not it.toc:
                filled = [c for c in it.text.split(" | ") if c.strip()]
                if (len(a1_rows) >= 2 and len(filled) == 1 and _LETTER_RE.search(filled[0])
                        and _A1_TABLE_TITLE_RE.match(filled[0])):
                    a1_context = []  # "A-1.4: GHG emissions ...": a new table glued to the last
                    flush_table()
                a1_rows.append(it.text)
            row = _table_row_text(it.text)
            if row is not None:
                if buf and not buf_table:
                    flush_par()
                buf_table = True
                buf.append(row)
            continue
        if cur_sec == "A-1":
            flush_table()
            if it.kind != "blank" and not it.toc:
                a1_context.append(it.text)
        if it.kind == "blank":
            flush_par()
            continue
        t = it.text
        if (it.toc or _is_running_line(t, freq)
                or _NOISE_LINE_RE.match(t) or (len(t) <= 3 and " " not in t) or _BOILERPLATE_RE.match(t)):
            continue
        if it.kind == "head" or it.level == 8:
            flush_par()
            h = _strip_numbering(t)
            if it.event is not None and it.event.kind == "mod" and len(h.split()) <= 3:
                continue  # a bare "Module A-2" repeated carries no words
            pending_head.append(h if h[-1:] in (".", ":", "!", "?") else h + ".")
            continue
        if buf_table:
            flush_par()
        buf.append(t)
    flush_par()
    flush_table()
    if pending_head:
        pars.append(" ".join(pending_head))
    runs.append((cur_sec, cur_title, pars))
    return runs, tables


def _is_running_line(text: str, freq: Counter[str]) -> bool:
    """A short line seen on many pages: a running header or footer."""
    return len(text) < 90 and freq[text.lower()] >= 4 and text.count(" ") < 12


def _heading_sections(items: list[_Item], freq: Counter[str]) -> dict[int, tuple[str, str]]:
    """The fallback for a document without modules: every Markdown heading that is not a
    TOC line or a running header opens a run of ``intro`` titled by that heading."""
    return {idx: (INTRO, it.text) for idx, it in enumerate(items)
            if it.kind == "head" and it.level <= 6 and not it.toc and not _is_running_line(it.text, freq)}


def read_ccc(path: str | Path, *, target_words: int = 120, max_words: int = 200,
             allow_unstructured: bool = False) -> CccDocument:
    """Read one CCC Markdown file into module-tagged passages and A-1 emission rows.

    Raises ``InputError`` (message naming the file) when the file is missing, empty,
    binary / not UTF-8, or has no recognisable Action Plan module (A-1 ... C-3). With
    ``allow_unstructured``, a document without modules is read instead as passages split
    by its headings (section ``intro``, no emissions) and marked ``structured=False``; it
    is still an error when that gives no passage at all."""
    p = Path(path)
    items = _tokenise(_load(p))
    _mark_toc(items)
    # short lines repeated on many pages: running headers and footers
    freq = Counter(it.text.lower() for it in items if it.kind in ("text", "head") and len(it.text) < 90)
    section_at, sections = _sections(items, freq)
    structured = bool(sections)
    if not structured:
        if not allow_unstructured:
            raise InputError("no Climate City Contract modules (A-1 ... C-3) found", path=str(p))
        section_at = _heading_sections(items, freq)
    runs, tables = _collect(items, section_at, freq)

    passages: list[Passage] = []
    seen: set[str] = set()
    for sec, title, pars in runs:
        if not pars:
            continue
        for chunk in split_passages("\n\n".join(pars), target_words=target_words, max_words=max_words):
            if chunk.count(" ") < 7 or not _has_words(chunk, 5) or chunk in seen:
                continue  # a fragment, mostly numbers, or the same text again
            seen.add(chunk)
            passages.append(Passage(sec, title, len(passages), chunk))
    if not structured and not passages:
        raise InputError("no Climate City Contract modules (A-1 ... C-3) and no passage of text found",
                         path=str(p))
    return CccDocument(
        path=str(p),
        sections=tuple(sections),
        passages=tuple(passages),
        emissions=tuple(_emissions(tables)) if structured else (),
        structured=structured,
    )


# ------------------------------------------------------------------------------ emissions

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


def _domain(label: str) -> str | None:
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


_NUM_CELL_RE = re.compile(r"^[-+]?\d[\d ,.']*$")
_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")
_TOTAL_RE = re.compile(
    r"(?i)^(?:total|totals|sum|summe|gesamt|insgesamt|totale|totaal|yhteensä|razem|celkem|összesen|"
    r"grand total|all(?: sectors)?$)\b"
)
# a "Total" column header ("Total", "Total [t CO2e]"), not "Total by scope"
_TOTAL_COL_RE = re.compile(
    r"(?i)^(?:total|sum|totale?|gesamt|summe)(?: emissions?| ghg(?: emissions)?)?\s*(?:[(\[][^)\]]*[)\]])?$"
)
_SKIP_LABEL_RE = re.compile(
    r"(?i)^(?:base ?year|baseline year|reference year|unit|units|year|scope|sectors?|source sectors?|"
    r"emissions?|ghg emissions|basic data|population|note|source|\(?fuel type|type of fuel|\*)"
)
_ACTIVITY_LABEL_RE = re.compile(r"(?i)\([^)]*(?:km|wh\b|wh/|tj|gj|tonnes|m3|m³|/year|/yr|%|€)[^)]*\)")
# tables that are not the baseline inventory, whatever else their caption says
_TITLE_HARD_BAD_RE = re.compile(
    r"(?i)\bbau\b|business as usual|projection|forecast|scenario|\bgap\b|target|reduction|residual|"
    r"per capita|consumption[- ]based|activit|emission factor|\b20[3-5]\d\b|economic case"
)
# captions that a "by sector" wording can redeem ("energy use and GHG emissions by sector")
_TITLE_SOFT_BAD_RE = re.compile(r"(?i)energy use|final energy|energy consumption|fuel|primary energy")
_CAPTION_RE = re.compile(r"(?i)^(?:table|tab\.|tabell|tabelle|tabla|tabela|taulukko|tableau|[A-Z]-?\d)")
_TITLE_GOOD_RE = re.compile(r"(?i)emission|ghg|greenhouse|co2|treibhaus|thg|inventor")
_PER_RE = re.compile(
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


def _unit_factor(s: str, *, strict: bool) -> float | None:
    """Tonnes per unit for a unit string; None when it is not a mass of CO2(e).
    ``strict`` (free text such as a caption) needs a CO2/GHG word as well."""
    low = s.lower().replace("_", "").replace("{", "").replace("}", "")
    if _ENERGY_UNIT_RE.search(low) and "co2" not in low:
        return None
    if strict and not re.search(r"co2|ghg|greenhouse|carbon", low):
        return None
    per = _PER_RE.search(low)
    if per and not _PER_YEAR_RE.search(low[per.start():per.start() + 12]):
        return None
    if _UNIT_MT_RE.search(low):
        return 1e6
    if _UNIT_KT_RE.search(low):
        return 1e3
    if _UNIT_T_RE.search(low):
        return 1.0
    return None


def _clean_num(cell: str) -> str:
    s = cell.strip().rstrip("*").strip()
    s = re.sub(r"\^\{?[a-z0-9]\}?$", "", s)
    if s.startswith("(") and s.endswith(")") and s[1:2].isdigit():
        s = "-" + s[1:-1]  # accounting negative: "(230)"
    return s


def _looks_numeric(cell: str) -> bool:
    s = _clean_num(cell)
    return bool(s) and bool(_NUM_CELL_RE.match(s))


def _num_candidates(cell: str) -> list[float]:
    """Readings of a numeric cell: [] if not a readable number, else one float, or two for
    an ambiguous "12.345" (thousands first, decimal second)."""
    s = _clean_num(cell)
    if not s or not _NUM_CELL_RE.match(s):
        return []
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-").replace(" ", "").replace("'", "")
    if not s or not s[0].isdigit():
        return []
    dots, commas = s.count("."), s.count(",")
    try:
        if dots and commas:
            dec = "." if s.rfind(".") > s.rfind(",") else ","
            th = "," if dec == "." else "."
            intpart, frac = s.rsplit(dec, 1)
            groups = intpart.split(th)
            if th in frac or dec in intpart or any(len(g) != 3 for g in groups[1:]):
                return []
            return [sign * float("".join(groups) + "." + frac)]
        sep = "." if dots else ("," if commas else "")
        if not sep:
            return [sign * float(s)]
        groups = s.split(sep)
        if len(groups) > 2:
            if any(len(g) != 3 for g in groups[1:]) or not 1 <= len(groups[0]) <= 3:
                return []
            return [sign * float("".join(groups))]
        head, tail = groups
        if not head or not tail:
            return []
        if len(tail) != 3 or len(head) > 3 or head == "0":
            return [sign * float(head + "." + tail)]
        return [sign * float(head + tail), sign * float(head + "." + tail)]
    except ValueError:
        return []


def _style_votes(cells: list[str]) -> set[str]:
    """Thousands separator used by a table, from its unambiguous numbers: "dot", "comma"."""
    votes: set[str] = set()
    for c in cells:
        s = _clean_num(c).lstrip("+-").replace(" ", "")
        if not s or not _NUM_CELL_RE.match(s):
            continue
        d, k = s.count("."), s.count(",")
        if d and k:
            votes.add("comma" if s.rfind(".") > s.rfind(",") else "dot")
        elif d > 1 or (k == 1 and len(s.split(",")[1]) != 3):
            votes.add("dot")      # 1.234.567 or 12,5
        elif k > 1 or (d == 1 and len(s.split(".")[1]) != 3):
            votes.add("comma")    # 1,234,567 or 12.5
    return votes


def _pick(cands: list[float], cell: str, style: str | None, thousands: bool | None) -> float | None:
    if len(cands) == 1:
        return cands[0]
    if style is not None:
        sep = "." if "." in cell else ","
        return cands[0] if (style == "dot") == (sep == ".") else cands[1]
    if thousands is None:
        return None
    return cands[0] if thousands else cands[1]


_Row = tuple[str, float, "int | None"]


def _parse_table(rows: list[str], caption: list[str]) -> list[EmissionsRow] | None:
    """One Markdown table (rows as "a | b | c") -> emission rows, or None if it is not a
    readable emissions-by-sector table with a known unit and a plausible total."""
    cells = [[c.strip() for c in r.split(" | ")] for r in rows]
    cells = [r for r in cells if any(r)]
    if len(cells) < 3:
        return None
    width = max(len(r) for r in cells)
    cells = [[""] * (width - len(r)) + r if len(r) < width else r for r in cells]  # right-align
    first = [c for c in cells[0] if c]
    if len(first) == 1 and not _looks_numeric(first[0]):
        title = first[0]  # the table's own title row wins over the text above it
    else:  # the line above, when it reads like a caption rather than a sentence
        title = " ".join(c for c in caption if _CAPTION_RE.match(c) or len(c.split()) <= 12)
    if _TITLE_HARD_BAD_RE.search(title):
        return None
    if _TITLE_SOFT_BAD_RE.search(title) and not re.search(r"(?i)emissions? by (?:source )?sector", title):
        return None

    def is_header(r: list[str]) -> bool:
        return (any(re.match(r"(?i)^scope ?\d", c) or _TOTAL_COL_RE.match(c) for c in r)
                and not any(_looks_numeric(c) for c in r if c))

    head = cells[:8]
    header_i = next((i for i, r in enumerate(head) if is_header(r)), None)
    unit_row = next((r for r in head if re.match(r"(?i)^(?:units?|einheit|unidad|unité|unità)\b",
                                                  next((c for c in r if c), ""))), None)
    if unit_row is None:  # a row of units only: "Kton CO2e | CO2equivalent/year"
        unit_row = next((r for r in head if any(r) and not any(_looks_numeric(c) for c in r if c)
                         and _unit_factor(next(c for c in r if c), strict=True) is not None
                         and not is_header(r)), None)
    year_row = next((r for r in head if any(
        re.match(r"(?i)^(?:base ?year|baseline year|reference year|year|basic data)\b", c) for c in r)), None)
    if year_row is not None and any(re.search(r"(?i)\bbau\b|business as usual", c) for c in year_row):
        return None

    def carried(row: list[str] | None, keep) -> list[str]:
        out, last = [], ""
        for c in row or [""] * width:
            if c and keep(c):
                last = c
            out.append(last)
        return out

    raw_header = cells[header_i] if header_i is not None else [""] * width
    unit_cells = carried(unit_row, lambda c: not re.match(r"(?i)^units?\b", c))
    year_cells = carried(year_row, lambda c: bool(_YEAR_RE.search(c)))
    year_cells = [(_YEAR_RE.search(c).group(1) if c else "") for c in year_cells]  # type: ignore[union-attr]
    ty = re.search(r"(?i)(?:base ?year|year|in)\s*:?\s*(19[5-9]\d|20[0-2]\d)", title)
    title_years = set(_YEAR_RE.findall(title))
    title_year = int(ty.group(1)) if ty else (int(next(iter(title_years))) if len(title_years) == 1 else None)

    has_co2 = bool(_TITLE_GOOD_RE.search(title)) or any(re.search(r"(?i)co2|ghg", u) for u in unit_cells)
    if not has_co2:
        return None
    row_factors = {f for f in (_unit_factor(u, strict=False) for u in (unit_row or []) if u) if f}
    col_kind: list[str] = []
    col_factor: list[float | None] = []
    for j in range(width):
        h = raw_header[j].lower()
        if "%" in h or "share" in h or "percent" in h or "cap" in h:
            kind = "pct"
        elif _TOTAL_COL_RE.match(h):
            kind = "total"
        elif re.match(r"^scope ?\d", h):
            kind = "scope"
        else:
            kind = ""
        col_kind.append(kind)
        u = unit_cells[j]
        if u:
            f = _unit_factor(u, strict=not has_co2)
            if f is None and len(row_factors) == 1 and not _PER_RE.search(u.lower().replace("/year", "")):
                f = next(iter(row_factors))  # "Kton CO2e | CO2equivalent/year"
        elif raw_header[j] and _unit_factor(raw_header[j], strict=False) is not None:
            f = _unit_factor(raw_header[j], strict=False)
        else:
            f = _unit_factor(title, strict=True)
        col_factor.append(f)

    blocks: dict[int | None, dict[str, list[int]]] = {}
    for j in range(width):
        if col_kind[j] in ("total", "scope") and col_factor[j] is not None:
            y = int(year_cells[j]) if year_cells[j] else title_year
            if y is not None and y >= 2025:
                continue  # a projection, not the baseline
            blocks.setdefault(y, {"total": [], "scope": []})[col_kind[j]].append(j)
    if not blocks:
        return None
    meta = {id(r) for r in (unit_row, year_row) if r is not None}
    body = [r for r in cells[(header_i + 1) if header_i is not None else 0:] if id(r) not in meta]
    value_cells = [r[j] for r in body for cols in blocks.values() for j in cols["total"] + cols["scope"]]
    votes = _style_votes(value_cells)
    style = next(iter(votes)) if len(votes) == 1 else None
    mixed = len(votes) > 1

    def value(c: str, j: int, thousands: bool | None) -> tuple[float | None, bool]:
        """(tonnes or None, unreadable?) for cell c in column j."""
        if not c or not _looks_numeric(c):
            return None, False
        cands = _num_candidates(c)
        if not cands or (mixed and len(cands) > 1):
            return None, True
        v = _pick(cands, c, style, thousands)
        if v is None:
            return None, True
        return v * (col_factor[j] or 0.0), False

    unreadable = False
    # the template splits each sector into "energy" / "non-energy" rows: breakdowns, not sectors
    split_rows = any(re.match(r"(?i)^non-energy\b", r[0] or "") for r in body)

    def build(thousands: bool | None) -> tuple[list[_Row], dict[int | None, float]]:
        nonlocal unreadable
        out: list[_Row] = []
        from_scopes: set[int] = set()  # indexes in ``out`` of values summed from scope cells
        totals: dict[int | None, float] = {}
        parent = ""
        for r in body:
            texts: list[str] = []
            for c in r:
                if _looks_numeric(c):
                    break
                if c and c not in ("-", "x", "X"):
                    texts.append(c)
            if not texts:
                continue
            label = texts[0]
            if not r[0] and parent and not _TOTAL_RE.match(label):
                label = f"{parent} - {label}"  # a second row of the sector above
            elif len(texts) > 1 and re.search(r"(?i)^(?:sources?|sinks?)\b|positive|negative", texts[1]):
                label = f"{label} - {texts[1]}"
            label = re.sub(r"\^\{?[^}\s]*\}?|[*¹²³⁴⁵⁶⁷⁸⁹]+", "", label)
            label = re.sub(r"(?<=[a-z)])\d{1,2}$", "", label).strip(" :-")
            if r[0]:
                parent = re.sub(r"(?i)\s*-\s*(?:sources?|sinks?)\b.*$", "", label)
            total_row = bool(_TOTAL_RE.match(label))
            if not total_row and (
                _SKIP_LABEL_RE.match(label) or not _LETTER_RE.search(label) or len(label) > 90
                or re.search(r"(?i)\btotal\b", label) or _ACTIVITY_LABEL_RE.search(label)
                or (split_rows and re.match(r"(?i)^(?:non-)?energy$", label))
            ):
                continue
            for y, cols in blocks.items():
                v, bad = None, False
                for j in cols["total"]:
                    v, bad = value(r[j], j, thousands)
                    if v is not None or bad:
                        break
                if v is None and not bad:
                    acc, found = 0.0, False
                    for j in cols["scope"]:
                        x, b = value(r[j], j, thousands)
                        if b:
                            bad = True
                            break
                        if x is not None:
                            acc += x
                            found = True
                    if found and not bad:
                        v = acc
                        if cols["total"] and not total_row:
                            from_scopes.add(len(out))
                if bad:
                    unreadable = True
                if v is None or bad:
                    continue
                if total_row:
                    totals[y] = v
                else:
                    out.append((label, v, y))
            if total_row:
                break  # whatever follows a total row belongs to another table
        if len(out) - len(from_scopes) >= 2 and from_scopes:
            # rows with a Total next to rows without one: the latter usually break the former
            # down; kept only when the table's own total says they belong
            kept = [r for k, r in enumerate(out) if k not in from_scopes]
            if not all(y in totals and abs(sum(v for _, v, yy in out if yy == y) - totals[y])
                       <= 0.02 * abs(totals[y]) for y in {r[2] for r in out}):
                out = kept
        return out, totals

    ambiguous = style is None and not mixed and any(len(_num_candidates(c)) == 2 for c in value_cells)
    results: list[tuple[bool | None, bool, list[_Row]]] = []
    for opt in ((True, False) if ambiguous else (None,)):
        rows_out, totals = build(opt)
        if unreadable:
            return None  # a number we cannot read (e.g. "4.493.7"): trust none of the table
        rows_out = _drop_subrows(rows_out)
        mapped = sum(1 for lab, _, _ in rows_out if _domain(lab))
        if mapped < 2 or 2 * mapped < len(rows_out):
            continue  # a breakdown by fuel or gas, not by sector
        plausible, matches = True, True
        for y in {r[2] for r in rows_out}:
            s = sum(v for _, v, yy in rows_out if yy == y)
            tot = totals.get(y)
            if not 1e4 <= max(abs(s), abs(tot) if tot is not None else 0.0) <= 2e8:
                plausible = False
            if tot is not None and abs(s - tot) > 0.02 * abs(tot):
                matches = False
        if plausible:
            results.append((opt, matches, rows_out))
    if not results:
        return None
    if len(results) > 1:
        agreeing = [r for r in results if r[1]]
        if len(agreeing) == 1:
            results = agreeing
        elif {f for f in col_factor if f is not None} == {1.0}:
            results = [r for r in results if r[0] is True]  # tonnes: "12.345" means 12345 t
        else:
            return None  # kt or Mt with "12.345": cannot tell, so say nothing
    return [EmissionsRow(lab, _domain(lab), round(v, 3), y) for lab, v, y in results[0][2]]


def _drop_subrows(rows: list[_Row]) -> list[_Row]:
    """Drop rows that break down the row above them: one or more following rows (same
    year) whose values add up to that row's value (within 1%)."""
    years: list[int | None] = []
    for r in rows:
        if r[2] not in years:
            years.append(r[2])
    if len(years) > 1:
        return [r for y in years for r in _drop_subrows([x for x in rows if x[2] == y])]
    out: list[_Row] = []
    i, n = 0, len(rows)
    while i < n:
        v = rows[i][1]
        out.append(rows[i])
        acc, end, best = 0.0, None, 0.01 * abs(v)
        for j in range(i + 1, n):
            acc += rows[j][1]
            if v and abs(acc - v) <= best:  # the closest run of children wins
                end, best = j + 1, abs(acc - v)
            if v > 0 and acc > v * 1.02:
                break
        if end is not None:
            while end < n and rows[end][1] == 0:  # zero-valued children after the run
                end += 1
        i = end if end is not None else i + 1
    return out


def _emissions(tables: list[tuple[list[str], list[str]]]) -> list[EmissionsRow]:
    """Rows of the first readable emissions-by-sector table of module A-1."""
    for rows, caption in tables:
        try:
            parsed = _parse_table(rows, caption)
        except (ValueError, IndexError):  # a malformed table is skipped, never fatal
            parsed = None
        if parsed:
            return parsed
    return []
