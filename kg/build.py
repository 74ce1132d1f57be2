"""Data files -> one validated RDF graph -> a store.

``load_sources`` reads any mix of tabular sources (a folder of CSVs, a CSV, YAML or JSON) and
RDF files (Turtle, N-Triples, JSON-LD), checks every row, converts to RDF and validates the
union against the SHACL shapes; nothing is written unless all of it is valid.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS

from kg.errors import InputError
from kg.ingest.gcom.rdf import GCOM_GRAPH
from kg.ingest.rdf import is_rdf_file, read_rdf
from kg.ingest.tabular import SCHEMA, read_tabular, to_graph
from kg.model import City
from kg.namespaces import GRAPHS, PL
from kg.ontology import ontology_graph, vocabulary_codes
from kg.store import Store, atomic_oxigraph_dir, open_store
from kg.validate import violations

ONTOLOGY_GRAPH = GRAPHS.ontology
DATASET_GRAPH = GRAPHS.dataset
# Graphs that hold what people recorded (facilitators' decisions), not data derived from the
# sources: a rebuild carries them over.
KEPT_GRAPHS = (GRAPHS.feedback,)


def bundled_dataset() -> Path:
    """The folder of the bundled NZC dataset (package data of ``kg``)."""
    return Path(__file__).resolve().parent / "datasets" / "nzc"


def bundled_gcom() -> Path:
    """The GCoM extract of the bundled dataset's cities (``kg/datasets/gcom``)."""
    return Path(__file__).resolve().parent / "datasets" / "gcom"


def _gcom_for(sources: Sequence[str | os.PathLike]) -> bytes | None:
    """The bundled GCoM extract as N-Triples when the bundled dataset is among ``sources``."""
    from kg.ingest.gcom.extract import extract_ntriples

    if bundled_gcom().is_dir() and _has_bundled(sources):
        return extract_ntriples(bundled_gcom())[0]
    return None


def bundled_ccc() -> Path:
    """The Climate City Contract extract of the bundled dataset's cities (``kg/datasets/ccc``)."""
    return Path(__file__).resolve().parent / "datasets" / "ccc"


def _has_bundled(sources: Sequence[str | os.PathLike]) -> bool:
    bundled = bundled_dataset().resolve()
    return any(Path(s).resolve() == bundled for s in sources)


def ccc_extract_graphs(folder: str | os.PathLike, data: Graph) -> dict[URIRef, bytes]:
    """Graph name -> N-Triples of each contract of the extract in ``folder`` (``kg.ingest.ccc_extract``),
    for the cities of ``data``; ``InputError`` (file, row) on a bad file or a city not in ``data``."""
    from kg.ingest.ccc_extract import extract_ntriples, read_extract
    from kg.ingest.ccc_rdf import ccc_graph_name

    ex = read_extract(folder)
    cities = {}
    for c in data.subjects(RDF.type, PL.City):
        cid = data.value(c, DCTERMS.identifier)
        if cid is not None:
            cities[str(cid)] = City(id=str(cid), iri=str(c), name=str(data.value(c, URIRef(SCHEMA + "name")) or cid),
                                    country="")
    return {ccc_graph_name(cities[cid]): nt for cid, nt in extract_ntriples(ex, cities, where=folder).items()}


def load_sources(sources: Sequence[str | os.PathLike]) -> Graph:
    """Read, check and validate ``sources``; return the combined data graph."""
    if not sources:
        raise InputError("no input given")
    paths = [Path(s) for s in sources]
    for p in paths:
        if not p.exists():
            raise InputError("no such file or folder", path=p)
    tabular = [p for p in paths if not (p.is_file() and is_rdf_file(p))]
    rdf_files = [p for p in paths if p.is_file() and is_rdf_file(p)]
    parts: list[tuple[str, Graph]] = []
    if tabular:
        codes = {k: set(v) for k, v in vocabulary_codes().items()}
        parts.append((", ".join(str(p) for p in tabular), to_graph(read_tabular(tabular, codes))))
    for p in rdf_files:
        parts.append((str(p), read_rdf(p)))
    data = Graph()
    for _, g in parts:
        data += g
    found = violations(data)
    if found:
        v = found[0]
        source = next((name for name, g in parts
                       if any(str(s).endswith(v.focus.strip("<>").split(":", 1)[-1]) for s in g.subjects())),
                      parts[0][0])
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        from kg.errors import ValidationError

        raise ValidationError(f"SHACL: {v}{more}", path=source)
    return data


def write_graphs(store: Store, data: Graph, kept: dict | None = None) -> None:
    """Put the ontology and ``data`` into their named graphs of ``store`` and clear every
    other peerlearn graph (tags, recommendations, contracts derived from the old data) but
    ``KEPT_GRAPHS`` (``kept``: their content when it comes from another store), in one swap on a
    remote store."""
    keep = kept if kept is not None else {g: store.graph(g) for g in KEPT_GRAPHS if g in store.graph_names()}
    store.replace_graphs({ONTOLOGY_GRAPH: ontology_graph(), DATASET_GRAPH: data, **keep}, clear_others=True)


def _kept_from(path) -> dict:
    """``KEPT_GRAPHS`` of the on-disk store at ``path`` (none when there is no store yet)."""
    if not Path(path).exists():
        return {}
    old = open_store("oxigraph", path=path, read_only=True)
    try:
        names = set(old.graph_names())
        return {g: old.graph(g) for g in KEPT_GRAPHS if g in names}
    finally:
        old.close()


def build(sources: Sequence[str | os.PathLike], *, backend: str = "oxigraph",
          path: str | os.PathLike | None = None, endpoint: str | None = None,
          update_endpoint: str | None = None, ccc_extract: str | os.PathLike | bool | None = None) -> Store:
    """Build a store from ``sources``. An on-disk Oxigraph store is built beside ``path`` and
    swapped in only when complete, so a failed build leaves the previous store untouched.
    With the bundled dataset, its GCoM extract goes into the named graph ``graph/gcom`` and
    its Climate City Contract extract into ``graph/ccc/<city>``; ``ccc_extract`` names another
    extract folder, or ``False`` for none. Every extract is read and checked before anything
    is written."""
    data = load_sources(sources)
    extra: dict[URIRef, bytes] = {}
    gcom = _gcom_for(sources)
    if gcom:
        extra[GCOM_GRAPH] = gcom
    if ccc_extract is None and _has_bundled(sources) and bundled_ccc().is_dir():
        ccc_extract = bundled_ccc()
    if ccc_extract:
        extra.update(ccc_extract_graphs(ccc_extract, data))
    if backend == "oxigraph" and path is not None:
        kept = _kept_from(path)
        with atomic_oxigraph_dir(path) as tmp:
            write_graphs(tmp, data, kept)
            for name, nt in extra.items():
                tmp.replace_graph_ntriples(name, nt)
        return open_store("oxigraph", path=path)
    store = open_store(backend, path=path, endpoint=endpoint, update_endpoint=update_endpoint)
    write_graphs(store, data)
    for name, nt in extra.items():
        store.replace_graph_ntriples(name, nt)
    return store

