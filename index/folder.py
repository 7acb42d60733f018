"""The `folder` backend's writer: FAISS and BM25 files in an atomic snapshot (`index.snapshot`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from core.errors import EmbedderMismatch, IndexError_
from core.settings import Settings
from index import snapshot
from index.embcache import EmbeddingCache
from index.embed import Embedder
from index.lexical import BM25Index
from index.parts import arrange
from index.plan import Plan, chunk_key, manifest, passage_text, rows, stacked, unchanged, vectors
from index.store import SAVED, make_store, store_kind

CACHE_DIR = ".embedding-cache"


class FolderWriter:
    """The `folder` backend's `IndexWriter`: FAISS + BM25 files in atomic snapshots."""

    def __init__(self, out: Path, settings: Settings):
        self.out, self.settings = out, settings

    def lock(self):
        """The folder's build lock."""
        return snapshot.build_lock(self.out)

    def previous(self):
        """The live snapshot, or None."""
        return _old_index(self.out, self.settings)

    def write(self, plan, old, embedder, report, progress: bool, rebuild: bool) -> tuple[str, bool]:
        """Write a new snapshot unless nothing changed; (name, written)."""
        def keys():
            return [chunk_key(c, h) for c, h in zip(old.chunks, old.embed_hashes)]
        if unchanged(plan, old.manifest if old is not None else None, keys, report):
            report.reused = len(plan.hashes)
            return old.name, False
        return _write(self.out, plan, old, self.settings, embedder, report, progress), True


def _write(out: Path, plan: Plan, old, settings: Settings, embedder: Embedder, report, progress) -> str:
    """Embed what is new, build the stores and write a snapshot atomically; returns its name."""
    plan, kept = arrange(plan, old, reuse=store_kind(settings.ann, len(plan.chunks), settings.hnsw_threshold)
                         not in SAVED)                      # an HNSW graph is built from all vectors at once
    skip_c, skip_s = sum(p["chunks"] for p in kept), sum(p["sentences"] for p in kept)
    sent_hashes = [h.hex() for h in plan.sentences["hash"]]
    cache = EmbeddingCache(out / CACHE_DIR, embedder.name)
    # what a killed build embedded, read once; the old index's vectors win where both have one
    known = {**stacked(cache.load()), **_known_vectors(old)}
    t = time.perf_counter()
    chunk_vecs = vectors(plan.texts[skip_c:], plan.hashes[skip_c:], known, embedder, report, progress, cache,
                         "embedding chunks")
    t, report.stages["embed chunks"] = time.perf_counter(), time.perf_counter() - t
    embedded, reused = report.embedded, report.reused + skip_c + skip_s
    sent_vecs = vectors(plan.sent_texts[skip_s:], sent_hashes[skip_s:], known, embedder, report, progress, cache,
                        "embedding sentences")
    t, report.stages["embed sentences"] = time.perf_counter(), time.perf_counter() - t
    report.embedded, report.reused = report.embedded + embedded, report.reused + reused
    store, sent_store = _saved_store(settings, embedder, chunk_vecs), _saved_store(settings, embedder, sent_vecs)
    bm25 = BM25Index.build([passage_text(c, c.heading) for c in plan.chunks], plan.language,
                           old.bm25 if old is not None else None,
                           [passage_text(c, c.heading) for c in old.chunks] if old is not None else None)
    doc_rows = [{"id": d.id, "title": d.title, "date": d.date, "author": d.author, "sha256": d.sha256,
                 "language": d.language, "text": d.text} for d in plan.docs]
    made = manifest(settings, embedder, plan, report.skipped) | {"corpus": report.corpus}
    name = snapshot.write(out, snapshot.Snapshot(made, doc_rows, plan.chunks, plan.hashes, chunk_vecs,
                                                 plan.sentences, sent_vecs, store, sent_store, bm25,
                                                 fingerprints=plan.prints, shingled=plan.shingled, kept=kept,
                                                 kept_from=old.folder if kept else None))
    cache.clear()
    report.stages["write"] = time.perf_counter() - t
    return name


def _saved_store(settings: Settings, embedder: Embedder, vecs: np.ndarray):
    """The vector store to save with the index, or None for one made again when the index is opened."""
    if store_kind(settings.ann, len(vecs), settings.hnsw_threshold) not in SAVED:
        return None
    store = make_store(settings.ann, embedder.dim, len(vecs), settings.hnsw_threshold)
    store.add(vecs)
    return store


def _old_index(out: Path, settings: Settings):
    """The live snapshot to build on: None when there is none or it is unreadable (then a fresh build)."""
    if snapshot.current_name(out) is None:
        return None
    try:
        return snapshot.load(out, embedder=settings.embedder, search=False)
    except EmbedderMismatch as e:
        raise IndexError_(f"{e}. Or pass rebuild=True / --rebuild to replace it.") from None
    except IndexError_ as e:
        print(f"warning: {e}; building a fresh index instead", file=sys.stderr)
        return None


def _known_vectors(old) -> dict:
    """hash -> (array, row) of the old index's vector for that text."""
    if old is None:
        return {}
    return {**rows(old.embed_hashes, old.vectors), **rows((h.hex() for h in old.sentences["hash"]), old.sent_vectors)}
