"""Where the time of encoding Climate City Contract passages goes, and what the options buy.

    python benchmarks/bench_ccc_encode.py [CCC_DIR] [--contracts 8] [--sample 256] [--repeats 2] [--bf16]

Part 1 (all contracts in CCC_DIR, reader only, no model): passages per section, word pieces
per passage (the model reads at most 256; longer ones are cut), and how many passages each
text-side saving would leave to encode: the passages ``peerlearn index`` encodes (the modules,
``recommender.search.indexed_passages``), distinct texts among them, noise (table debris and
other passages with fewer than 10 words of 3+ letters or under half letters), and the sections
tagging reads.

Part 2 (a sample of ``--sample`` passages from ``--contracts`` contracts, every option on the
same texts, in one run, interleaved over ``--repeats`` rounds, best round kept): passages per
second against a bare fp32 ``SentenceTransformer.encode`` (the baseline, 256 word pieces), the
cosine of each option's vectors to the baseline's on the same texts (min, 1st percentile, mean;
the bar is 0.99), and, for the first 8 texts, the cosine of each encoded alone to its vector in
the batch (an option whose vectors depend on the other texts of a batch makes cached and fresh
vectors of one text differ):

- peerlearn fp32: ``SentenceTransformerEncoder(precision="fp32")``, what ``index`` uses on a CPU
  without native bf16 (``auto``);
- int8: ``torch.ao.quantization.quantize_dynamic`` (int8 weights, activations quantised per
  batch, no new package) of every Linear layer with per-tensor weight scales (its default) or
  per-channel ones, of all but the feed-forward output layers, or of the attention layers only;
- ``max_seq_length`` 128 (about the first 90 words) in fp32 and int8 (per-channel): a passage
  longer than 128 word pieces loses its end, so its vector moves away from the full-length one;
- with ``--bf16``: bare bf16 (``torch.autocast``); emulated on CPUs without AVX512-BF16/AMX and
  then about 6x slower than fp32, so off by default.

- where the packages are importable (they are not peerlearn dependencies: ``pip install onnx
  onnxruntime openvino`` into the venv or a ``PYTHONPATH`` folder): the model's transformer
  exported once with ``torch.onnx.export`` and run by ONNX Runtime in fp32 and as its dynamic
  int8 (``onnxruntime.quantization.quantize_dynamic``, per-channel), and by OpenVINO in fp32;
  the same tokenizer, length-sorted batches of 32 and mean pooling as sentence-transformers.

sentence-transformers' own ``backend="onnx"``/``"openvino"`` need ``optimum-onnx`` /
``optimum-intel``, which pin transformers below 5 (the venv has 5.x): exporting directly measures
the same runtimes without them.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import random
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_WORD = re.compile(r"[^\W\d_]{3,}")


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
    sys.stdout.flush()


def read_all(ccc_dir: Path):
    from kg.ingest.ccc_rdf import read_documents

    docs, skipped = read_documents(sorted(ccc_dir.glob("*.md")))
    return docs, skipped


def indexed(docs) -> list[tuple[str, str, str]]:
    """(contract, section, text) of every passage ``peerlearn index`` encodes."""
    from recommender.search import indexed_passages

    return [(Path(d.path).stem, sec, text) for d in docs
            for _, sec, text in indexed_passages([("", p.section, p.text) for p in d.passages])]


def noise(text: str) -> bool:
    """Table debris and the like: fewer than 10 words of 3+ letters, or under half letters."""
    return len(_WORD.findall(text)) < 10 or sum(c.isalpha() for c in text) < 0.5 * len(text)


def workload(docs, tok) -> None:
    from recommender.narratives import SECTIONS_BY_SCHEME

    tagged = set().union(*SECTIONS_BY_SCHEME.values())
    every = [(Path(d.path).stem, p.section, p.text) for d in docs for p in d.passages]
    rows = indexed(docs)
    lengths = np.array([len(ids) for ids in tok([r[2] for r in rows], truncation=False)["input_ids"]])
    by_sec = Counter(r[1] for r in rows)
    out = []
    for sec in sorted(by_sec):
        m = np.array([r[1] == sec for r in rows])
        out.append([sec, by_sec[sec], f"{lengths[m].mean():.0f}", f"{100 * (lengths[m] > 128).mean():.0f}%",
                    f"{100 * (lengths[m] > 256).mean():.0f}%", "yes" if sec in tagged else ""])
    out.append(["all indexed", len(rows), f"{lengths.mean():.0f}", f"{100 * (lengths > 128).mean():.0f}%",
                f"{100 * (lengths > 256).mean():.0f}%", ""])
    table(f"Workload: the passages `peerlearn index` encodes, {len(docs)} contracts",
          ["section", "passages", "word pieces (mean)", "over 128", "cut at 256", "tagging reads"], out)
    n = len(rows)
    distinct = len({r[2] for r in rows})
    noisy = sum(1 for r in rows if noise(r[2]))
    tagged_n = sum(1 for r in rows if r[1] in tagged)
    share = lambda k: f"{100 * k / n:.1f}%"   # noqa: E731
    table("What each text-side saving leaves to encode", ["choice", "passages", "share of indexed"], [
        ["every passage, intro included", len(every), share(len(every))],
        ["indexed now (modules; intro only where a document has no modules)", n, "100%"],
        ["  distinct texts (duplicates encoded once)", distinct, share(distinct)],
        ["  without noise (< 10 words of 3+ letters or < 50% letters)", n - noisy, share(n - noisy)],
        ["  table-like (3+ cell separators; kept: real content in table rows)",
         sum(1 for r in rows if r[2].count(" | ") >= 3), ""],
        ["  only the sections tagging reads", tagged_n, share(tagged_n)],
    ])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return (a * (b / np.linalg.norm(b, axis=1, keepdims=True))).sum(axis=1)


def runtimes(st, folder: Path) -> dict:
    """Encoders over the model's transformer exported to ONNX, for the runtimes that are
    importable (ONNX Runtime fp32 and int8, OpenVINO fp32); {} when ``onnx`` is missing."""
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        print("onnx not importable: ONNX Runtime and OpenVINO not measured", file=sys.stderr)
        return {}
    import torch

    tok, hf = st.tokenizer, st[0].auto_model.eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Body(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hf = hf

        def forward(self, ids, mask, types):
            return self.hf(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    path = folder / "model.onnx"
    x = tok(["a b", "c"], padding=True, return_tensors="pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Body(), tuple(x[n] for n in names), str(path), input_names=names,
                          output_names=["h"], dynamic_axes={n: {0: "b", 1: "s"} for n in [*names, "h"]},
                          opset_version=17, dynamo=False)

    def encoder(run):
        def go(xs):
            order = np.argsort([-len(t) for t in xs], kind="stable")
            out = np.zeros((len(xs), hf.config.hidden_size), np.float32)
            for i in range(0, len(xs), 32):
                idx = order[i:i + 32]
                e = tok([xs[j] for j in idx], padding=True, truncation=True, max_length=st.max_seq_length,
                        return_tensors="np")
                h = run({n: e[n].astype(np.int64) for n in names})
                m = e["attention_mask"][..., None].astype(np.float32)
                v = (h * m).sum(1) / m.sum(1)
                out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
            return out
        return go

    found = {}
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        print("onnxruntime not importable: not measured", file=sys.stderr)
    else:
        so = ort.SessionOptions()
        so.intra_op_num_threads = torch.get_num_threads()
        q = folder / "model-int8.onnx"
        quantize_dynamic(str(path), str(q), weight_type=QuantType.QInt8, per_channel=True)
        for name, f in (("onnxruntime fp32", path), ("onnxruntime int8, per-channel", q)):
            sess = ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"])
            found[name] = encoder(lambda feed, sess=sess: sess.run(None, feed)[0])
    try:
        import openvino as ov
    except ImportError:
        print("openvino not importable: not measured", file=sys.stderr)
    else:
        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(path)), "CPU",
                                      {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": torch.get_num_threads()})
        found["openvino fp32"] = encoder(lambda feed: compiled(feed)[0])
    return found


def sample(docs, n_contracts: int, n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    chosen = rnd.sample(docs, min(n_contracts, len(docs)))
    texts = [r[2] for r in indexed(chosen)]
    return rnd.sample(texts, min(n, len(texts)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ccc_dir", nargs="?", type=Path, default=_default_dir())
    ap.add_argument("--contracts", type=int, default=8, help="contracts the sample is drawn from (8)")
    ap.add_argument("--sample", type=int, default=256, help="passages encoded by every option (256)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved rounds, best kept (2)")
    ap.add_argument("--bf16", action="store_true", help="also bare bf16 (slow where emulated)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not args.ccc_dir.is_dir():
        print(f"no such folder: {args.ccc_dir}", file=sys.stderr)
        return 2
    import torch

    from recommender.embeddings import SentenceTransformerEncoder

    fp32 = SentenceTransformerEncoder(precision="fp32")
    st = fp32._load()
    docs, _ = read_all(args.ccc_dir)
    workload(docs, st.tokenizer)
    texts = sample(docs, args.contracts, args.sample, args.seed)
    pieces = np.array([len(ids) for ids in st.tokenizer(texts, truncation=False)["input_ids"]])

    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig

    linear = [n for n, m in st.named_modules() if isinstance(m, torch.nn.Linear)]
    ffn_out = {n for n in linear if n.endswith(".output.dense") and ".attention." not in n}

    def int8(layers, qconfig=per_channel_dynamic_qconfig, max_seq=None):
        model = copy.deepcopy(st)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.ao.quantization.quantize_dynamic(model, {n: qconfig for n in layers}, dtype=torch.qint8,
                                                   inplace=True)
        if max_seq:
            model.max_seq_length = max_seq
        return model

    short = copy.deepcopy(st)
    short.max_seq_length = 128

    def bare(model, ctx=contextlib.nullcontext):
        def go(xs):
            with torch.inference_mode(), ctx():
                return model.encode(xs, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)
        return go

    options = {
        "bare fp32 (baseline)": bare(st),
        "peerlearn fp32": fp32.encode,
        "int8, all Linear, per-tensor": bare(int8(linear, default_dynamic_qconfig)),
        "int8, all Linear, per-channel": bare(int8(linear)),
        "int8, per-channel, feed-forward output fp32": bare(int8([n for n in linear if n not in ffn_out])),
        "int8, per-channel, attention only": bare(int8([n for n in linear if ".attention." in n])),
        "fp32, max_seq_length 128": bare(short),
        "int8 (all, per-channel), max_seq_length 128": bare(int8(linear, max_seq=128)),
    }
    tmp = tempfile.TemporaryDirectory()
    options.update(runtimes(st, Path(tmp.name)))
    if args.bf16:
        options["bare bf16"] = bare(st, lambda: torch.autocast("cpu", dtype=torch.bfloat16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for go in options.values():                               # warm up every path once
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
    alone = {name: np.vstack([np.asarray(go([t]), dtype=np.float32) for t in texts[:8]])
             for name, go in options.items()}
    base = vectors["bare fp32 (baseline)"]
    long = pieces > 128
    rows = []
    for name in options:
        cos = _cosines(vectors[name], base)
        rows.append([name, f"{len(texts) / best[name]:.1f}", f"{best['bare fp32 (baseline)'] / best[name]:.2f}x",
                     f"{cos.min():.4f}", f"{np.percentile(cos, 1):.4f}", f"{cos.mean():.5f}",
                     f"{cos[long].min():.4f}" if long.any() else "-",
                     f"{_cosines(alone[name], vectors[name][:8]).min():.4f}"])
    load = os.getloadavg()
    table(f"Encoding {len(texts)} passages of {args.contracts} contracts ({pieces.mean():.0f} word pieces "
          f"on average, {100 * long.mean():.0f}% over 128; torch threads {torch.get_num_threads()}, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})",
          ["option", "passages/s", "vs bare fp32", "cosine to fp32 (min)", "(p1)", "(mean)",
           "(min, passages over 128)", "alone vs in batch (min)"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
