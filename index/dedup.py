"""Near-duplicate passages across documents (syndicated text, promotional blocks).

A line counts as repeated in n documents when most of its word 3-gram shingles
(lower-cased, digits and month names folded) occur in n documents; so the promo
block "... Analyse vom 19. Mai ..." and "... vom 29. September ..." match.
Shingle hashes are stable across processes, so an index keeps each document's
(`Lines`) and a later build hashes only new text.

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
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.clean import MONTHS

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_SHARE = 0.6          # share of a line's shingles that must be repeated
MIN_WORDS = 4         # shorter lines (headings, captions) are never called repeated
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F], np.uint64)     # odd: combining word hashes mixes all bits


@dataclass(frozen=True)
class Lines:
    """One text's lines as shingle hashes: line i owns `hashes[ends[i-1]:ends[i]]` (none if it is short)."""

    hashes: np.ndarray        # uint64, each line's distinct shingles, line after line
    ends: np.ndarray          # int64, one per line


def normalise(text: str) -> list[str]:
    """Lower-cased words with digits folded to 0 and month names to `<month>`."""
    return [_fold(w) for w in _WORD.findall(text)]


@lru_cache(maxsize=1 << 18)
def _fold(word: str) -> str:
    """One word, normalised (cached: an archive repeats its words millions of times)."""
    w = word.lower()
    return "<month>" if w in MONTHS else _DIGITS.sub("0", w)


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    """A normalised word's stable 64-bit hash."""
    return int.from_bytes(hashlib.blake2b(_fold(word).encode(), digest_size=8).digest(), "little")


def line_shingles(text: str) -> Lines:
    """The shingle hashes of every line of `text`."""
    parts, ends, n = [], [], 0
    for line in text.split("\n"):
        words = _WORD.findall(line)
        if len(words) >= MIN_WORDS:
            w = np.fromiter((_word_hash(x) for x in words), np.uint64, len(words))
            part = np.unique(w[:-2] * _MIX[0] + w[1:-1] * _MIX[1] + w[2:])     # wraps modulo 2**64
            parts.append(part)
            n += len(part)
        ends.append(n)
    hashes = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    return Lines(hashes=hashes, ends=np.array(ends, np.int64))


def line_repeats(texts: dict[str, str]) -> dict[str, list[int]]:
    """For each document, per line: in how many documents that line (nearly) occurs."""
    return update(texts)[1]


@dataclass(frozen=True)
class Shingled:
    """What a build keeps of its documents' lines, by `text_key`, so the next build shingles only new text and
    recounts only lines that share a shingle with a document added or removed."""

    lines: dict[str, Lines]
    counts: dict[str, list[int]]          # each line's repeat count
    df: tuple[np.ndarray, np.ndarray]     # sorted shingle hashes, and in how many documents each occurs
    docs: dict[str, int]                  # documents with that text (usually 1)


def update(texts: dict[str, str], before: Shingled | None = None) -> tuple[Shingled, dict[str, list[int]]]:
    """Repeat counts per document id of `texts` (as `line_repeats`), updating what `before` counted."""
    keys = {d: text_key(t) for d, t in texts.items()}
    docs = Counter(keys.values())
    known = before.lines if before is not None else {}
    lines = {k: known.get(k) or line_shingles(texts[d]) for d, k in keys.items()}
    if before is None:
        df = _df([(np.unique(lines[k].hashes), n) for k, n in docs.items()])
        counts = _line_counts(lines, df)
    else:
        old = Counter(before.docs)
        changes = [(np.unique(lines[k].hashes), n) for k, n in (docs - old).items()]
        changes += [(np.unique(before.lines[k].hashes), -n) for k, n in (old - docs).items()]
        df = _merge(before.df, changes)
        touched = np.unique(np.concatenate([h for h, _ in changes])) if changes else np.zeros(0, np.uint64)
        redo = {k for k in docs if k not in before.counts} | _sharing(lines, touched)
        counts = {k: before.counts[k] for k in docs if k not in redo} | _line_counts({k: lines[k] for k in redo}, df)
    return Shingled(lines=lines, counts=counts, df=df, docs=dict(docs)), {d: counts[k] for d, k in keys.items()}


