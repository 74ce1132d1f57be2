"""Store backends on a city knowledge graph of ~1 million triples: rdflib (in memory, the
baseline) against Oxigraph in memory and Oxigraph on disk.

Run: ``.venv/bin/python benchmarks/bench_store.py [--triples 1000000] [--repeat 3]``

The graph is the project's own design: ``scripts/synth.py`` tables (cities, pilot activities
with qualified concept links, twins, narratives) sized so the data holds about ``--triples``
triples, written as N-Triples by a direct writer that mirrors ``kg.ingest.tabular.to_graph``
triple for triple (``--check`` compares the two as sets at a small size), plus the ontology
(for the labels the queries read). Each backend loads the same bytes into the dataset named
graph; then, each best of ``--repeat`` runs:

* **two-hop join**: twins and pilot activities of the same cohort that share a barrier,
  ``COUNT(*)`` (the ``twins-sharing-barrier`` pattern);
* **aggregate**: pilot activities per domain (``GROUP BY`` with ``COUNT(DISTINCT)``);
* **city aggregate**: cities per country over every city (the largest scan).

Queries go through ``kg.store`` (``Store.query``), so results are converted as the project
converts them. Ratios are rdflib time / backend time (> 1: faster than rdflib).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from kg.namespaces import BAR, DATA, DOM, LEV, PL, SOL  # noqa: E402

SCHEMA = "https://schema.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DCT = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
TRIPLES_PER_CITY = 12.8  # measured on synth output (cities, pilots, twins, narratives together)

QUERIES = {
    "two-hop join (COUNT)": """
PREFIX pl: <https://w3id.org/peerlearn/ontology#>
SELECT (COUNT(*) AS ?n) WHERE {
  ?twin a pl:TwinCity ; pl:facesBarrier ?barrier ; pl:cohort ?cohort .
  ?pilot pl:addressesBarrier ?barrier ; pl:cohort ?cohort .
}""",
    "aggregate: pilots per domain": """
PREFIX pl: <https://w3id.org/peerlearn/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?label (COUNT(DISTINCT ?pilot) AS ?pilots) WHERE {
  ?pilot a pl:PilotActivity ; pl:worksInDomain ?domain .
  ?domain skos:prefLabel ?label .
} GROUP BY ?label ORDER BY ?label""",
    "aggregate: cities per country": """
