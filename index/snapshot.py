"""The on-disk index: `CURRENT` names a complete snapshot folder; writes are atomic.

    index_dir/CURRENT                 one line: the live snapshot's name
    index_dir/snapshots/<name>/       manifest.json, docs.jsonl, chunks.jsonl,
                                      sentences.npy, bm25/, lines.npz, parts/<part>/
                                      vectors.npy (one row per chunk) and
                                      sent_vectors.npy (one row per sentence of
                                      multi-sentence chunks), dense.faiss +
                                      sentences.faiss for HNSW search

A new snapshot is written in full under a temporary name (vector parts it keeps
are hard links: see index.parts), fsynced, renamed, and only then is `CURRENT`
replaced (os.replace, atomic). A crash at any point leaves the previous snapshot
live. Nothing is pickled.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from core.errors import EmbedderMismatch, IndexError_
from index.chunk import Chunk
from index.dedup import Shingled, pack, unpack
from index.lexical import BM25Index
from index.parts import Rows
from index.store import FaissStore, make_store

FORMAT_VERSION = 1
SENTENCE_DTYPE = np.dtype([("chunk", "<i4"), ("start", "<i8"), ("end", "<i8"), ("hash", "S20")])


@dataclass
class Snapshot:
    """Everything one index version holds."""

    manifest: dict
    docs: list[dict]                       # id, title, date, sha256, text
    chunks: list[Chunk]
    embed_hashes: list[str]
    vectors: np.ndarray
    sentences: np.ndarray                  # SENTENCE_DTYPE rows, sorted by chunk
    sent_vectors: np.ndarray
    store: FaissStore | None = None
    sent_store: FaissStore | None = None
    bm25: BM25Index | None = None
    fingerprints: list[str] = field(default_factory=list)     # per chunk (see index.dedup)
    shingled: Shingled | None = None                          # the documents' lines (see index.dedup)
    kept: list[dict] = field(default_factory=list)            # old vector parts linked in first (index.parts)
    kept_from: Path | None = None                             # the snapshot folder they are in


@dataclass
class LoadedIndex:
    """A live snapshot opened for reading."""

    path: Path
    name: str
    manifest: dict
    docs: dict[str, dict]
    chunks: list[Chunk]
    embed_hashes: list[str]
    store: FaissStore | None               # None when opened with search=False
    sent_store: FaissStore | None
    bm25: BM25Index
    sentences: np.ndarray
    folder: Path = field(repr=False, default=None)
    fingerprints: list[str] = field(default_factory=list)     # per chunk; empty in indexes written before them
    vectors: np.ndarray | Rows = field(repr=False, default=None)        # chunk embeddings (memory-mapped)
    sent_vectors: np.ndarray | Rows = field(repr=False, default=None)   # sentence embeddings (memory-mapped)

    def shingled(self) -> Shingled | None:
        """The documents' lines as shingles and repeat counts (None in indexes written before them)."""
        try:
            with np.load(self.folder / "lines.npz", allow_pickle=False) as z:
                return unpack(z)
        except (OSError, ValueError, KeyError):
            return None

    @cached_property
    def sent_offsets(self) -> np.ndarray:
        """Row range of each chunk's sentences: chunk i owns rows offsets[i]:offsets[i+1]."""
        return np.searchsorted(self.sentences["chunk"], np.arange(len(self.chunks) + 1))

    # The read interface the retriever uses (the PostgreSQL index has the same methods).

    @property
    def language(self) -> str:
        """The language BM25 stems in."""
        return self.bm25.lang

    @property
    def has_sentences(self) -> bool:
        """True when sentence vectors were indexed."""
        return len(self.sent_store) > 0

    def reading(self):
        """A consistent view for one search (a snapshot never changes, so nothing to do)."""
        return nullcontext()

    def nearest(self, qv: np.ndarray, k: int) -> list[list[int]]:
        """Chunk ids of the k nearest chunk vectors per query."""
        return [[int(i) for i in row if i >= 0] for row in self.store.search(qv, k)[1]] if len(qv) else []

    def nearest_sentences(self, qv: np.ndarray, k: int) -> list[list[int]]:
        """Chunk ids owning the k nearest sentence vectors per query."""
        if not len(qv):
            return []
        owner = self.sentences["chunk"]
        return [[int(owner[j]) for j in row if j >= 0] for row in self.sent_store.search(qv, k)[1]]

    def lexical(self, query: str, k: int) -> list[int]:
        """Chunk ids of the k best BM25 matches."""
        return [int(i) for i in self.bm25.search(query, k)[1]]

    def known(self, word: str) -> bool:
        """True when the indexed text has `word` (see `BM25Index.known`)."""
        return self.bm25.known(word)

    def common(self, words: list[str], share: float) -> list[bool]:
        """For each word: True when it is in at least `share` of the chunks."""
        return [self.bm25.common(w, share) for w in words]

    def fetch(self, ids) -> None:
        """Make chunks `ids` ready for `chunk`, `chunk_vectors` and `sentences` (all in memory here)."""

    def chunk(self, i: int) -> Chunk:
        """Chunk row `i`."""
        return self.chunks[i]

    def doc(self, doc_id: str) -> dict:
        """The document's fields (title, date, language, ...); {} when unknown."""
        return self.docs.get(doc_id, {})

    def chunks_of(self, doc_id: str) -> list[int]:
        """Row ids of the chunks of a document."""
        return [i for i, c in enumerate(self.chunks) if c.doc_id == doc_id]

    def chunk_vectors(self, ids) -> np.ndarray:
        """Embeddings of chunk rows `ids`."""
        return np.asarray(self.vectors[np.asarray(ids, dtype=np.int64)])

    def sentences_of(self, i: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """((start, end) per sentence, their vectors) of chunk row `i`; empty if it has none."""
        a, b = self.sent_offsets[i], self.sent_offsets[i + 1]
        rows = self.sentences[a:b]
        return [(int(r["start"]), int(r["end"])) for r in rows], np.asarray(self.sent_vectors[a:b])


def new_name() -> str:
    """A build's name: its time, then what keeps two builds of one second apart."""
    return time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"


def check_embedder(manifest: dict, embedder: str, where: str, fix: str) -> None:
    """Refuse an index built with another embedder than `embedder` (empty: any), naming both fixes."""
    built_with = manifest.get("embedder", {}).get("name")
    if embedder and built_with != embedder:
        raise EmbedderMismatch(f"{where} was built with embedder {built_with!r}, not {embedder!r}: "
                               f"set RAG_EMBEDDER={built_with} (or --embedder) to use it, or {fix}")


def current_name(index_dir: Path) -> str | None:
    """The live snapshot's name, or None if there is no index."""
    try:
        return (Path(index_dir) / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


@contextmanager
def build_lock(index_dir: Path):
    """Hold the index's build lock; stale temporary snapshots are removed under it."""
    try:                                   # fails here, before any embedding, when the folder is not writable
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / ".lock", "w")
    except OSError as e:
        raise IndexError_(f"cannot write to {index_dir} ({e.strerror}): make it writable or pass another --index; "
                          "an index already there is untouched") from None
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        for tmp in (index_dir / "snapshots").glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        yield


def write(index_dir: Path, snap: Snapshot) -> str:
    """Write `snap` as a new snapshot and make it live; returns its name.

    Any write failure (disk full, read-only, quota) removes the partial snapshot and raises
    `IndexError_`; the previous snapshot stays live.
    """
    snaps = index_dir / "snapshots"
    name = new_name()
    tmp = snaps / f".tmp-{name}"
    try:
        snaps.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        _write_files(tmp, snap, name)
        os.replace(tmp, snaps / name)
        _fsync(snaps)
        _point(index_dir, name)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if current_name(index_dir) != name:
            shutil.rmtree(snaps / name, ignore_errors=True)
        why = e.strerror or "a short write: the disk is full or a file size limit was hit"     # numpy gives no errno
        raise IndexError_(f"could not write the index to {index_dir} ({why}; {_free_mb(index_dir)} MB free there): "
                          "free disk space or make the folder writable, then run the build again; "
                          "the previous index is unchanged") from None
    for old in snaps.iterdir():
        if old.name != name and not old.name.startswith(".tmp-"):
            shutil.rmtree(old, ignore_errors=True)
    return name


def _free_mb(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free >> 20
    except OSError:
        return 0


def _write_files(tmp: Path, snap: Snapshot, name: str) -> None:
    _jsonl(tmp / "docs.jsonl", snap.docs)
    prints = snap.fingerprints or [""] * len(snap.chunks)
    _jsonl(tmp / "chunks.jsonl", [vars(c) | {"embed_hash": h, "fingerprint": p}      # vars: asdict deep-copies
                                  for c, h, p in zip(snap.chunks, snap.embed_hashes, prints)])
    if snap.shingled is not None:
        np.savez(tmp / "lines.npz", **pack(snap.shingled))
    np.save(tmp / "sentences.npy", snap.sentences.astype(SENTENCE_DTYPE), allow_pickle=False)
    parts = _link_parts(tmp, snap)
    if len(snap.vectors) or len(snap.sent_vectors) or not parts:
        (tmp / "parts" / name).mkdir(parents=True)
        for kind, rows in (("vectors", snap.vectors), ("sent_vectors", snap.sent_vectors)):
            np.save(tmp / "parts" / name / f"{kind}.npy", np.ascontiguousarray(rows, dtype=np.float32),
                    allow_pickle=False)
        parts.append({"vectors": f"parts/{name}/vectors.npy", "sent_vectors": f"parts/{name}/sent_vectors.npy",
                      "chunks": len(snap.vectors), "sentences": len(snap.sent_vectors)})
    for store, file in ((snap.store, "dense"), (snap.sent_store, "sentences")):
        if store is not None:
            store.save(tmp, file)
    snap.bm25.save(tmp)
    files = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
    manifest = snap.manifest | {"format_version": FORMAT_VERSION, "snapshot": name, "files": files, "parts": parts}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    _fsync_tree(tmp)


def _link_parts(tmp: Path, snap: Snapshot) -> list[dict]:
    """Hard-link the kept vector parts into the new snapshot (copied where links are not possible)."""
    listed = []
    for n, part in enumerate(snap.kept):
        src = Path(part["vectors"]).parent.name if part["vectors"].startswith("parts/") else f"base-{n}"
        (tmp / "parts" / src).mkdir(parents=True)
        entry = dict(part)
        for kind in ("vectors", "sent_vectors"):
            entry[kind] = f"parts/{src}/{kind}.npy"
            try:
                os.link(snap.kept_from / part[kind], tmp / entry[kind])
            except OSError:
                shutil.copyfile(snap.kept_from / part[kind], tmp / entry[kind])
        listed.append(entry)
    return listed


def _rows(folder: Path, manifest: dict, kind: str) -> np.ndarray | Rows:
    """The chunk (`vectors`) or sentence (`sent_vectors`) embeddings of a snapshot, over all its parts."""
    files = [folder / p[kind] for p in manifest.get("parts", [])] or [folder / f"{kind}.npy"]
    return np.load(files[0], mmap_mode="r", allow_pickle=False) if len(files) == 1 else Rows(files)


def _point(index_dir: Path, name: str) -> None:
    """Make snapshot `name` live: write CURRENT.tmp, fsync, rename over CURRENT (atomic)."""
    pointer = index_dir / "CURRENT.tmp"
    try:
        with open(pointer, "w") as fh:
            fh.write(name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer, index_dir / "CURRENT")
    finally:
        pointer.unlink(missing_ok=True)
    _fsync(index_dir)


def load(index_dir: str | Path, embedder: str | None = None, search: bool = True) -> LoadedIndex:
    """Open the live snapshot; refuse one built with another embedder or damaged on disk.

    `search=False` (a build reading what it builds on) leaves the vector stores unread."""
    index_dir = Path(index_dir)
    name = current_name(index_dir)
    if name is None:
        raise IndexError_(f"no index at {index_dir}; build one with `rag index FOLDER --index {index_dir}`")
    folder = index_dir / "snapshots" / name
    fix = f"rebuild it with `rag index FOLDER --index {index_dir} --rebuild`"
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexError_(f"index at {index_dir} is unreadable ({type(e).__name__}: {e}); {fix}") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"index at {index_dir} has format {manifest.get('format_version')}, "
                          f"this version reads {FORMAT_VERSION}; {fix}")
    check_embedder(manifest, embedder, f"index at {index_dir}", f"{fix} to re-embed")
    for rel, size in manifest.get("files", {}).items():
        p = folder / rel
        if not p.is_file() or p.stat().st_size != size:
            raise IndexError_(f"index at {index_dir} is damaged: {rel} is missing or truncated; {fix}")
    try:
        docs = {d["id"]: d for d in _read_jsonl(folder / "docs.jsonl")}
        rows = _read_jsonl(folder / "chunks.jsonl")
        chunks = [Chunk(**{k: v for k, v in r.items() if k not in ("embed_hash", "fingerprint")}) for r in rows]
        vectors, sent_vectors = _rows(folder, manifest, "vectors"), _rows(folder, manifest, "sent_vectors")
        store = _store(folder, "dense", vectors, manifest) if search else None
        sent_store = _store(folder, "sentences", sent_vectors, manifest) if search else None
        n_vecs, n_sent_vecs = len(vectors), len(sent_vectors)
        bm25 = BM25Index.load(folder)
        sentences = np.load(folder / "sentences.npy", allow_pickle=False)
    except Exception as e:  # any parse failure means a damaged index; say how to fix it
        raise IndexError_(f"index at {index_dir} is damaged ({type(e).__name__}: {e}); {fix}") from None
    if n_vecs != len(chunks) or n_sent_vecs != len(sentences) or sentences.dtype != SENTENCE_DTYPE \
            or (store is not None and (len(store), len(sent_store)) != (n_vecs, n_sent_vecs)):
        raise IndexError_(f"index at {index_dir} is inconsistent ({n_vecs} vectors, {len(chunks)} chunks, "
                          f"{n_sent_vecs}/{len(sentences)} sentences); {fix}")
    prints = [r.get("fingerprint", "") for r in rows]
    return LoadedIndex(index_dir, name, manifest, docs, chunks, [r["embed_hash"] for r in rows],
                       store, sent_store, bm25, sentences, folder, prints if all(prints) else [], vectors, sent_vectors)


def _store(folder: Path, name: str, rows: np.ndarray | Rows, manifest: dict) -> FaissStore:
    """The saved store `name`, else an exhaustive one made from the float32 `rows` (see `index.store.SAVED`)."""
    ann = manifest.get("ann", manifest.get("store"))
    if (folder / f"{name}.faiss").is_file():
        store = FaissStore.load(folder, name)
        return store.as_fp16() if ann == "auto" else store          # written when auto meant exact float32
    store = make_store("flat" if ann == "flat" else "fp16", int(manifest["embedder"]["dim"]))
    for at in range(0, len(rows), 65536):                           # a slice at a time: memory stays flat
        store.add(rows[at:at + 65536])
    return store


def _jsonl(path: Path, rows: list[dict]) -> None:
    import orjson
    with open(path, "wb") as fh:
        fh.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def _read_jsonl(path: Path) -> list[dict]:
    import orjson
    with open(path, "rb") as fh:
        return [orjson.loads(line) for line in fh if line.strip()]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for p in sorted(root.rglob("*"), reverse=True):
        _fsync(p)
    _fsync(root)
