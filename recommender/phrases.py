"""English phrases built from their parts, so that a label or a name dropped into a sentence
keeps its grammar: the article before it (``a``/``an``, or none for plural and mass nouns), the
number of the verb after it, its possessive, its case mid-sentence, and a quoted passage cut at
a word boundary. Topic titles and questions (``recommender.topics``) are made only from these.

A concept label is a noun phrase such as ``"Data and monitoring barriers"``: it is plural when
its parts are joined by "and" or its head noun is plural, and takes no indefinite article when
it is plural or its head is a mass noun (``"energy"``, ``"governance"``).
"""

from __future__ import annotations

import re

# head nouns that take no indefinite article ("a governance" is wrong); checked on the last word
MASS_NOUNS = frozenset(["action", "adaptation", "advice", "electricity", "space", "capture", "climate", "construction", "data", "deliberation", "democracy", "design", "digitalisation", "efficiency", "energy", "engagement", "environment", "equity", "finance", "governance", "heating", "housing", "industry", "information", "infrastructure", "innovation", "investment", "knowledge", "learning", "mobility", "monitoring", "participation", "planning", "policy", "poverty", "renewal", "retrofit", "retrofitting", "storage", "management", "technology", "transport", "use", "waste", "water", "work", "well-being"])
# nouns that end in -s but are singular
SINGULAR_S = frozenset(["bus", "gas", "process", "status", "campus", "lens", "analysis", "basis", "focus", "census", "crisis"])
# words kept as written mid-sentence besides acronyms: proper nouns of the programme
PROPER = frozenset(["EU", "European", "Mission", "NetZeroCities", "Covenant", "Mayors"])
_SPLIT = re.compile(r"\s+(?:for|of|in|on|with|to)\s+", re.I)
_VOWEL_SOUND_EXCEPTIONS = ("uni", "use", "usa", "usu", "uti", "eu", "one", "once", "ur")
_SILENT_H = ("hour", "honest", "honour", "heir")
_LETTER_VOWEL_SOUND = set("AEFHILMNORSX")   # acronyms read letter by letter: "an NGO", "an SME"


def mid(label: str) -> str:
    """A label as it stands inside a sentence: lower case, except acronyms (``"IPPU"``,
    ``"ESCO"``) and proper nouns."""
    out = []
    for w in label.split():
        core = w.strip("(),;:")
        keep = (len(core) > 1 and core.replace("-", "").isupper()) or core in PROPER \
            or any(ch.isupper() for ch in core[1:])
        out.append(w if keep else w.lower())
    return " ".join(out)


def start(text: str) -> str:
    """Text at the start of a sentence: first letter upper case, the rest as it is."""
    return text[:1].upper() + text[1:] if text else text


def _head(np: str) -> str:
    """The head noun of a noun phrase: the last word before "for", "of", "or"..."""
    first = re.split(r"\s+or\s+", _SPLIT.split(np.strip(), maxsplit=1)[0])[-1]   # "a or b": b decides
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", first)
    return words[-1] if words else ""


def is_plural(np: str) -> bool:
    """Whether a noun phrase takes a plural verb: parts joined by "and", or a plural head noun."""
    first = re.split(r"\s+or\s+", _SPLIT.split(np.strip(), maxsplit=1)[0])[-1]
    if re.search(r"\band\b|&", first):
        return True
    head = _head(np).lower()
    if head.endswith(("ss", "us", "is")) or head in SINGULAR_S or head in MASS_NOUNS:
        return False
    return head.endswith("s") and len(head) > 2


def is_mass(np: str) -> bool:
    """Whether a singular noun phrase takes no indefinite article (``"energy"``, ``"social
    innovation"``)."""
    head = _head(np).lower()
    return head in MASS_NOUNS or head.split("-")[-1] in MASS_NOUNS


def countable(np: str) -> bool:
    """Whether ``a``/``an`` may stand before the phrase."""
    return not is_plural(np) and not is_mass(np)


def article(word: str) -> str:
    """``"a"`` or ``"an"`` for the sound the word starts with (``an hour``, ``a university``,
    ``an SME``)."""
    w = word.strip().strip("'\"“‘(")
    if not w:
        return "a"
    first = w.split()[0].split("-")[0]
    if len(first) > 1 and first.isupper():         # an acronym read letter by letter
        return "an" if first[0] in _LETTER_VOWEL_SOUND else "a"
    low = first.lower()
    if low.startswith(_SILENT_H):
        return "an"
    if low.startswith(_VOWEL_SOUND_EXCEPTIONS):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def a(np: str) -> str:
    """The phrase with its indefinite article where it takes one: ``"an energy community"``,
    ``"nature-based solutions"``, ``"governance"``."""
    return f"{article(np)} {np}" if countable(np) else np


def be(np: str) -> str:
    """``is`` or ``are``, agreeing with the phrase."""
    return "are" if is_plural(np) else "is"


def does(np: str) -> str:
    return "do" if is_plural(np) else "does"


def verb(np: str, singular: str) -> str:
    """A present-tense verb agreeing with ``np``: ``verb("barriers", "shows") == "show"``."""
    if not is_plural(np):
        return singular
    irregular = {"is": "are", "has": "have", "does": "do", "was": "were"}
    if singular in irregular:
        return irregular[singular]
    if singular.endswith("ies"):
        return singular[:-3] + "y"
    if singular.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
        return singular[:-2]
    return singular[:-1] if singular.endswith("s") else singular


def possessive(name: str) -> str:
    """``Belfast's``, ``Schools'``, ``CARES'``: never ``s's``."""
    name = name.strip()
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


def join(items: list[str], conj: str = "and") -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def clip(text: str, max_words: int = 45) -> str:
    """A passage for quoting: one paragraph, at most ``max_words`` words, cut at a word with
    an ellipsis, never mid-word; Markdown and image noise removed."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)|\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_#|>`]+", " ", text)
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    cut = " ".join(words[:max_words]).rstrip(",;:-–")
    return cut + " …"


def sentence(text: str) -> str:
    """One clean sentence: single spaces, no space before punctuation, capitalised."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:?!])", r"\1", text)
    return start(text)
