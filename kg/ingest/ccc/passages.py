"""The passage splitter: text -> passages of about ``target_words`` words.

``split_passages`` packs paragraphs to about ``target_words`` (never over ``max_words``),
cutting long paragraphs between sentences (table rows), and a sentence only when it alone
is too long.
"""

from __future__ import annotations

import math
import re

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
