"""Near-duplicate passages across documents (syndicated text, promotional blocks).

A line counts as repeated in n documents when most of its word 3-gram shingles
(lower-cased, digits and month names folded) occur in n documents; so the promo
block "... Analyse vom 19. Mai ..." and "... vom 29. September ..." match.

Example:
    >>> a = "Text A.\\nNeue Analyse vom 19. Mai liefert die Antwort auf alles"
    >>> b = "Text B.\\nNeue Analyse vom 29. September liefert die Antwort auf alles"
    >>> line_repeats({"a": a, "b": b})["a"]
    [1, 2]
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from functools import lru_cache

from index.clean import MONTHS

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_SHARE = 0.6          # share of a line's shingles that must be repeated
MIN_WORDS = 4         # shorter lines (headings, captions) are never called repeated


def normalise(text: str) -> list[str]:
    """Lower-cased words with digits folded to 0 and month names to `<month>`."""
    return [_fold(w) for w in _WORD.findall(text)]


@lru_cache(maxsize=1 << 18)
def _fold(word: str) -> str:
    """One word, normalised (cached: an archive repeats its words millions of times)."""
    w = word.lower()
    return "<month>" if w in MONTHS else _DIGITS.sub("0", w)


def _shingles(words: list[str]) -> set[int]:
    """Hashes of the word 3-grams of one line (within one process: only compared with each other)."""
    return {hash((words[i], words[i + 1], words[i + 2])) for i in range(len(words) - 2)}


def line_repeats(texts: dict[str, str]) -> dict[str, list[int]]:
    """For each document, per line: in how many documents that line (nearly) occurs."""
    lines = {d: [_shingles(w) if len(w := normalise(line)) >= MIN_WORDS else None for line in t.split("\n")]
             for d, t in texts.items()}
    df: Counter = Counter()
    for ls in lines.values():
        df.update(set().union(*(s for s in ls if s)))
    out = {}
    for d, ls in lines.items():
        counts = []
        for shingles in ls:
            if not shingles:
                counts.append(1)
                continue
            dfs = sorted((df[s] for s in shingles), reverse=True)
            counts.append(dfs[max(0, int(len(dfs) * _SHARE + 0.999) - 1)])
        out[d] = counts
    return out


def fingerprint(text: str) -> str:
    """A short hash of the normalised words: equal for near-identical passages."""
    return hashlib.sha1(" ".join(normalise(text)).encode()).hexdigest()[:16]


def duplicate_groups(chunks) -> dict[str, str]:
    """chunk id -> group id, for chunks whose fingerprint occurs in two or more documents."""
    prints = [fingerprint(c.text) for c in chunks]
    docs: dict[str, set] = defaultdict(set)
    for c, fp in zip(chunks, prints):
        docs[fp].add(c.doc_id)
    return {c.id: fp for c, fp in zip(chunks, prints) if len(docs[fp]) > 1}
