"""SPARQL text read as Oxigraph reads it, without evaluating it: a lexer and what the endpoint
(and the store) need from it.

``find_forbidden`` finds ``SERVICE`` (and ``LOAD`` in updates) wherever Oxigraph's parser would
read it; ``has_from`` and ``names_dataset`` tell whether a query or update names its own dataset;
``add_using`` writes the protocol's ``using-graph-uri`` / ``using-named-graph-uri`` into an update.
Only the standard library: ``kg.store`` can use it without the web stack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\r\n]|\\.)*"
              |'(?:[^'\\\r\n]|\\.)*')
  | (?P<var>[?$](?:[A-Za-z0-9_]|[^\x00-\x7f])+)
  | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<word>(?:[A-Za-z0-9_.:%-]|[^\x00-\x7f]|\\.)+)
  | (?P<punct>.)
""", re.VERBOSE | re.DOTALL)

_UESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _token_spans(text: str, offset: int = 0) -> list[tuple[str, str, int]]:
    """SPARQL terminals as (kind, text, start), whitespace and comments dropped."""
    out = []
    prev = ""  # the previous significant token's kind
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind == "langtag" and prev != "string":
            # '@' outside a literal's language tag is no LANGTAG: lex what follows as code.
            out.append(("punct", "@", offset + m.start()))
            out.extend(_token_spans(m.group()[1:], offset + m.start() + 1))
            prev = "word"
            continue
        out.append((kind, m.group(), offset + m.start()))
        prev = kind
    return out


def _tokens(text: str) -> list[tuple[str, str]]:
    """SPARQL terminals as (kind, text), whitespace and comments dropped."""
    return [(kind, value) for kind, value, _ in _token_spans(text)]


def variables(text: str) -> set[str]:
    """The names of the variables a query mentions (``?x`` and ``$x`` alike, none from strings
    or comments)."""
    return {value[1:] for kind, value in _tokens(text) if kind == "var"}


def projection(text: str) -> set[str] | None:
    """The variables of a SELECT's projection (``(expr AS ?x)`` gives ``x``; the variables
    inside the expression are counted too, a harmless over-approximation); None for
    ``SELECT *`` and for a query that is no SELECT."""
    tokens = _tokens(text)
    for i, (kind, value) in enumerate(tokens):
        if kind == "word" and value.lower() == "select":
            names: set[str] = set()
            for kind2, value2 in tokens[i + 1:]:
                if kind2 == "punct" and value2 in "*":
                    return None
                if (kind2 == "punct" and value2 == "{") or (kind2 == "word" and value2.lower() in ("where", "from")):
                    break
                if kind2 == "var":
                    names.add(value2[1:])
            return names
    return None


def _declared_prefixes(tokens: list[tuple[str, str]]) -> set[str]:
    found = set()
    for (k1, v1), (k2, v2) in zip(tokens, tokens[1:]):
        if k1 == "word" and v1.lower() == "prefix" and k2 == "word" and v2.endswith(":"):
            found.add(v2[:-1])
    return found


def _reads_keyword(word: str, keyword: str, prefixes: set[str]) -> bool:
    """Could Oxigraph's parser read ``keyword`` (+ an operand) somewhere in this code word?

    Its PEG grammar needs no word boundary (``SERVICEex:x`` = SERVICE + ``ex:x``; ``1SERVICE``
    = 1 + SERVICE), so any occurrence before the word's first ':' counts when what follows it
    can be the keyword's operand: nothing (a separate IRI, variable or '{' follows), optional
    SILENT, or a prefixed name whose prefix the query declares. Text after the first ':' is a
    local name, which the lexer reads greedily, so it never hides a keyword.
    """
    head = word.split(":", 1)[0].lower()
    start = head.find(keyword)
    while start >= 0:
        rest = word[start + len(keyword):]
        if rest.lower().startswith("silent"):
            rest = rest[len("silent"):]
        if rest == "" or (":" in rest and rest.split(":", 1)[0] in prefixes):
            return True
        start = head.find(keyword, start + 1)
    return False


