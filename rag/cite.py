"""Citations from the sentences an answer was checked against: exact passage and sentence offsets.

>>> with_markers("Der Umsatz stieg um 12 Prozent.", [1, 2])
'Der Umsatz stieg um 12 Prozent [1][2].'
>>> strip_markers("Gut [1].")
'Gut.'
"""

from __future__ import annotations

import re

from rag.prompt import Evidence
from rag.types import Citation

_MARK = re.compile(r"\s*\[(\d{1,3})\]")


def markers(text: str) -> list[int]:
    """The marker numbers in order: "a [2] b [1]" -> [2, 1]."""
    return [int(m) for m in _MARK.findall(text)]


def strip_markers(text: str) -> str:
    """Text without [n] markers."""
    return _MARK.sub("", text)


def citations_for(sentences: list[Evidence]) -> list[Citation]:
    """One citation per sentence, numbered 1..m in the given order: its chunk, and the sentence as the quote."""
    return [Citation(n=n, source=e.hit.source, text=e.hit.text, start=e.hit.start, end=e.hit.end, quote=e.text,
                     quote_start=e.start, quote_end=e.end, date=e.hit.date, title=e.hit.title,
                     support=round(float(e.score), 4)) for n, e in enumerate(sentences, 1)]


def with_markers(text: str, numbers: list[int]) -> str:
    """`text` with "[1][2]" before its final punctuation (after the last word when it has none)."""
    text = strip_markers(text).strip()
    tags = "".join(f"[{n}]" for n in numbers)
    if not tags:
        return text
    end = len(text.rstrip(".!?…"))
    return f"{text[:end]} {tags}{text[end:]}"
