#!/usr/bin/env python3
"""Build the bundled Climate City Contract extract (kg/datasets/ccc/) from a folder of contracts.

Reads every ``*.md`` contract with the real reader, matches them to the bundled dataset's cities
as ``peerlearn run --ccc`` does (``kg.ingest.ccc_rdf.match_documents``), ingests them into an
in-memory store, encodes the passages tagging reads with the bundled model in fp32 (cached in
``--work``, so a rerun is fast) and writes, for the matched cities: ``passages.csv`` (the
passages that can be the evidence of a contract tag scoring at least the floor,
``recommender.contract_extract.select``), ``emissions.csv``, ``vectors.npy`` + ``vectors.csv``
(each city's contract vector, as ``recommender.profiles.contract_vectors`` makes it from the
whole contract), ``manifest.json`` and ``README.md``. Deterministic: a rerun on the same
contracts gives byte-identical files.

Usage::

    .venv/bin/python scripts/build_ccc_extract.py [CCC_DIR] [--out DIR] [--work DIR] [--floor 0.25]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from kg.build import bundled_dataset, load_sources, write_graphs  # noqa: E402
from kg.catalog import catalog as read_catalog  # noqa: E402
from kg.errors import PeerlearnError  # noqa: E402
from kg.ingest.ccc_extract import MANIFEST, ExtractContract, extract_files  # noqa: E402
from kg.ingest.ccc_rdf import match_documents, read_documents  # noqa: E402
from kg.store import open_store  # noqa: E402
from recommender.contract_extract import FLOOR, concepts_sha256, select, warm  # noqa: E402
from recommender.narratives import SECTIONS_BY_SCHEME, ccc_passages, contract_texts, write_ccc  # noqa: E402
from recommender.profiles import contract_vectors  # noqa: E402
from recommender.provenance import peerlearn_version  # noqa: E402
from recommender.tagging import ConceptTagger  # noqa: E402

README = """# Climate City Contract extract (bundled)

What the tagger and the profile vectors need of the Climate City Contracts of the bundled NZC
dataset's own cities, so that `peerlearn build` / `make demo` give every twin and pilot activity
its contract-derived links without reading and encoding {total:,} contract passages (about 20
minutes cold on a 2-core CPU).

Source: the cities' published Climate City Contracts (Action Plans), as collected by NetZeroCities
and converted to Markdown (`../shared/data/ccc`); each file's SHA-256 is in `manifest.json`.

## What it holds

- `passages.csv`: **verbatim evidence passages with source pointers** (city, contract file,
  section, position in the document, section title, text exactly as the reader gives it): for
  each city and scheme (barriers: A-3; domains: B-2, C-1, C-2; levers: B-2, C-1, C-2, C-3), the
  passage that scores best for every concept whose best score is at least the floor
  ({floor}). Tagging these passages gives exactly the contract tags (concept, score, evidence
  passage) of the whole contract for any `matching.tag_threshold` at or above the floor, with the
  same model (`recommender/contract_extract.py` says why).
- `emissions.csv`: the contract's A-1 emissions rows (sector, domain, t CO2e, year).
- `vectors.npy` + `vectors.csv` (its city order): each city's contract vector, the unit mean
  embedding of all its profile passages (float32), made with `{model}`.
- `manifest.json`: model, floor, sections, SHA-256 of the concept descriptions the tagger embeds,
  peerlearn version, each contract's file, SHA-256 and counts.

`peerlearn build` on the bundled dataset loads it into one named graph per city of which it keeps
a passage (`https://w3id.org/peerlearn/graph/ccc/<city>`), with the node IRIs and properties a full
ingestion writes and `pl:isExtract true` on the narrative; `peerlearn ingest-ccc FILE` or
`peerlearn run --ccc DIR` replaces a city's extract with its whole contract.

Regenerate (after changing the concepts, the model, the reader or the tagged sections; a test
fails when the concepts or the default model no longer match) with:

```
.venv/bin/python scripts/build_ccc_extract.py ../shared/data/ccc
```

## Counts