def find_forbidden(text: str, *, update: bool = False) -> str | None:
    """The first construct the endpoint refuses to run (``SERVICE``; ``LOAD`` in updates), or None.

    >>> find_forbidden('SELECT * { service <http://x/sparql> { ?s ?p ?o } }')
    'SERVICE'
    >>> find_forbidden('SELECT * { ?s ?p "SERVICE <http://x/> {}" } # SERVICE <http://y/> {}')
    """
    keywords = ("service", "load") if update else ("service",)
    texts = [text]
    decoded = _UESCAPE.sub(_decode_escape, text)
    if decoded != text:
        texts.append(decoded)
    for t in texts:
        tokens = _tokens(t)
        prefixes = _declared_prefixes(tokens)
        after_prefix = False
        for kind, value in tokens:
            if kind == "word" and not after_prefix:
                for kw in keywords:
                    if _reads_keyword(value, kw, prefixes):
                        return kw.upper()
            after_prefix = kind == "word" and value.lower() == "prefix"
    return None


def _decode_escape(m: re.Match) -> str:
    code = int(m.group(1) or m.group(2), 16)
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return "\ufffd"


def has_from(text: str) -> bool:
    """Does the query name its own dataset (FROM / FROM NAMED)?"""
    return any(k == "word" and v.lower() == "from" for k, v in _tokens(text))


# An absolute IRI that can stand between '<' and '>' in SPARQL text as it is (no escapes).
PLAIN_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:[^<>"{}|^`\\\x00-\x20]*')


def names_dataset(update: str) -> bool:
    """Does the update say USING, USING NAMED or WITH (outside braces, read as Oxigraph reads them)?"""
    tokens = _tokens(update)
    prefixes = _declared_prefixes(tokens)
    depth, prev = 0, ("", "")
    for kind, value in tokens:
        if kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
        elif (kind == "word" and depth == 0 and prev != ("word", "prefix")
              and (_reads_keyword(value, "using", prefixes) or _reads_keyword(value, "with", prefixes))):
            return True
        prev = (kind, value.lower())
    return False


def add_using(update: str, using: Sequence[str], using_named: Sequence[str]) -> str:
    """The update with the protocol's ``using-graph-uri`` / ``using-named-graph-uri`` written in.

    SPARQL 1.1 Protocol 2.2.3: they act as ``USING`` / ``USING NAMED`` clauses of every
    operation with a WHERE (DELETE/INSERT ... WHERE; ``DELETE WHERE {P}`` becomes
    ``DELETE {P} USING ... WHERE {P}``, its meaning); INSERT DATA, CLEAR and the like are not
    affected. The caller refuses an update that says USING or WITH itself and checks the IRIs
    (``PLAIN_IRI``). Every top-level ``WHERE`` of an update belongs to such an operation; a
    ``WHERE`` glued to another word (Oxigraph reads ``DELETEWHERE{...}``) is refused (ValueError)
    rather than left without the dataset.

    >>> add_using('INSERT { ?s a <http://x/D> } WHERE { ?s a <http://x/C> }', ['http://g/1'], [])
    'INSERT { ?s a <http://x/D> } USING <http://g/1> WHERE { ?s a <http://x/C> }'
    >>> add_using('INSERT DATA { <a> <b> <c> } ; DELETE WHERE { ?s ?p 1 }', [], ['http://g/2'])
    'INSERT DATA { <a> <b> <c> } ; DELETE { ?s ?p 1 } USING NAMED <http://g/2> WHERE { ?s ?p 1 }'
    """
    clause = "".join(f"USING <{u}> " for u in using) + "".join(f"USING NAMED <{u}> " for u in using_named)
    tokens = _token_spans(update)
    prefixes = _declared_prefixes([(k, v) for k, v, _ in tokens])
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in text order
    depth = 0
    prev = ("", "")
    for i, (kind, value, start) in enumerate(tokens):
        if kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
        elif kind == "word" and depth == 0 and prev != ("word", "prefix"):
            word = value.lower()
            if word == "where" and prev == ("word", "delete"):
                end = _group_end(tokens, i + 1)
                if end is None:
                    raise ValueError("DELETE WHERE without a { ... } pattern")
                pattern = update[tokens[i + 1][2]:end]
                edits.append((start, end, f"{pattern} {clause}WHERE {pattern}"))
            elif word == "where":
                edits.append((start, start, clause))
            elif _reads_keyword(value, "where", prefixes):
                raise ValueError(f"write WHERE apart from the word before it ({value!r})")
        prev = (kind, value.lower())
    for start, end, text in reversed(edits):
        update = update[:start] + text + update[end:]
    return update


def _group_end(tokens: list[tuple[str, str, int]], i: int) -> int | None:
    """The end offset of the ``{ ... }`` group opening at token ``i`` (None if there is none)."""
    if i >= len(tokens) or tokens[i][:2] != ("punct", "{"):
        return None
    depth = 0
    for kind, value, start in tokens[i:]:
        if kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
            if depth == 0:
                return start + 1
    return None