PREFIX pl: <https://w3id.org/peerlearn/ontology#>
PREFIX schema: <https://schema.org/>
SELECT ?country (COUNT(?city) AS ?cities) WHERE {
  ?city a pl:City ; schema:addressCountry ?country .
} GROUP BY ?country ORDER BY DESC(?cities)""",
}


# ----------------------------------------------------------------------------- N-Triples writer

def _esc(text: str) -> str:
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r"))


def _lit(value, datatype: str | None = None, lang: str | None = None) -> str:
    s = f'"{_esc(str(value))}"'
    if lang:
        return f"{s}@{lang}"
    if datatype:
        return f"{s}^^<{XSD}{datatype}>"
    return s


def _double(value: float) -> str:
    # the lexical form rdflib gives a Python float (so --check compares equal)
    from rdflib import XSD as _X
    from rdflib import Literal

    return Literal(float(value), datatype=_X.double).n3()


def tables_to_ntriples(tables: dict[str, list[dict]]) -> bytes:
    """N-Triples of synth tables, the same triples ``to_graph(read_tabular(...))`` makes."""
    out: list[str] = []
    add = out.append

    def iri(x: str) -> str:
        return f"<{x}>"

    def links(s: str, row: dict, specs) -> None:
        for prefix, ns, prop in specs:
            stated = [c for c in str(row.get(f"{prefix}_stated", "")).split(";") if c]
            inferred = [c for c in str(row.get(f"{prefix}_inferred", "")).split(";") if c and c not in stated]
            for status, codes in (("Stated", stated), ("Inferred", inferred)):
                for code in codes:
                    link_one(s, prop, f"{ns}{code}", status)

    def link_one(s: str, prop: str, concept: str, status: str) -> None:
        local = prop.rsplit("#", 1)[-1]
        code = concept.rstrip("/").rsplit("/", 1)[-1]
        link = f"{s}/link/{local}/{code}"
        add(f"<{s}> <{prop}> <{concept}> .")
        add(f"<{s}> <{PL.hasConceptLink}> <{link}> .")
        add(f"<{link}> <{RDF_TYPE}> <{PL.ConceptLink}> .")
        add(f"<{link}> <{PL.concept}> <{concept}> .")
        add(f"<{link}> <{PL.linkProperty}> <{prop}> .")
        add(f"<{link}> <{PL.status}> <{PL[status]}> .")
        add(f"<{link}> <{PL.score}> {_double(1.0)} .")

    cohorts: set[int] = set()
    for r in tables["cities"]:
        c = iri(f"{DATA}city/{r['id']}")
        add(f"{c} <{RDF_TYPE}> <{PL.City}> .")
        if r.get("mission_city") == "true":
            add(f"{c} <{RDF_TYPE}> <{PL.MissionCity}> .")
        add(f"{c} <{DCT}identifier> {_lit(r['id'])} .")
        add(f"{c} <{SCHEMA}name> {_lit(r['name'])} .")
        add(f"{c} <{RDFS_LABEL}> {_lit(r['name'])} .")
        add(f"{c} <{SCHEMA}addressCountry> {_lit(r['country'])} .")
        add(f"{c} <{SCHEMA}population> {_lit(int(r['population']), 'integer')} .")
        add(f"{c} <{SCHEMA}latitude> {_double(r['latitude'])} .")
        add(f"{c} <{SCHEMA}longitude> {_double(r['longitude'])} .")
    for r in tables["pilots"]:
        s = f"{DATA}pilot/{r['id']}"
        p = iri(s)
        cohort = int(r["cohort"])
        cohorts.add(cohort)
        add(f"{p} <{RDF_TYPE}> <{PL.PilotActivity}> .")
        add(f"{p} <{DCT}identifier> {_lit(r['id'])} .")
        add(f"{p} <{DCT}title> {_lit(r['title'])} .")
        add(f"{p} <{RDFS_LABEL}> {_lit(r['acronym'] or r['title'])} .")
        add(f"{p} <{PL.cohort}> <{DATA}cohort/{cohort}> .")
        if r["acronym"]:
            add(f"{p} <{PL.acronym}> {_lit(r['acronym'])} .")
        for cid in [x for x in r["cities"].split(";") if x]:
            add(f"{p} <{PL.runBy}> <{DATA}city/{cid}> .")
        if r["lead_city"]:
            add(f"{p} <{PL.leadCity}> <{DATA}city/{r['lead_city']}> .")
            add(f"{p} <{PL.runBy}> <{DATA}city/{r['lead_city']}> .")
        for n in [x for x in str(r["open_to_cohorts"]).split(";") if x]:
            cohorts.add(int(n))
            add(f"{p} <{PL.opensToCohort}> <{DATA}cohort/{n}> .")
        if r["capacity"] != "":
            add(f"{p} <{PL.capacity}> {_lit(int(r['capacity']), 'integer')} .")
        if r["summary"]:
            add(f"{p} <{DCT}abstract> {_lit(r['summary'], lang='en')} .")
        links(s, r, [("domains", DOM, PL.worksInDomain), ("levers", LEV, PL.usesLever),
                     ("barriers", BAR, PL.addressesBarrier)])
        for code in [x for x in r["solutions"].split(";") if x]:
            link_one(s, PL.implementsSolution, f"{SOL}{code}", "Stated")
    for r in tables["twins"]:
        s = f"{DATA}twin/{r['id']}"
        t = iri(s)
        cohort = int(r["cohort"])
        cohorts.add(cohort)
        add(f"{t} <{RDF_TYPE}> <{PL.TwinCity}> .")
        add(f"{t} <{DCT}identifier> {_lit(r['id'])} .")
        add(f"{t} <{PL.twinCity}> <{DATA}city/{r['city']}> .")
        add(f"{t} <{PL.cohort}> <{DATA}cohort/{cohort}> .")
        if r["interests"]:
            add(f"{t} <{PL.statedInterests}> {_lit(r['interests'], lang='en')} .")
        links(s, r, [("domains", DOM, PL.interestedInDomain), ("levers", LEV, PL.interestedInLever),
                     ("barriers", BAR, PL.facesBarrier)])
        for code in [x for x in r["experience_domains"].split(";") if x]:
            link_one(s, PL.experienceInDomain, f"{DOM}{code}", "Stated")
    for n in sorted(cohorts):
        c = iri(f"{DATA}cohort/{n}")
        add(f"{c} <{RDF_TYPE}> <{PL.Cohort}> .")
        add(f"{c} <{PL.cohortNumber}> {_lit(n, 'integer')} .")
        add(f"{c} <{RDFS_LABEL}> {_lit(f'Cohort {n}', lang='en')} .")
    pilots = {r["id"] for r in tables["pilots"]}
    twins = {r["id"] for r in tables["twins"]}
    counters: dict[str, int] = {}
    for r in tables["narratives"]:
        subj = r["subject"]
        counters[subj] = counters.get(subj, 0) + 1
        kind = "pilot" if subj in pilots else "twin" if subj in twins else "city"
        n = iri(f"{DATA}narrative/{subj}/{counters[subj]}")
        add(f"{n} <{RDF_TYPE}> <{PL.Narrative}> .")
        add(f"{n} <{PL.text}> {_lit(r['text'], lang=r['lang'] or 'en')} .")
        if r["source"]:
            add(f"{n} <{DCT}source> {_lit(r['source'])} .")
        add(f"<{DATA}{kind}/{subj}> <{PL.narrative}> {n} .")
    return ("\n".join(out) + "\n").encode("utf-8")


def city_graph(triples: int, seed: int = 1) -> tuple[bytes, int]:
    """About ``triples`` data triples as N-Triples, and the number of cities used."""
    import synth

    n = max(200, round(triples / TRIPLES_PER_CITY))
    data = tables_to_ntriples(synth.generate(n, seed))
    return data, n


def check(n: int = 300) -> None:
    """The direct writer gives exactly the triples of ``to_graph(read_tabular(...))``."""
    import synth
    from rdflib import Graph

    from kg.ingest.tabular import read_tabular, to_graph
    from kg.ontology import vocabulary_codes

    tables = synth.generate(n, 3)
    with tempfile.TemporaryDirectory() as d:
        synth.write(tables, d)
        ref = to_graph(read_tabular([d], {k: set(v) for k, v in vocabulary_codes().items()}))
    mine = Graph().parse(data=tables_to_ntriples(tables).decode(), format="nt")
    a, b = set(ref), set(mine)
    if a != b:
        raise SystemExit(f"writer differs from to_graph: {len(a - b)} missing, {len(b - a)} extra, "
                         f"e.g. {sorted(a - b)[:2]} / {sorted(b - a)[:2]}")
    print(f"check: the N-Triples writer matches to_graph on {n} cities ({len(a)} triples)")


# ----------------------------------------------------------------------------- benchmark

def bench(triples: int, repeat: int, seed: int) -> list[dict]:
    from kg.build import DATASET_GRAPH, ONTOLOGY_GRAPH
    from kg.ontology import ontology_graph
    from kg.store import OxigraphStore, RdflibStore

    t = time.perf_counter()
    data, n_cities = city_graph(triples, seed)
    n_lines = data.count(b"\n")
    print(f"generated {n_lines:,} triples ({n_cities:,} cities, {len(data) / 1e6:.0f} MB N-Triples) "
          f"in {time.perf_counter() - t:.1f} s")
    onto = ontology_graph()
    tmp = Path(tempfile.mkdtemp(prefix="peerlearn-bench-store-"))
    results = []

    def load_rdflib():
        st = RdflibStore()
        st.replace_graph(ONTOLOGY_GRAPH, onto)
        st._ds.graph(DATASET_GRAPH).parse(data=data, format="nt")  # the fast path: parse in place
        return st

    def load_ox(path):
        def go():
            st = OxigraphStore(path)
            st.replace_graph(ONTOLOGY_GRAPH, onto)
            st.add_ntriples(data, DATASET_GRAPH)
            return st
        return go

    backends = [("rdflib (memory)", load_rdflib), ("Oxigraph (memory)", load_ox(None)),
                ("Oxigraph (disk)", load_ox(tmp / "db"))]
    answers = {}
    for name, loader in backends:
        gc.collect()
        t = time.perf_counter()
        store = loader()
        row = {"backend": name, "load": time.perf_counter() - t, "quads": len(store)}
        print(f"{name}: loaded {row['quads']:,} quads in {row['load']:.2f} s", flush=True)
        for qname, q in QUERIES.items():
            best = float("inf")
            for _ in range(repeat):
                t = time.perf_counter()
                res = store.query(q)
                best = min(best, time.perf_counter() - t)
            rows = sorted(tuple(str(v) for v in r) for r in res.rows)  # ties may come in any order
            if qname in answers and answers[qname] != rows:
                raise SystemExit(f"{name} answers {qname!r} differently from {backends[0][0]}")
            answers[qname] = rows
            row[qname] = best
            print(f"  {qname}: {best:.3f} s ({rows[0] if len(rows) == 1 else f'{len(rows)} rows'})", flush=True)
        store.close()
        del store
        results.append(row)
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def print_table(results: list[dict], triples: int) -> None:
    base = results[0]
    cols = ["load", *QUERIES]
    print(f"\n### Store backends, ~{triples:,} data triples (best of the repeats; ratio = rdflib / backend)\n")
    print("| backend | " + " | ".join(f"{c} s | ratio" for c in cols) + " |")
    print("|---|" + "---:|---:|" * len(cols))
    for r in results:
        cells = []
        for c in cols:
            ratio = base[c] / r[c] if r[c] > 0 else float("inf")
            cells.append(f"{r[c]:.3f} | {ratio:.1f}x")
        print(f"| {r['backend']} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--triples", type=int, default=1_000_000, help="data triples to generate (about)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query (best is reported)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="first verify the writer against to_graph")
    args = ap.parse_args(argv)
    if args.check:
        check()
    print_table(bench(args.triples, args.repeat, args.seed), args.triples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
