"""Where sections start, from the heading events in document order.

* A heading carrying only a module's title counts when no heading of the document names
  that module by code.
* Clusters of module headings with no text between them are dropped when the same module
  comes again later (a table of contents the TOC step did not see).
* A heading naming the current module ("A-3.2: ...") is a sub-heading: kept as text.
* Text under a "Part B ..." heading goes to the next module when that is in part B.
* ``intro`` is everything outside the Action Plan modules: front matter, and after a reset
  heading (annex / appendix / attachments, outlook and next steps, the Commitments, the
  Investment Plan) until a module heading comes again. Inside the Investment Plan its own
  modules (``Module IP-A1``, or ``A-1.1 Current climate finance``) stay ``intro``; a later
  code heading reopens a module already seen only with its title words or a sub-code (so
  "B-2 Bike lanes" in an annex does not).
* A document without any module can instead be split at its headings (``heading_sections``).
"""

from __future__ import annotations

import re
from collections import Counter

from kg.ingest.ccc.clean import strip_numbering
from kg.ingest.ccc.headings import classify_heading
from kg.ingest.ccc.lines import Item, is_running_line
from kg.ingest.ccc.model import INTRO

SectionEvent = tuple[int, str, str]  # (item index, "mod" | "reset" | "part", code)

_PLAIN_CODE_RE = re.compile(r"\(?[ABC][-. ]?[123]")


def _classify_lines(items: list[Item], freq: Counter[str]) -> set[str]:
    """Attach a sectioning event to heading-like items; return the module codes that some
    heading names by code (those then ignore title-only headings)."""
    strong: set[str] = set()
    for it in items:
        if it.toc or it.kind not in ("head", "text"):
            continue
        if it.kind == "text":
            t = it.text
            if len(t) > 120 or t.endswith(".") or not (
                    "odul" in t[:40] or "ODUL" in t[:40] or _PLAIN_CODE_RE.match(strip_numbering(t))):
                continue  # cheap exits: a plain line needs "Module" or a leading code
            ev = classify_heading(t, plain=True)
            if ev is not None:
                it.level = 8
        else:
            ev = classify_heading(it.text, plain=False)
        if ev is None:
            continue
        if ev.kind in ("reset", "ip", "ap") and freq[it.text.lower()] >= 4:
            continue  # a running header, not a part boundary
        it.event = ev
        if ev.kind == "mod" and ev.strong:
            strong.add(ev.code)
    return strong


def _events(items: list[Item], strong: set[str]) -> list[SectionEvent]:
    """Walk the events in order, applying the Investment-Plan state and the rule that an
    annex heading like "B-2 Ideenmanagement" does not reopen a module without its title.
    Returns (item index, "mod" | "reset" | "part", code)."""
    ip_mode = False
    seen_codes: set[str] = set()
    cur_code = INTRO
    events: list[SectionEvent] = []
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


def _transitions(events: list[SectionEvent]) -> list[SectionEvent]:
    """Events that change the section: a module event naming the current module is only a
    sub-heading of it."""
    out: list[SectionEvent] = []
    cur = INTRO
    for ev in events:
        if ev[1] == "mod" and ev[2] == cur:
            continue
        out.append(ev)
        if ev[1] in ("mod", "reset"):
            cur = ev[2]
    return out


def _content_words(items: list[Item]) -> list[int]:
    """Words of text and table rows before each item (prefix sums)."""
    cum = [0]
    for it in items:
        cum.append(cum[-1] + (it.text.count(" ") + 1 if it.kind in ("text", "table") and not it.toc else 0))
    return cum


def _toc_cluster(trans: list[SectionEvent], cum: list[int], n_items: int) -> set[int]:
    """Module headings with no text before the next heading whose module comes again later."""
    drop: set[int] = set()
    for k, (idx, kind, code) in enumerate(trans):
        if kind != "mod":
            continue
        end = trans[k + 1][0] if k + 1 < len(trans) else n_items
        if cum[end] - cum[idx + 1] < 15 and any(t[1] == "mod" and t[2] == code for t in trans[k + 1:]):
            drop.add(idx)
    return drop


def _drop_toc_clusters(events: list[SectionEvent], items: list[Item]) -> list[SectionEvent]:
    """Up to three passes (a dropped cluster can reveal another)."""
    cum = _content_words(items)
    for _ in range(3):
        drop = _toc_cluster(_transitions(events), cum, len(items))
        if not drop:
            break
        events = [ev for ev in events if ev[0] not in drop]
    return events


def _part_target(trans: list[SectionEvent], k: int, items: list[Item], prev: tuple[str, str]) -> tuple[str, str]:
    """"Part B ...": its text goes to the next module if that is in part B, else stays where it is."""
    code = trans[k][2]
    nxt = next((t for t in trans[k + 1:] if t[1] != "part"), None)
    if nxt is not None and nxt[1] == "mod" and nxt[2][0] == code:
        return (nxt[2], items[nxt[0]].text)
    return prev


def find_sections(items: list[Item], freq: Counter[str]) -> tuple[dict[int, tuple[str, str]], list[str]]:
    """Where sections start: {item index: (section, title)}, and the module codes in order."""
    events = _drop_toc_clusters(_events(items, _classify_lines(items, freq)), items)
    trans = _transitions(events)
    section_at: dict[int, tuple[str, str]] = {}
    sections: list[str] = []
    prev: tuple[str, str] = (INTRO, "")
    for k, (idx, kind, code) in enumerate(trans):
        if kind == "part":
            section_at[idx] = _part_target(trans, k, items, prev)
            continue
        prev = section_at[idx] = (code, items[idx].text)
        if kind == "mod" and code not in sections:
            sections.append(code)
    return section_at, sections


def heading_sections(items: list[Item], freq: Counter[str]) -> dict[int, tuple[str, str]]:
    """The fallback for a document without modules: every Markdown heading that is not a
    TOC line or a running header opens a run of ``intro`` titled by that heading."""
    return {idx: (INTRO, it.text) for idx, it in enumerate(items)
            if it.kind == "head" and it.level <= 6 and not it.toc and not is_running_line(it.text, freq)}
