"""Hybrid retrieval: dense (FAISS) and BM25 lists fused by weighted reciprocal rank.

Near-duplicate passages collapse to their best-ranked copy and boilerplate
(a block repeated across many articles) sorts after real content.

Example:
    hits = retrieve("Wie viel will der Konzern investieren?", k=3)
    hits[0].source, hits[0].text[:40]
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.lang import detect
from core.settings import Settings, load_settings
from index import Embedder, IndexReader, build_index, get_backend, load_embedder
from rag.langshift import shift_queries
from rag.scope import article_scope
from rag.types import Hit

MAX_QUESTION_CHARS = 2000


class Retriever:
    """Searches one loaded index with one embedder."""

    def __init__(self, index: IndexReader, embedder: Embedder, settings: Settings):
        self.index, self.embedder, self.settings = index, embedder, settings

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        """The k best passages for `question`."""
        return self.search_many([question], k)[0]

    def search_many(self, questions: list[str], k: int | None = None) -> list[list[Hit]]:
        """The k best passages for each question (queries embedded in one batch).

        A question that names its article ("according to the article about the rail strike") is answered
        from the article that best matches that topic alone (`rag.scope`).
        """
        scoped = [article_scope(clean_question(q)) for q in questions]
        topics = [t for _, t in scoped if t]
        found = iter(h[0].source if h else None for h in (self._search(topics, 1) if topics else []))
        return self._search([q for q, _ in scoped], k, [next(found) if t else None for _, t in scoped])

    def _search(self, qs: list[str], k: int | None, only: list[str | None] | None = None) -> list[list[Hit]]:
        """Hybrid search per question, within the document `only[i]` when that is set."""
        s, k, only = self.settings, k or self.settings.top_k, only or [None] * len(qs)
        main = self.language
        langs = [detect(q, main) for q in qs]
        qv = shift_queries(self.embedder.embed(qs, kind="query"), langs, main, self.embedder,
                           s.language_shift)
        out = []
        with self.index.reading():        # one consistent view of an index that another process may update
            sv = self._sentence_queries(qs, langs, qv)
            dense = self._dense(qv, only) if s.dense_weight > 0 else [[]] * len(qs)
            for q, lang, d_ids, v, doc in zip(qs, langs, dense, sv, only):
                bm25_weight = s.bm25_weight if lang == main else s.cross_lingual_bm25_weight
                b_ids = self.index.lexical(q, s.candidates) if bm25_weight > 0 else []
                if doc:
                    self.index.fetch(b_ids)
                    b_ids = [i for i in b_ids if self.index.chunk(i).doc_id == doc]
                fused, ranks = fuse([d_ids, b_ids], [s.dense_weight, bm25_weight], s.rrf_k)
                out.append(self._hits(fused, ranks, k, v))
        return out

    @property
    def language(self) -> str:
        """The corpus's main language: the setting, else the one the index was built in (BM25 stems in it)."""
        return self.settings.corpus_language or self.index.language

    def known(self, word: str) -> bool:
        """True when the indexed articles contain `word` (or a form of it): see `BM25Index.known`."""
        return self.index.known(word)

    def focus(self, question: str) -> str:
        """The question without the words most chunks contain: what tells its sentences apart.

        In articles about one company every sentence names it, and the embedder ranks "the company invests
        5 billion" above "the cloud unit grew 26 percent" for "How fast did the company's cloud revenue grow?".
        """
        words = re.findall(r"[^\W_][\w-]*", question)
        common = self.index.common(words, self.settings.focus_share) if words else []
        return " ".join(w for w, c in zip(words, common) if not c)

    def _sentence_queries(self, qs: list[str], langs: list[str], qv: np.ndarray) -> np.ndarray:
        """The vectors that rank sentences: the question blended with its `focus` (`focus_weight`)."""
        w = self.settings.focus_weight
        if w <= 0 or not len(qs):
            return qv
        focused = [self.focus(q) or q for q in qs]
        changed = [i for i, (q, f) in enumerate(zip(qs, focused)) if f != q]     # the rest keep their vector
        if not changed:
            return qv
        fv = qv.copy()
        fv[changed] = shift_queries(self.embedder.embed([focused[i] for i in changed], kind="query"),
                                    [langs[i] for i in changed], self.language, self.embedder,
                                    self.settings.language_shift)
        return (1 - w) * qv + w * fv       # cos is linear in the query: this blends the two cosines

    def _dense(self, qv: np.ndarray, only: list[str | None] | None = None) -> list[list[int]]:
        """Chunk ids per query, best first, scored cos(q, chunk) + w * max cos(q, sentence of chunk)."""
        ix, c, only = self.index, self.settings.candidates, only or [None] * len(qv)
        has_sents = ix.has_sentences and self.settings.sentence_weight > 0
        free = [n for n, doc in enumerate(only) if not doc]     # a scoped query scores all its article's chunks
        chunk_ids = dict(zip(free, ix.nearest(qv[free], c))) if free else {}
        sent_ids = dict(zip(free, ix.nearest_sentences(qv[free], 3 * c))) if free and has_sents else {}
        out = []
        for n, (q, doc) in enumerate(zip(qv, only)):
            ids = set(ix.chunks_of(doc)) if doc else set(chunk_ids[n]) | set(sent_ids.get(n, []))
            cand = np.array(sorted(ids), dtype=np.int64)
            if not len(cand):
                out.append([])
                continue
            ix.fetch(cand)
            score = ix.chunk_vectors(cand) @ q
            if has_sents:
                score = score + self.settings.sentence_weight * self._best_sentence(q, cand, score)
            out.append(cand[np.argsort(-score, kind="stable")].tolist())
        return out

    def _sentence_sims(self, q: np.ndarray, ci: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """((start, end) per sentence, cosines of q with each) of chunk `ci`; empty if it has none."""
        spans, vecs = self.index.sentences_of(ci)
        return spans, (vecs @ q if len(spans) else np.zeros(0, np.float32))

    def _best_sentence(self, q: np.ndarray, cand: np.ndarray, chunk_score: np.ndarray) -> np.ndarray:
        """Max cosine of q over each candidate's sentences (the chunk's own score if it has none)."""
        best = chunk_score.copy()
        for n, ci in enumerate(cand):
            sims = self._sentence_sims(q, ci)[1]
            if len(sims):
                best[n] = float(sims.max())
        return best

    def _sentence_scores(self, q: np.ndarray, ci: int) -> tuple:
        """((start, end, cosine), ...) for each sentence of chunk `ci`, in document order."""
        spans, sims = self._sentence_sims(q, ci)
        return tuple((a, b, round(float(s), 4)) for (a, b), s in zip(spans, sims))

    def _hits(self, fused: dict[int, float], ranks: dict[int, list], k: int, q: np.ndarray) -> list[Hit]:
        self.index.fetch(list(fused))
        order = sorted(fused, key=lambda i: (self.index.chunk(i).boilerplate, -fused[i]))
        hits, seen_groups = [], set()
        for i in order:
            c = self.index.chunk(i)
            if c.dup_group and c.dup_group in seen_groups:
                continue
            seen_groups.add(c.dup_group or c.id)
            doc = self.index.doc(c.doc_id)
            sents = self._sentence_scores(q, i)
            best = max(sents, key=lambda t: t[2]) if sents else (None, None, 0.0)
            hits.append(Hit(source=c.doc_id, text=c.text, start=c.start, end=c.end, score=round(fused[i], 6),
                            chunk_id=c.id, title=doc.get("title", ""), date=doc.get("date", ""), heading=c.heading,
                            dense_rank=ranks[i][0], bm25_rank=ranks[i][1], boilerplate=c.boilerplate,
                            sentence_start=best[0], sentence_end=best[1], sentences=sents,
                            language=doc.get("language", "")))
            if len(hits) == k:
                break
        return hits



def fuse(lists: list[list[int]], weights: list[float], rrf_k: int) -> tuple[dict[int, float], dict[int, list]]:
    """Weighted reciprocal-rank fusion: score(i) = sum over lists of w / (rrf_k + rank).

    >>> fuse([[7, 8], [8]], [1.0, 1.0], 60)[0] == {7: 1 / 61, 8: 1 / 62 + 1 / 61}
    True
    """
    fused: dict[int, float] = {}
    ranks: dict[int, list] = {}
    for which, (ids, weight) in enumerate(zip(lists, weights)):
        if weight <= 0:
            continue
        for rank, i in enumerate(ids, 1):
            fused[i] = fused.get(i, 0.0) + weight / (rrf_k + rank)
            ranks.setdefault(i, [None] * len(lists))[which] = rank
    return fused, ranks


def clean_question(question) -> str:
    """The question with control characters blanked; `InputError` (saying what to do) if unusable.

    >>> clean_question("Wer ist" + chr(0) + " Anna Berg?" + chr(27))
    'Wer ist  Anna Berg?'
    """
    if not isinstance(question, str):
        raise InputError(f"the question must be text, not {type(question).__name__}")
    q = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
    if not q:
        raise InputError("the question is empty; type a question about the articles")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(q):,} characters long; ask it in at most {MAX_QUESTION_CHARS:,} "
                         "(to search with a long text, put it in a file and index it)")
    return q


