"""peerlearn's knowledge graph: ontology terms, ingest, validation, stores, SPARQL, catalog.

Imports rdflib and pyoxigraph, never ``recommender``.
"""

from kg.build import build, bundled_dataset, load_sources, write_graphs
from kg.catalog import catalog, summary
from kg.errors import (
    AmbiguousNameError,
    ConfigError,
    InputError,
    NotFoundError,
    PeerlearnError,
    StaleIndexError,
    StoreError,
    ValidationError,
)
from kg.examples import EXAMPLES, ExampleQuery
from kg.model import Catalog, City, Concept, Link, PilotActivity, Twin
from kg.results import QueryResult
from kg.store import Store, open_store

__all__ = [
    "AmbiguousNameError", "Catalog", "City", "Concept", "ConfigError", "EXAMPLES", "ExampleQuery",
    "InputError", "Link", "NotFoundError", "PeerlearnError", "PilotActivity", "QueryResult",
    "StaleIndexError", "Store", "StoreError", "Twin", "ValidationError", "build", "bundled_dataset",
    "catalog", "load_sources", "open_store", "summary", "write_graphs",
]