{counts}
"""


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_extract(files: Sequence[Path], encoder, *, floor: float = FLOOR, dataset: Path | None = None,
                 say: Callable[[str], None] = print) -> tuple[dict[str, bytes], dict]:
    """The extract's files (name -> bytes) and its manifest for the contracts ``files``."""
    store = open_store("oxigraph")
    write_graphs(store, load_sources([dataset or bundled_dataset()]))
    cat = read_catalog(store)
    docs, unreadable = read_documents(files)
    matched, unmatched = match_documents(docs, cat, skip_unmatched=True)
    write_ccc(store, matched, unreadable + unmatched, say=lambda s: None)
    passages = ccc_passages(store)
    sections = set().union(*SECTIONS_BY_SCHEME.values())
    started = time.monotonic()
    warm(encoder, [t for ps in passages.values() for _, sec, t in ps if sec in sections], say=say)
    say(f"encoding took {time.monotonic() - started:.0f} s")
    tagger = ConceptTagger.from_catalog(cat, encoder)
    vectors = contract_vectors(encoder, contract_texts(store))
    contracts, info = [], {}
    for city, doc in sorted(matched, key=lambda m: m[0].id):
        ps = passages.get(city.id, [])
        keep = select(tagger, ps, SECTIONS_BY_SCHEME, floor)
        kept = {int(iri.rsplit("/", 1)[1]) for iri in keep}
        sub = tuple(p for p in doc.passages if p.position in kept)
        name = Path(doc.path).name
        light = type(doc)(path=name, sections=doc.sections, passages=sub, emissions=doc.emissions,
                          structured=doc.structured)
        contracts.append(ExtractContract(city.id, light, vectors.get(city.id)))
        info[city.id] = {"file": name, "sha256": _sha256(Path(doc.path)), "structured": doc.structured,
                         "passages": len(doc.passages),
                         "tagged_passages": sum(1 for p in doc.passages if p.section in sections),
                         "kept": len(sub), "emissions": len(doc.emissions)}
    manifest = {
        "model": encoder.model_id, "floor": floor,
        "sections": {k: sorted(v) for k, v in sorted(SECTIONS_BY_SCHEME.items())},
        "concepts_sha256": concepts_sha256(tagger.concepts), "peerlearn": peerlearn_version(),
        "contracts": info,
        "skipped": {Path(k.path).name: k.reason for k in unreadable + unmatched},
        "counts": {"contracts": len(info), "passages": sum(v["passages"] for v in info.values()),
                   "tagged_passages": sum(v["tagged_passages"] for v in info.values()),
                   "kept": sum(v["kept"] for v in info.values()),
                   "emissions": sum(v["emissions"] for v in info.values()),
                   "vectors": sum(1 for c in contracts if c.vector is not None)},
    }
    return extract_files(contracts, manifest), manifest


def write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write the files into ``out``, each atomically (a temporary file renamed into place)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(files.items()):
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / name)


def readme(manifest: dict) -> bytes:
    n = manifest["counts"]
    counts = "\n".join([
        f"- contracts of the dataset's cities: {n['contracts']} ({len(manifest['skipped'])} files skipped: "
        f"no city of the dataset or unreadable)",
        f"- passages in them: {n['passages']:,}; in the tagged sections: {n['tagged_passages']:,}; "
        f"kept here: {n['kept']:,}",
        f"- emissions rows: {n['emissions']}; contract vectors: {n['vectors']}",
    ])
    return README.format(total=n["tagged_passages"], floor=manifest["floor"], model=manifest["model"],
                         counts=counts).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ccc", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "ccc")
    ap.add_argument("--out", type=Path, default=ROOT / "kg" / "datasets" / "ccc")
    ap.add_argument("--work", type=Path, default=Path("/tmp/peerlearn-ccc-extract"),
                    help="folder of the embedding cache (a rerun reads the vectors from it)")
    ap.add_argument("--floor", type=float, default=FLOOR)
    a = ap.parse_args(argv)
    from recommender.embeddings import DEFAULT_MODEL, CachedEncoder, SentenceTransformerEncoder

    files = sorted(a.ccc.glob("*.md")) if a.ccc.is_dir() else []
    if not files:
        print(f"error: {a.ccc}: no Climate City Contract (*.md) found", file=sys.stderr)
        return 2
    try:
        encoder = CachedEncoder(SentenceTransformerEncoder(DEFAULT_MODEL, precision="fp32"), a.work / "cache")
        out, manifest = make_extract(files, encoder, floor=a.floor,
                                     say=lambda s: print(s, file=sys.stderr, flush=True))
    except PeerlearnError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out["README.md"] = readme(manifest)
    write_folder(a.out, out)
    n = manifest["counts"]
    print(f"{n['contracts']} contracts, {n['kept']} of {n['tagged_passages']} tagged passages kept "
          f"(floor {a.floor}), {n['emissions']} emissions rows, {n['vectors']} vectors; "
          f"{sum(len(v) for v in out.values()):,} bytes in {a.out}/ ({MANIFEST}: {manifest['model']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
