"""Vectors in parts: an index update writes the vectors of what changed and links the rest.

A folder snapshot keeps its chunk and sentence vectors in parts, each the rows of whole documents. A part whose
documents a build keeps exactly (same chunks, same sentences, same embeddings) is hard-linked into the new
snapshot; the build's own part holds every other row. Rows are ordered so: the kept parts' documents first, in
their old order, then the rest. Row ids are internal to a snapshot, so the order is free to choose. When the kept
parts reach `MAX_PARTS`, only the first (the largest, usually the first build) is kept and the rest are merged
into the new part, so parts never pile up.

    plan, kept = arrange(plan, old_index)      # kept: the old parts to link, in row order
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

MAX_PARTS = 8


def old_parts(old) -> list[dict]:
    """The parts of a live folder index: files (relative to its snapshot folder) and row counts."""
    if old is None or getattr(old, "folder", None) is None:
        return []
    listed = old.manifest.get("parts")
    if listed is not None:
        return listed
    return [{"vectors": "vectors.npy", "sent_vectors": "sent_vectors.npy", "chunks": len(old.chunks),
             "sentences": len(old.sentences)}]         # written before parts: the whole index is one


def arrange(plan, old, reuse: bool = True) -> tuple[object, list[dict]]:
    """`plan` reordered so the documents of the old parts it keeps come first, and those parts."""
    parts = old_parts(old) if reuse else []
    if not parts:
        return plan, []
    before = _signatures(old.chunks, old.embed_hashes, old.sentences)
    now = _signatures(plan.chunks, plan.hashes, plan.sentences)
    kept, order, c0 = [], [], 0
    for part in parts:
        docs = list(dict.fromkeys(c.doc_id for c in old.chunks[c0:c0 + part["chunks"]]))
        c0 += part["chunks"]
        if docs and all(d in now and now[d] == before[d] for d in docs):
            kept.append(part)
            order += docs
    if len(kept) >= MAX_PARTS:
        first = {c.doc_id for c in old.chunks[:kept[0]["chunks"]]}
        kept, order = kept[:1], [d for d in order if d in first]
    return (reordered(plan, order) if kept else plan), kept


def _signatures(chunks, hashes, sentences) -> dict[str, tuple]:
    """Per document: its chunks' embedding hashes and its sentences' hashes, in row order."""
    rows: dict[str, tuple[list, list]] = {}
    for c, h in zip(chunks, hashes):
        rows.setdefault(c.doc_id, ([], []))[0].append(h)
    for ci, h in zip(sentences["chunk"].tolist(), sentences["hash"].tolist()):
        rows[chunks[ci].doc_id][1].append(h)
    return {d: (tuple(a), tuple(b)) for d, (a, b) in rows.items()}


def reordered(plan, first: list[str]):
    """`plan` with the chunks (and their sentences) of documents `first` first, in that order, then the rest."""
    rank = {d: i for i, d in enumerate(first)}
    last = len(rank)
    order = sorted(range(len(plan.chunks)), key=lambda i: (rank.get(plan.chunks[i].doc_id, last), i))
    new_row = np.empty(len(order), np.int64)
    new_row[order] = np.arange(len(order))
    sentences = plan.sentences.copy()
    sentences["chunk"] = new_row[sentences["chunk"]] if len(sentences) else sentences["chunk"]
    s_order = np.argsort(sentences["chunk"], kind="stable")
    return replace(plan, chunks=[plan.chunks[i] for i in order], texts=[plan.texts[i] for i in order],
                   hashes=[plan.hashes[i] for i in order], prints=[plan.prints[i] for i in order],
                   sentences=sentences[s_order], sent_texts=[plan.sent_texts[i] for i in s_order.tolist()])


class Rows:
    """Rows of several memory-mapped .npy files read as one array (`len`, integer-array and slice indexing).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(d / "a.npy", np.zeros((2, 3), np.float32)); np.save(d / "b.npy", np.ones((1, 3), np.float32))
    >>> r = Rows([d / "a.npy", d / "b.npy"])
    >>> len(r), r[np.array([2, 0])][:, 0].tolist(), r[1:3][:, 0].tolist()
    (3, [1.0, 0.0], [0.0, 1.0])
    """

    def __init__(self, files):
        self.parts = [np.load(f, mmap_mode="r", allow_pickle=False) for f in files]
        self.starts = np.cumsum([0] + [len(p) for p in self.parts])
        width = self.parts[0].shape[1:] if self.parts else (0,)
        self.shape = (int(self.starts[-1]), *width)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, ids) -> np.ndarray:
        if isinstance(ids, slice):
            ids = np.arange(*ids.indices(len(self)))
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), *self.shape[1:]), np.float32)
        which = np.searchsorted(self.starts, ids, side="right") - 1
        for k in np.unique(which).tolist():
            sel = np.flatnonzero(which == k)
            out[sel] = self.parts[k][ids[sel] - self.starts[k]]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = np.concatenate(self.parts) if self.parts else np.zeros(self.shape, np.float32)
        return whole.astype(dtype) if dtype is not None else whole
