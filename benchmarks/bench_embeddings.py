"""Benchmark the project's encoder: throughput, fp32 vs bf16, cached rebuilds.

Run: ``.venv/bin/python benchmarks/bench_embeddings.py [--n 1000] [--quality-n 500]``

Prints three tables, each with ratios against a baseline measured in the same run (wall-clock,
and process CPU time where other processes share the machine: the load average is printed):

1. throughput of ``SentenceTransformerEncoder`` (default precision) vs a bare
   ``SentenceTransformer.encode`` (fp32) on the same ``--n`` generated 80-word texts;
2. fp32 vs bf16 at batch sizes 16/32/64 (texts/s) and bf16's quality against fp32 (cosine per
   text, mean and min; overlap of each text's top-10 neighbours);
3. ``CachedEncoder``: cold build vs a rebuild with nothing changed vs one with 5% of the texts
   changed.

The texts are generated deterministically from word lists (``make_texts``). Variants are timed
interleaved, 128 texts at a time, after a warm-up pass, so load from other processes falls on
all of them alike; still, on a machine shared with other jobs the absolute figures (and bf16's
lead, which shrinks most under contention) move a lot between runs: compare ratios, read the
printed load average, and use ``--sections 1`` etc. to re-measure one table at a quiet moment.
About 5 minutes on a quiet 2-core machine (bench_index.py: under 3 minutes once its cache is filled).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

# ---------------------------------------------------------------------------------------------
# deterministic, varied climate-policy texts

CITIES = [
    "Aachen", "Aarhus", "Barcelona", "Bergamo", "Bologna", "Bratislava", "Budapest", "Cluj-Napoca",
    "Cork", "Dresden", "Dublin", "Espoo", "Florence", "Galway", "Guimaraes", "Heidelberg", "Helsinki",
    "Izmir", "Kozani", "Krakow", "Kranj", "Lahti", "Leipzig", "Leuven", "Limassol", "Lisbon", "Ljubljana",
    "Lodz", "Lyon", "Madrid", "Malmo", "Mannheim", "Marseille", "Milan", "Munich", "Munster", "Nantes",
    "Oslo", "Oulu", "Padova", "Paris", "Parma", "Porto", "Prague", "Prato", "Riga", "Rivne", "Rome",
    "Sofia", "Stockholm", "Tallinn", "Turin", "Umea", "Valencia", "Velenje", "Vilnius", "Warsaw",
    "Wroclaw", "Zaragoza", "Zagreb",
]
DOMAINS = {
    "energy": [
        "district heating network", "rooftop solar photovoltaics", "heat pumps in social housing",
        "energy communities owned by residents", "waste heat recovery from data centres",
        "geothermal heat for public buildings", "a municipal energy agency", "battery storage at substations",
        "phasing out coal-fired boilers", "green hydrogen for heavy industry", "smart grid flexibility",
        "heat networks replacing gas boilers", "offshore wind power purchase agreements",
    ],
    "mobility": [
        "protected bicycle lanes", "low-emission zones in the city centre", "electric bus fleets",
        "shared e-scooters and cargo bikes", "parking reform and road pricing", "tram line extensions",
        "charging points for electric vehicles", "fifteen-minute neighbourhoods", "school streets closed to traffic",
        "zero-emission urban logistics hubs", "park-and-ride with rail connections", "car-free superblocks",
    ],
    "buildings": [
        "deep renovation of apartment blocks", "one-stop shops for home retrofits",
        "energy performance certificates", "timber construction in new districts", "insulation of schools",
        "heritage buildings that cannot be easily insulated", "building codes for nearly zero-energy housing",
        "energy poverty in older housing", "renovation passports for homeowners",
    ],
    "waste": [
        "separate collection of biowaste", "repair cafes and reuse centres", "construction material passports",
        "pay-as-you-throw waste fees", "composting in community gardens", "landfill methane capture",
        "circular procurement of furniture", "textile recycling", "deposit return schemes for packaging",
    ],
    "green": [
        "urban forests and street trees", "sponge city measures for stormwater", "green roofs on public buildings",
        "restoring wetlands along the river", "depaving school yards", "community gardens on vacant land",
        "peatland rewetting on the city edge", "nature-based cooling during heatwaves",
    ],
    "industry": [
        "carbon capture at the cement plant", "electrifying industrial process heat",
        "industrial symbiosis in the port area", "low-carbon steel procurement", "energy audits for small firms",
    ],
}
LEVERS = [
    "a citizen assembly on climate", "participatory budgeting for neighbourhood projects",
    "a green bond issued by the municipality", "a revolving fund for energy savings",
    "a climate transition team across departments", "open data dashboards for emissions monitoring",
    "public procurement with carbon criteria", "training programmes for installers and contractors",
    "multilevel governance with the regional government", "living labs with universities",
    "behaviour change campaigns in schools", "a digital twin of the city's energy system",
    "public-private partnerships with local businesses", "climate budgeting in the annual budget",
]
BARRIERS = [
    "fragmented responsibilities inside the administration", "too few qualified contractors",
    "high upfront investment costs", "slow permitting and bureaucracy", "lack of reliable emissions data",
    "low public awareness", "resistance from car owners", "limited grid capacity",
    "national regulation that restricts local action", "a shortage of municipal staff",
    "split incentives between landlords and tenants", "energy poverty among vulnerable households",
    "political cycles that interrupt long-term planning", "limited access to private finance",
]
OPENERS = [
    "{city} is working on {a}.", "In {city}, the city council has prioritised {a}.",
    "The pilot activity in {city} tests {a}.", "{city} wants to learn how other cities organise {a}.",
    "Over the next three years {city} will scale up {a}.", "{city} has started a programme on {a}.",
]
MIDDLES = [
    "The main barrier is {barrier}, which has delayed earlier projects.",
    "Progress has been held back by {barrier}.",
    "To overcome {barrier}, the team relies on {lever}.",
    "The city combines this with {b} to reach more residents.",
    "Officials expect that {lever} will speed up {b}.",
    "A second strand of work looks at {b}, where {barrier} remains a problem.",
    "Residents are involved through {lever}.",
    "Funding comes partly from {lever}, with support from the Mission platform.",
    "The approach links {a} with {b} in the same neighbourhoods.",
    "Monitoring relies on {lever}, and results are shared with twin cities.",
]
CLOSERS = [
    "The aim is to cut emissions in this sector by {pct} percent before 2030.",
    "The city hopes to share what works with its twin cities and other Mission cities.",
    "Lessons will feed into the next Climate City Contract action plan.",
    "Early results show savings of about {pct} percent compared with the baseline.",
    "The work is a step towards climate neutrality by 2030.",
]


def make_texts(n: int, *, words: int = 80, seed: int = 0) -> list[str]:
    """``n`` distinct climate-policy narratives of about ``words`` words; the same for a given seed."""
    rng = random.Random(seed)
    domains = list(DOMAINS)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        city = rng.choice(CITIES)
        d1 = rng.choice(domains)
        d2 = rng.choice(domains) if rng.random() < 0.5 else d1
        a = rng.choice(DOMAINS[d1])
        fill = {"city": city, "a": a}
        parts = [rng.choice(OPENERS).format(**fill)]
        while sum(len(p.split()) for p in parts) < words:
            fill = {"city": city, "a": a, "b": rng.choice(DOMAINS[d2]), "lever": rng.choice(LEVERS),
                    "barrier": rng.choice(BARRIERS), "pct": rng.choice(range(10, 60, 5))}
            pool = MIDDLES if rng.random() < 0.8 else CLOSERS
            sentence = rng.choice(pool).format(**fill)
            if sentence not in parts:
                parts.append(sentence)
        text = " ".join(" ".join(parts).split()[:words]).rstrip(",;") + "."
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


# ---------------------------------------------------------------------------------------------
# helpers


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """Print a plain fixed-width table."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def timed(fn, repeats: int = 1):
    """(best wall-clock seconds over ``repeats`` runs, result of the last run)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def compare(runs: dict, texts: list[str], repeats: int, chunk: int = 128) -> dict:
    """Wall-clock and process CPU seconds each ``fn(texts)`` in ``runs`` needs for all of
    ``texts``, averaged over ``repeats`` passes after one untimed warm-up pass.

    The configurations are interleaved chunk by chunk (``chunk`` texts at a time, each
    configuration in turn), so that load from other processes on a shared machine falls on all of
    them alike; the ratios between them are then fair even when the absolute times are not.
    Warm-up matters for torch on CPU: the first passes over new batch shapes (texts are padded
    per batch, so every length gives a new shape) build oneDNN kernels and run 2-3x slower.
    """
    chunks = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
    for fn in runs.values():
        fn(texts)
    wall = dict.fromkeys(runs, 0.0)
    cpu = dict.fromkeys(runs, 0.0)
    for _ in range(repeats):
        for part in chunks:
            for name, fn in runs.items():
                t, c = time.perf_counter(), time.process_time()
                fn(part)
                wall[name] += time.perf_counter() - t
                cpu[name] += time.process_time() - c
    return {name: (wall[name] / repeats, cpu[name] / repeats) for name in runs}


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "load average unknown"


def top_k(x: np.ndarray, k: int = 10) -> np.ndarray:
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def neighbour_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    ta, tb = top_k(a, k), top_k(b, k)
    return float(np.mean([len(set(ra) & set(rb)) / k for ra, rb in zip(ta, tb)]))


def bf16(enabled: bool):
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


# ---------------------------------------------------------------------------------------------


def throughput(bare, ours, ours_fp32, texts, repeats):
    """1. the project's encoder vs bare SentenceTransformer.encode, same texts, batch 32."""
    from recommender.embeddings import DEFAULT_PRECISION

    best = compare({"bare": lambda t: bare.encode(t, batch_size=32),
                    "ours": ours.encode,
                    "ours_fp32": ours_fp32.encode}, texts, repeats)
    n = len(texts)
    (t_bare, c_bare) = best["bare"]
    rows = []
    for key, name in [("bare", "bare SentenceTransformer.encode (fp32)"),
                      ("ours", f"SentenceTransformerEncoder ({DEFAULT_PRECISION}, default)"),
                      ("ours_fp32", "SentenceTransformerEncoder (fp32)")]:
        wall, cpu = best[key]
        rows.append([name, f"{wall:.2f}", f"{n / wall:.1f}", f"{t_bare / wall:.2f}", f"{cpu:.2f}",
                     f"{c_bare / cpu:.2f}"])
    table("1. throughput, batch 32 (baseline: bare SentenceTransformer.encode, fp32)",
          ["encoder", "seconds", "texts/s", "speed vs baseline", "CPU s", "CPU vs baseline"], rows)
    print(load_average())