_EMBEDDERS: dict[tuple, Embedder] = {}
_INDEXES: dict[tuple, IndexReader] = {}
_RETRIEVERS: dict[tuple, Retriever] = {}
_MAX_RETRIEVERS = 8              # settings variants over the one loaded index (a slider moved back and forth)
_LOADING = threading.RLock()     # concurrent first calls load a model or index once, not once per thread


def get_retriever(index_dir: str | Path | None = None, settings: Settings | None = None) -> Retriever:
    """A cached retriever for `index_dir` (None: the default index, built from the bundled articles on first use)."""
    settings = settings or load_settings()
    with _LOADING:
        return _get_retriever(settings.index_at(index_dir), index_dir is None, settings)


def _get_retriever(path: Path, default: bool, settings: Settings) -> Retriever:
    embedder = embedder_for(settings)      # first: a bad model name is the clearer error
    backend = get_backend(settings.backend)

    def loaded_key() -> tuple:             # what loading the index depends on; a build that lands changes it
        return backend.name, backend.location(path, settings), backend.version(path, settings), settings.embedder
    key = loaded_key()
    if key not in _INDEXES and default and not backend.exists(path, settings):
        build_index(settings.corpus_path, path, settings=settings, embedder=embedder)
        key = loaded_key()
    if key not in _INDEXES:
        _INDEXES.clear()       # one live index per process keeps memory flat
        _RETRIEVERS.clear()
        _INDEXES[key] = backend.reader(path, settings)
    if (key, settings) not in _RETRIEVERS:      # other answer settings reuse the loaded index
        if len(_RETRIEVERS) >= _MAX_RETRIEVERS:
            _RETRIEVERS.clear()
        _RETRIEVERS[key, settings] = Retriever(_INDEXES[key], embedder, settings)
    return _RETRIEVERS[key, settings]


def open_index(index_dir: str | Path | None, settings: Settings) -> IndexReader:
    """The built index at `index_dir` (None: the configured one), opened for reading by the configured backend."""
    return get_backend(settings.backend).reader(settings.index_at(index_dir), settings)


def has_index(settings: Settings, index_dir: str | Path | None = None) -> bool:
    """True when the configured backend holds a built index."""
    return get_backend(settings.backend).exists(settings.index_at(index_dir), settings)


def embedder_for(settings: Settings) -> Embedder:
    """The embedder `settings` name, loaded once per process."""
    key = (settings.embedder, settings.embedder_path, str(settings.models_path), settings.embed_batch_size,
           settings.embed_bf16)
    with _LOADING:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = load_embedder(settings)
        return _EMBEDDERS[key]


def retrieve(question: str, k: int = 5, index_dir: str | Path | None = None,
             settings: Settings | None = None) -> list[Hit]:
    """The k best passages for `question` from the index at `index_dir` (None: the bundled articles)."""
    return get_retriever(index_dir, settings).search(question, k)
