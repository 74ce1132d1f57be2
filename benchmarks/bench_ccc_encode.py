"""Where the time of encoding Climate City Contract passages goes, and what the options buy.

    python benchmarks/bench_ccc_encode.py [CCC_DIR] [--contracts 8] [--sample 480]

Part 1 (all contracts in CCC_DIR, reader only, no model): passages per section, word pieces
per passage (the model reads at most 256; longer ones are cut), table-like and duplicate
passages, and how many passages each indexing choice encodes.

Part 2 (a sample of ``--sample`` passages from ``--contracts`` contracts, every option on the
same texts, in one run, interleaved over ``--repeats`` rounds, best round kept): texts per
second against a bare fp32 ``SentenceTransformer.encode`` (the baseline) and the cosine of
each option's vectors to the baseline's (min and mean; the bar is 0.99):

- bare bf16: the same call under ``torch.autocast(bfloat16)``;
- peerlearn: ``SentenceTransformerEncoder`` at its defaults (bf16, batch 32), as ``index`` uses;
- bf16, shortest first over all texts (one global length sort; sentence-transformers sorts
  inside each call already, and ``CachedEncoder`` calls it per 1024 texts);
- bf16 with ``max_seq_length`` 128 (reads about the first 90 words);
- int8: ``torch.ao.quantization.quantize_dynamic`` of the Linear layers (fp32 activations), a
  copy of the bundled weights quantised in memory, no new package.

sentence-transformers' ONNX and OpenVINO backends need ``optimum``; ``pip install
"optimum[onnxruntime]"`` resolves to transformers 4.57 (the venv has 5.x), so they are not
measured here.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROFILE_SECTIONS = {"A-3", "B-2", "C-1", "C-2", "C-3"}   # what tagging reads (recommender.narratives)


def _default_dir() -> Path:
    env = os.environ.get("PEERLEARN_SHARED_DATA")
    if env:
        return Path(env) / "ccc"
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ccc"


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


def read_all(ccc_dir: Path):
    from kg.ingest.ccc_rdf import read_documents

    docs, skipped = read_documents(sorted(ccc_dir.glob("*.md")))
    return docs, skipped


def workload(docs, tok) -> None:
    rows = [(Path(d.path).stem, d.structured, p.section, p.text) for d in docs for p in d.passages]
    lengths = np.array([len(ids) for ids in tok([r[3] for r in rows], truncation=False)["input_ids"]])
    by_sec = Counter(r[2] for r in rows)
    out = []
    for sec in sorted(by_sec):
        m = np.array([r[2] == sec for r in rows])
        out.append([sec, by_sec[sec], f"{lengths[m].mean():.0f}", f"{100 * (lengths[m] > 256).mean():.0f}%",
                    "yes" if sec in PROFILE_SECTIONS else ""])
    out.append(["all", len(rows), f"{lengths.mean():.0f}", f"{100 * (lengths > 256).mean():.0f}%", ""])
    table(f"Workload: {len(docs)} contracts", ["section", "passages", "word pieces (mean)", "cut at 256",
                                                "tagged"], out)
    tables = sum(1 for r in rows if r[3].count(" | ") >= 3)
    dup = sum(n - 1 for n in Counter(r[3] for r in rows).values() if n > 1)
    modules = [r for r in rows if r[2] != "intro" or not r[1]]
    table("What an index run could encode", ["choice", "passages", "share"], [
        ["every passage (before)", len(rows), "100%"],
        ["distinct texts", len(rows) - dup, f"{100 * (len(rows) - dup) / len(rows):.1f}%"],
        ["modules only (intro kept for documents without modules)", len(modules),
         f"{100 * len(modules) / len(rows):.1f}%"],
        ["sections tagging reads", sum(1 for r in rows if r[2] in PROFILE_SECTIONS),
         f"{100 * sum(1 for r in rows if r[2] in PROFILE_SECTIONS) / len(rows):.1f}%"],
        ["table-like (3+ cells)", tables, f"{100 * tables / len(rows):.1f}%"],
    ])


def sample(docs, n_contracts: int, n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    chosen = rnd.sample(docs, min(n_contracts, len(docs)))
    texts = [p.text for d in chosen for p in d.passages]
    return rnd.sample(texts, min(n, len(texts)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ccc_dir", nargs="?", type=Path, default=_default_dir())
    ap.add_argument("--contracts", type=int, default=8, help="contracts the sample is drawn from (8)")
    ap.add_argument("--sample", type=int, default=480, help="passages encoded by every option (480)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved rounds, best kept (2)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not args.ccc_dir.is_dir():
        print(f"no such folder: {args.ccc_dir}", file=sys.stderr)
        return 2
    import torch

    from recommender.embeddings import SentenceTransformerEncoder

    ours = SentenceTransformerEncoder()
    st = ours._load()
    docs, _ = read_all(args.ccc_dir)
    workload(docs, st.tokenizer)
    texts = sample(docs, args.contracts, args.sample, args.seed)

    bf16 = lambda: torch.autocast("cpu", dtype=torch.bfloat16)   # noqa: E731
    short = copy.deepcopy(st)
    short.max_seq_length = 128
    int8 = copy.deepcopy(st)
    int8[0].auto_model = torch.ao.quantization.quantize_dynamic(int8[0].auto_model, {torch.nn.Linear},
                                                                dtype=torch.qint8)

    def bare(model, ctx=contextlib.nullcontext):
        def go(xs):
            with torch.inference_mode(), ctx():
                return model.encode(xs, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)
        return go

    def sorted_first(go):
        def run(xs):
            order = sorted(range(len(xs)), key=lambda i: len(xs[i]))
            v = go([xs[i] for i in order])
            out = np.empty_like(v)
            out[order] = v
            return out
        return run

    options = {
        "bare fp32 (baseline)": bare(st),
        "bare bf16": bare(st, bf16),
        "peerlearn encoder (bf16, batch 32)": ours.encode,
        "bf16, global length sort": sorted_first(bare(st, bf16)),
        "bf16, max_seq_length 128": bare(short, bf16),
        "int8 dynamic (torch), fp32 activations": bare(int8),
    }
    options["bare fp32 (baseline)"](texts[:8])                   # warm up every path once
    for go in options.values():
        go(texts[:8])
    best: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, go in options.items():
            t0 = time.perf_counter()
            v = np.asarray(go(texts), dtype=np.float32)
            dt = time.perf_counter() - t0
            best[name] = min(best.get(name, float("inf")), dt)
            vectors[name] = v / np.linalg.norm(v, axis=1, keepdims=True)
    base = vectors["bare fp32 (baseline)"]
    rows = []
    for name in options:
        cos = (vectors[name] * base).sum(axis=1)
        rows.append([name, f"{len(texts) / best[name]:.1f}", f"{best['bare fp32 (baseline)'] / best[name]:.2f}x",
                     f"{cos.min():.4f}", f"{cos.mean():.5f}"])
    load = os.getloadavg()
    table(f"Encoding {len(texts)} passages of {args.contracts} contracts (torch threads "
          f"{torch.get_num_threads()}, load average {load[0]:.1f})",
          ["option", "passages/s", "vs bare fp32", "cosine to fp32 (min)", "(mean)"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
