"""Tell German from English questions by their function words.

>>> detect("Wie viel will Alibaba investieren?"), detect("How much will Alibaba invest?")
('de', 'en')
"""

from __future__ import annotations

import re

_WORDS = {
    "de": set("der die das den dem des und oder ist sind war waren nicht kein keine ein eine einen wie was wer "
              "wann wo warum weshalb welche welcher welches wieviel viel viele hat haben hatte wird werden wurde "
              "mit von zu zum zur im auf für sich auch es sie er über bei nach aus um dass noch nur schon "
              "gegen seit bis durch ob davon".split()),
    "en": set("the and or is are was were not no a an what who whom when where why which how many much does "
              "did do has have had will would with of to in on for it its by from that this than also "
              "they he she about after against since until through whether".split()),
}
_WORD = re.compile(r"[^\W\d_]+")


def detect(text: str, default: str = "") -> str:
    """'de' or 'en' for the language of `text`; `default` when it gives no clue."""
    words = [w.lower() for w in _WORD.findall(text)]
    score = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    if re.search(r"[äöüß]", text.lower()):
        score["de"] += 1
    if score["de"] == score["en"]:
        return default
    return "de" if score["de"] > score["en"] else "en"
