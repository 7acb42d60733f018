"""BM25 over stemmed words (bm25s + PyStemmer), saved as JSON and .npy (no pickle).

Example:
    >>> b = BM25Index.build(["Siemens investiert Milliarden", "Bosch und China"], "de")
    >>> b.search("Investitionen von Siemens", 1)[1].tolist()
    [0]
"""

from __future__ import annotations

import bisect
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.words import stopwords, word_start

STEMMERS = {"de": "german", "en": "english", "fr": "french", "es": "spanish", "it": "italian", "nl": "dutch",
            "pt": "portuguese", "pl": "polish", "ru": "russian"}
_WORD = re.compile(r"\w+")


class Analyzer:
    """Lower-case words, stop words dropped, Snowball-stemmed in one language."""

    def __init__(self, lang: str):
        import Stemmer
        self.lang = lang
        self.stemmer = Stemmer.Stemmer(STEMMERS.get(lang, "german"))
        self.stop = stopwords(lang)

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in self.stop]
        return self.stemmer.stemWords(words)


class BM25Index:
    """A BM25 index whose row ids match the dense store's; it keeps each row's stems (as vocabulary ids) so the
    next build analyses only new text."""

    FOLDER = "bm25"

    def __init__(self, model, lang: str, tokens: np.ndarray | None = None, ends: np.ndarray | None = None):
        self.model, self.lang, self.analyze = model, lang, Analyzer(lang)
        self.tokens, self.ends = tokens, ends      # row i's stems: tokens[ends[i-1]:ends[i]]; None in old indexes
        self._stems: list[str] | None = None        # the sorted vocabulary, for prefix look-ups

    @classmethod
    def build(cls, texts: list[str], lang: str, before: "BM25Index | None" = None,
              before_texts: list[str] | None = None) -> "BM25Index":
        """Index `texts` (one row per chunk); a text `before` indexed (its rows' texts: `before_texts`) keeps
        its stems instead of being analysed again."""
        import bm25s
        analyze, vocab = Analyzer(lang), {}
        rows: list[np.ndarray] = []
        old_row, old_ids = {}, None
        if before is not None and before.tokens is not None and before.lang == lang and before_texts is not None:
            old_row = {t: i for i, t in enumerate(before_texts)}
            vocab = {w: i for w, i in before.model.vocab_dict.items() if w}      # the "" bm25s adds has no column
            old_ids = np.split(before.tokens, before.ends[:-1])
        for t in texts:
            r = old_row.get(t)
            rows.append(old_ids[r] if r is not None else
                        np.array([vocab.setdefault(w, len(vocab)) for w in analyze(t) or ["<empty>"]], np.int64))
        flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        used = np.unique(flat)                        # the vocabulary shrinks to the stems still indexed ...
        words = np.array(list(vocab), dtype=object)[used] if len(used) else np.zeros(0, object)
        order = np.argsort(words, kind="stable")      # ... and is sorted, so ids do not depend on the history
        used, words = used[order], words[order]
        remap = np.zeros(len(vocab), np.int64)
        remap[used] = np.arange(len(used))
        ends = np.cumsum([len(r) for r in rows], dtype=np.int64)
        ids = remap[flat].astype(np.int32)
        model = _vectorised_bm25()()
        model.index(bm25s.tokenization.Tokenized(ids=np.split(ids, ends[:-1]) if len(rows) else [],
                                                 vocab={w: i for i, w in enumerate(words.tolist())}),
                    show_progress=False)
        return cls(model, lang, ids, ends)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best rows with a positive score."""
        vocab = self.model.vocab_dict
        tokens = [t for t in self.analyze(query) if t in vocab]
        if not tokens:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = self.model.get_scores(tokens)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top], top

    def common(self, word: str, share: float) -> bool:
        """True when a stem of `word` occurs in at least `share` of the rows ("Siemens" in a corpus about it).

        >>> b = BM25Index.build(["Siemens investiert", "Siemens und Bosch", "Bosch und China"], "de")
        >>> b.common("Siemens", 0.6), b.common("China", 0.6), b.common("Tesla", 0.6)
        (True, False, False)
        """
        vocab, indptr = self.model.vocab_dict, self.model.scores["indptr"]
        n = max(int(self.model.scores["num_docs"]), 1)
        return any(t in vocab and (indptr[vocab[t] + 1] - indptr[vocab[t]]) / n >= share for t in self.analyze(word))

    def known(self, word: str) -> bool:
        """True when `word` occurs in the indexed texts, stemmed or as the start of an indexed stem.

        The start (all but the last three letters, at least four) lets an inflected or compounded form through:
        "Normans" against "Normannen", "Kaiser" against "Kaiserreich".

        >>> b = BM25Index.build(["Die Normannen eroberten England"], "de")
        >>> b.known("Normans"), b.known("England"), b.known("Frankreich")
        (True, True, False)
        """
        if any(t in self.model.vocab_dict for t in self.analyze(word)):
            return True
        start = word_start(word)
        stems = self._sorted_vocab()
        i = bisect.bisect_left(stems, start)
        return i < len(stems) and stems[i].startswith(start)

    def _sorted_vocab(self) -> list[str]:
        if self._stems is None:
            self._stems = sorted(self.model.vocab_dict)
        return self._stems

    def save(self, folder: str | Path) -> None:
        """Write arrays and vocabulary under `folder/bm25`."""
        out = Path(folder) / self.FOLDER
        self.model.save(str(out), allow_pickle=False, show_progress=False)
        (out / "lang.json").write_text(json.dumps({"lang": self.lang}))
        if self.tokens is not None:
            np.save(out / "tokens.npy", self.tokens, allow_pickle=False)
            np.save(out / "token_ends.npy", self.ends, allow_pickle=False)

    @classmethod
    def load(cls, folder: str | Path) -> "BM25Index":
        """Read an index written by `save`."""
        import bm25s
        src = Path(folder) / cls.FOLDER
        model = bm25s.BM25.load(str(src), allow_pickle=False, show_progress=False)
        lang = json.loads((src / "lang.json").read_text())["lang"]
        if not (src / "tokens.npy").is_file():        # written before stems were kept: analysed again when needed
            return cls(model, lang)
        return cls(model, lang, np.load(src / "tokens.npy", allow_pickle=False),
                   np.load(src / "token_ends.npy", allow_pickle=False))


@lru_cache(maxsize=1)
def _vectorised_bm25():
    import bm25s

    class VectorisedBM25(bm25s.BM25):
        """bm25s's BM25 whose index is built with array operations (its own loops take ~1 s per 10,000 chunks);
        the scores are bm25s's own (Lucene), bit for bit."""

        def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True,
                                 leave_progress=False):
            """bm25s's hook for building the score matrix (its default method, Lucene's)."""
            self.nonoccurrence_array = None
            lens = np.array([len(d) for d in corpus_token_ids], np.int64)
            n_docs, n_vocab = len(lens), len(unique_token_ids)
            flat = np.concatenate(corpus_token_ids).astype(np.int64) if n_docs else np.zeros(0, np.int64)
            pairs, tf = np.unique(np.repeat(np.arange(n_docs), lens) * n_vocab + flat, return_counts=True)
            doc, term = pairs // n_vocab, pairs % n_vocab
            df = np.bincount(term, minlength=n_vocab)
            idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(self.dtype)
            # as bm25s does: idf rounded to float32, the rest in float64, the score rounded to float32
            norm = self.k1 * ((1 - self.b) + self.b * lens / lens.mean())
            tf = tf.astype(np.float64)
            scores = (idf[term] * (tf / (norm[doc] + tf))).astype(self.dtype)
            data, indices, indptr = self._np_csc(data=scores, rows=doc.astype(self.int_dtype),
                                                 cols=term.astype(self.int_dtype), shape=(n_docs, n_vocab))
            return {"data": data.astype(self.dtype), "indices": indices, "indptr": indptr, "num_docs": n_docs}

    return VectorisedBM25
