"""Words both paths need: the start a word's inflections share, and a language's function words.

>>> word_start("Normannen"), "und" in stopwords("de")
('norman', True)
"""

from __future__ import annotations

_STOPWORDS = {"de": "GERMAN", "en": "EN", "fr": "FRENCH", "es": "SPANISH", "it": "ITALIAN", "nl": "DUTCH",
              "pt": "PORTUGUESE", "ru": "RUSSIAN", "zh": "CHINESE"}


def word_start(word: str) -> str:
    """The part of a word its inflections and compounds share: all but the last three letters, at least four.

    >>> word_start("Normannen"), word_start("Kaiser")
    ('norman', 'kais')
    """
    w = word.lower()
    return w[:max(4, len(w) - 3)]


def stopwords(lang: str) -> frozenset[str]:
    """The function words of `lang` (bm25s's lists; empty for a language without one)."""
    from bm25s import stopwords as lists
    return frozenset(getattr(lists, f"STOPWORDS_{_STOPWORDS[lang]}", ()) if lang in _STOPWORDS else ())
