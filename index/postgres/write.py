"""Write a build into PostgreSQL: only changed chunks are deleted and inserted, all in one transaction.

A chunk row is keyed by its content (fields and embedding hash), so an unchanged chunk keeps its row and id,
and ids are never reused: a reader's cache by id stays valid across builds.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from core.errors import IndexError_
from core.settings import Settings
from index.chunk import Chunk
from index.lexical import Analyzer
from index.plan import Plan, chunk_key, manifest, passage_text, stacked, unchanged, vectors
from index.postgres import SCHEMA_VERSION, advisory_lock, as_array, check_schema, connect, migrate, redact
from index.snapshot import check_embedder, new_name

HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
DOC_FIELDS = ("id", "title", "date", "author", "sha256", "language")


@dataclass
class Previous:
    """What a build needs of the live state: its name, manifest and chunks (in document order)."""

    name: str
    manifest: dict
    chunks: list[Chunk]


class PostgresWriter:
    """The `postgres` backend's `IndexWriter`: lock, previous state, write."""

    def __init__(self, settings: Settings):
        self.settings, self.url, self.conn = settings, settings.postgres_url, None

    @contextmanager
    def lock(self):
        """Connect, create the schema in an empty database, and hold the builders' advisory lock."""
        self.conn = connect(self.url)
        try:
            if check_schema(self.conn, self.url) == 0:
                migrate(self.conn)
            with advisory_lock(self.conn):
                yield
        finally:
            self.conn.close()

    def previous(self) -> Previous | None:
        """The live build, or None in a database without one; refuses another embedder's index."""
        row = self.conn.execute("select snapshot, manifest from rag_state").fetchone()
        if row is None:
            return None
        check_embedder(row[1], self.settings.embedder, f"the index at {redact(self.url)}",
                       "pass rebuild=True / --rebuild to re-embed")
        rows = self.conn.execute("select chunk from rag_chunks order by doc_id, (chunk->>'start')::bigint, id")
        return Previous(row[0], row[1], [Chunk(**r[0]) for r in rows])

    def write(self, plan: Plan, old, embedder, report, progress: bool, rebuild: bool) -> tuple[str, bool]:
        """Apply the plan; (build name, whether anything was written)."""
        if old is not None and old.manifest.get("corpus") not in (None, report.corpus):
            print(f"note: the index at {redact(self.url)} was built from {old.manifest['corpus']}; this build makes "
                  f"it match {report.corpus} (articles only in the other folder are removed)", file=sys.stderr)
        keys = [chunk_key(c, h) for c, h in zip(plan.chunks, plan.hashes)]
        existing = {} if rebuild else dict(self.conn.execute("select key, id from rag_chunks").fetchall())
        keyset = set(keys)
        new = [i for i, k in enumerate(keys) if k not in existing]
        gone = [i for k, i in existing.items() if k not in keyset]
        lang = plan.language
        docs = {d.id: d for d in plan.docs}
        stored = {r[0]: r for r in self.conn.execute(f"select {', '.join(DOC_FIELDS)} from rag_docs")}
        changed_docs = [d for d in plan.docs if stored.get(d.id) != tuple(getattr(d, f) for f in DOC_FIELDS)]
        gone_docs = [i for i in stored if i not in docs]
        same = unchanged(plan, old.manifest if old is not None else None, lambda: existing, report)
        if same and not (changed_docs or gone_docs):
            report.reused = len(plan.hashes)
            return old.name, False
        fresh = set(new)
        sent_rows = [j for j, c in enumerate(plan.sentences["chunk"]) if int(c) in fresh]
        vecs = self._vectors(plan, new, sent_rows, embedder, report, progress)
        name = new_name()
        made = manifest(self.settings, embedder, plan, report.skipped) | {
            "corpus": report.corpus, "snapshot": name, "schema_version": SCHEMA_VERSION}
        try:
            with self.conn.transaction():
                self._apply(plan, keys, existing, new, gone, sent_rows, vecs, changed_docs, gone_docs, lang, old,
                            rebuild, embedder.dim)
                self.conn.execute(
                    "insert into rag_state (snapshot, manifest, chunks, avg_len, lang, dim) "
                    "select %s, %s, count(*), coalesce(avg(len), 0), %s, %s from rag_chunks "
                    "on conflict (id) do update set snapshot = excluded.snapshot, manifest = excluded.manifest, "
                    "chunks = excluded.chunks, avg_len = excluded.avg_len, lang = excluded.lang, dim = excluded.dim",
                    (name, _json(made), lang, int(embedder.dim)))
        except Exception as e:
            if type(e).__module__.startswith("psycopg"):
                raise IndexError_(f"could not write the index to {redact(self.url)} ({e}); the previous index is "
                                  "unchanged: fix the cause and run the build again") from None
            raise
        return name, True

    def _vectors(self, plan: Plan, new: list[int], sent_rows: list[int], embedder, report, progress) -> np.ndarray:
        """Vectors of the rows to insert (chunks, then sentences); texts the database has are not re-embedded."""
        hashes = [plan.hashes[i] for i in new] + [plan.sentences["hash"][j].hex() for j in sent_rows]
        texts = [plan.texts[i] for i in new] + [plan.sent_texts[j] for j in sent_rows]
        found = dict(self.conn.execute(
            "select embed_hash, embedding from rag_chunks where embed_hash = any(%(h)s) union all "
            "select hash, embedding from rag_sentences where hash = any(%(h)s)", {"h": list(set(hashes))}))
        known = stacked({h: as_array(v) for h, v in found.items()})
        return vectors(texts, hashes, known, embedder, report, progress)

    def _apply(self, plan, keys, existing, new, gone, sent_rows, vecs, changed_docs, gone_docs, lang, old, rebuild,
               dim) -> None:
        """All table changes of one build (inside its transaction)."""
        c = self.conn
        relex = rebuild or old is None or old.manifest.get("corpus_language") != lang
        if rebuild or (old is not None and old.manifest.get("embedder", {}).get("dim") != dim):
            c.execute("truncate rag_chunks, rag_sentences, rag_postings, rag_vocab, rag_docs")
            _drop_vector_indexes(c)
        affected = {r[0] for r in c.execute("select distinct term from rag_postings where chunk_id = any(%s)",
                                            (gone,))} if gone and not relex else set()
        c.execute("delete from rag_chunks where id = any(%s)", (gone,))
        c.execute("delete from rag_docs where id = any(%s)", (gone_docs,))
        for d in changed_docs:
            c.execute("insert into rag_docs values (%s, %s, %s, %s, %s, %s, %s) on conflict (id) do update set "
                      "title = excluded.title, date = excluded.date, author = excluded.author, "
                      "sha256 = excluded.sha256, language = excluded.language, text = excluded.text",
                      (d.id, d.title, d.date, d.author, d.sha256, d.language, d.text))
        ids = _next_ids(c, len(new) + len(sent_rows))
        chunk_ids = dict(zip(new, ids[:len(new)]))
        analyze = Analyzer(lang)
        tokens = {i: analyze(passage_text(plan.chunks[i], plan.chunks[i].heading)) for i in new}
        with c.cursor().copy("copy rag_chunks (id, key, doc_id, chunk, embed_hash, len, embedding) from stdin "
                             "with (format binary)") as cp:
            cp.set_types(["int8", "text", "text", "jsonb", "text", "int4", "vector"])
            for n, i in enumerate(new):
                cp.write_row((chunk_ids[i], keys[i], plan.chunks[i].doc_id, _json(asdict(plan.chunks[i])),
                              plan.hashes[i], max(1, len(tokens[i])), vecs[n]))
        with c.cursor().copy("copy rag_sentences (id, chunk_id, start, stop, hash, embedding) from stdin "
                             "with (format binary)") as cp:
            cp.set_types(["int8", "int8", "int8", "int8", "text", "vector"])
            for n, j in enumerate(sent_rows):
                r = plan.sentences[j]
                cp.write_row((ids[len(new) + n], chunk_ids[int(r["chunk"])], int(r["start"]), int(r["end"]),
                              r["hash"].hex(), vecs[len(new) + n]))
        if relex:
            c.execute("truncate rag_postings, rag_vocab")
            every = {i: existing[k] for i, k in enumerate(keys) if k in existing} | chunk_ids
            tokens |= {i: analyze(passage_text(plan.chunks[i], plan.chunks[i].heading)) for i in every
                       if i not in tokens}
            self._postings({every[i]: t for i, t in tokens.items()})
            c.execute("insert into rag_vocab select term, count(*) from rag_postings group by term")
        else:
            fresh = self._postings({chunk_ids[i]: t for i, t in tokens.items()})
            terms = list(affected | fresh)
            c.execute("delete from rag_vocab where term = any(%s)", (terms,))
            c.execute("insert into rag_vocab select term, count(*) from rag_postings where term = any(%s) "
                      "group by term", (terms,))
        _ensure_vector_indexes(c, dim)

    def _postings(self, tokens: dict[int, list[str]]) -> set[str]:
        """Insert (term, chunk, tf, len) rows; returns the terms written."""
        terms = set()
        with self.conn.cursor().copy("copy rag_postings (term, chunk_id, tf, len) from stdin") as cp:
            for cid, toks in tokens.items():
                for term, tf in Counter(toks).items():
                    cp.write_row((term, cid, tf, max(1, len(toks))))
                    terms.add(term)
        return terms


def _next_ids(conn, n: int) -> list[int]:
    if n == 0:
        return []
    return [r[0] for r in conn.execute("select nextval('rag_ids') from generate_series(1, %s)", (n,))]


def vector_index_name(table: str, dim: int) -> str:
    """The HNSW index of `table` for vectors of `dim` dimensions."""
    return f"{table}_hnsw_{int(dim)}"


def _ensure_vector_indexes(conn, dim: int) -> None:
    """HNSW (cosine) on chunk and sentence vectors; made after a bulk load, which is faster than row by row."""
    for table in ("rag_chunks", "rag_sentences"):
        conn.execute(f"create index if not exists {vector_index_name(table, dim)} on {table} using hnsw "
                     f"((embedding::vector({int(dim)})) vector_cosine_ops) "
                     f"with (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")


def _drop_vector_indexes(conn) -> None:
    for (name,) in conn.execute("select indexname from pg_indexes where indexname like 'rag\\_%%\\_hnsw\\_%%'"):
        conn.execute(f'drop index "{name}"')


def _json(value):
    from psycopg.types.json import Jsonb
    return Jsonb(value)
