"""Small result types shared by the read path."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Hit:
    """One retrieved passage: `source` is the document id, `start:end` offsets into its text."""

    source: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    title: str = ""
    date: str = ""
    heading: str = ""
    dense_rank: int | None = None
    bm25_rank: int | None = None
    boilerplate: bool = False
    sentence_start: int | None = None   # the passage's sentence closest to the question (document offsets)
    sentence_end: int | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)
