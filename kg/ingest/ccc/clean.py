"""Text cleaning: characters, inline Markdown/HTML/TeX noise, heading numbering, and the
small word tests the other steps share."""

from __future__ import annotations

import html
import re

_CHAR_MAP: dict[str, str | None] = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\u00a0": " ", "\u202f": " ", "\u2007": " ",
    "\u2009": " ", "\u200a": " ", "\u3000": " ", "\t": " ", "\u00ad": None,
    "\u200b": None, "\u200c": None, "\u200d": None, "\ufeff": None,
    "\u2082": "2", "\u2083": "3", "\u2084": "4", "\u2086": "6", "\u2080": "0",
    "\u2081": "1", "\u00b2": "2", "\u00b3": "3",
}


def normalise_chars(text: str) -> str:
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


def _tex(m: re.Match[str]) -> str:
    s = m.group(1).replace("\\%", "%").replace("\\,", " ").replace("\\ ", " ")
    s = _TEX_ARROW_RE.sub(" -> ", s)
    s = _TEX_CMD_RE.sub("", s)
    s = _TEX_OTHER_RE.sub(" ", s)
    s = s.replace("{", "").replace("}", "").replace("_", "").replace("^", "")
    return _SPACES_RE.sub(" ", s).strip()


def clean_inline(s: str) -> str:
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


TOC_TAIL_RE = re.compile(r"(?:\.{3,}|…+|(?:\. ){2,}\.?|_{3,})\s*\d{0,4}\s*$|\s\.{2,}\s*\d{1,4}\s*$")
PAGE_TAIL_RE = re.compile(r"(?<=[A-Za-z)\]'\"”’:])\s+\d{1,3}\s*$")
_NUMBERING_RE = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,4}\.?|[IVX]{1,4}\.|[a-z]\))\s+")
NOISE_LINE_RE = re.compile(r"^[\W\d_]*$")


def norm_key(s: str) -> str:
    s = TOC_TAIL_RE.sub("", s)
    s = PAGE_TAIL_RE.sub("", s)
    s = _NUMBERING_RE.sub("", s)
    return re.sub(r"[^0-9a-zà-ÿ]+", " ", s.lower()).strip()


def strip_numbering(s: str) -> str:
    if not s[:1].isdigit() and s[:1] not in "IVXabcdefghijklmnopqrstuvwxyz":
        return s  # cheap exit: no "2.1 ", "IV. ", "a) " in front
    prev = None
    while prev != s:
        prev = s
        s = _NUMBERING_RE.sub("", s).strip()
    return s


LETTER_RE = re.compile(r"[^\W\d_]{3,}")
_PUNCT = "()[]{}\"'“”‘’«»,.;:!?*•-–/"


def has_words(text: str, n: int) -> bool:
    """At least ``n`` words that start with three letters (cheaper than a regex count)."""
    k = 0
    for w in text.split():
        if w.strip(_PUNCT)[:3].isalpha():
            k += 1
            if k >= n:
                return True
    return False
