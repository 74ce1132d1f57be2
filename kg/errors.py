"""The project's one error root and its few subclasses.

Every error a user can cause (bad input, an unknown name, a stale index) is a
``PeerlearnError``; the CLI turns it into a one-line message and an exit code in one
place (``recommender.cli.main``). Anything else is a bug and keeps its traceback.

The class says the exit code, so raise the most specific one:

- ``InputError`` (2): bad data, with ``ValidationError`` (SHACL, vocabularies),
  ``QueryError`` (SPARQL that does not parse) and ``ConfigError`` (settings) under it;
- ``NotFoundError`` (3), with ``AmbiguousNameError``;
- ``StoreError`` (4): no store yet, or it cannot be opened, written or reached;
- ``StaleIndexError`` (5).
"""

from __future__ import annotations


class PeerlearnError(Exception):
    """Root of every error peerlearn raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InputError(PeerlearnError):
    """Bad input data: the message names the file, and the row and field where known.

    >>> str(InputError("unknown domain code", path="pilots.csv", row=3, field="domains_stated"))
    'pilots.csv, row 3, field domains_stated: unknown domain code'

    A text format without rows (Turtle, JSON, YAML) gives the line, as compilers do:

    >>> str(InputError("unexpected end of file", path="data.ttl", line=12))
    'data.ttl:12: unexpected end of file'
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, row: int | None = None,
                 field: str | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.row = row
        self.field = field
        self.line = line
        head = f"{self.path}:{line}" if self.path and line is not None else self.path
        where = [p for p in (
            head,
            f"row {row}" if row is not None else None,
            f"field {field}" if field else None,
        ) if p]
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ValidationError(InputError):
    """Input that parses but breaks the SHACL shapes or the vocabularies."""


class QueryError(InputError):
    """A SPARQL query that does not parse: the user's bad input (exit 2), never a store problem.

    Every store raises it for a query it cannot parse, with the parser's message; an error while
    a well-formed query runs stays a ``StoreError``.
    """


class NotFoundError(PeerlearnError):
    """A name (city, pilot, twin, example query) that matches nothing; lists close matches."""

    exit_code = 3


class AmbiguousNameError(NotFoundError):
    """A name that matches more than one thing: an error, never a guess."""


class StoreError(PeerlearnError):
    """The store cannot be opened, written or reached, or a well-formed query fails in it."""

    exit_code = 4


class StaleIndexError(PeerlearnError):
    """A saved index built with another model or from other inputs than the ones given."""

    exit_code = 5


class ConfigError(InputError):
    """A settings file or value that is wrong (bad input, exit 2)."""
