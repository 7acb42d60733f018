"""Numbers as values, each read in the language of the text it comes from: digits, scales, number words.

German "52,4 Milliarden" is 52.4e9 and English "52.4 billion" is the same value; German "eine Billion" is
1e12 and English "one billion" 1e9. A claim states a number its source supports when the source states the
same value, either bare ("250") or scaled ("250 Milliarden" for "250 billion").

>>> sorted(stated("mindestens 250 Milliarden Euro (27,5 Mrd. Dollar)", "de"))
[27.5, 250.0, 27500000000.0, 250000000000.0]
>>> claimed("The group plans to invest 250 billion euros.", "en") <= stated("250 Milliarden Euro", "de")
True
>>> unsupported("one trillion parameters", "en", "über einer Billion Parametern", "de")
[]
>>> unsupported("a billion parameters", "en", "über einer Billion Parametern", "de")
['a billion']
>>> gloss("über einer Billion Parametern und 3 Mio. Euro", "de", "en")
'über einer Billion (= one trillion) Parametern und 3 Mio. (= 3 million) Euro'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALES = {
    "de": {"tausend": 1e3, "tsd": 1e3, "mio": 1e6, "million": 1e6, "millionen": 1e6, "mrd": 1e9, "milliarde": 1e9,
           "milliarden": 1e9, "bio": 1e12, "billion": 1e12, "billionen": 1e12},
    "en": {"thousand": 1e3, "million": 1e6, "millions": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "billions": 1e9,
           "bn": 1e9,
           "trillion": 1e12, "trillions": 1e12},
}
_UNITS = ("null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf",
          "zero one two three four five six seven eight nine ten eleven twelve")
_TENS = ("zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig",
         "twenty thirty forty fifty sixty seventy eighty ninety")
WORDS = {lang: {w: float(i) for i, w in enumerate(_UNITS[k].split())}
         | {w: float(10 * (i + 2)) for i, w in enumerate(_TENS[k].split())}
         | ({"hundert": 100.0, "tausend": 1000.0} if lang == "de" else {"hundred": 100.0, "thousand": 1000.0})
         for k, lang in enumerate(("de", "en"))}
# "ein", "a": one only before a scale word ("eine Million"); alone they are articles
ONE = {"de": {"ein", "eine", "einer", "einem", "einen", "eins"}, "en": {"a", "an", "one"}}
ORDINALS = {"de": "erst zweit dritt viert fünft sechst siebt acht neunt zehnt elft zwölft".split(),
            "en": "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()}
_SCALE_ONLY = {"tausend", "thousand", "hundert", "hundred"}     # "tausend" alone is a scale, not a number here
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+\.?", re.UNICODE)
_IN_ENGLISH = {1e3: "thousand", 1e6: "million", 1e9: "billion", 1e12: "trillion"}


@dataclass(frozen=True)
class Number:
    """One number in a text: its value (scale applied), the bare value, and the words that say it."""

    value: float
    bare: float
    text: str


def _digits(token: str, lang: str) -> list[float]:
    """The value(s) of a digit token, read in `lang` only where the language decides.

    "1.000" is 1000 in German and 1.0 in English; one separator followed by other than three digits is a decimal
    point in either ("52,4" copied into an English answer is 52.4); "12.03.2025" is three numbers.
    """
    thousands, decimal = (".", ",") if lang == "de" else (",", ".")
    if re.fullmatch(r"\d+[.,](?:\d{1,2}|\d{4,})", token):
        return [float(token.replace(",", "."))]
    if re.fullmatch(rf"\d{{1,3}}(?:\{thousands}\d{{3}})+(?:\{decimal}\d+)?", token):
        token = token.replace(thousands, "")
    elif token.count(thousands) or token.count(decimal) > 1:     # dates, versions: each part on its own
        parts = re.split(r"[.,]", token)
        return [float(p) for p in parts if p]
    return [float(token.replace(decimal, "."))]


def numbers(text: str, lang: str, words: bool = True) -> list[Number]:
    """The numbers of `text` read in `lang` ("de" or "en"; others read as English), scales applied."""
    lang = lang if lang in SCALES else "en"
    tokens = [(m.group(0), m.group(0).lower().rstrip(".")) for m in _TOKEN.finditer(text)]
    out = []
    for i, (raw, low) in enumerate(tokens):
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        scale = SCALES[lang].get(nxt)
        if raw[0].isdigit():
            bare = _digits(raw, lang)
        elif low in ONE[lang] and scale:
            bare = [1.0]
        elif words and low in WORDS[lang] and low not in _SCALE_ONLY | ONE[lang]:
            bare = [WORDS[lang][low]]
        else:
            continue
        said = f"{raw} {tokens[i + 1][0]}" if scale else raw
        out += [Number(b * (scale or 1.0), b, said) for b in bare[:-1]] + [Number(bare[-1] * (scale or 1.0),
                                                                                 bare[-1], said)]
    return out


def stated(text: str, lang: str) -> set[float]:
    """Every value a source states: bare and scaled, digits, number words and ordinals ("achten" is 8)."""
    out = set()
    for n in numbers(text, lang):
        out |= {n.value, n.bare}
    for i, stem in enumerate(ORDINALS.get(lang if lang in ORDINALS else "en", [])):
        if re.search(rf"\b{stem}\w*", text, re.I):
            out.add(float(i + 1))
    return out


def claimed(text: str, lang: str) -> set[float]:
    """The values a claim depends on (scaled when it names a scale)."""
    return {n.value for n in numbers(text, lang)}


def unsupported(claim: str, claim_lang: str, source: str, source_lang: str) -> list[str]:
    """The numbers of `claim` (as written) whose value `source` does not state.

    Digits copied from the source in its own format count in the source's reading too (a German answer that
    copies "15,000" from an English article means 15000, not 15.0); the claim's scale words stay its own.

    >>> unsupported("Es sind 15,000 Paare.", "de", "15,000 couples", "en"), unsupported("$17.1 million", "en",
    ... "made $17.1m", "en")
    ([], [])
    """
    have = stated(source, source_lang)
    out = []
    for n in numbers(claim, claim_lang):
        scale = n.value / n.bare if n.bare else 1.0
        raw = n.text.split()[0]
        again = _digits(raw, source_lang) if raw[0].isdigit() else []
        if not any(_same(x, v) for v in have for x in [n.value, *(b * scale for b in again)]):
            out.append(n.text)
    return out


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def gloss(text: str, source_lang: str, target_lang: str = "en") -> str:
    """German scaled amounts followed by their English reading, for an English answer from a German source.

    Only German text is glossed ("Billion" is a trillion there); any other pair is returned as it is.
    """
    if source_lang != "de" or target_lang != "en":
        return text
    out, last = [], 0
    for m in re.finditer(r"(?<![\w,.])(\d+(?:[.,]\d+)*|[Ee]ine[rmn]?|[Ee]in)\s+([A-Za-zäöü]+)(\.?)", text):
        scale = SCALES["de"].get(m.group(2).lower())
        if not scale or scale < 1e6:
            continue
        num = "one" if m.group(1)[0] in "Ee" else m.group(1).replace(".", "").replace(",", ".")
        out.append(text[last:m.end()] + f" (= {num} {_IN_ENGLISH[scale]})")
        last = m.end()
    return "".join(out) + text[last:]