def _df(parts: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted hashes, summed counts) over (distinct hashes, count) pairs."""
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    keys, inverse = np.unique(np.concatenate([h for h, _ in parts]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([np.full(len(h), n) for h, n in parts]),
                         minlength=len(keys)).astype(np.int64)
    return keys[counts != 0], counts[counts != 0]


def _merge(df: tuple[np.ndarray, np.ndarray], changes) -> tuple[np.ndarray, np.ndarray]:
    """`df` plus the counts of `changes` (negative for removed documents)."""
    keys, counts = df
    add_keys, add_counts = _df(changes)
    at = np.searchsorted(keys, add_keys)
    hit = at < len(keys)
    hit[hit] = keys[at[hit]] == add_keys[hit]
    counts = counts.copy()
    counts[at[hit]] += add_counts[hit]
    keys, counts = np.insert(keys, at[~hit], add_keys[~hit]), np.insert(counts, at[~hit], add_counts[~hit])
    return keys[counts > 0], counts[counts > 0]


def _sharing(lines: dict[str, Lines], touched: np.ndarray) -> set[str]:
    """Keys of the texts with a shingle in `touched` (sorted)."""
    if not len(touched) or not lines:
        return set()
    names = list(lines)
    hashes = np.concatenate([lines[k].hashes for k in names])
    owner = np.repeat(np.arange(len(names)), [len(lines[k].hashes) for k in names])
    at = np.minimum(np.searchsorted(touched, hashes), len(touched) - 1)
    return {names[i] for i in np.unique(owner[touched[at] == hashes]).tolist()}


def _line_counts(lines: dict[str, Lines], df: tuple[np.ndarray, np.ndarray]) -> dict[str, list[int]]:
    """Per text, per line: the document frequency its shingles reach when ranked from the most repeated down to
    the `_SHARE` mark (1 for a line without shingles)."""
    names = list(lines)
    if not names:
        return {}
    keys, counts = df
    hashes = np.concatenate([lines[k].hashes for k in names])
    freq = counts[np.searchsorted(keys, hashes)] if len(hashes) else np.zeros(0, np.int64)
    sizes = np.concatenate([np.diff(lines[k].ends, prepend=0) for k in names])
    line_of = np.repeat(np.arange(len(sizes)), sizes)
    ranked = freq[np.lexsort((-freq, line_of))]                   # per line, most repeated first
    starts = np.cumsum(sizes) - sizes
    mark = np.maximum(0, (sizes * _SHARE + 0.999).astype(np.int64) - 1)
    per_line = np.where(sizes > 0, ranked[np.minimum(starts + mark, max(len(ranked) - 1, 0))]
                        if len(ranked) else 1, 1)
    out, at = {}, 0
    for k in names:
        n = len(lines[k].ends)
        out[k] = per_line[at:at + n].tolist()
        at += n
    return out


def fingerprint(text: str) -> str:
    """A short hash of the normalised words: equal for near-identical passages."""
    return hashlib.sha1(" ".join(normalise(text)).encode()).hexdigest()[:16]


def duplicate_groups(chunks, known: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """(chunk id -> group id for chunks whose fingerprint occurs in two or more documents, every chunk's
    fingerprint); `known` gives fingerprints by chunk text, computed before."""
    known = known or {}
    prints = [known.get(c.text) or fingerprint(c.text) for c in chunks]
    docs: dict[str, set] = defaultdict(set)
    for c, fp in zip(chunks, prints):
        docs[fp].add(c.doc_id)
    return {c.id: fp for c, fp in zip(chunks, prints) if len(docs[fp]) > 1}, prints


def text_key(text: str) -> str:
    """Names a text's `Lines`: the same text has the same shingles."""
    return hashlib.sha1(text.encode()).hexdigest()


def pack(kept: Shingled) -> dict[str, np.ndarray]:
    """`Shingled` as arrays (for `np.savez`); `unpack` reverses it."""
    keys = list(kept.lines)
    return {"keys": np.array(keys, dtype="S40"), "docs": np.array([kept.docs[k] for k in keys], np.int64),
            "lines": np.array([len(kept.lines[k].ends) for k in keys], np.int64),
            "ends": _joined([kept.lines[k].ends for k in keys], np.int64),
            "hashes": _joined([kept.lines[k].hashes for k in keys], np.uint64),
            "counts": _joined([np.array(kept.counts[k], np.int64) for k in keys], np.int64),
            "df_keys": kept.df[0], "df_counts": kept.df[1]}


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def unpack(arrays) -> Shingled:
    """`Shingled` from `pack`'s arrays."""
    lines, counts, docs = {}, {}, {}
    ends_all, hashes, counts_all = arrays["ends"], arrays["hashes"], arrays["counts"].tolist()
    line = at = 0
    for key, n, many in zip(arrays["keys"].tolist(), arrays["lines"].tolist(), arrays["docs"].tolist()):
        ends = ends_all[line:line + n]
        size = int(ends[-1]) if n else 0
        key = key.decode()
        lines[key], counts[key], docs[key] = Lines(hashes=hashes[at:at + size], ends=ends), \
            counts_all[line:line + n], many
        line, at = line + n, at + size
    return Shingled(lines=lines, counts=counts, df=(arrays["df_keys"], arrays["df_counts"]), docs=docs)
