"""Tests for recommender.index, on real embeddings of a tiny corpus (see conftest.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kg.errors import InputError, StaleIndexError
from recommender.index import FORMAT_VERSION, NarrativeIndex, NotFittedError, fingerprint

TOY_IDS = ["north", "east", "north-east"]
TOY = np.array([[0, 1], [1, 0], [1, 1]], dtype=np.float32)  # normalised by fit


@pytest.fixture(scope="module")
def ids(corpus):
    return [i for i, _ in corpus]


@pytest.fixture(scope="module")
def queries(encoder):
    """Real queries, not in the corpus."""
    return encoder.encode([
        "Which city is expanding district heating?", "cycling infrastructure and bike paths",
        "planting trees in streets", "solar power on schools", "composting food waste",
        "financing climate projects with bonds", "citizens deciding on climate policy",
        "electric buses in public transport", "wetland restoration", "reducing car traffic near schools",
    ])


class TestFingerprint:
    def test_stable_value(self):
        # a literal: the same on every machine and every run
        assert fingerprint([("a", "x"), ("b", "y")]) == (
            "5106360e34c84437f30330a489b81e57de64583a46a53b88c3782d8e8191aa2d")

    def test_order_independent(self, corpus):
        assert fingerprint(corpus) == fingerprint(reversed(corpus))

    @pytest.mark.parametrize("change", [("a", "x!"), ("A", "x"), ("b", "x")])
    def test_any_change_changes_it(self, change):
        assert fingerprint([("a", "x")]) != fingerprint([change])

    def test_no_ambiguity_between_id_and_text(self):
        assert fingerprint([("ab", "c")]) != fingerprint([("a", "bc")])


class TestFit:
    def test_learned_attributes(self):
        index = NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy", fingerprint="fp")
        assert index.ids_ == TOY_IDS and index.dim_ == 2 and index.model_id_ == "toy"
        assert index.fingerprint_ == "fp" and index.kind_ == "exact" and index.index_.ntotal == 3
        assert len(index) == 3

    def test_constructor_only_stores_parameters(self):
        index = NarrativeIndex("hnsw", hnsw_m=8)
        assert (index.kind, index.hnsw_m) == ("hnsw", 8) and not hasattr(index, "index_")

    @pytest.mark.parametrize(("n", "kind"), [(9, "exact"), (10, "hnsw"), (11, "hnsw")])
    def test_auto_picks_exact_below_the_threshold(self, n, kind):
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((n, 8)).astype(np.float32)
        index = NarrativeIndex(exact_threshold=10).fit([str(i) for i in range(n)], vectors, model_id="m")
        assert index.kind_ == kind

    def test_vectors_are_normalised(self):
        index = NarrativeIndex().fit(TOY_IDS, TOY * 7, model_id="toy")
        (hits,) = index.search(np.array([[0, 2]], np.float32), k=3)
        assert hits[0] == ("north", pytest.approx(1.0))
        assert hits[1] == ("north-east", pytest.approx(2 ** -0.5))
        assert hits[2] == ("east", pytest.approx(0.0, abs=1e-6))

    def test_duplicate_ids(self):
        with pytest.raises(InputError, match="duplicate ids.*north"):
            NarrativeIndex().fit(["north", "east", "north"], TOY, model_id="toy")

    @pytest.mark.parametrize(("ids", "vectors"), [
        (["a", "b"], TOY),                                   # lengths differ
        (TOY_IDS, np.zeros((3, 2, 1), np.float32)),          # not 2-D
        (TOY_IDS, np.array([[0, 1], [1, np.nan], [1, 1]])),  # NaN
    ])
    def test_bad_input(self, ids, vectors):
        with pytest.raises(ValueError):
            NarrativeIndex().fit(ids, vectors, model_id="toy")

    def test_bad_kind(self):
        with pytest.raises(ValueError, match="kind"):
            NarrativeIndex("ivf").fit(TOY_IDS, TOY, model_id="toy")

    def test_empty(self):
        index = NarrativeIndex().fit([], np.zeros((0, 4), np.float32), model_id="m")
        assert index.search(np.ones((2, 4), np.float32), k=3) == [[], []]


class TestSearch:
    def test_before_fit_is_a_clear_error(self):
        with pytest.raises(NotFittedError, match="not fitted"):
            NarrativeIndex().search(TOY, k=1)

    def test_best_first_python_floats_k_capped(self):
        index = NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy")
        (hits,) = index.search(np.array([1, 0.1], np.float32), k=10)
        assert [i for i, _ in hits] == ["east", "north-east", "north"]
        assert all(type(score) is float for _, score in hits)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)

    def test_wrong_dimension(self):
        index = NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy")
        with pytest.raises(ValueError, match="dimension 3"):
            index.search(np.ones((1, 3), np.float32), k=1)

    @pytest.mark.parametrize("k", [0, -1])
    def test_bad_k(self, k):
        with pytest.raises(ValueError, match="k must be"):
            NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy").search(TOY, k=k)

    def test_each_narrative_finds_itself(self, ids, corpus_vectors):
        index = NarrativeIndex().fit(ids, corpus_vectors, model_id="m")
        results = index.search(corpus_vectors[:20], k=1)
        assert [r[0][0] for r in results] == ids[:20]
        assert all(r[0][1] == pytest.approx(1.0, abs=1e-5) for r in results)

    def test_a_query_finds_its_topic(self, ids, corpus_vectors, encoder):
        index = NarrativeIndex().fit(ids, corpus_vectors, model_id="m")
        (hits,) = index.search(encoder.encode(["Umea district heating network"]), k=1)
        assert hits[0][0] == "umea-0"  # "Umea expands its district heating network."

    def test_hnsw_agrees_with_exact_at_top_1(self, ids, corpus_vectors, queries):
        exact = NarrativeIndex("exact").fit(ids, corpus_vectors, model_id="m")
        hnsw = NarrativeIndex("hnsw", hnsw_m=16, ef_search=32).fit(ids, corpus_vectors, model_id="m")
        assert hnsw.kind_ == "hnsw"
        probes = np.vstack([queries, corpus_vectors[::10] + 0.05 * corpus_vectors[1::10]])
        top_exact = [r[0][0] for r in exact.search(probes, k=1)]
        top_hnsw = [r[0][0] for r in hnsw.search(probes, k=1)]
        agree = np.mean([a == b for a, b in zip(top_exact, top_hnsw)])
        assert agree >= 0.9

    def test_hnsw_returns_k_results_even_above_ef_search(self, ids, corpus_vectors, queries):
        hnsw = NarrativeIndex("hnsw", ef_search=8).fit(ids, corpus_vectors, model_id="m")
        assert all(len(r) == 50 for r in hnsw.search(queries, k=50))


class TestSaveLoad:
    @pytest.mark.parametrize("kind", ["exact", "hnsw"])
    def test_round_trip_gives_identical_results(self, kind, ids, corpus_vectors, queries, tmp_path):
        index = NarrativeIndex(kind).fit(ids, corpus_vectors, model_id="m@bf16", fingerprint="fp1")
        index.save(tmp_path / "idx")
        loaded = NarrativeIndex.load(tmp_path / "idx", model_id="m@bf16", fingerprint="fp1")
        assert loaded.search(queries, k=10) == index.search(queries, k=10)
        assert (loaded.ids_, loaded.dim_, loaded.kind_, loaded.model_id_, loaded.fingerprint_) == (
            ids, 384, kind, "m@bf16", "fp1")

    def test_manifest(self, tmp_path):
        NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy", fingerprint="fp").save(tmp_path)
        manifest = json.loads((tmp_path / "manifest.json").read_text())
        assert {k: manifest[k] for k in ("model_id", "dim", "count", "kind", "fingerprint", "ids",
                                          "format_version")} == {
            "model_id": "toy", "dim": 2, "count": 3, "kind": "exact", "fingerprint": "fp",
            "ids": TOY_IDS, "format_version": FORMAT_VERSION}
        assert manifest["created"].endswith("+00:00")
        assert (tmp_path / manifest["index_file"]).is_file()

    def test_saving_again_replaces_and_leaves_no_litter(self, tmp_path):
        NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy").save(tmp_path)
        NarrativeIndex().fit(TOY_IDS[:2], TOY[:2], model_id="toy").save(tmp_path)
        assert sorted(p.suffix for p in tmp_path.iterdir()) == [".faiss", ".json"]
        assert NarrativeIndex.load(tmp_path).ids_ == TOY_IDS[:2]

    def test_other_model_is_stale(self, tmp_path):
        NarrativeIndex().fit(TOY_IDS, TOY, model_id="all-MiniLM-L6-v2@fp32").save(tmp_path)
        with pytest.raises(StaleIndexError) as info:
            NarrativeIndex.load(tmp_path, model_id="all-MiniLM-L6-v2@bf16")
        message = str(info.value)
        assert "@fp32" in message and "@bf16" in message and "peerlearn index --rebuild" in message
        assert "\n" not in message

    def test_other_inputs_are_stale(self, tmp_path):
        NarrativeIndex().fit(TOY_IDS, TOY, model_id="m", fingerprint=fingerprint([("a", "x")])).save(tmp_path)
        with pytest.raises(StaleIndexError, match=r"other inputs.*peerlearn index --rebuild"):
            NarrativeIndex.load(tmp_path, model_id="m", fingerprint=fingerprint([("a", "y")]))
        assert NarrativeIndex.load(tmp_path, model_id="m", fingerprint=fingerprint([("a", "x")]))

    def test_missing_is_an_input_error_naming_the_path(self, tmp_path):
        with pytest.raises(InputError) as info:
            NarrativeIndex.load(tmp_path / "nowhere")
        assert str(tmp_path / "nowhere") in str(info.value)

    @pytest.mark.parametrize("damage", ["manifest-garbage", "manifest-truncated", "index-flipped",
                                        "index-missing", "newer-format"])
    def test_corrupt_is_an_input_error_naming_the_path(self, damage, tmp_path):
        NarrativeIndex().fit(TOY_IDS, TOY, model_id="toy").save(tmp_path)
        manifest_path = tmp_path / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        index_path = tmp_path / manifest["index_file"]
        expected: type[Exception] = InputError
        if damage == "manifest-garbage":
            manifest_path.write_text("not json")
        elif damage == "manifest-truncated":
            manifest_path.write_text(manifest_path.read_text()[:40])
        elif damage == "index-flipped":
            data = bytearray(index_path.read_bytes())
            data[-1] ^= 0xFF
            index_path.write_bytes(bytes(data))
        elif damage == "index-missing":
            index_path.unlink()
        else:
            manifest_path.write_text(json.dumps({**manifest, "format_version": FORMAT_VERSION + 1}))
            expected = StaleIndexError
        with pytest.raises(expected) as info:
            NarrativeIndex.load(tmp_path)
        assert str(tmp_path) in str(info.value)

    def test_a_failed_save_leaves_the_old_index(self, ids, corpus_vectors, queries, tmp_path, monkeypatch):
        import faiss

        old = NarrativeIndex().fit(ids, corpus_vectors, model_id="m", fingerprint="old")
        old.save(tmp_path)
        before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
        new = NarrativeIndex().fit(ids[:5], corpus_vectors[:5], model_id="m", fingerprint="new")

        real_write = faiss.write_index

        def write_half_then_fail(index, path):
            real_write(index, path)
            with open(path, "r+b") as fh:
                fh.truncate(100)
            raise OSError("disk full")

        monkeypatch.setattr(faiss, "write_index", write_half_then_fail)
        with pytest.raises(OSError, match="disk full"):
            new.save(tmp_path)
        assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before
        loaded = NarrativeIndex.load(tmp_path, fingerprint="old")
        assert loaded.search(queries, k=5) == old.search(queries, k=5)

    def test_save_before_fit(self, tmp_path):
        with pytest.raises(NotFittedError):
            NarrativeIndex().save(tmp_path)
