"""Benchmark NarrativeIndex: exact (IndexFlatIP) vs HNSW (and IVF with --ivf) at 10k and 100k.

Run: ``.venv/bin/python benchmarks/bench_index.py [--sizes 10000,100000] [--queries 200]``

Reports build time, ms per query (one query at a time, as an interactive lookup does, and in one
batch of all queries) and recall@10 against exact search, with ratios against exact search
measured in the same run. Two kinds of vectors, labelled in the table:

* ``real``: all-MiniLM-L6-v2 embeddings (the project's default encoder) of generated 80-word
  climate-policy narratives (``bench_embeddings.make_texts``), encoded once through
  ``CachedEncoder`` (``--cache-dir``, default ``.peerlearn/bench-cache``, git-ignored), so later
  runs take seconds. Sizes above ``--real`` (10,000) are ``real+noise``: each real vector copied
  with small Gaussian noise (``--noise`` per dimension, 0.02: cosine about 0.93 to its original)
  until the size is reached. Queries are real embeddings of held-out texts, never in the index.
* ``random``: structureless Gaussian vectors (normalised); queries likewise. The hard case for
  graph indexes, shown for contrast, not as a model of narratives.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_embeddings import load_average, make_texts, table  # noqa: E402

from recommender.index import NarrativeIndex  # noqa: E402


def normalise(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def real_vectors(n_base: int, n_queries: int, cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from recommender.embeddings import CachedEncoder, SentenceTransformerEncoder

    texts = make_texts(n_base + n_queries, seed=7)
    encoder = CachedEncoder(SentenceTransformerEncoder(), cache_dir)
    t = time.perf_counter()
    vectors = encoder.encode(texts, progress=True)
    print(f"encoded {len(texts)} texts with {encoder.model_id} in {time.perf_counter() - t:.1f} s "
          f"({encoder.hits} from the cache, {encoder.misses} encoded)")
    return vectors[:n_base], vectors[n_base:]


def grow(base: np.ndarray, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` vectors: ``base`` itself, then noisy copies of its rows until ``n``."""
    if n <= len(base):
        return base[:n]
    extra = base[np.arange(n - len(base)) % len(base)]
    extra = extra + rng.normal(0.0, noise, extra.shape).astype(np.float32)
    return np.vstack([base, normalise(extra)])


def recall_at(found: list[list[tuple[str, float]]], truth: list[list[tuple[str, float]]], k: int) -> float:
    hits = [len({i for i, _ in f[:k]} & {i for i, _ in t[:k]}) / k for f, t in zip(found, truth)]
    return float(np.mean(hits))


def per_query_ms(index: NarrativeIndex, queries: np.ndarray, k: int) -> tuple[float, float, list]:
    """(ms per query one at a time, ms per query in one batch, batch results)."""
    t = time.perf_counter()
    for q in queries:
        index.search(q[None, :], k)
    single = (time.perf_counter() - t) * 1000 / len(queries)
    t = time.perf_counter()
    found = index.search(queries, k)
    batch = (time.perf_counter() - t) * 1000 / len(queries)
    return single, batch, found


