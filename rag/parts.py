"""Two-part questions: say which part the answer leaves open.

"Wie hoch ist das Budget, und seit wann wurde es angekündigt?" gets "380 Milliarden Yuan [1]." when no
source says when; the reader must learn that the second part is not answered, not guess it was skipped.

>>> question_parts("Wie hoch ist das Budget, und seit wann wurde es angekündigt?")
['Wie hoch ist das Budget', 'seit wann wurde es angekündigt']
>>> missing_note("Wie hoch ist das Budget, und seit wann wurde es angekündigt?", "Das Budget beträgt 380 Milliarden Yuan [1].", "de")
'Zu „seit wann wurde es angekündigt“ steht in den Artikeln nichts.'
>>> missing_note("Who founded Alibaba and when?", "Jack Ma founded Alibaba [1].", "en")
''
"""

from __future__ import annotations

import re

from rag.cite import _analyzer, strip_markers

_ASK = (r"wann|wie|was|wer|wen|wem|wessen|welche[rsmn]?|wo|wohin|woher|warum|weshalb|wieso|wozu|wof[üu]r|womit|"
        r"seit wann|für welche[nr]?|in welche[mnr]?|when|how|what|who|whom|whose|which|where|why|since when")
# ", und seit wann ...", " and which ...": a conjunction followed by a new question word starts a second part
_SPLIT = re.compile(r",?\s+(?:und|and|sowie|,)\s+(?=(?:" + _ASK + r")\b)", re.I)
NOTE = {"de": "Zu „{part}“ steht in den Artikeln nichts.", "en": "The articles do not answer “{part}”."}
# Question words, and the words "wie hoch", "how many" ask with: no part's content
_QUESTION_WORDS = set("wann wie was wer wen wem wessen welche wo wohin woher warum weshalb wieso wozu wofür womit seit für "
                      "in when how what who whom whose which where why since hoch viel viele lange groß stark weit oft "
                      "much many long large high often far".split())


def question_parts(question: str) -> list[str]:
    """The question's parts: split where "und"/"and" starts a new question ("..., und seit wann ...")."""
    return [p.strip(" ?!.,") for p in _SPLIT.split(question.strip()) if p.strip(" ?!.,")]


def missing_note(question: str, answer: str, lang: str) -> str:
    """A sentence naming each part of a multi-part `question` that `answer` leaves open, or "" (none, or all of them)."""
    parts = question_parts(question)
    if len(parts) < 2:
        return ""
    analyze = _analyzer(lang if lang in ("de", "en") else "de")
    said = set(analyze(strip_markers(answer)))
    asking = set(analyze(" ".join(_QUESTION_WORDS)))
    stems = [set(analyze(p)) - asking for p in parts]
    others = [set().union(*(s for j, s in enumerate(stems) if j != i)) for i in range(len(parts))]
    open_parts = [p for p, own, rest in zip(parts, stems, others) if _left_open(own - rest, said)]
    if not open_parts or len(open_parts) == len(parts):
        return ""
    template = NOTE.get(lang, NOTE["de"])
    return " ".join(template.format(part=p) for p in open_parts)


def _left_open(own: set[str], said: set[str]) -> bool:
    """True when the answer uses fewer than half of a part's own content words (its question words aside)."""
    return bool(own) and 2 * len(own & said) < len(own)


def is_note(sentence: str) -> bool:
    """True for the sentence `missing_note` writes: it states an absence, so it cites nothing.

    >>> is_note("Zu „seit wann“ steht in den Artikeln nichts."), is_note("Alibaba investiert [1].")
    (True, False)
    """
    return any(re.fullmatch(re.escape(t).replace(re.escape("{part}"), ".+"), sentence.strip()) for t in NOTE.values())
