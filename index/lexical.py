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
    """A BM25 index whose row ids match the dense store's."""

    FOLDER = "bm25"

    def __init__(self, model, lang: str):
        self.model, self.lang, self.analyze = model, lang, Analyzer(lang)
        self._stems: list[str] | None = None        # the sorted vocabulary, for prefix look-ups

    @classmethod
    def build(cls, texts: list[str], lang: str) -> "BM25Index":
        """Index `texts` (one row per chunk)."""
        import bm25s
        analyze = Analyzer(lang)
        model = bm25s.BM25()
        model.index([analyze(t) or ["<empty>"] for t in texts], show_progress=False)
        return cls(model, lang)

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

    @classmethod
    def load(cls, folder: str | Path) -> "BM25Index":
        """Read an index written by `save`."""
        import bm25s
        src = Path(folder) / cls.FOLDER
        model = bm25s.BM25.load(str(src), allow_pickle=False, show_progress=False)
        return cls(model, json.loads((src / "lang.json").read_text())["lang"])