def bench_ivf(x: np.ndarray, queries: np.ndarray, truth, k: int, nprobes: list[int]):
    import faiss

    nlist = int(4 * np.sqrt(len(x)))
    t = time.perf_counter()
    quantizer = faiss.IndexFlatIP(x.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, x.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(x)
    ivf.add(x)
    build = time.perf_counter() - t
    rows = []
    for nprobe in nprobes:
        ivf.nprobe = nprobe
        t = time.perf_counter()
        for q in queries:
            ivf.search(q[None, :], k)
        single = (time.perf_counter() - t) * 1000 / len(queries)
        t = time.perf_counter()
        _, ids = ivf.search(queries, k)
        batch = (time.perf_counter() - t) * 1000 / len(queries)
        found = [[(str(j), 0.0) for j in row if j >= 0] for row in ids]
        rows.append((f"IVF nlist={nlist} nprobe={nprobe}", build, single, batch,
                     recall_at(found, truth, k)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="index sizes (10000,100000)")
    parser.add_argument("--queries", type=int, default=200, help="held-out queries (200)")
    parser.add_argument("--real", type=int, default=10_000, help="real embeddings to encode (10000)")
    parser.add_argument("--noise", type=float, default=0.02, help="per-dimension noise for real+noise")
    parser.add_argument("--hnsw-m", default="16,32", help="HNSW M values (16,32)")
    parser.add_argument("--ef-construction", default="64", help="HNSW efConstruction values (64)")
    parser.add_argument("--ef-search", default="32,64,128", help="HNSW efSearch values (32,64,128)")
    parser.add_argument("--ivf", action="store_true", help="also IVF-Flat (nprobe 8, 32)")
    parser.add_argument("--no-random", action="store_true", help="skip the random vectors")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".peerlearn" / "bench-cache")
    parser.add_argument("--faiss-threads", type=int, default=None,
                        help="OpenMP threads for faiss (default: faiss's own, one per core)")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)

    import faiss

    if args.faiss_threads:
        faiss.omp_set_num_threads(args.faiss_threads)

    sizes = [int(s) for s in args.sizes.split(",")]
    ms = [int(m) for m in args.hnsw_m.split(",")]
    efs = [int(e) for e in args.ef_search.split(",")]
    efcs = [int(e) for e in args.ef_construction.split(",")]
    k = args.k
    rng = np.random.default_rng(0)
    base, real_queries = real_vectors(min(args.real, max(sizes)), args.queries, args.cache_dir)
    dim = base.shape[1]
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, dim {dim}, "
          f"{args.queries} queries, k={k}; {load_average()}")

    datasets = []
    for n in sizes:
        label = "real" if n <= len(base) else f"real+noise({args.noise})"
        datasets.append((label, n, lambda n=n: grow(base, n, args.noise, rng), real_queries))
        if not args.no_random:
            datasets.append(("random", n, lambda n=n: normalise(rng.standard_normal((n, dim), np.float32)),
                             normalise(rng.standard_normal((args.queries, dim), np.float32))))

    rows = []
    for label, n, make, queries in datasets:
        x = make()
        ids = [f"v{i}" for i in range(n)]
        t = time.perf_counter()
        exact = NarrativeIndex("exact").fit(ids, x, model_id="bench")
        exact_build = time.perf_counter() - t
        e_single, e_batch, truth = per_query_ms(exact, queries, k)
        results = [("exact (IndexFlatIP)", exact_build, e_single, e_batch, 1.0)]
        for m in ms:
            for efc in efcs:
                t = time.perf_counter()
                hnsw = NarrativeIndex("hnsw", hnsw_m=m, ef_construction=efc).fit(ids, x, model_id="bench")
                build = time.perf_counter() - t
                for ef in efs:
                    hnsw.ef_search = ef
                    single, batch, found = per_query_ms(hnsw, queries, k)
                    results.append((f"HNSW M={m} efC={efc} efS={ef}", build, single, batch,
                                    recall_at(found, truth, k)))
        if args.ivf:
            exact_found = [[(str(int(i[1:])), s) for i, s in row] for row in truth]
            results += bench_ivf(x, queries, exact_found, k, [8, 32])
        for name, build, single, batch, recall in results:
            rows.append([label, f"{n:,}", name, f"{build:.2f}", f"{build / max(exact_build, 1e-6):.0f}",
                         f"{single:.3f}", f"{e_single / single:.1f}", f"{batch:.4f}",
                         f"{e_batch / batch:.1f}", f"{recall:.3f}"])
        print(f"  done: {label} {n:,}; {load_average()}")

    table(f"exact vs approximate search (baseline: exact IndexFlatIP on the same vectors); "
          f"recall@{k} against exact",
          ["vectors", "n", "index", "build s", "build x exact", "ms/query (1 by 1)",
           "speedup", "ms/query (batch)", "speedup", f"recall@{k}"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
