"""Result formats and content negotiation (the Accept header)."""

from __future__ import annotations

from collections.abc import Mapping

from kg.sparql_formats import GRAPH_FORMATS, SELECT_FORMATS  # the one format table

__all__ = ["GRAPH_FORMATS", "SELECT_FORMATS", "negotiate"]


def _parse_accept(header: str) -> list[tuple[str, str, float]]:
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        mtype, _, sub = fields[0].lower().partition("/")
        q = 1.0
        for f in fields[1:]:
            name, _, value = f.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((mtype, sub or "*", q))
    return ranges


def negotiate(accept: str | None, offers: Mapping[str, tuple[str, tuple[str, ...]]]) -> str | None:
    """The key of the offer the Accept header prefers (ties: the first offer); None if none fits.

    >>> negotiate("text/csv;q=0.5, application/sparql-results+xml", SELECT_FORMATS)
    'xml'
    >>> negotiate(None, GRAPH_FORMATS), negotiate("image/png", GRAPH_FORMATS)
    ('turtle', None)
    """
    if not accept or not accept.strip():
        return next(iter(offers))
    ranges = _parse_accept(accept)
    best, best_rank = None, (0.0, False)
    for key, (_, types) in offers.items():
        rank = (0.0, False)  # (q, matched through the offer's own media type rather than an alias)
        for i, t in enumerate(types):
            mtype, _, sub = t.partition("/")
            spec, q_t = -1, 0.0
            for rt, rs, q in ranges:  # the most specific range decides the q of a type
                s = 2 if (rt, rs) == (mtype, sub) else 1 if (rt == mtype and rs == "*") else \
                    0 if (rt, rs) == ("*", "*") else -1
                if s > spec:
                    spec, q_t = s, q
            if spec >= 0 and q_t > 0:
                rank = max(rank, (q_t, i == 0))
        if rank > best_rank:
            best, best_rank = key, rank
    return best
