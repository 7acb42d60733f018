"""Split documents into sections (by heading and by repeated blocks), then into token-sized chunks.

Every chunk keeps exact offsets: `document.text[chunk.start:chunk.end] == chunk.text`.

Example:
    >>> ch = Chunker(lambda s: len(s.split()), chunk_tokens=50, overlap=5)
    >>> doc = Document("a.txt", "Titel der Seite\\nErster Satz. Zweiter Satz.")
    >>> [(c.heading, c.text) for c in ch.split(doc)]
    [('Titel der Seite', 'Titel der Seite\\nErster Satz. Zweiter Satz.')]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from index.clean import is_heading
from index.load import Document

SEPARATORS = ["\n\n", "\n", ". ", "! ", "? ", "; ", ": ", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    """A passage of a document with exact character offsets into its text."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str
    heading: str = ""
    boilerplate: bool = False
    dup_group: str = ""


@dataclass
class _Section:
    start: int
    end: int
    heading: str
    repeated: bool
    boilerplate: bool


class Chunker:
    """Token-measured recursive splitting (langchain-text-splitters) inside sections."""

    def __init__(self, count_tokens: Callable[[str], int], chunk_tokens: int, overlap: int):
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_tokens, chunk_overlap=overlap, length_function=count_tokens,
            separators=SEPARATORS, keep_separator="end", strip_whitespace=True,
        )

    def split(self, doc: Document, repeats: list[int] | None = None, boilerplate_min_docs: int = 3) -> list[Chunk]:
        """Chunks of `doc`; `repeats[i]` is in how many documents line i occurs (see dedup)."""
        chunks: list[Chunk] = []
        for sec in _sections(doc.text, repeats, boilerplate_min_docs):
            body = doc.text[sec.start:sec.end]
            cursor = 0
            for piece in self.splitter.split_text(body):
                at = body.find(piece, cursor)
                if at < 0:        # cannot happen with strip-only splitting; keep offsets honest anyway
                    at = body.find(piece)
                start = sec.start + at
                chunks.append(Chunk(f"{doc.id}#{len(chunks)}", doc.id, start, start + len(piece), piece,
                                    sec.heading, sec.boilerplate))
                cursor = at + 1
        return chunks


def _sections(text: str, repeats: list[int] | None, min_docs: int) -> list[_Section]:
    lines = text.split("\n")
    repeats = repeats or [1] * len(lines)
    sections: list[_Section] = []
    pos, heading = 0, ""
    for i, line in enumerate(lines):
        end = pos + len(line)
        if not line.strip() and sections:     # blank lines never change the section
            sections[-1].end = end
            pos = end + 1
            continue
        rep = repeats[i] > 1
        head = not rep and is_heading(line)
        cur = sections[-1] if sections else None
        if cur is None or head or rep != cur.repeated:
            if head and cur is not None and not text[cur.start:cur.end].strip("\n").count("\n") \
                    and is_heading(text[cur.start:cur.end].strip()):
                heading = cur.heading = line.strip()   # a heading right after a heading: merge
                cur.end = end
            else:
                heading = line.strip() if head else heading
                sections.append(_Section(pos, end, "" if rep else heading, rep, rep and repeats[i] >= min_docs))
        else:
            cur.end = end
            cur.boilerplate = cur.boilerplate or repeats[i] >= min_docs
        pos = end + 1
    return [s for s in sections if text[s.start:s.end].strip()]


def with_groups(chunks: list[Chunk], groups: dict[str, str]) -> list[Chunk]:
    """Chunks with their near-duplicate group ids filled in."""
    return [replace(c, dup_group=groups.get(c.id, "")) for c in chunks]
