"""Sentence spans with exact offsets, aware of German abbreviations and dates.

>>> t = "Siemens investiert z.B. in KI. Die Analyse vom 19. Mai folgt! Im Jahr 2025. Neu"
>>> [t[a:b] for a, b in split_sentences(t)]
['Siemens investiert z.B. in KI.', 'Die Analyse vom 19. Mai folgt!', 'Im Jahr 2025.', 'Neu']
"""

from __future__ import annotations

import re

_ABBREV = {
    "z.b", "d.h", "u.a", "bzw", "ca", "dr", "prof", "nr", "mio", "mrd", "st", "vs", "etc", "usw", "inkl", "evtl",
    "ggf", "vgl", "bspw", "sog", "mr", "mrs", "ms", "jr", "sr", "inc", "corp", "co", "ltd", "no", "e.g", "i.e",
    "u.s", "jan", "feb", "mär", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "oct", "nov", "dez", "dec",
}
# a candidate end: . ! ? (possibly with closing quotes) followed by space and an upper-case letter, digit or quote
_END = re.compile(r"[.!?…]+[\"“”'»«)]*\s+(?=[A-ZÄÖÜ0-9„\"“«»(])")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, shifted by `offset`; lines never join."""
    spans = []
    pos = 0
    for line in text.split("\n"):
        spans += [(offset + pos + a, offset + pos + b) for a, b in _line_sentences(line)]
        pos += len(line) + 1
    return spans


def _line_sentences(line: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in _END.finditer(line):
        if _is_abbreviation(line[start:m.start() + 1]):
            continue
        end = m.end() - len(m.group()) + len(m.group().rstrip())
        out.append((start, end))
        start = m.end()
    out.append((start, len(line)))
    return [(a + _lead(line[a:b]), b - _trail(line[a:b])) for a, b in out if line[a:b].strip()]


def _is_abbreviation(before: str) -> bool:
    """True when the period ending `before` belongs to an abbreviation, ordinal or initial."""
    if not before.endswith("."):
        return False
    word = before[:-1].rsplit(None, 1)[-1] if before[:-1].split() else ""
    # "19. Mai" is an ordinal; "im Jahr 2025. Die" ends a sentence
    return (word.lower() in _ABBREV or (word.isdigit() and len(word) <= 2) or (len(word) == 1 and word.isalpha())
            or bool(re.fullmatch(r"(\w\.)+\w", word)))


def _lead(s: str) -> int:
    return len(s) - len(s.lstrip())


def _trail(s: str) -> int:
    return len(s) - len(s.rstrip())
