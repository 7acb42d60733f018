"""`build_index`: create or update an index; only new or changed text is embedded.

Example:
    report = build_index("articles/", index_dir="my-index")
    report.embedded, report.reused
    (3, 27)
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from index import snapshot
from index.chunk import Chunk, Chunker, with_groups
from index.dedup import duplicate_groups, line_repeats
from index.embcache import EmbeddingCache
from index.embed import Embedder, load_embedder
from index.lexical import BM25Index
from index.load import Document, discover, read_document
from index.postgres import redact
from index.sentences import split_sentences
from index.store import make_store
from rag.errors import EmbedderMismatch, IndexError_, InputError
from rag.settings import Settings, load_settings

CHUNKER_VERSION = 1
EMBED_SLICE = 64           # texts per embedding call, and per kept batch: a killed build loses at most this many
CACHE_DIR = ".embedding-cache"
MIN_SENTENCE_WORDS = 3


@dataclass
class BuildReport:
    """What a build did."""

    index_dir: str
    snapshot: str = ""
    documents: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    written: bool = False
    seconds: float = 0.0
    stages: dict = field(default_factory=dict)     # seconds per stage: read, chunk, embed chunks/sentences, write
    corpus: str = ""                       # the folder it was built from (the UI adds uploads there)

    def summary(self) -> str:
        """One human line."""
        what = "wrote" if self.written else "unchanged,"
        return (f"{what} index {self.index_dir}: {self.documents} documents, {self.chunks} chunks "
                f"(+{len(self.added)} ~{len(self.changed)} -{len(self.removed)} documents; "
                f"embedded {self.embedded}, reused {self.reused}; skipped {len(self.skipped)}) "
                f"in {self.seconds:.1f}s")


def passage_text(chunk: Chunk, title: str) -> str:
    """What gets embedded for a chunk: the document title for context, then the chunk."""
    return chunk.text if not title or chunk.text.startswith(title) else f"{title}\n{chunk.text}"


def read_corpus(folder: Path, progress: bool = True, seen: dict[str, dict] | None = None
                ) -> tuple[list[Document], list[tuple[str, str]], dict[str, tuple[int, int]]]:
    """All usable documents of a folder, (file, reason) for the ones skipped, and (size, mtime) per document.

    `seen` is what the last build knew per document id (`size`, `mtime_ns`, `doc`): a file whose size and
    modification time are unchanged is not read again, one whose bytes are unchanged is not parsed again.
    """
    seen = seen or {}
    by_hash = {s["doc"].sha256: s["doc"] for s in seen.values()}
    docs, skipped, stats = [], [], {}
    for path in tqdm(discover(folder), desc="reading", unit="doc", disable=not progress):
        name = path.relative_to(folder).as_posix()
        try:
            st = path.stat()
            before = seen.get(name)
            if before and (before["size"], before["mtime_ns"]) == (st.st_size, st.st_mtime_ns) \
                    and path.resolve().is_relative_to(folder.resolve()):
                doc = before["doc"]
            else:
                doc = read_document(path, folder, by_hash)
            docs.append(doc)
            stats[doc.id] = (st.st_size, st.st_mtime_ns)
        except InputError as e:
            skipped.append((name, str(e)))
        except OSError as e:
            skipped.append((name, f"cannot read: {e.strerror}"))
        except Exception as e:      # one bad file is skipped with its reason, never an aborted build
            skipped.append((name, f"could not be read ({type(e).__name__}: {e})"))
    return docs, skipped, stats


def _seen(old) -> dict[str, dict]:
    """What the last build knew of each file: size, modification time and the document read from it."""
    documents = old.manifest.get("documents", {}) if old is not None else {}
    rows = getattr(old, "docs", None)
    if not isinstance(rows, dict):
        return {}
    return {i: {"size": m["size"], "mtime_ns": m["mtime_ns"],
                "doc": Document(id=i, text=rows[i]["text"], title=rows[i].get("title", ""),
                                date=rows[i].get("date", ""), sha256=rows[i].get("sha256", ""),
                                language=rows[i].get("language", ""), author=rows[i].get("author", ""))}
            for i, m in documents.items() if "mtime_ns" in m and i in rows and "text" in rows[i]}


def build_index(corpus_dir: str | Path | None = None, index_dir: str | Path | None = None, *,
                settings: Settings | None = None, embedder: Embedder | None = None,
                rebuild: bool = False, progress: bool = True, also: Path | None = None,
                exclude: frozenset[str] = frozenset()) -> BuildReport:
    """Create or update the index at `index_dir` from the articles in `corpus_dir`.

    `also` is a second folder (the app's uploads) whose articles join the index under their own names, and
    `exclude` names documents left out (removed in the app): neither touches a file of `corpus_dir`.
    """
    t0 = time.perf_counter()
    settings = settings or load_settings()
    corpus = Path(corpus_dir) if corpus_dir else settings.corpus_path
    out = Path(index_dir) if index_dir else settings.index_path
    discover(corpus)                               # a missing folder fails here, before the lock
    backend = _backend(out, settings)
    with backend.lock():
        old = None if rebuild else backend.previous()
        t_read = time.perf_counter()
        seen = _seen(old)
        docs, skipped, stats = read_corpus(corpus, progress, seen)
        if also is not None and also.is_dir() and any(also.iterdir()):
            taken = {d.id for d in docs}
            extra, extra_skipped, extra_stats = read_corpus(also, progress, seen)
            skipped += extra_skipped + [(d.id, "a document of that name is in the articles folder") for d in extra
                                        if d.id in taken]
            docs += [d for d in extra if d.id not in taken]
            stats = {**extra_stats, **stats}
        docs = [d for d in docs if d.id not in exclude]
        if not docs:
            why = "; ".join(f"{f}: {r}" for f, r in skipped[:5]) or "the folder has no .txt/.md/.html/.pdf files"
            raise InputError(f"nothing to index in {corpus}: {why}")
        where = str(out) if settings.store != "postgres" else redact(settings.postgres_url)
        report = BuildReport(where, documents=len(docs), skipped=skipped, corpus=str(corpus.resolve()))
        report.stages["read"] = time.perf_counter() - t_read
        embedder = embedder or load_embedder(settings)
        t_plan = time.perf_counter()
        plan = _plan(docs, old, settings, embedder, progress)
        plan.stats = stats
        report.stages["chunk"] = time.perf_counter() - t_plan
        _diff(report, docs, old)
        report.chunks = len(plan.chunks)
        report.snapshot, report.written = backend.write(plan, old, embedder, report, progress, rebuild)
    report.seconds = time.perf_counter() - t0
    return report


def _backend(out: Path, settings: Settings):
    """Where the build goes: a snapshot folder, or PostgreSQL for `store = "postgres"`."""
    if settings.store == "postgres":
        from index.postgres.write import PostgresWriter
        return PostgresWriter(settings)
    return _Folder(out, settings)


class _Folder:
    """The build backend for an index folder (FAISS + BM25 files in atomic snapshots)."""

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
        if _unchanged(plan, old, report, self.settings):
            report.reused = len(plan.hashes)
            return old.name, False
        return _write(self.out, plan, old, self.settings, embedder, report, progress), True


@dataclass
class _Plan:
    """What the new index will hold, before any embedding."""

    docs: list[Document]
    repeats: dict[str, list[int]]
    chunks: list[Chunk]
    texts: list[str]              # embedded text per chunk
    hashes: list[str]
    sentences: np.ndarray         # snapshot.SENTENCE_DTYPE rows
    sent_texts: list[str]
    stats: dict = field(default_factory=dict)     # id -> (size, mtime_ns) of its file


def _plan(docs, old, settings: Settings, embedder: Embedder, progress: bool) -> _Plan:
    repeats = line_repeats({d.id: d.text for d in docs})
    chunks, titles = _chunk_all(docs, repeats, old, settings, embedder, progress)
    texts = [passage_text(c, titles[c.doc_id]) for c in chunks]
    sentences, sent_texts = _sentences(chunks, embedder.name) if settings.sentence_vectors \
        else (np.zeros(0, dtype=snapshot.SENTENCE_DTYPE), [])
    return _Plan(docs, repeats, chunks, texts, [_embed_hash(embedder.name, t) for t in texts], sentences, sent_texts)


def _unchanged(plan: _Plan, old, report: BuildReport, settings: Settings) -> bool:
    return (old is not None and not (report.added or report.changed or report.removed)
            and old.embed_hashes == plan.hashes
            and old.manifest.get("sentence_vectors") == settings.sentence_vectors
            and [asdict(c) for c in old.chunks] == [asdict(c) for c in plan.chunks])


def _write(out: Path, plan: _Plan, old, settings: Settings, embedder: Embedder, report, progress) -> str:
    """Embed what is new, build the stores and write a snapshot atomically; returns its name."""
    n = len(plan.chunks)
    sent_hashes = [h.hex() for h in plan.sentences["hash"]]
    cache = EmbeddingCache(out / CACHE_DIR, embedder.name)
    # what a killed build embedded, read once; the old index's vectors win where both have one
    known = {**{h: (lambda v=v: v) for h, v in cache.load().items()}, **_known_vectors(old)}
    t = time.perf_counter()
    chunk_vecs = _vectors(plan.texts, plan.hashes, known, embedder, report, progress, cache, "embedding chunks")
    t, report.stages["embed chunks"] = time.perf_counter(), time.perf_counter() - t
    embedded, reused = report.embedded, report.reused
    sent_vecs = _vectors(plan.sent_texts, sent_hashes, known, embedder, report, progress, cache,
                         "embedding sentences")
    t, report.stages["embed sentences"] = time.perf_counter(), time.perf_counter() - t
    report.embedded, report.reused = report.embedded + embedded, report.reused + reused
    vecs = np.vstack([chunk_vecs, sent_vecs])
    store = make_store(settings.store, embedder.dim, n, settings.hnsw_threshold)
    store.add(vecs[:n])
    sent_store = make_store(settings.store, embedder.dim, len(plan.sentences), settings.hnsw_threshold)
    sent_store.add(vecs[n:])
    bm25 = BM25Index.build([passage_text(c, c.heading) for c in plan.chunks], main_language(plan.docs, settings))
    doc_rows = [{"id": d.id, "title": d.title, "date": d.date, "author": d.author, "sha256": d.sha256,
                 "language": d.language, "text": d.text} for d in plan.docs]
    manifest = _manifest(settings, embedder, plan, report.skipped) | {"corpus": report.corpus,
                                                                       "corpus_language": bm25.lang}
    name = snapshot.write(out, snapshot.Snapshot(manifest, doc_rows, plan.chunks, plan.hashes, vecs[:n],
                                                 plan.sentences, vecs[n:], store, sent_store, bm25))
    cache.clear()
    report.stages["write"] = time.perf_counter() - t
    return name


def _old_index(out: Path, settings: Settings):
    if snapshot.current_name(out) is None:
        return None
    try:
        return snapshot.load(out, embedder=settings.embedder)
    except EmbedderMismatch as e:
        raise IndexError_(f"{e}. Or pass rebuild=True / --rebuild to replace it.") from None
    except IndexError_ as e:
        print(f"warning: {e}; building a fresh index instead", file=sys.stderr)
        return None


def _chunk_all(docs, repeats, old, settings, embedder, progress):
    cfg = _chunker_cfg(settings)
    reuse = old is not None and old.manifest.get("chunker") == cfg
    old_chunks = defaultdict(list)
    if reuse:
        for c in old.chunks:
            old_chunks[c.doc_id].append(replace(c, dup_group=""))
    old_sigs = old.manifest.get("documents", {}) if reuse else {}
    chunker = Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
    chunks: list[Chunk] = []
    for d in tqdm(docs, desc="chunking", unit="doc", disable=not progress):
        sig = _doc_sig(d, repeats[d.id])
        if old_sigs.get(d.id, {}).get("sig") == sig:
            chunks += old_chunks[d.id]
        else:
            chunks += chunker.split(d, repeats[d.id], settings.boilerplate_min_docs)
    return with_groups(chunks, duplicate_groups(chunks)), {d.id: d.title for d in docs}


def _sentences(chunks: list[Chunk], embedder_name: str) -> tuple[np.ndarray, list[str]]:
    """Sentence rows (chunk, start, end, hash) of chunks with two or more real sentences."""
    rows, texts = [], []
    for ci, c in enumerate(chunks):
        spans = [(a, b) for a, b in split_sentences(c.text, c.start)
                 if len(c.text[a - c.start:b - c.start].split()) >= MIN_SENTENCE_WORDS]
        if len(spans) < 2:
            continue
        for a, b in spans:
            text = c.text[a - c.start:b - c.start]
            rows.append((ci, a, b, bytes.fromhex(_embed_hash(embedder_name, text))))
            texts.append(text)
    return np.array(rows, dtype=snapshot.SENTENCE_DTYPE), texts


def _vectors(texts: list[str], hashes: list[str], known: dict, embedder, report, progress,
             cache: EmbeddingCache | None = None, desc: str = "embedding") -> np.ndarray:
    """Embeddings for all texts, reusing those `known` has (hash -> loader) for the same text.

    With a `cache`, each new batch is kept there as soon as it is embedded.
    """
    todo = sorted({h: i for i, h in enumerate(hashes) if h not in known}.values(),
                  key=lambda i: len(texts[i]))      # similar lengths batch with little padding
    fresh: dict[str, np.ndarray] = {}
    with tqdm(total=len(todo), desc=desc, unit="text", disable=not progress or not todo) as bar:
        for s in range(0, len(todo), EMBED_SLICE):
            part = todo[s:s + EMBED_SLICE]
            vecs = embedder.embed([texts[i] for i in part])
            fresh.update(zip((hashes[i] for i in part), vecs))
            if cache is not None:
                cache.add([hashes[i] for i in part], vecs)
            bar.update(len(part))
    report.embedded, report.reused = len(todo), len(hashes) - len(todo)
    if not hashes:
        return np.zeros((0, embedder.dim), np.float32)
    return np.vstack([fresh[h] if h in fresh else known[h]() for h in hashes]).astype(np.float32)


def _known_vectors(old) -> dict:
    """hash -> loader of the old index's vector for that text."""
    if old is None:
        return {}
    known = {h: (lambda i=i: old.vectors[i]) for i, h in enumerate(old.embed_hashes)}
    known.update({h.hex(): (lambda i=i: old.sent_vectors[i]) for i, h in enumerate(old.sentences["hash"])})
    return known


def _diff(report: BuildReport, docs: list[Document], old) -> None:
    before = {k: v["sha256"] for k, v in old.manifest.get("documents", {}).items()} if old else {}
    now = {d.id: d.sha256 for d in docs}
    report.added = sorted(set(now) - set(before))
    report.removed = sorted(set(before) - set(now))
    report.changed = sorted(k for k in set(now) & set(before) if now[k] != before[k])


def _chunker_cfg(s: Settings) -> dict:
    return {"version": CHUNKER_VERSION, "chunk_tokens": s.chunk_tokens, "chunk_overlap": s.chunk_overlap,
            "boilerplate_min_docs": s.boilerplate_min_docs}


def _doc_sig(doc: Document, repeats: list[int]) -> str:
    return hashlib.sha256((doc.sha256 + repr(repeats)).encode()).hexdigest()[:24]


def main_language(docs, settings: Settings) -> str:
    """The corpus language BM25 stems in: the setting, else the language most of the text is in."""
    if settings.corpus_language:
        return settings.corpus_language
    chars = Counter()
    for d in docs:
        chars[d.language or "de"] += len(d.text)
    return chars.most_common(1)[0][0] if chars else "de"


def _embed_hash(embedder: str, text: str) -> str:
    """Names an embedding: same embedder and same text give the same vector."""
    return hashlib.sha1(f"{embedder}\x00{text}".encode()).hexdigest()


def _manifest(settings: Settings, embedder: Embedder, plan: _Plan, skipped) -> dict:
    docs, repeats = plan.docs, plan.repeats
    per_doc = defaultdict(int)
    for c in plan.chunks:
        per_doc[c.doc_id] += 1
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedder": {"name": embedder.name, "dim": int(embedder.dim)},
        "chunker": _chunker_cfg(settings), "sentence_vectors": settings.sentence_vectors,
        "store": settings.store,
        "settings": {k: v for k, v in asdict(settings).items()                # no paths, URLs or keys
                     if not k.endswith(("_dir", "_path", "_url", "_key")) and k != "home"},
        "documents": {d.id: {"sha256": d.sha256, "sig": _doc_sig(d, repeats[d.id]), "title": d.title,
                             "date": d.date, "language": d.language, "chunks": per_doc[d.id]}
                      | ({"size": plan.stats[d.id][0], "mtime_ns": plan.stats[d.id][1]} if d.id in plan.stats else {})
                      for d in docs},
        "skipped": [{"file": f, "reason": r} for f, r in skipped],
        "counts": {"documents": len(docs), "chunks": len(plan.chunks), "sentences": len(plan.sentences)},
    }
