"""What a build will write, computed before any embedding: chunks, sentences, the texts to embed, and their
hashes; shared by every backend's writer (`index.backends`).

Example:
    >>> embed_hash("e5", "Ein Satz.") == embed_hash("e5", "Ein Satz."), len(embed_hash("e5", "x"))
    (True, 40)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from itertools import repeat

import numpy as np
from tqdm.auto import tqdm

from core.sentences import split_sentences
from core.settings import Settings
from index import snapshot
from index.chunk import Chunk, Chunker, with_groups
from index.dedup import Shingled, duplicate_groups, update
from index.embcache import EmbeddingCache
from index.embed import Embedder
from index.load import Document

CHUNKER_VERSION = 1
EMBED_SLICE = 64           # texts per embedding call, and per kept batch: a killed build loses at most this many
MIN_SENTENCE_WORDS = 3


def passage_text(chunk: Chunk, title: str) -> str:
    """What gets embedded for a chunk: the document title for context, then the chunk."""
    return chunk.text if not title or chunk.text.startswith(title) else f"{title}\n{chunk.text}"


@dataclass(kw_only=True)
class Plan:
    """What the new index will hold, before any embedding."""

    docs: list[Document]
    shingled: Shingled            # the documents' lines as shingles and repeat counts (see index.dedup)
    repeats: dict[str, list[int]]
    chunks: list[Chunk]
    prints: list[str]             # near-duplicate fingerprint per chunk
    texts: list[str]              # embedded text per chunk
    hashes: list[str]
    sentences: np.ndarray         # snapshot.SENTENCE_DTYPE rows
    sent_texts: list[str]
    language: str                 # the language BM25 stems in
    sentence_vectors: bool
    ann: str                      # the vector search the folder backend builds
    stats: dict = field(default_factory=dict)     # id -> (size, mtime_ns) of its file


def make_plan(docs: list[Document], old, settings: Settings, embedder: Embedder, progress: bool,
              stats: dict | None = None) -> Plan:
    """Chunk `docs` (reusing the chunks of `old` for documents it has unchanged) and list what to embed;
    `stats` is (size, mtime_ns) per document id, kept in the manifest."""
    shingled, repeated = update({d.id: d.text for d in docs}, old.shingled() if hasattr(old, "shingled") else None)
    chunks, titles, prints = _chunk_all(docs, repeated, old, settings, embedder, progress)
    texts = [passage_text(c, titles[c.doc_id]) for c in chunks]
    sentences, sent_texts = _sentences(chunks, embedder.name, _old_sentences(old)) if settings.sentence_vectors \
        else (np.zeros(0, dtype=snapshot.SENTENCE_DTYPE), [])
    return Plan(docs=docs, shingled=shingled, repeats=repeated, chunks=chunks, prints=prints, texts=texts,
                sentences=sentences, sent_texts=sent_texts, hashes=[embed_hash(embedder.name, t) for t in texts],
                language=main_language(docs, settings), sentence_vectors=settings.sentence_vectors, ann=settings.ann,
                stats=stats or {})


def chunk_key(chunk: Chunk, embed_hash: str) -> str:
    """Names a chunk row: the same fields and embedding give the same key."""
    return hashlib.sha1((json.dumps(asdict(chunk), sort_keys=True) + embed_hash).encode()).hexdigest()


def unchanged(plan: Plan, old_manifest: dict | None, old_keys, report) -> bool:
    """True when a build would write what the live index holds: the same documents, chunks, embeddings, BM25
    language, sentence vectors and vector search (`old_keys`: the live index's `chunk_key`s, computed only when
    needed)."""
    if old_manifest is None or report.added or report.changed or report.removed:
        return False
    return (old_manifest.get("sentence_vectors") == plan.sentence_vectors
            and old_manifest.get("corpus_language") == plan.language
            and old_manifest.get("ann", plan.ann) == plan.ann
            and set(old_keys()) == {chunk_key(c, h) for c, h in zip(plan.chunks, plan.hashes)})


def _chunk_all(docs, repeats, old, settings, embedder, progress):
    cfg = chunker_cfg(settings)
    reuse = old is not None and old.manifest.get("chunker") == cfg
    old_chunks = defaultdict(list)
    if reuse:
        for c in old.chunks:
            old_chunks[c.doc_id].append(replace(c, dup_group=""))
    old_sigs = old.manifest.get("documents", {}) if reuse else {}
    kept = {d.id for d in docs if old_sigs.get(d.id, {}).get("sig") == doc_sig(d, repeats[d.id])}
    counter = embedder.for_job([d.text for d in docs if d.id not in kept])     # small jobs: no tokenizer to load
    chunker = Chunker(counter.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
    chunks: list[Chunk] = []
    for d in tqdm(docs, desc="chunking", unit="doc", disable=not progress):
        chunks += old_chunks[d.id] if d.id in kept else chunker.split(d, repeats[d.id], settings.boilerplate_min_docs)
    prints = dict(zip((c.text for c in old.chunks), old.fingerprints)) if getattr(old, "fingerprints", None) else {}
    groups, prints = duplicate_groups(chunks, prints)
    return with_groups(chunks, groups), {d.id: d.title for d in docs}, prints


def _old_sentences(old) -> dict:
    """(chunk id, start, text) -> that chunk's sentence rows in `old` (a folder index; others have none)."""
    bounds = getattr(old, "sent_offsets", None)
    if bounds is None:
        return {}
    return {(c.id, c.start, c.text): old.sentences[bounds[i]:bounds[i + 1]] for i, c in enumerate(old.chunks)}