def precision_table(bare, ours, ours_fp32, texts, args):
    """2. fp32 vs bf16: speed by batch size, then quality."""
    sample = texts[: args.quality_n]
    n = len(texts)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    def run(prec: str, bs: int):
        def go(part):
            with bf16(prec == "bf16"):
                return bare.encode(part, batch_size=bs)
        return go

    best = compare({(p, bs): run(p, bs) for bs in batch_sizes for p in ("fp32", "bf16")}, sample,
                   args.repeats)
    rows = []
    for bs in batch_sizes:
        (w32, c32), (w16, c16) = best["fp32", bs], best["bf16", bs]
        m = len(sample)
        rows.append([bs, f"{m / w32:.1f}", f"{m / w16:.1f}", f"{w32 / w16:.2f}", f"{c32:.1f}",
                     f"{c16:.1f}", f"{c32 / c16:.2f}"])
    table(f"2a. speed on {len(sample)} texts (baseline: fp32 at the same batch size)",
          ["batch", "fp32 texts/s", "bf16 texts/s", "bf16 / fp32", "fp32 CPU s", "bf16 CPU s",
           "CPU fp32 / bf16"], rows)
    print(load_average())

    e32 = ours_fp32.encode(texts)
    e16 = ours.encode(texts)
    cos = (e32 * e16).sum(axis=1)
    q = slice(0, args.quality_n)
    table(f"2b. bf16 quality against fp32 (baseline) on {args.quality_n} and {n} texts",
          ["texts", "mean cosine", "min cosine", "top-10 neighbour overlap"],
          [[args.quality_n, f"{cos[q].mean():.6f}", f"{cos[q].min():.6f}",
            f"{neighbour_overlap(e32[q], e16[q]):.4f}"],
           [n, f"{cos.mean():.6f}", f"{cos.min():.6f}", f"{neighbour_overlap(e32, e16):.4f}"]])
    print(load_average())


