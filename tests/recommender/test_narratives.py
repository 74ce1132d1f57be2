"""Concept tagging, Climate City Contracts in the knowledge graph, and semantic search, with
the real bundled model on own-written fixtures."""

from __future__ import annotations

import pytest

from kg import build, catalog
from kg.errors import InputError, StaleIndexError
from kg.namespaces import BAR, DOM
from recommender.narratives import ingest_ccc, tag_store
from recommender.search import build_indexes, search
from recommender.tagging import ConceptTagger, keyword_tags, prf, sentences
from tests.conftest import MINI, ROOT

BATCH = ROOT / "tests" / "fixtures" / "ccc"  # westford (a contract), northam (no modules), eastwick (binary)
WESTFORD_CCC = BATCH / "westford.md"


@pytest.fixture
def store(tmp_path):
    return build([MINI], backend="oxigraph", path=tmp_path / "store")


@pytest.fixture(scope="module")
def tagger(encoder, mini_catalog):
    return ConceptTagger.from_catalog(mini_catalog, encoder, threshold=0.3)


class TestTagger:
    def test_heat_pump_text_is_tagged_energy_or_buildings_with_its_passage(self, tagger):
        passages = ["We replace oil boilers in old homes with heat pumps and insulate the walls.",
                    "The council meets on Tuesdays."]
        found = tagger.tag(passages)
        tags = {t.concept: t for t in found}
        assert [t.concept for t in found if t.scheme == "domain"][0] == str(DOM.buildings)
        assert tags[str(DOM.buildings)].passage == passages[0]
        assert 0.3 <= tags[str(DOM.buildings)].score <= 1.0

    def test_barrier_text(self, tagger):
        tags = {t.concept for t in tagger.tag(["Households cannot pay the high upfront cost of renovation "
                                               "and banks will not lend to them."])}
        assert str(BAR.financial) in tags

    def test_threshold_one_tags_nothing(self, mini_catalog, encoder):
        strict = ConceptTagger.from_catalog(mini_catalog, encoder, threshold=1.01)
        assert strict.tag(["district heating and solar panels"]) == []

    def test_keyword_baseline(self, mini_catalog):
        tags = {t.concept for t in keyword_tags(mini_catalog.concepts.values(), "We expand district heating.")}
        assert str(DOM.energy) in tags

    def test_prf_hand_computed(self):
        r = prf([{"a", "b"}, {"c"}], [{"a"}, {"c", "d"}], "x")
        assert (r.precision, r.recall) == (2 / 3, 2 / 3)

    def test_sentences(self):
        assert sentences("One two three four. Five six seven eight!") == ["One two three four.", "Five six seven eight!"]


