"""Where an index lives, by name: `folder` (FAISS + BM25 snapshots) or `postgres` (pgvector tables).

A backend opens an index for reading (an `IndexReader`), writes builds (an `IndexWriter`), says whether an index
exists and where it is. The ANN type of the folder backend (`ann`: flat, hnsw, auto) is a separate setting.

Example:
    >>> get_backend("folder").name, sorted(BACKENDS)
    ('folder', ['folder', 'postgres'])
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from core.errors import ConfigError
from core.settings import Settings


class IndexReader(Protocol):
    """What the read path needs of a built index; `index.snapshot.LoadedIndex` and `index.postgres.read.PgIndex`
    have these methods, and the retriever uses no others."""

    manifest: dict
    language: str                   # the language BM25 stems in
    has_sentences: bool

    def reading(self) -> AbstractContextManager:
        """One consistent view of the index while a question is searched."""

    def nearest(self, qv: np.ndarray, k: int) -> list[list[int]]:
        """Chunk ids of the k nearest chunk vectors per query."""

    def nearest_sentences(self, qv: np.ndarray, k: int) -> list[list[int]]:
        """Chunk ids owning the k nearest sentence vectors per query."""

    def lexical(self, query: str, k: int) -> list[int]:
        """Chunk ids of the k best BM25 matches."""

    def known(self, word: str) -> bool:
        """True when the indexed text has `word`."""

    def common(self, words: list[str], share: float) -> list[bool]:
        """Per word: True when at least `share` of the chunks have it."""

    def fetch(self, ids) -> None:
        """Make chunks `ids` ready for `chunk`, `chunk_vectors` and `sentences_of`."""

    def chunk(self, i: int) -> Any:
        """Chunk row `i` (an `index.chunk.Chunk`)."""

    def doc(self, doc_id: str) -> dict:
        """The document's fields (title, date, language, ...); {} when unknown."""

    def chunks_of(self, doc_id: str) -> list[int]:
        """Row ids of the chunks of a document."""

    def chunk_vectors(self, ids) -> np.ndarray:
        """Embeddings of chunk rows `ids`."""

    def sentences_of(self, i: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """((start, end) per sentence, their vectors) of chunk row `i`."""


class IndexWriter(Protocol):
    """What a build needs of its destination: a lock, the live state, and writing a plan (`index.plan.Plan`)."""

    def lock(self) -> AbstractContextManager:
        """Held for the whole build: one builder at a time."""

    def previous(self) -> Any:
        """The live index (None when there is none); it must carry `manifest` and `chunks`."""

    def write(self, plan, old, embedder, report, progress: bool, rebuild: bool) -> tuple[str, bool]:
        """Apply the plan unless nothing changed: (the build's name, whether anything was written)."""


@dataclass(frozen=True, kw_only=True)
class Backend:
    """One place an index can live; every function takes (index folder, settings)."""

    name: str
    reader: Callable[[Path, Settings], IndexReader]
    writer: Callable[[Path, Settings], IndexWriter]
    exists: Callable[[Path, Settings], bool]
    version: Callable[[Path, Settings], str | None]     # changes when a build lands; None: no index
    location: Callable[[Path, Settings], str]           # where it is, passwords included (an identity)
    shown: Callable[[Path, Settings], str]              # where it is, for people (passwords hidden)


def _folder_reader(out: Path, s: Settings):
    from index.snapshot import load
    return load(out, embedder=s.embedder)


def _folder_writer(out: Path, s: Settings):
    from index.folder import FolderWriter
    return FolderWriter(out, s)


def _folder_version(out: Path, s: Settings) -> str | None:
    from index.snapshot import current_name
    return current_name(out)


def _folder_location(out: Path, s: Settings) -> str:
    return str(Path(out).expanduser().resolve())


def _pg_reader(out: Path, s: Settings):
    from index.postgres.read import PgIndex
    return PgIndex(s.postgres_url, s.embedder, s.postgres_ef_search)


def _pg_writer(out: Path, s: Settings):
    from index.postgres.write import PostgresWriter
    return PostgresWriter(s)


def _pg_exists(out: Path, s: Settings) -> bool:
    from index.postgres import connect, schema_version
    with connect(s.postgres_url) as conn:
        return schema_version(conn) > 0 and conn.execute("select 1 from rag_state").fetchone() is not None


def _pg_shown(out: Path, s: Settings) -> str:
    from index.postgres import redact
    return redact(s.postgres_url)


BACKENDS = {
    "folder": Backend(name="folder", reader=_folder_reader, writer=_folder_writer,
                      exists=lambda out, s: _folder_version(out, s) is not None, version=_folder_version,
                      location=_folder_location, shown=_folder_location),
    # a PostgreSQL reader follows new builds by itself: one version while the database has an index
    "postgres": Backend(name="postgres", reader=_pg_reader, writer=_pg_writer, exists=_pg_exists,
                        version=lambda out, s: "live", location=lambda out, s: s.postgres_url, shown=_pg_shown),
}


def get_backend(name: str) -> Backend:
    """The backend called `name`; an unknown name lists the valid ones."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    return BACKENDS[name]