def _sentences(chunks: list[Chunk], embedder_name: str, before: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """Sentence rows (chunk, start, end, hash) of chunks with two or more real sentences; a chunk the last build
    had (`before`, from `_old_sentences`) keeps its rows without splitting it again."""
    parts, texts = [], []
    for ci, c in enumerate(chunks):
        kept = (before or {}).get((c.id, c.start, c.text))
        if kept is not None:
            part = kept.copy()
            part["chunk"] = ci
        else:
            spans = [(a, b) for a, b in split_sentences(c.text, c.start)
                     if len(c.text[a - c.start:b - c.start].split()) >= MIN_SENTENCE_WORDS]
            part = np.array([(ci, a, b, bytes.fromhex(embed_hash(embedder_name, c.text[a - c.start:b - c.start])))
                             for a, b in spans] if len(spans) >= 2 else [], dtype=snapshot.SENTENCE_DTYPE)
        parts.append(part)
        texts += [c.text[a - c.start:b - c.start] for a, b in zip(part["start"].tolist(), part["end"].tolist())]
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=snapshot.SENTENCE_DTYPE)), texts


def vectors(texts: list[str], hashes: list[str], known: dict, embedder, report, progress,
            cache: EmbeddingCache | None = None, desc: str = "embedding") -> np.ndarray:
    """Embeddings for all texts, reusing those `known` has for the same text (hash -> (array, row); see `rows`).

    With a `cache`, each new batch is kept there as soon as it is embedded.
    """
    todo = sorted({h: i for i, h in enumerate(hashes) if h not in known}.values(),
                  key=lambda i: len(texts[i]))      # similar lengths batch with little padding
    fresh: dict[str, np.ndarray] = {}
    embedder = embedder.for_job([texts[i] for i in todo])
    with tqdm(total=len(todo), desc=desc, unit="text", disable=not progress or not todo) as bar:
        for s in range(0, len(todo), EMBED_SLICE):
            part = todo[s:s + EMBED_SLICE]
            vecs = embedder.embed([texts[i] for i in part])
            fresh.update(zip((hashes[i] for i in part), vecs))
            if cache is not None:
                cache.add([hashes[i] for i in part], vecs)
            bar.update(len(part))
    report.embedded, report.reused = len(todo), len(hashes) - len(todo)
    out = np.zeros((len(hashes), embedder.dim), np.float32)
    found = [known.get(h) for h in hashes]
    for n in (n for n, f in enumerate(found) if f is None):
        out[n] = fresh[hashes[n]]
    sources = {id(f[0]): f[0] for f in found if f is not None}
    source = np.fromiter((id(f[0]) if f is not None else 0 for f in found), np.int64, len(found))
    row = np.fromiter((f[1] if f is not None else -1 for f in found), np.int64, len(found))
    for key, array in sources.items():                # one read per source array, not one per row
        dest = np.flatnonzero(source == key)
        out[dest] = array[row[dest]]
    return out


def rows(hashes, array: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
    """`known` for `vectors`: hash -> (array, row) for rows of vectors already embedded."""
    return dict(zip(hashes, zip(repeat(array), range(len(array)))))


def stacked(by_hash: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, int]]:
    """`known` for `vectors` from loose vectors by hash (a kept batch, database rows), stacked in one array."""
    return rows(by_hash, np.array(list(by_hash.values()), np.float32)) if by_hash else {}


def chunker_cfg(s: Settings) -> dict:
    """The chunker's settings: chunks of an index made with others are not reused."""
    return {"version": CHUNKER_VERSION, "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap,
            "boilerplate_min_docs": s.boilerplate_min_docs}


def doc_sig(doc: Document, repeats: list[int]) -> str:
    """A document's chunks depend on its bytes and on its lines repeated elsewhere (boilerplate)."""
    return hashlib.sha256((doc.sha256 + repr(repeats)).encode()).hexdigest()[:24]


def main_language(docs, settings: Settings) -> str:
    """The corpus language BM25 stems in: the setting, else the language most of the text is in."""
    if settings.corpus_language:
        return settings.corpus_language
    chars = Counter()
    for d in docs:
        chars[d.language or "de"] += len(d.text)
    return chars.most_common(1)[0][0] if chars else "de"


def embed_hash(embedder: str, text: str) -> str:
    """Names an embedding: same embedder and same text give the same vector."""
    return hashlib.sha1(f"{embedder}\x00{text}".encode()).hexdigest()


def manifest(settings: Settings, embedder: Embedder, plan: Plan, skipped) -> dict:
    """What an index records of its build (no paths, URLs or keys)."""
    docs, repeats = plan.docs, plan.repeats
    per_doc = defaultdict(int)
    for c in plan.chunks:
        per_doc[c.doc_id] += 1
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedder": {"name": embedder.name, "dim": int(embedder.dim)},
        "chunker": chunker_cfg(settings), "sentence_vectors": settings.sentence_vectors,
        "backend": settings.backend, "ann": settings.ann, "corpus_language": plan.language,
        "settings": {k: v for k, v in asdict(settings).items()                # no paths, URLs or keys
                     if not k.endswith(("_dir", "_path", "_url", "_key")) and k != "home"},
        "documents": {d.id: {"sha256": d.sha256, "sig": doc_sig(d, repeats[d.id]), "title": d.title,
                             "date": d.date, "language": d.language, "chunks": per_doc[d.id]}
                      | ({"size": plan.stats[d.id][0], "mtime_ns": plan.stats[d.id][1]} if d.id in plan.stats else {})
                      for d in docs},
        "skipped": [{"file": f, "reason": r} for f, r in skipped],
        "counts": {"documents": len(docs), "chunks": len(plan.chunks), "sentences": len(plan.sentences)},
    }