def cache_table(ours, texts, repeats):
    """3. cached rebuilds: cold vs nothing changed vs 5% changed."""
    from recommender.embeddings import CachedEncoder

    n = len(texts)
    rng = random.Random(1)
    changed = list(texts)
    for i in rng.sample(range(n), max(1, n // 20)):
        changed[i] = changed[i] + " Updated in 2025."
    # the cold build is timed warm (kernels built above), so the ratio is cache vs encoding only;
    # each repeat starts from an empty cache, the best of each column is kept
    t_cold = t_warm = t_some = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cached = CachedEncoder(ours, tmp)
            seconds, v_cold = timed(lambda: cached.encode(texts))  # noqa: B023 - called at once
            t_cold, cold_misses = min(t_cold, seconds), cached.misses
            seconds, v_warm = timed(lambda: cached.encode(texts))  # noqa: B023
            t_warm, warm_misses = min(t_warm, seconds), cached.misses - cold_misses
            seconds, _ = timed(lambda: cached.encode(changed))  # noqa: B023
            t_some, some_misses = min(t_some, seconds), cached.misses - cold_misses - warm_misses
            assert np.array_equal(v_cold, v_warm), "cache returned different vectors"
    table(f"3. cached rebuild of {n} texts (baseline: cold build into an empty cache)",
          ["run", "seconds", "encoded (misses)", "speed vs cold"],
          [["cold (empty cache)", f"{t_cold:.3f}", cold_misses, "1.0"],
           ["rebuild, nothing changed", f"{t_warm:.3f}", warm_misses, f"{t_cold / t_warm:.0f}"],
           ["rebuild, 5% of texts changed", f"{t_some:.3f}", some_misses, f"{t_cold / t_some:.1f}"]])
    print(load_average())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="texts for throughput and cache (1000)")
    parser.add_argument("--quality-n", type=int, default=500, help="texts for fp32 vs bf16 (500)")
    parser.add_argument("--words", type=int, default=80, help="words per text (80)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes, averaged (2)")
    parser.add_argument("--batch-sizes", default="16,32,64", help="for fp32 vs bf16 (16,32,64)")
    parser.add_argument("--sections", default="1,2,3", help="which tables to measure (1,2,3)")
    args = parser.parse_args(argv)
    sections = {int(x) for x in args.sections.split(",")}
    sys.stdout.reconfigure(line_buffering=True)

    import torch
    from sentence_transformers import SentenceTransformer

    from recommender.embeddings import SentenceTransformerEncoder, resolve_model

    texts = make_texts(args.n, words=args.words, seed=0)
    print(f"{len(texts)} texts of {args.words} words; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; mean of {args.repeats} interleaved passes after a "
          f"warm-up; {load_average()}")
    bare = SentenceTransformer(resolve_model("bundled:all-MiniLM-L6-v2"), device="cpu",
                               local_files_only=True)
    ours = SentenceTransformerEncoder()
    ours_fp32 = SentenceTransformerEncoder(precision="fp32")
    if 1 in sections:
        throughput(bare, ours, ours_fp32, texts, args.repeats)
    if 2 in sections:
        precision_table(bare, ours, ours_fp32, texts, args)
    if 3 in sections:
        cache_table(ours, texts, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
