"""The index in PostgreSQL with pgvector (`backend = "postgres"`): many processes and machines share one index.

Tables (schema version `SCHEMA_VERSION`): `rag_docs`, `rag_chunks` and `rag_sentences` with their vectors
(HNSW, cosine), `rag_postings` and `rag_vocab` (BM25 over the same stemmed words as the folder index), and
`rag_state` (one row: the live build's name, manifest and BM25 statistics). A build runs in one
transaction under an advisory lock: readers see the previous build until it commits.

Example:
    with connect("postgresql://rag:pw@127.0.0.1:55432/rag") as conn:
        schema_version(conn)            # 1
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager

import numpy as np

from core.errors import ConfigError, IndexError_

SCHEMA_VERSION = 1
LOCK_KEY = 0x7261676E            # "ragn": the advisory lock every builder takes

MIGRATIONS = [
    # 0 -> 1: the first schema. Vectors are stored undimensioned; HNSW indexes are made per dimension.
    """
    create extension if not exists vector;
    create table rag_schema (version int not null);
    create table rag_state (id int primary key default 1 check (id = 1), snapshot text not null,
        manifest jsonb not null, chunks bigint not null, avg_len float8 not null, lang text not null,
        dim int not null);
    create table rag_docs (id text primary key, title text not null, date text not null, author text not null,
        sha256 text not null, language text not null, text text not null);
    create sequence rag_ids;
    create table rag_chunks (id bigint primary key, key text not null unique, doc_id text not null,
        chunk jsonb not null, embed_hash text not null, len int not null, embedding vector not null);
    create index rag_chunks_doc on rag_chunks (doc_id);
    create index rag_chunks_hash on rag_chunks (embed_hash);
    create table rag_sentences (id bigint primary key,
        chunk_id bigint not null references rag_chunks on delete cascade,
        start bigint not null, stop bigint not null, hash text not null, embedding vector not null);
    create index rag_sentences_chunk on rag_sentences (chunk_id);
    create index rag_sentences_hash on rag_sentences (hash);
    create table rag_postings (term text not null, chunk_id bigint not null references rag_chunks on delete cascade,
        tf int not null, len int not null, primary key (term, chunk_id));
    create index rag_postings_chunk on rag_postings (chunk_id);
    create table rag_vocab (term text primary key, df int not null);
    create index rag_vocab_prefix on rag_vocab (term text_pattern_ops);
    insert into rag_schema values (0);
    """,
]


def redact(url: str) -> str:
    """The URL or key=value DSN without its password, for messages.

    >>> redact("postgresql://rag:secret@db:5432/rag"), redact("postgresql://rag:p@ss@db/rag")
    ('postgresql://rag:***@db:5432/rag', 'postgresql://rag:***@db/rag')
    >>> redact("host=db password=secret user=rag"), redact("postgresql://db/rag?sslmode=require&password=secret")
    ('host=db password=*** user=rag', 'postgresql://db/rag?sslmode=require&password=***')
    """
    url = re.sub(r"(//[^:/@]+):[^/]*@", r"\1:***@", url)              # user:password@host (the last @ ends it)
    url = re.sub(r"([?&]password=)[^&#]*", r"\1***", url, flags=re.I)
    return re.sub(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url, flags=re.I)


def connect(url: str, autocommit: bool = True):
    """A psycopg connection with pgvector's types; a clear error when the server cannot be reached."""
    if not url:
        raise ConfigError("backend = \"postgres\" needs postgres_url (RAG_POSTGRES_URL): for a local server run "
                          "`rag db start` and use the URL it prints")
    try:
        import psycopg
    except ImportError:
        raise ConfigError("backend = \"postgres\" needs the postgres extra: pip install -e '.[postgres]'") from None
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as e:
        why = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise IndexError_(f"cannot connect to PostgreSQL at {redact(url)} ({why}): start the local server with "
                          "`rag db start`, or check postgres_url") from None
    register_types(conn)
    return conn


def register_types(conn) -> None:
    """Let `conn` send and receive pgvector's `vector` as numpy arrays (once the extension exists)."""
    if conn.execute("select 1 from pg_type where typname = 'vector'").fetchone() is not None:
        from pgvector.psycopg import register_vector
        register_vector(conn)


def as_array(v) -> np.ndarray:
    """A pgvector value as float32 numpy."""
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32)


def schema_version(conn) -> int:
    """The schema version the database holds (0: no rag tables yet)."""
    row = conn.execute("select to_regclass('rag_schema') is not null").fetchone()
    if not row[0]:
        return 0
    return int(conn.execute("select version from rag_schema").fetchone()[0])


def check_schema(conn, url: str) -> int:
    """The schema version, refused with the fix when it is not the one this code reads."""
    v = schema_version(conn)
    if v > SCHEMA_VERSION:
        raise IndexError_(f"the database at {redact(url)} has index schema {v}, newer than this rag-news reads "
                          f"({SCHEMA_VERSION}): upgrade rag-news")
    if 0 < v < SCHEMA_VERSION:
        raise IndexError_(f"the database at {redact(url)} has index schema {v}, older than this rag-news "
                          f"({SCHEMA_VERSION}): run `rag db migrate` (the index is kept)")
    return v


def migrate(conn) -> tuple[int, int]:
    """Bring the schema to `SCHEMA_VERSION` in one transaction under the build lock; (from, to)."""
    with advisory_lock(conn):
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise IndexError_(f"the database has index schema {before}, newer than this rag-news "
                              f"({SCHEMA_VERSION}): upgrade rag-news")
        with conn.transaction():
            for step in MIGRATIONS[before:SCHEMA_VERSION]:
                conn.execute(step)
            conn.execute("update rag_schema set version = %s", (SCHEMA_VERSION,))
    register_types(conn)
    return before, SCHEMA_VERSION


@contextmanager
def advisory_lock(conn):
    """Hold the builders' lock on `conn` (waiting, with a message, while another build holds it)."""
    if not conn.execute("select pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
        print("another build of this index is running; waiting for it to finish", file=sys.stderr, flush=True)
        conn.execute("select pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("select pg_advisory_unlock(%s)", (LOCK_KEY,))
