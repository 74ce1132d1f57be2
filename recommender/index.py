"""NarrativeIndex: nearest-neighbour search over narrative vectors with FAISS.

Follows scikit-learn's conventions: the constructor only stores parameters, ``fit`` learns the
state (attributes with a trailing underscore), ``save`` / ``load`` persist it. Vectors are
compared by inner product on unit-length rows, i.e. by cosine similarity.

>>> import numpy as np
>>> index = NarrativeIndex().fit(["a", "b"], np.array([[1, 0], [0, 1]], "float32"), model_id="toy")
>>> index.search(np.array([[3, 4]], "float32"), k=5)   # k is capped at the size
[[('b', 0.800000011920929), ('a', 0.6000000238418579)]]

**Defaults, chosen by measurement** with ``benchmarks/bench_index.py`` (2-core Xeon, faiss-cpu
1.15, dim 384, 200 held-out queries, k=10, recall@10 against exact search; one niced job of
another user ran alongside, load average ~2). "real" = embeddings by the default encoder of
10,000 generated climate-policy narratives; "real+noise" = 20k-100k rows made by copying those
with Gaussian noise (sigma 0.02 per dimension, cosine ~0.93 to the original); "random" =
structureless Gaussian vectors, the worst case for graph indexes. efConstruction 64 throughout;
"ms/q one" is one query per call, "ms/q batch" is per query when 200 are searched in one call:

==========  ====  ========================  =======  ========  ==========  =========
vectors     n     index                     build s  ms/q one  ms/q batch  recall@10
==========  ====  ========================  =======  ========  ==========  =========
real        10k   exact (IndexFlatIP)       0.05     1.2       0.37        1.000
real        10k   HNSW M=32 efS=128         0.72     0.36      0.11        1.000
real+noise  20k   exact                     0.06     2.1       0.85        1.000
real+noise  20k   HNSW M=32 efS=128         1.5      0.30      0.12        1.000
real+noise  50k   exact                     0.12     6.9       2.7         1.000
real+noise  50k   HNSW M=32 efS=64          4.4      0.32      0.10        0.997
real+noise  50k   HNSW M=32 efS=128         4.4      0.46      0.17        0.999
real+noise  100k  exact                     0.30     19        9.2         1.000
real+noise  100k  HNSW M=16 efS=64          10       0.30      0.09        0.980
real+noise  100k  HNSW M=32 efS=64          9.7      0.28      0.11        0.986
real+noise  100k  HNSW M=32 efS=128         9.7      0.50      0.20        0.998
real+noise  100k  IVF nlist=1264 nprobe=32  26       0.56      0.21        0.981
random      100k  exact                     0.29     15        6.6         1.000
random      100k  HNSW M=32 efS=128         36       1.7       0.55        0.272
==========  ====  ========================  =======  ========  ==========  =========

* ``exact_threshold = 50_000``: below it exact search costs under ~3 ms per query in a batch and
  ~7 ms one at a time, needs no build and is exact; HNSW would add seconds of build to every
  rebuild (4.4 s at 50k) and lose a little recall. Above it exact grows past 9-19 ms per query
  (a little faster than linearly, as the vectors outgrow the caches) while HNSW stays at
  0.1-0.5 ms with recall >= 0.99. peerlearn's own corpora (profiles, pilots, Climate City
  Contract passages) sit below it.
* ``hnsw_m = 32``: recall 0.986 vs 0.980 for M=16 at 100k, same build time and query time.
* ``ef_search = 128``: recall 0.998 vs 0.986 at efSearch 64 (100k) for +0.1-0.2 ms per query,
  still ~40x faster than exact.
* ``ef_construction = 64``: in a heavier-loaded run at 100k, 128 gained <= 0.007 recall for
  2-3x the build time and 40 (faiss's default) lost up to 0.003.
* IVF-Flat lost to HNSW on recall, build time and query time at 100k; it is not offered.
* Structureless random vectors are far harder (HNSW recall 0.08-0.8 at these settings): the
  numbers hold for text embeddings, which have a low intrinsic dimension, not arbitrary data.
* On a machine whose cores are busy with other processes, one-query-at-a-time exact search
  suffers most (9-12 ms at 10k, 35-47 ms at 100k measured at load average 5-12): faiss's OpenMP
  threads wait on each other. Search many queries in one call where possible.

**Saving is atomic.** A saved index is a directory holding ``manifest.json`` (model id,
dimension, count, kind, fingerprint, ids, creation time, format version, and the name and
SHA-256 of the FAISS file) and that FAISS file, ``index-<token>.faiss``. ``save`` writes the new
FAISS file under a fresh name, then the manifest to a temporary file, fsyncs both and
``os.replace``-s the manifest (atomic on POSIX and Windows); only then are the old FAISS files
removed. A crash at any point leaves either the old index or the new one, never a mix. (Swapping
whole directories is not atomic: a non-empty directory cannot be replaced in one rename.) One
writer at a time per directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kg.errors import InputError, StaleIndexError

__all__ = ["FORMAT_VERSION", "KINDS", "NarrativeIndex", "NotFittedError", "fingerprint"]

FORMAT = "peerlearn-narrative-index"
FORMAT_VERSION = 1
KINDS = ("auto", "exact", "hnsw")
MANIFEST = "manifest.json"
REBUILD_HINT = "run `peerlearn index --rebuild`"
#: Below this many vectors "auto" uses exact search (see the module docstring for why).
DEFAULT_EXACT_THRESHOLD = 50_000
#: HNSW candidate list at query time (see the module docstring for the measurements).
DEFAULT_EF_SEARCH = 128


class NotFittedError(ValueError, AttributeError):
    """``search`` or ``save`` called on an index that was neither fitted nor loaded."""


def fingerprint(items: Iterable[tuple[str, str]]) -> str:
    """A stable SHA-256 (hex) of ``(id, text)`` pairs; the order of the pairs does not matter.

    >>> fingerprint([("a", "x"), ("b", "y")]) == fingerprint([("b", "y"), ("a", "x")])
    True
    >>> fingerprint([("a", "x")]) == fingerprint([("a", "x ")])
    False
    """
    lines = sorted(json.dumps([str(i), str(t)], ensure_ascii=False) for i, t in items)
    h = hashlib.sha256(b"peerlearn-fingerprint-v1\n")
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def _as_matrix(vectors: Any, what: str) -> np.ndarray:
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n, dim), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.maximum(norms, np.float32(1e-12), out=norms)
    return np.ascontiguousarray(x / norms, dtype=np.float32)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - directories on some platforms
        pass
    finally:
        os.close(fd)


class NarrativeIndex:
    """Cosine nearest neighbours over narrative vectors.

    ``kind``: ``"exact"`` (``faiss.IndexFlatIP``, exact), ``"hnsw"`` (``faiss.IndexHNSWFlat`` with
    inner product, approximate) or ``"auto"``: exact below ``exact_threshold`` vectors, HNSW from
    there on. ``hnsw_m``: graph degree; ``ef_search``: candidate list length at query time (raised
    to ``k`` when ``k`` is larger); ``ef_construction``: the same at build time.

    Learned by ``fit`` (or ``load``): ``ids_``, ``dim_``, ``model_id_``, ``fingerprint_``,
    ``kind_`` (``"exact"`` or ``"hnsw"``), ``index_`` (the FAISS index).
    """

    def __init__(self, kind: str = "auto", *, hnsw_m: int = 32, ef_search: int = DEFAULT_EF_SEARCH,
                 exact_threshold: int = DEFAULT_EXACT_THRESHOLD, ef_construction: int = 64):
        self.kind = kind
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.exact_threshold = exact_threshold
        self.ef_construction = ef_construction

    def __repr__(self) -> str:
        state = f", {len(self)} vectors of {self.model_id_!r}" if hasattr(self, "index_") else ""
        return f"NarrativeIndex(kind={self.kind!r}{state})"

    def __len__(self) -> int:
        return len(self.ids_) if hasattr(self, "ids_") else 0

    def _check_params(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        for name in ("hnsw_m", "ef_search", "ef_construction"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if not isinstance(self.exact_threshold, int) or self.exact_threshold < 0:
            raise ValueError(f"exact_threshold must be a non-negative integer, not {self.exact_threshold!r}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "index_"):
            raise NotFittedError("this NarrativeIndex is not fitted yet: call fit() or "
                                 "NarrativeIndex.load() before search() or save()")

    # -- learning -----------------------------------------------------------------------------

    def fit(self, ids: Sequence[str], vectors: np.ndarray, *, model_id: str,
            fingerprint: str | None = None) -> NarrativeIndex:
        """Index ``vectors`` (one row per id, normalised here to unit length); returns self."""
        import faiss

        self._check_params()
        ids = list(ids)
        for i in ids:
            if not isinstance(i, str):
                raise TypeError(f"ids must be strings, got {type(i).__name__} {i!r}")
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dupes = sorted({i for i in ids if i in seen or seen.add(i)})
            raise InputError(f"duplicate ids in the index input: {', '.join(dupes[:5])}")
        x = _as_matrix(vectors, "vectors")
        if x.shape[0] != len(ids):
            raise ValueError(f"{len(ids)} ids but {x.shape[0]} vectors")
        if not model_id:
            raise ValueError("model_id is required: it guards against mixing models")
        dim = x.shape[1]

        kind = self.kind
        if kind == "auto":
            kind = "exact" if len(ids) < self.exact_threshold else "hnsw"
        if kind == "exact":
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.ef_construction
            index.hnsw.efSearch = self.ef_search
        if len(ids):
            index.add(x)

        self.ids_ = ids
        self.dim_ = dim
        self.model_id_ = model_id
        self.fingerprint_ = fingerprint
        self.kind_ = kind
        self.index_ = index
        return self

    # -- querying -----------------------------------------------------------------------------

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """For each query row, up to ``k`` ``(id, cosine)`` pairs, best first (k capped at size)."""
        self._check_fitted()
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, not {k!r}")
        q = _as_matrix(vectors, "query vectors")
        if q.shape[1] != self.dim_:
            raise ValueError(f"query vectors have dimension {q.shape[1]}, the index has {self.dim_} "
                             f"(model {self.model_id_})")
        k = min(int(k), len(self.ids_))
        if k == 0 or q.shape[0] == 0:
            return [[] for _ in range(q.shape[0])]
        if self.kind_ == "hnsw":
            self.index_.hnsw.efSearch = max(self.ef_search, k)
        scores, rows = self.index_.search(q, k)
        ids = self.ids_
        return [
            [(ids[j], float(s)) for j, s in zip(row_ids.tolist(), row_scores.tolist()) if j >= 0]
            for row_ids, row_scores in zip(rows, scores)
        ]

    # -- persistence --------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the index to ``directory`` atomically (see the module docstring); returns it."""
        import faiss

        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(6)
        index_name = f"index-{token}.faiss"
        index_tmp = directory / f".tmp-{token}.faiss"
        manifest_tmp = directory / f".tmp-{token}.{MANIFEST}"
        try:
            faiss.write_index(self.index_, str(index_tmp))
            _fsync(index_tmp)
            digest = hashlib.sha256(index_tmp.read_bytes()).hexdigest()
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "model_id": self.model_id_,
                "dim": self.dim_,
                "count": len(self.ids_),
                "kind": self.kind_,
                "fingerprint": self.fingerprint_,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "params": {"hnsw_m": self.hnsw_m, "ef_search": self.ef_search,
                           "ef_construction": self.ef_construction,
                           "exact_threshold": self.exact_threshold},
                "index_file": index_name,
                "index_sha256": digest,
                "ids": self.ids_,
            }
            os.replace(index_tmp, directory / index_name)
            with open(manifest_tmp, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, ensure_ascii=False, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(manifest_tmp, directory / MANIFEST)  # the commit point
            _fsync(directory)
        except BaseException:
            for leftover in (index_tmp, manifest_tmp):
                leftover.unlink(missing_ok=True)
            if not (directory / MANIFEST).is_file() or _manifest_file(directory) != index_name:
                (directory / index_name).unlink(missing_ok=True)
            raise
        for old in directory.glob("index-*.faiss"):
            if old.name != index_name:
                old.unlink(missing_ok=True)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, model_id: str | None = None,
             fingerprint: str | None = None) -> NarrativeIndex:
        """Read an index saved by ``save``.

        Missing or corrupt files are an ``InputError`` naming the path. If ``model_id`` or
        ``fingerprint`` is given and differs from the saved one, ``StaleIndexError``.
        """
        import faiss

        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            what = "no such directory" if not directory.exists() else f"no {MANIFEST}"
            raise InputError(f"no saved index here ({what}); {REBUILD_HINT}", path=str(directory))
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError("not a peerlearn index manifest")
            version = manifest["format_version"]
            saved_model, dim, count = manifest["model_id"], int(manifest["dim"]), int(manifest["count"])
            kind, ids = manifest["kind"], manifest["ids"]
            index_file, digest = manifest["index_file"], manifest["index_sha256"]
            if (not isinstance(ids, list) or len(ids) != count or kind not in ("exact", "hnsw")
                    or "/" in index_file or "\\" in index_file):
                raise ValueError("inconsistent manifest")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"corrupt index manifest ({exc}); {REBUILD_HINT}",
                             path=str(manifest_path)) from exc

        if version != FORMAT_VERSION:
            raise StaleIndexError(f"index at {directory} has format version {version}, this peerlearn "
                                  f"reads {FORMAT_VERSION}; {REBUILD_HINT}")
        if model_id is not None and model_id != saved_model:
            raise StaleIndexError(f"index at {directory} was built with model {saved_model!r}, not "
                                  f"{model_id!r}; {REBUILD_HINT}")
        saved_fp = manifest.get("fingerprint")
        if fingerprint is not None and fingerprint != saved_fp:
            was = f"{saved_fp[:12]}..." if saved_fp else "none"
            raise StaleIndexError(f"index at {directory} was built from other inputs (fingerprint {was}, "
                                  f"now {fingerprint[:12]}...); {REBUILD_HINT}")

        index_path = directory / index_file
        try:
            data = index_path.read_bytes()
        except OSError as exc:
            raise InputError(f"index file missing or unreadable ({exc.strerror}); {REBUILD_HINT}",
                             path=str(index_path)) from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise InputError(f"index file is corrupt (checksum mismatch); {REBUILD_HINT}",
                             path=str(index_path))
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise InputError(f"index file is unreadable ({exc}); {REBUILD_HINT}",
                             path=str(index_path)) from exc
        if index.ntotal != count or index.d != dim:
            raise InputError(f"index file holds {index.ntotal} vectors of dim {index.d}, the manifest "
                             f"says {count} of dim {dim}; {REBUILD_HINT}", path=str(index_path))

        params = manifest.get("params", {})
        self = cls(kind=kind, **{k: v for k, v in params.items()
                                 if k in ("hnsw_m", "ef_search", "exact_threshold", "ef_construction")})
        self.ids_ = [str(i) for i in ids]
        self.dim_ = dim
        self.model_id_ = saved_model
        self.fingerprint_ = saved_fp
        self.kind_ = kind
        self.index_ = index
        if kind == "hnsw":
            index.hnsw.efSearch = self.ef_search
        return self


def _manifest_file(directory: Path) -> str | None:
    try:
        return json.loads((directory / MANIFEST).read_text(encoding="utf-8")).get("index_file")
    except (OSError, ValueError, AttributeError):
        return None
