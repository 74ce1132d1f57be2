"""The Climate City Contract extract (kg/datasets/ccc, scripts/build_ccc_extract.py): the same
contract tags as the full contracts, shipped current, loaded by the default build, and bad files
refused. Real model, real store, real contracts (../shared/data/ccc)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kg import build, catalog
from kg.build import bundled_ccc, bundled_dataset
from kg.namespaces import PL
from recommender.contract_extract import FLOOR, concepts_sha256, extract_cities, model_name, stored_vectors
from recommender.embeddings import DEFAULT_MODEL, CachedEncoder, SentenceTransformerEncoder
from recommender.narratives import (
    ccc_passages,
    contract_texts,
    extract_vectors,
    ingest_ccc,
    tag_graph,
    tag_store,
)
from recommender.profiles import contract_vectors
from recommender.tagging import ConceptTagger
from tests.conftest import MINI, ROOT, SHARED

CCC = SHARED / "ccc"
# two real contracts of the dataset's cities: Klagenfurt (pilot C2-03, with Gozo and Vilnius) and
# Reykjavik (pilot C3-11 and twin T1-reykjavik)
FILES = ("klagenfurt.md", "reykjavik.md")
needs_ccc = pytest.mark.skipif(not all((CCC / f).exists() for f in FILES), reason="../shared/data/ccc not present")


def _script():
    spec = importlib.util.spec_from_file_location("build_ccc_extract", ROOT / "scripts" / "build_ccc_extract.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _contract_tags(store, encoder) -> set[tuple[str, str, float, str]]:
    """(subject, concept, score to 4 decimals, evidence passage IRI: city and position) of every
    contract link, tagged through the unchanged path (``tag_graph``)."""
    g, _ = tag_graph(store, ConceptTagger.from_catalog(catalog(store), encoder, threshold=0.35))
    out = set()
    for s, _, link in g.triples((None, PL.hasConceptLink, None)):
        if "/tag/contract/" in str(link):
            for ev in g.objects(link, PL.evidence):
                out.add((str(s), str(g.value(link, PL.concept)), round(float(g.value(link, PL.score)), 4), str(ev)))
    return out


@pytest.fixture(scope="module")
def cached_fp32(encoder_fp32, tmp_path_factory):
    """The fp32 encoder the script uses, cached so the full and the extract runs encode a passage once."""
    return CachedEncoder(encoder_fp32, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def full_tags(cached_fp32):
    store = build([bundled_dataset()], ccc_extract=False)
    ingest_ccc(store, [CCC / f for f in FILES], say=lambda s: None)
    return store, _contract_tags(store, cached_fp32)


def _extract_store(tmp_path, encoder, floor):
    script = _script()
    files, manifest = script.make_extract([CCC / f for f in FILES], encoder, floor=floor, say=lambda s: None)
    script.write_folder(tmp_path / "ccc", files)
    return build([bundled_dataset()], ccc_extract=tmp_path / "ccc"), manifest


@needs_ccc
def test_the_extract_gives_exactly_the_tags_of_the_full_contracts(tmp_path, cached_fp32, full_tags):
    full_store, full = full_tags
    subjects = {s.rsplit("/", 1)[-1] for s, *_ in full}
    assert {"C2-03", "C3-11", "T1-reykjavik"} <= subjects            # both contracts' twin and pilots
    store, manifest = _extract_store(tmp_path, cached_fp32, FLOOR)
    assert extract_cities(store) == {"klagenfurt", "reykjavik"}
    assert manifest["counts"]["kept"] < manifest["counts"]["tagged_passages"] / 2
    assert _contract_tags(store, cached_fp32) == full                # concept, score, evidence position
    # the stored contract vector is the one the full contract gives the profile
    full_vec = contract_vectors(cached_fp32, contract_texts(full_store))
    stored, models, floor = stored_vectors(store)
    assert floor == FLOOR and set(models.values()) == {cached_fp32.model_id}
    for city in ("klagenfurt", "reykjavik"):
        assert float(np.dot(stored[city], full_vec[city])) > 0.99999
    # the control: a floor above the tag threshold drops the best passage of a tag scoring below
    # it, and the tags differ (so this test fails when an extract drops an argmax passage)
    assert any(score < 0.5 for _, _, score, _ in full)
    broken, _ = _extract_store(tmp_path / "broken", cached_fp32, 0.5)
    assert _contract_tags(broken, cached_fp32) != full


@needs_ccc
def test_an_extract_vector_of_another_model_is_replaced_and_a_low_threshold_is_noted(tmp_path, cached_fp32):
    store, _ = _extract_store(tmp_path, cached_fp32, FLOOR)
    said = []
    same = extract_vectors(store, cached_fp32, say=said.append)
    assert said == [] and set(same) == {"klagenfurt", "reykjavik"}

    class Other:
        model_id = "another-model@fp32"

        def encode(self, texts):
            return cached_fp32.encode(texts)

    other = extract_vectors(store, Other(), say=said.append)
    assert len(said) == 1 and "all-MiniLM-L6-v2@fp32, not another-model" in said[0]
    mean = contract_vectors(cached_fp32, contract_texts(store, extracts=True))
    assert all(np.allclose(other[c], mean[c]) for c in mean) and set(other) == set(mean)
    assert not np.allclose(other["klagenfurt"], same["klagenfurt"])   # a biased subset's mean differs
    assert contract_texts(store) == {}                                   # extracts never read as contracts
    said.clear()
    tag_store(store, cached_fp32, threshold=0.2, say=said.append)       # below the floor: one line says so
    assert [s for s in said if s.startswith("note:")] == [
        "note: matching.tag_threshold 0.2 is below the contract extracts' floor 0.25: contract tags scoring "
        "below 0.25 may be missing (ingest the full contracts with --ccc)"]
    # a full ingestion replaces the city's extract: all its passages, no flag, no stored vector
    ingest_ccc(store, [CCC / "klagenfurt.md"], say=lambda s: None)
    assert extract_cities(store) == {"reykjavik"} and set(stored_vectors(store)[0]) == {"reykjavik"}
    assert set(contract_texts(store)) == {"klagenfurt"}
    assert len(ccc_passages(store)["klagenfurt"]) == 131


def test_the_shipped_extract_is_current():
    """Editing a concept's label, definition or alternative labels, or changing the default
    model, without regenerating the extract fails here."""
    manifest = json.loads((bundled_ccc() / "manifest.json").read_text(encoding="utf-8"))
    cat = catalog(build([MINI], backend="oxigraph"))
    tagger = ConceptTagger.from_catalog(cat, encoder=None)
    assert manifest["concepts_sha256"] == concepts_sha256(tagger.concepts)
    assert model_name(manifest["model"]) == model_name(SentenceTransformerEncoder(DEFAULT_MODEL).model_id)
    assert manifest["floor"] <= 0.35                                     # the default matching.tag_threshold


def test_the_shipped_extract_conforms_to_the_shapes():
    """Every extract graph with the dataset passes SHACL (a narrative needs a passage: the contract
    read without modules, of which the extract keeps none, has no graph)."""
    from kg.build import ccc_extract_graphs, load_sources
    from kg.validate import violations

    data = load_sources([bundled_dataset()])
    graphs = ccc_extract_graphs(bundled_ccc(), data)
    assert len(graphs) >= 100
    for nt in graphs.values():
        data.parse(data=nt.decode("utf-8"), format="nt")
    assert violations(data) == []


def test_an_unstructured_contract_does_not_dilute_an_activity(tmp_path, encoder):
    """P2 is run by Southby and Eastwick. Southby's contract is Westford's; Eastwick's has no
    modules (Northam's text): tagging reads none of it, so it has no vote and P2 keeps the scores
    Westford's contract gives T1-westford (before: Eastwick voted 0 and halved them)."""
    d = tmp_path / "ccc"
    d.mkdir()
    fixtures = ROOT / "tests" / "fixtures" / "ccc"
    shutil.copy(fixtures / "westford.md", d / "westford.md")
    shutil.copy(fixtures / "westford.md", d / "southby.md")
    shutil.copy(fixtures / "northam.md", d / "eastwick.md")
    store = build([MINI], backend="oxigraph")
    ingest_ccc(store, sorted(d.iterdir()), say=lambda s: None)
    got: dict[str, dict[str, float]] = {}
    for s, concept, score, _ in _contract_tags(store, encoder):
        got.setdefault(s.rsplit("/", 1)[-1], {})[concept] = score
    assert got["T1-westford"] and got["P2"] == got["T1-westford"]


@pytest.mark.parametrize("name, edit, where", [
    ("passages.csv", lambda t: t.replace("\n", "\nklagenfurt,klagenfurt.md,B-2,seven,,text\n", 1),
     "passages.csv, row 2, field position: not an integer: 'seven'"),
    ("passages.csv", lambda t: t + "klagenfurt,klagenfurt.md,B-2\n", "passages.csv, row"),
    ("emissions.csv", lambda t: t + "klagenfurt,0,Energy,energy,lots,2019\n", "emissions.csv, row"),
])
def test_a_bad_extract_file_is_one_line_and_exit_2_and_nothing_is_written(tmp_path, name, edit, where):
    """``peerlearn build`` of the bundled dataset with a broken extract (the CLI with only the
    extract's folder swapped): exit 2, one line naming the file and row, the store as it was."""
    broken = tmp_path / "ccc"
    shutil.copytree(bundled_ccc(), broken)
    path = broken / name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    store = tmp_path / "store"
    run = ("import importlib, pathlib, sys; b = importlib.import_module('kg.build'); "
           "b.bundled_ccc = lambda: pathlib.Path(sys.argv[1]); "
           "from recommender.cli import main; sys.exit(main(sys.argv[2:]))")
    cmd = [sys.executable, "-c", run]
    good = subprocess.run([*cmd, str(bundled_ccc()), "--set", f'store.path="{store}"', "build"],
                          capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0, good.stderr
    before = sorted(p.name for p in store.iterdir()), sorted(p.name for p in tmp_path.iterdir())
    bad = subprocess.run([*cmd, str(broken), "--set", f'store.path="{store}"', "build"],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and where in bad.stderr and "Traceback" not in bad.stderr
    assert str(broken) in bad.stderr
    assert (sorted(p.name for p in store.iterdir()), sorted(p.name for p in tmp_path.iterdir())) == before
    from kg.store import open_store

    s = open_store("oxigraph", path=store, read_only=True)
    try:
        kept = json.loads((bundled_ccc() / "manifest.json").read_text())["contracts"]
        assert extract_cities(s) == {c for c, v in kept.items() if v["kept"]}          # the store as built
    finally:
        s.close()


def test_the_default_build_gives_contract_links_to_every_twin_and_activity_of_a_city_with_a_contract(
        request, encoder):
    """Issue 13's "Done when": ``peerlearn build`` of the bundled dataset (its extract, no
    ../shared/data needed) and ``tag`` give contract-derived links (``/tag/contract/``) to every
    pilot activity with a city in the extract and every twin whose city is in it; their profile
    vectors take the extract's stored contract vectors. The embedding cache lives in pytest's
    cache folder (cold: a few minutes; it can change no result, vectors are keyed by model)."""
    store = build([bundled_dataset()], backend="oxigraph")
    cat = catalog(store)
    cities = extract_cities(store)
    assert len(cities) >= 100
    cached = CachedEncoder(encoder, request.config.cache.mkdir("peerlearn-embeddings"))
    said = []
    tag_store(store, cached, threshold=0.35, say=said.append)
    linked = {str(r["s"]) for r in store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
        SELECT DISTINCT ?s WHERE { ?s pl:hasConceptLink ?l . FILTER(CONTAINS(STR(?l), "/tag/contract/")) }""").records()}
    pilots = [p for p in cat.pilots.values() if set(p.cities) & cities]
    twins = [t for t in cat.twins.values() if t.city in cities]
    assert len(pilots) >= 45 and len(twins) >= 4                      # 48 and 4 with the shipped extract
    assert [p.id for p in pilots if p.iri not in linked] == []
    assert [t.id for t in twins if t.iri not in linked] == []
    assert not any(s.startswith("note:") for s in said)              # 0.35 is above the extract's floor
    vectors = extract_vectors(store, cached, say=said.append)
    assert not any("mean of their extract passages" in s for s in said)
    assert set(vectors) == set(stored_vectors(store)[0])            # the stored ones, none recomputed
    assert len(vectors) >= len(cities) - 1                          # all but the contract without modules


@needs_ccc
def test_a_city_is_searched_by_its_profile_contract_vector(tmp_path, cached_fp32, full_tags):
    """`peerlearn index` gives a city the contract vector its profile uses: for an extract the
    vector it carries (before: the mean of the kept passages, a biased subset), for a whole
    contract the mean of its profile sections' passages (before: of all its modules)."""
    from recommender.index import NarrativeIndex
    from recommender.search import build_indexes

    full_store, _ = full_tags
    store, _ = _extract_store(tmp_path, cached_fp32, FLOOR)
    carried = stored_vectors(store)[0]
    profile = contract_vectors(cached_fp32, contract_texts(full_store))
    for st, want, bar in ((store, carried, 0.99999), (full_store, profile, 0.999)):
        build_indexes(st, cached_fp32, tmp_path / "index", say=lambda s: None)
        cities = NarrativeIndex.load(tmp_path / "index" / "city")
        for city in ("klagenfurt", "reykjavik"):
            hit, score = cities.search(np.asarray([want[city]], dtype=np.float32), 1)[0][0]
            assert hit == city and score > bar, (city, score)