class TestCcc:
    def test_ingest_matches_city_and_writes_passages_and_emissions(self, store):
        assert ingest_ccc(store, [WESTFORD_CCC], say=lambda s: None).ingested == ("westford.md",)
        res = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
            SELECT ?section (COUNT(?p) AS ?n) WHERE { ?nar pl:passage ?p . ?p pl:section ?section }
            GROUP BY ?section ORDER BY ?section""")
        sections = {str(r["section"]) for r in res.records()}
        assert {"A-1", "A-3", "B-2", "C-1"} <= sections
        tonnes = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
            SELECT ?t WHERE { ?c pl:emissions ?e . ?e pl:tonnesCO2e ?t }""")
        assert sorted(float(r[0]) for r in tonnes.rows) == [10000.0, 80000.0, 120000.0]

    def test_reingest_replaces_not_duplicates(self, store):
        ingest_ccc(store, [WESTFORD_CCC], say=lambda s: None)
        n1 = len(store)
        ingest_ccc(store, [WESTFORD_CCC], say=lambda s: None)
        assert len(store) == n1

    def test_strict_unmatched_file_is_an_error_and_nothing_is_written(self, store, tmp_path):
        other = tmp_path / "atlantis.md"
        other.write_text(WESTFORD_CCC.read_text(encoding="utf-8"), encoding="utf-8")
        n = len(store)
        with pytest.raises(InputError, match="atlantis.md: matches no city"):
            ingest_ccc(store, [WESTFORD_CCC, other], strict=True, say=lambda s: None)
        assert len(store) == n

    def test_skip_unmatched_reports(self, store, tmp_path):
        other = tmp_path / "atlantis.md"
        other.write_text(WESTFORD_CCC.read_text(encoding="utf-8"), encoding="utf-8")
        said = []
        batch = ingest_ccc(store, [WESTFORD_CCC, other], strict=True, skip_unmatched=True, say=said.append)
        assert batch.ingested == ("westford.md",)
        assert any("atlantis.md" in s for s in said)

    def test_strict_empty_file_is_a_clear_error(self, store, tmp_path):
        empty = tmp_path / "westford.md"
        empty.write_text("", encoding="utf-8")
        with pytest.raises(InputError, match="westford.md"):
            ingest_ccc(store, [empty], strict=True, say=lambda s: None)

    def test_batch_ingests_the_good_flags_the_unstructured_skips_the_bad(self, store):
        said: list[str] = []
        batch = ingest_ccc(store, sorted(BATCH.glob("*.md")), say=said.append)
        assert batch.ingested == ("northam.md", "westford.md")
        assert batch.unstructured == ("northam.md",)
        assert [(k.path.name, k.reason) for k in batch.skipped] == [
            ("eastwick.md", "binary file (contains NUL bytes), expected Markdown text")]
        assert batch.summary().startswith("Climate City Contracts: 2 ingested, 1 unstructured")
        assert said[0].startswith("skipped ") and "eastwick.md: binary file" in said[0]
        flags = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
            SELECT ?city ?structured WHERE { ?c pl:narrative ?n ; <https://schema.org/name> ?city .
                                             ?n pl:structured ?structured } ORDER BY ?city""")
        assert [(str(r["city"]), r["structured"].toPython()) for r in flags.records()] == [
            ("Northam", False), ("Westford", True)]
        northam = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
            SELECT (COUNT(?p) AS ?n) WHERE { <https://w3id.org/peerlearn/data/ccc/northam> pl:passage ?p .
                                             ?p pl:section "intro" }""")
        assert int(northam.rows[0][0]) == 4

    def test_strict_batch_writes_nothing(self, store):
        n = len(store)
        with pytest.raises(InputError, match=r"eastwick\.md: binary file") as e:
            ingest_ccc(store, sorted(BATCH.glob("*.md")), strict=True, say=lambda s: None)
        assert "\n" not in str(e.value)
        assert len(store) == n


class TestTagsInTheGraph:
    def test_tags_are_inferred_links_with_evidence_used_by_matching(self, store, encoder):
        ingest_ccc(store, [WESTFORD_CCC], say=lambda s: None)
        n = tag_store(store, encoder, threshold=0.35, say=lambda s: None)
        assert n > 0
        cat = catalog(store)
        westford = cat.twins["T1-westford"]
        tagged = [link for link in westford.barriers + westford.domains + westford.levers if link.status == "tagged"]
        stated = [link for link in westford.barriers if link.status == "stated"]
        assert stated and all(link.status == "stated" for link in stated)   # stated links stay stated
        assert tagged and all(link.evidence for link in tagged)
        passage = store.query("""PREFIX pl: <https://w3id.org/peerlearn/ontology#>
            SELECT ?text WHERE { ?l pl:status pl:Tagged ; pl:evidence ?p . ?p pl:text ?text } LIMIT 1""")
        assert len(passage) == 1


class TestSearch:
    def test_search_finds_the_right_pilot_and_passage(self, store, encoder, tmp_path):
        ingest_ccc(store, [WESTFORD_CCC], say=lambda s: None)
        counts = build_indexes(store, encoder, tmp_path / "index")
        assert counts["pilot"] == 3 and counts["city"] == 1 and counts["passage"] > 3
        hits = search(store, encoder, tmp_path / "index", "rooftop solar owned by neighbours",
                      kinds=("pilot",), k=2)
        assert hits[0].id == "P2"
        passages = search(store, encoder, tmp_path / "index", "waiting lists because too few local contractors",
                          kinds=("passage",), k=1)
        assert "contractors" in passages[0].text and passages[0].source.endswith("section A-3")

    def test_stale_index_is_refused(self, store, encoder, tmp_path):
        build_indexes(store, encoder, tmp_path / "index")
        ingest_ccc(store, [WESTFORD_CCC], say=lambda s: None)
        with pytest.raises(StaleIndexError, match="peerlearn index"):
            search(store, encoder, tmp_path / "index", "solar", kinds=("passage",))

    def test_index_from_another_model_is_refused(self, store, encoder_fp32, tmp_path):
        from recommender.embeddings import SentenceTransformerEncoder

        build_indexes(store, encoder_fp32, tmp_path / "index")
        with pytest.raises(StaleIndexError):   # the same weights at another precision: other vectors
            search(store, SentenceTransformerEncoder(precision="bf16"), tmp_path / "index", "solar",
                   kinds=("pilot",))
