"""Hybrid retrieval: dense (FAISS) and BM25 lists fused by weighted reciprocal rank.

Near-duplicate passages collapse to their best-ranked copy and boilerplate
(a block repeated across many articles) sorts after real content.

Example:
    >>> hits = retrieve("Wie viel will Alibaba investieren?", k=3)   # doctest: +SKIP
    >>> hits[0].source, hits[0].text[:40]                             # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from index.embed import Embedder, load_embedder
from index.snapshot import LoadedIndex, current_name, load
from rag.errors import InputError
from rag.lang import detect
from rag.settings import Settings, load_settings
from rag.types import Hit

MAX_QUESTION_CHARS = 4000


class Retriever:
    """Searches one loaded index with one embedder."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: Settings):
        self.index, self.embedder, self.settings = index, embedder, settings

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        """The k best passages for `question`."""
        q = _clean_question(question)
        s, k = self.settings, k or self.settings.top_k
        fused: dict[int, float] = {}
        ranks: dict[int, list] = {}
        _, dense_ids = self.index.store.search(self.embedder.embed([q], kind="query"), s.candidates)
        _, bm25_ids = self.index.bm25.search(q, s.candidates)
        same_lang = detect(q, s.corpus_language) == s.corpus_language
        lists = [(0, [int(i) for i in dense_ids[0] if i >= 0], s.dense_weight),
                 (1, [int(i) for i in bm25_ids], s.bm25_weight if same_lang else s.cross_lingual_bm25_weight)]
        for which, ids, weight in lists:
            for rank, i in enumerate(ids, 1):
                fused[i] = fused.get(i, 0.0) + weight / (s.rrf_k + rank)
                ranks.setdefault(i, [None, None])[which] = rank
        order = sorted(fused, key=lambda i: (self.index.chunks[i].boilerplate, -fused[i]))
        hits, seen_groups = [], set()
        for i in order:
            c = self.index.chunks[i]
            if c.dup_group and c.dup_group in seen_groups:
                continue
            seen_groups.add(c.dup_group or c.id)
            doc = self.index.docs.get(c.doc_id, {})
            hits.append(Hit(c.doc_id, c.text, c.start, c.end, round(fused[i], 6), c.id, doc.get("title", ""),
                            doc.get("date", ""), c.heading, ranks[i][0], ranks[i][1], c.boilerplate))
            if len(hits) == k:
                break
        return hits

    def document_text(self, source: str) -> str:
        """The full text of a document in the index (what hit offsets point into)."""
        return self.index.docs[source]["text"]


def _clean_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty; type a question about the articles")
    q = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
    return q[:MAX_QUESTION_CHARS]


_EMBEDDERS: dict[tuple, Embedder] = {}
_RETRIEVERS: dict[tuple, Retriever] = {}


def get_retriever(index_dir: str | Path | None = None, settings: Settings | None = None) -> Retriever:
    """A cached retriever for `index_dir` (None: the default index, built from the bundled articles on first use)."""
    settings = settings or load_settings()
    path = Path(index_dir) if index_dir else settings.index_path
    if index_dir is None and current_name(path) is None:
        from index.build import build_index
        build_index(settings.corpus_path, path, settings=settings, embedder=_embedder(settings))
    key = (str(path.resolve()), current_name(path), settings)
    if key not in _RETRIEVERS:
        _RETRIEVERS.clear()    # one live index per process keeps memory flat
        _RETRIEVERS[key] = Retriever(load(path, embedder=settings.embedder), _embedder(settings), settings)
    return _RETRIEVERS[key]


def _embedder(settings: Settings) -> Embedder:
    key = (settings.embedder, settings.embedder_path, str(settings.models_path), settings.embed_batch_size)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = load_embedder(settings)
    return _EMBEDDERS[key]


def retrieve(question: str, k: int = 5, index_dir: str | Path | None = None,
             settings: Settings | None = None) -> list[Hit]:
    """The k best passages for `question` from the index at `index_dir` (None: the bundled articles)."""
    return get_retriever(index_dir, settings).search(question, k)
