"""Commands on documents: ingest contracts, tag concepts, build the search index, search."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from recommender.cli.common import (
    _require_store,
    _settings,
    _writable_store,
    command,
    open_configured_store,
    out,
)


@command("ingest-ccc")
def cmd_ingest_ccc(args) -> int:
    """Add Climate City Contracts (Markdown) to the knowledge graph as narratives of their cities."""
    from recommender.narratives import ingest_ccc

    settings = _settings(args)
    files = []
    for f in args.files:
        p = Path(f)
        files.extend(sorted(p.glob("*.md")) if p.is_dir() else [p])
    store = _writable_store(settings)
    try:
        batch = ingest_ccc(store, files, strict=args.strict, skip_unmatched=args.skip_unmatched, say=out)
    finally:
        store.close()
    out(f"{batch.summary()}; run `peerlearn tag` and `peerlearn index` to use them")
    return 0


@command("ingest-gcom")
def cmd_ingest_gcom(args) -> int:
    """Read a whole GCoM - MyCovenant release (JRC, CC BY 4.0) into its own named graph (replaced on rerun)."""
    from tqdm import tqdm

    from kg.catalog import catalog
    from kg.ingest.gcom.ingest import ingest_release, ingest_release_on_disk

    settings = _settings(args)
    st = settings.store
    store = None if st.backend == "oxigraph" else _writable_store(settings)
    if store is None:
        _require_store(st.path)
    bar = tqdm(total=0, unit=" signatories", file=sys.stderr, disable=args.quiet, leave=False)

    def progress(step: str, n: int, total: int) -> None:
        if total:
            bar.total = total
            bar.n = n
            bar.set_description("graph")
            bar.refresh()
        else:
            bar.set_description(step)

    try:
        if store is None:
            result = ingest_release_on_disk(st.path, args.path, progress=progress)
        else:
            result = ingest_release(store, args.path, list(catalog(store).cities.values()), progress=progress)
    finally:
        bar.close()
        if store is not None:
            store.close()
    for line in result.lines():
        out(line)
    if args.report:
        Path(args.report).write_text("city\tstatus\tkind\tsignatory\tactions\tinventory\tother candidates\treason\n"
                                     + "".join(f"{x}\n" for x in result.report.lines()), encoding="utf-8")
        out(f"match report: {args.report}")
    return 0


@command("tag")
def cmd_tag(args) -> int:
    """Tag narratives with concepts (zero-shot), or measure the tagger against stated links."""
    from recommender.profiles import make_encoder
    from recommender.tagging import ConceptTagger, evaluate_tagging, keyword_tags, sentences

    settings = _settings(args)
    threshold = args.threshold if args.threshold is not None else settings.matching.tag_threshold
    encoder = make_encoder(settings)
    if args.text is not None or args.evaluate:
        store = open_configured_store(settings)
        try:
            from kg.catalog import catalog

            cat = catalog(store)
        finally:
            store.close()
        tagger = ConceptTagger.from_catalog(cat, encoder, threshold=threshold)
        if args.evaluate:
            rows = evaluate_tagging(cat, tagger)
            if args.json:
                out(json.dumps([{"method": n, "scheme": r.scheme, "precision": round(r.precision, 3),
                                 "recall": round(r.recall, 3), "f1": round(r.f1, 3), "items": r.support}
                                for n, r in rows], indent=2))
                return 0
            out(f"{'method':10} {'scheme':8} {'items':>5} {'P':>6} {'R':>6} {'F1':>6}")
            for n, r in rows:
                out(f"{n:10} {r.scheme:8} {r.support:>5} {r.precision:>6.3f} {r.recall:>6.3f} {r.f1:>6.3f}")
            return 0
        passages = sentences(args.text) or [args.text]
        tags = keyword_tags(cat.concepts.values(), args.text) if args.keywords else tagger.tag(passages)
        if args.json:
            out(json.dumps([{"concept": t.concept, "label": cat.concepts[t.concept].label, "scheme": t.scheme,
                             "score": round(t.score, 4), "passage": t.passage} for t in tags], indent=2))
            return 0
        for t in tags:
            out(f"{t.scheme:8} {cat.concepts[t.concept].label:48} {t.score:.3f}  \"{t.passage}\"")
        if not tags:
            out("no concept reaches the threshold")
        return 0
    from recommender.narratives import tag_store

    store = _writable_store(settings)
    try:
        tag_store(store, encoder, threshold=threshold, say=out)
    finally:
        store.close()
    return 0


@command("index")
def cmd_index(args) -> int:
    """(Re)build the semantic search index of pilots, twins, cities and passages."""
    from recommender.profiles import make_encoder
    from recommender.search import build_indexes

    settings = _settings(args)
    store = open_configured_store(settings)
    try:
        counts = build_indexes(store, make_encoder(settings), Path(settings.data.workdir) / "index",
                               progress=sys.stderr.isatty(), say=lambda s: print(s, file=sys.stderr))
    finally:
        store.close()
    plural = {"city": "cities", "passage": "passages", "pilot": "pilot activities", "twin": "twins"}
    out("indexed: " + ", ".join(f"{n} {plural[k] if n != 1 else k}" for k, n in counts.items()))
    return 0


@command("search")
def cmd_search(args) -> int:
    """Nearest pilot activities, twins, cities and passages to a text."""
    from recommender.profiles import make_encoder
    from recommender.search import KINDS, search

    settings = _settings(args)
    kinds = tuple(args.kind) if args.kind else KINDS
    store = open_configured_store(settings)
    try:
        hits = search(store, make_encoder(settings), Path(settings.data.workdir) / "index", args.text,
                      kinds=kinds, k=args.k)
    finally:
        store.close()
    if args.json:
        out(json.dumps([h.__dict__ for h in hits], indent=2, ensure_ascii=False))
        return 0
    for h in hits:
        out(f"{h.score:.3f}  {h.kind:8} {h.label}  [{h.source}]")
        if h.kind == "passage":
            out(f"         {h.text[:200]}")
    return 0
