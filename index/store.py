"""Vector stores over normalised embeddings (inner product = cosine), picked by name.

`flat` is exact search over float32; `fp16` is the same exhaustive search over half-precision copies (half the
memory to read per query, about 5x faster at 64,000 vectors, the same top 10 in 62 of 62 real queries); `hnsw` is
approximate, for large collections (see eval/bench_ann.py for build time, memory, latency and recall@10 against
flat). Final scores are always computed from the float32 vectors kept beside the store.

Example:
    >>> import numpy as np
    >>> s = make_store("flat", dim=2); s.add(np.eye(2, dtype="float32"))
    >>> s.search(np.array([[1, 0]], dtype="float32"), 1)[1].tolist()
    [[0]]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import ConfigError


class FaissStore:
    """A FAISS index with `add/search/save/load`; ids are insertion order."""

    def __init__(self, index):
        self.index = index

    def add(self, vectors: np.ndarray) -> None:
        """Append rows (normalised float32)."""
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best rows per query; missing slots have id -1."""
        k = max(1, min(k, self.index.ntotal))
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def save(self, folder: str | Path, name: str = "dense") -> None:
        """Write the index as `folder/<name>.faiss` (FAISS's own format, no pickle)."""
        import faiss
        data = faiss.serialize_index(self.index)       # written from Python, so a full disk is an OSError
        with open(Path(folder) / f"{name}.faiss", "wb") as fh:
            fh.write(memoryview(data))

    @classmethod
    def load(cls, folder: str | Path, name: str = "dense") -> "FaissStore":
        """Read an index written by `save`."""
        import faiss
        index = faiss.read_index(str(Path(folder) / f"{name}.faiss"))
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index)

    def as_fp16(self) -> "FaissStore":
        """The same vectors in an `fp16` store when this one is exact float32 (an index written before `auto`
        meant fp16); otherwise itself."""
        import faiss
        if not isinstance(self.index, faiss.IndexFlat) or not len(self):
            return self
        out = FaissStore(_fp16(self.index.d))
        out.add(self.index.reconstruct_n(0, self.index.ntotal))
        return out


HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128


def _flat(dim: int):
    import faiss
    return faiss.IndexFlatIP(dim)


def _fp16(dim: int):
    import faiss
    return faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)


def _hnsw(dim: int):
    import faiss
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction, index.hnsw.efSearch = HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH
    return index


STORES = {"flat": _flat, "fp16": _fp16, "hnsw": _hnsw}


def store_kind(kind: str, size: int = 0, hnsw_threshold: int = 1_000_000) -> str:
    """The store `kind` names for `size` vectors: `auto` is fp16 up to `hnsw_threshold` vectors, HNSW above."""
    if kind == "auto":
        kind = "hnsw" if size > hnsw_threshold else "fp16"
    if kind not in STORES:
        raise ConfigError(f"unknown store {kind!r}; valid: auto, {', '.join(STORES)}")
    return kind


def make_store(kind: str, dim: int, size: int = 0, hnsw_threshold: int = 1_000_000) -> FaissStore:
    """A new empty store (see `store_kind`)."""
    return FaissStore(STORES[store_kind(kind, size, hnsw_threshold)](dim))


# An HNSW graph takes minutes to build, so it is saved; an exhaustive store is made again from the float32 vectors
# when an index is opened (0.13 s for 64,000 vectors, as long as reading its file), so an update writes less.
SAVED = {"hnsw"}
