"""Result formats and content negotiation (the Accept header)."""

from __future__ import annotations

from collections.abc import Mapping

# key -> (media type sent, media ranges accepted for it)
SELECT_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "json": ("application/sparql-results+json",
             ("application/sparql-results+json", "application/json")),
    "xml": ("application/sparql-results+xml",
            ("application/sparql-results+xml", "application/xml", "text/xml")),
    "csv": ("text/csv; charset=utf-8", ("text/csv",)),
    "tsv": ("text/tab-separated-values; charset=utf-8", ("text/tab-separated-values",)),
}
GRAPH_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "turtle": ("text/turtle; charset=utf-8", ("text/turtle", "application/x-turtle")),
    "nt": ("application/n-triples", ("application/n-triples", "text/plain")),
    "rdfxml": ("application/rdf+xml", ("application/rdf+xml", "application/xml", "text/xml")),
    "jsonld": ("application/ld+json", ("application/ld+json", "application/json")),
}


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
