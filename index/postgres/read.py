"""Read an index from PostgreSQL: the same interface as a snapshot folder's `LoadedIndex`.

Each search runs in one read-only REPEATABLE READ transaction (`reading()`), so it sees one committed build
from its first query to its last. Chunk rows never change under an id, so they are cached by id.

Example:
    ix = PgIndex("postgresql://rag:pw@127.0.0.1:55432/rag", "multilingual-e5-small")
    with ix.reading():
        ids = ix.nearest(query_vectors, 10)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from core.errors import IndexError_
from index.chunk import Chunk
from index.lexical import Analyzer
from index.postgres import as_array, check_schema, connect, redact
from index.snapshot import check_embedder

K1, B = 1.5, 0.75                 # BM25 as bm25s computes it (Lucene idf), so both stores rank alike
CACHE_CHUNKS = 4096


class PgIndex:
    """A PostgreSQL index opened for reading; safe to share between threads (a connection per thread)."""

    def __init__(self, url: str, embedder: str | None = None, ef_search: int = 100):
        self.url, self.embedder, self.ef_search = url, embedder, ef_search
        self._local = threading.local()
        self._cache: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()
        self._docs: dict[tuple, dict] = {}
        self.state()                    # refuse a missing, foreign or mismatched index now

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.url)
            if check_schema(conn, self.url) == 0:
                raise IndexError_(f"no index in the database at {redact(self.url)}; build one with "
                                  "`rag index FOLDER --set backend=postgres`")
            self._local.conn = conn
            conn.read_only = True
            import psycopg
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn

    def state(self) -> dict:
        """The live build: name, manifest, chunk count, mean length, language, dimension."""
        rows = self._run("select snapshot, manifest, chunks, avg_len, lang, dim from rag_state")
        row = rows[0] if rows else None
        if row is None:
            raise IndexError_(f"no index in the database at {redact(self.url)}; build one with "
                              "`rag index FOLDER --set backend=postgres`")
        st = dict(zip(("name", "manifest", "chunks", "avg_len", "lang", "dim"), row))
        check_embedder(st["manifest"], self.embedder, f"the index at {redact(self.url)}",
                       "rebuild it with `rag index FOLDER --set backend=postgres --rebuild`")
        return st

    def _run(self, sql: str, params=None) -> list:
        """The rows of one query; outside a search's transaction a dropped connection is reopened once."""
        import psycopg
        for attempt in (0, 1):
            conn = self._conn()
            inside = conn.info.transaction_status != 0
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.OperationalError as e:
                self._local.conn = None
                if inside or attempt:
                    raise IndexError_(f"lost the connection to PostgreSQL at {redact(self.url)} "
                                      f"({str(e).strip()}); check that the server runs (`rag db status`) "
                                      "and ask again") from None
        return []

    @property
    def name(self) -> str:
        """The live build's name."""
        return self.state()["name"]

    @property
    def manifest(self) -> dict:
        """The live build's manifest."""
        return self.state()["manifest"]

    @contextmanager
    def reading(self):
        """One read-only transaction: every query inside sees the same committed build."""
        import psycopg
        conn = self._conn()
        if conn.info.transaction_status != 0:        # already inside one
            yield
            return
        try:
            conn.execute("select 1")
        except psycopg.OperationalError:             # the server restarted since the last search: reconnect once
            self._local.conn = None
            conn = self._conn()
        try:
            with conn.transaction():
                self._local.state = self.state()
                conn.execute(f"set local hnsw.ef_search = {int(self.ef_search)}")
                try:
                    yield
                finally:
                    self._local.state = None
        except psycopg.OperationalError as e:
            self._local.conn = None
            raise IndexError_(f"lost the connection to PostgreSQL at {redact(self.url)} ({str(e).strip()}); "
                              "check that the server runs (`rag db status`) and ask again") from None

    def _st(self) -> dict:
        return getattr(self._local, "state", None) or self.state()

    @property
    def language(self) -> str:
        """The language BM25 stems in."""
        return self._st()["lang"]

    @property
    def has_sentences(self) -> bool:
        """True when sentence vectors were indexed."""
        return bool(self._st()["manifest"].get("counts", {}).get("sentences"))

    def nearest(self, qv: np.ndarray, k: int) -> list[list[int]]:
        """Chunk ids of the k nearest chunk vectors per query (HNSW, cosine)."""
        return self._nearest("rag_chunks", "id", qv, k)

    def nearest_sentences(self, qv: np.ndarray, k: int) -> list[list[int]]:
        """Chunk ids owning the k nearest sentence vectors per query."""
        return self._nearest("rag_sentences", "chunk_id", qv, k)

    def _nearest(self, table: str, column: str, qv: np.ndarray, k: int) -> list[list[int]]:
        dim = int(self._st()["dim"])
        conn, out = self._conn(), []
        sql = (f"select {column} from {table} order by embedding::vector({dim}) <=> %s::vector({dim}) "
               f"limit {int(k)}")
        with self.reading():
            if k > self.ef_search:         # HNSW returns at most ef_search rows
                conn.execute("select set_config('hnsw.ef_search', %s, true)", (str(min(k, 1000)),))
            for q in np.asarray(qv, dtype=np.float32):
                out.append([r[0] for r in conn.execute(sql, (q,))])
        return out

    def lexical(self, query: str, k: int) -> list[int]:
        """Chunk ids of the k best BM25 matches (positive scores only)."""
        st = self._st()
        terms = _analyzer(st["lang"])(query)
        if not terms or not st["chunks"]:
            return []
        uniq = sorted(set(terms))
        counts = [terms.count(t) for t in uniq]
        n, avg = int(st["chunks"]), float(st["avg_len"]) or 1.0
        rows = self._run(
            "with q(term, n) as (select * from unnest(%s::text[], %s::int[])) "
            "select p.chunk_id, sum(q.n * ln(1 + (%s - v.df + 0.5) / (v.df + 0.5)) * p.tf "
            "  / (p.tf + %s * (1 - %s + %s * p.len / %s))) as score "
            "from q join rag_vocab v using (term) join rag_postings p using (term) "
            "group by p.chunk_id order by score desc, p.chunk_id limit %s",
            (uniq, counts, n, K1, B, B, avg, int(k)))
        return [r[0] for r in rows if r[1] > 0]

    def known(self, word: str) -> bool:
        """True when the indexed text has `word`, stemmed or as the start of an indexed stem."""
        stems = _analyzer(self.language)(word)
        if stems and self._run("select 1 from rag_vocab where term = any(%s) limit 1", (stems,)):
            return True
        start = word.lower()[:max(4, len(word) - 3)]
        like = start.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return bool(self._run("select 1 from rag_vocab where term like %s limit 1", (like,)))

    def common(self, words: list[str], share: float) -> list[bool]:
        """For each word: True when a stem of it is in at least `share` of the chunks (one query for all)."""
        st = self._st()
        stems = [_analyzer(st["lang"])(w) for w in words]
        every = sorted({t for ts in stems for t in ts})
        if not every or not st["chunks"]:
            return [False] * len(words)
        df = dict(self._run("select term, df from rag_vocab where term = any(%s)", (every,)))
        n = max(int(st["chunks"]), 1)
        return [any(df.get(t, 0) / n >= share for t in ts) for ts in stems]

    def fetch(self, ids) -> None:
        """Load chunks `ids` (fields, vector, sentences) into the cache in two queries."""
        with self._lock:
            missing = sorted({int(i) for i in ids} - set(self._cache))
        if not missing:
            return
        rows = self._run("select id, chunk, embedding from rag_chunks where id = any(%s)", (missing,))
        sents: dict[int, list] = {}
        for cid, a, b, v in self._run("select chunk_id, start, stop, embedding from rag_sentences "
                                         "where chunk_id = any(%s) order by chunk_id, start", (missing,)):
            sents.setdefault(cid, []).append((a, b, v))
        with self._lock:
            for cid, body, vec in rows:
                ss, vec = sents.get(cid, []), as_array(vec)
                self._cache[cid] = (Chunk(**body), vec, [(a, b) for a, b, _ in ss],
                                    np.array([as_array(v) for *_, v in ss], np.float32).reshape(len(ss), len(vec)))
            while len(self._cache) > CACHE_CHUNKS:
                self._cache.popitem(last=False)

    def _row(self, i: int) -> tuple:
        i = int(i)
        with self._lock:
            row = self._cache.get(i)
        if row is None:
            self.fetch([i])
            with self._lock:
                row = self._cache.get(i)
        if row is None:
            raise IndexError_(f"chunk {i} is not in the index at {redact(self.url)} (a build removed it)")
        return row

    def chunk(self, i: int) -> Chunk:
        """Chunk `i`."""
        return self._row(i)[0]

    def chunk_vectors(self, ids) -> np.ndarray:
        """Embeddings of chunks `ids`."""
        self.fetch(ids)
        return np.vstack([self._row(i)[1] for i in ids]) if len(ids) else np.zeros((0, 0), np.float32)

    def sentences_of(self, i: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """((start, end) per sentence, their vectors) of chunk `i`."""
        row = self._row(i)
        return row[2], row[3]

    def chunks_of(self, doc_id: str) -> list[int]:
        """Ids of the chunks of a document."""
        return [r[0] for r in self._run("select id from rag_chunks where doc_id = %s order by id",
                                                   (doc_id,))]

    def doc(self, doc_id: str) -> dict:
        """The document's fields except its text; {} when unknown (cached for the live build)."""
        key = (self._st()["name"], doc_id)
        if key not in self._docs:
            rows = self._run("select id, title, date, author, sha256, language from rag_docs where id = %s",
                             (doc_id,))
            row = rows[0] if rows else None
            with self._lock:
                if len(self._docs) > CACHE_CHUNKS:
                    self._docs.clear()
                self._docs[key] = dict(zip(("id", "title", "date", "author", "sha256", "language"), row)) \
                    if row else {}
        return self._docs[key]


@lru_cache(maxsize=16)
def _analyzer(lang: str) -> Analyzer:
    return Analyzer(lang)
