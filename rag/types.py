"""Small result types shared by the read path."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, kw_only=True)
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
    sentences: tuple = ()               # (start, end, cosine with the question) of each sentence, document offsets
    language: str = ""                  # the article's language ("" in indexes built before it was recorded)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Citation:
    """Marker [n] of an answer: the passage (chunk) it points at and the sentence(s) that support the claim."""

    n: int
    source: str
    text: str
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    date: str = ""
    title: str = ""
    support: float = 0.0

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(kw_only=True)
class Answer:
    """What `ask` returns: the answer text with [n] markers and the citations they map to."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool = False
    language: str = ""
    standalone_question: str = ""
    timings: dict = field(default_factory=dict)
    draft: str = ""                     # the model's reply before citations were checked (for evaluation)
    # what the model was shown: source, title, date, start, end, text
    passages: list[dict] = field(default_factory=list)
    checks: list = field(default_factory=list)  # every check's Verdict, in the order they ran (rag/checks.py)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Answer":
        """The Answer a `to_dict` came from (citations and verdicts as objects again)."""
        from rag.checks import Verdict
        return cls(**{**data, "citations": [Citation(**c) for c in data.get("citations", [])],
                      "checks": [Verdict(**{**v, "cited": tuple(v.get("cited", ()))}) for v in data.get("checks", [])]})
