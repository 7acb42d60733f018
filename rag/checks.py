"""Checks on an answer: small named objects with one job each; the `Answer` keeps every verdict.

A check reads a `Draft` (the question, the numbered evidence sentences, the sentences the reply cites, the
reply's text) and returns a `Verdict`. "before" checks look at the evidence only and run before the model is
asked, so a failed one costs no LLM call; "after" checks read the reply once it is complete, before its
citations are attached. A failed check turns the answer into "the articles don't say" and says why.

    checks = get_checks("relevance,names,cited,numbers,adds,asked", known=retriever.known)
    verdict = checks[-1](Draft("How much?", "en", evidence, cited=[2], text="It costs 3 billion euros."))

Switch checks off with the `checks` setting (`RAG_CHECKS=cited,numbers`); `rag ask --explain` shows verdicts.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Callable

from core.settings import check_names
from rag.amounts import unsupported
from rag.prompt import Evidence


@dataclass(frozen=True)
class Verdict:
    """What one check found: passed or not, why, and the cited sentences after it (a check may re-point them)."""

    check: str
    passed: bool
    reason: str = ""
    cited: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class Draft:
    """What the checks read: the question, the evidence shown, the reply's cited sentence numbers and text."""

    question: str
    language: str
    evidence: list[Evidence]
    cited: list[int] = field(default_factory=list)
    text: str = ""

    def sentences(self, numbers=None) -> list[Evidence]:
        """The evidence sentences with the given numbers (default: the cited ones)."""
        wanted = set(self.cited if numbers is None else numbers)
        return [e for e in self.evidence if e.n in wanted]


class Relevance:
    """Before asking: is any shown sentence close enough to the question to answer it?

    The floor is the embedder's (its catalogue entry's `relevance_floor`, measured by
    eval/calibrate_relevance.py); an embedder without a measured floor passes every question.
    """

    name, stage = "relevance", "before"

    def __init__(self, floor: float | None = None):
        self.floor = floor

    def __call__(self, draft: Draft) -> Verdict:
        if self.floor is None:
            return Verdict(self.name, True, "no floor measured for this embedder")
        best = max((e.score for e in draft.evidence), default=0.0)
        if best >= self.floor:
            return Verdict(self.name, True, f"best sentence {best:.3f} >= {self.floor}")
        return Verdict(self.name, False, f"no sentence is close to the question (best {best:.3f} < {self.floor})")


class Names:
    """Before asking: does the collection know what the question is about?

    A question naming two or more things (capitalised words after its first) that no indexed article
    mentions asks about a subject the articles do not cover; the nearest passages are then about something
    else, and a small model answers from them anyway. `known(word)` is the index's vocabulary lookup.
    """

    name, stage = "names", "before"
    MOST_UNKNOWN = 1        # one unknown name is often a paraphrase or a translation; two rarely are

    def __init__(self, known: Callable[[str], bool] | None = None):
        self.known = known

    def __call__(self, draft: Draft) -> Verdict:
        if self.known is None:
            return Verdict(self.name, True, "no index vocabulary to look names up in")
        unknown = [w for w in question_names(draft.question) if not self.known(w)]
        if len(unknown) > self.MOST_UNKNOWN:
            return Verdict(self.name, False, f"no article mentions {', '.join(unknown)}")
        return Verdict(self.name, True, f"unknown: {', '.join(unknown)}" if unknown else "")


_NAME = re.compile(r"(?<![\w-])[A-ZÄÖÜ][\w-]+")


def question_names(question: str) -> list[str]:
    """The capitalised words of a question after its first word (names, and in German also nouns).

    >>> question_names("Who founded the Hanseatic League in Lübeck?")
    ['Hanseatic', 'League', 'Lübeck']
    """
    words = _NAME.findall(question)
    first = re.match(r"\W*([\w-]+)", question)
    return words[1:] if words and first and words[0] == first.group(1) else words


_WH = {
    "en": re.compile(r"\b(?:what|who|whom|whose|which|when|where|why|how)\b", re.I),
    "de": re.compile(r"\b(?:was|wer|wen|wem|wessen|welche[rsmn]?|wann|wo|woher|wohin|warum|wieso|weshalb|wie"
                     r"|wo(?:r?an|r?auf|r?aus|bei|durch|für|gegen|r?in|mit|nach|r?über|r?um|r?unter|von|vor|zu))\b",
                     re.I),
}


def is_wh_question(question: str, lang: str) -> bool:
    """True for a question that asks for something (who, what, wie viel ...), False for a yes/no question.

    >>> is_wh_question("How many jobs did the merger cost in 2019?", "en"), is_wh_question("Was it 3 %?", "en")
    (True, False)
    >>> is_wh_question("Was kostet es 2026?", "de"), is_wh_question("Fiel der Umsatz um 3 %?", "de")
    (True, False)
    """
    return bool(_WH[lang].search(question)) if lang in _WH else False


class Cited:
    """The reply names at least one of the sentences it was shown."""

    name, stage = "cited", "after"

    def __call__(self, draft: Draft) -> Verdict:
        known = {e.n for e in draft.evidence}
        cited = tuple(n for n in draft.cited if n in known)
        if cited:
            return Verdict(self.name, True, "", cited)
        return Verdict(self.name, False, "the reply cites no sentence it was shown")


class Numbers:
    """Every number of the answer is stated by a cited sentence, read in that sentence's language.

    When the cited sentences do not state them but another shown sentence states them all, the citation is
    re-pointed there (the fact is supported; the model picked the neighbour).
    """

    name, stage = "numbers", "after"

    def __call__(self, draft: Draft) -> Verdict:
        missing = self._missing(draft, draft.sentences())
        if not missing:
            return Verdict(self.name, True, "", tuple(draft.cited))
        for e in sorted(draft.evidence, key=lambda e: -e.score):
            if not self._missing(draft, draft.sentences(draft.cited) + [e]):
                return Verdict(self.name, True, f"{', '.join(missing)} stated by [{e.n}], not by the cited sentence",
                               tuple([*draft.cited, e.n]))
        return Verdict(self.name, False, f"{', '.join(missing)}: no shown sentence states it")

    @staticmethod
    def _missing(draft: Draft, sentences: list[Evidence]) -> list[str]:
        left = None
        for e in sentences:
            now = unsupported(draft.text, draft.language, e.text, e.language or draft.language)
            left = now if left is None else [x for x in left if x in now]
        return unsupported(draft.text, draft.language, "", draft.language) if left is None else left


class Adds:
    """The answer to a wh-question says something the question does not: a word or a number beyond it.

    A small model that finds no answer often restates the question as if it were one ("Who recovered the
    ball?" -> "The ball was recovered."), which answers nothing. Yes/no questions are exempt (restating them
    is the answer), and so are choice questions ("A or B?"), whose answer is one of the options they name.
    """

    name, stage = "adds", "after"

    def __call__(self, draft: Draft) -> Verdict:
        if not is_wh_question(draft.question, draft.language) or _CHOICE.search(draft.question):
            return Verdict(self.name, True, "not a wh-question", tuple(draft.cited))
        new = new_words(draft.text, draft.question, draft.language)
        if new:
            return Verdict(self.name, True, f"adds {', '.join(new[:3])}", tuple(draft.cited))
        return Verdict(self.name, False, "the answer only restates the question")


_CHOICE = re.compile(r"\b(?:or|oder)\b", re.I)
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_][\w-]*")
_GRAMMAR = frozenset(
    "who whom whose which what when where why how do does did done have has had having been being were am can could "
    "would should shall may might must he she its his her they them we you also only just "
    "wer wen wem wessen welche welcher welches welchem welchen wann wo warum wie viele viel wurde wurden worden war "
    "waren ist sind hat hatte hatten haben wird werden kann konnte auch nur noch".split())


def new_words(answer: str, question: str, lang: str) -> list[str]:
    """The words and numbers of `answer` that `question` does not contain (inflected forms count as contained).

    >>> new_words("The ball was recovered by Ward.", "Who recovered the ball?", "en")
    ['ward']
    >>> new_words("Die Verteidigung wurde abgestraft.", "Welche Verteidigung wurde abgestraft?", "de")
    []
    """
    from core.words import word_start
    asked = {w.lower() for w in _WORD.findall(question)}
    starts = {word_start(w) for w in asked if len(w) >= 4}
    skip = function_words(lang)
    return [w for w in (t.lower() for t in _WORD.findall(answer))
            if w not in asked and w not in skip and not (len(w) >= 4 and word_start(w) in starts)]


def content_words(text: str, lang: str) -> list[str]:
    """The words of `text` that are not function words (of `lang` or English), lower-cased.

    >>> content_words("Who is the coach of Marat Safin?", "en")
    ['coach', 'marat', 'safin']
    """
    skip = function_words(lang)
    return [w for w in (t.lower() for t in _WORD.findall(text)) if w not in skip]


def function_words(lang: str) -> frozenset[str]:
    """Stop words of `lang` and English, and the question words: what a question shares with any sentence."""
    from core.words import stopwords
    return stopwords(lang) | stopwords("en") | _GRAMMAR


class Asked:
    """The answer to "how much", "when", "who" or "where" states that kind of thing, beyond what the question says.

    When the sentence that answers is not shown, a small model copies the closest one as its answer: a sentence
    about the subject that holds no amount for "how much", no time for "when", no name for "who". The kind is
    read from the question's first wh-word (`asked_kind`); other questions pass (the `adds` check covers them).
    """

    name, stage = "asked", "after"

    def __call__(self, draft: Draft) -> Verdict:
        kind = asked_kind(draft.question, draft.language)
        if kind is None:
            return Verdict(self.name, True, "asks for no amount, time or name", tuple(draft.cited))
        if states_kind(kind, draft.text, draft.question, draft.language):
            return Verdict(self.name, True, f"states a {kind}", tuple(draft.cited))
        return Verdict(self.name, False, f"the question asks for a {kind} and the answer states none")


# the first wh-phrase of a question -> the kind of answer it asks for (time before amount: "um wie viel Uhr")
_KINDS = {
    "time": re.compile(r"\b(?:when|wann|(?:what|which|welche[mnrs]?) (?:year|month|day|date|time|jahr|monat|tag|"
                       r"datum)|um wie ?viel uhr|at what time)\b", re.I),
    "amount": re.compile(r"\b(?:how (?:much|many|long|old|big|large|high|far|fast|often)|(?:by )?what (?:percentage|"
                         r"share|amount|sum|price|proportion)|(?:um )?wie ?(?:viele?|hoch|lange?|alt|groß|weit|schnell|"
                         r"teuer|oft|stark))\b", re.I),
    "name": re.compile(r"\b(?:who|whom|whose|wer|wen|wem|wessen)\b", re.I),
    "place": re.compile(r"\b(?:where|wo|woher|wohin|(?:in|to|from) (?:which|what) (?:city|country|town|place)|"
                        r"(?:in|aus|nach) welche[mnr]? (?:stadt|land|ort|region))\b", re.I),
}
_TIME_WORDS = frozenset(
    "januar jänner februar märz april mai juni juli august september oktober november dezember january february "
    "march june july october december montag dienstag mittwoch donnerstag freitag samstag sonntag monday "
    "tuesday wednesday thursday friday saturday sunday heute gestern morgen vorgestern übermorgen today yesterday "
    "tomorrow frühjahr frühling sommer herbst winter spring summer autumn ende anfang mitte beginning end "
    "weihnachten ostern christmas easter".split())
_AMOUNT_WORDS = frozenset("hälfte halb doppelt dreifach drittel viertel dutzend half double twice triple third "
                          "quarter dozen".split())


def asked_kind(question: str, lang: str) -> str | None:
    """The kind of answer a wh-question asks for ("amount", "time", "name", "place"), by its first wh-phrase.

    >>> asked_kind("How many seats does the stadium have?", "en"), asked_kind("Um wie viel Uhr begann es?", "de")
    ('amount', 'time')
    >>> asked_kind("Which firm did the man who left join?", "en") is None
    True
    """
    first = _WH[lang].search(question) if lang in _WH else None
    if first is None:
        return None
    found = [(m.start(), i, kind) for i, (kind, rx) in enumerate(_KINDS.items())
             if (m := rx.search(question, max(0, first.start() - 10))) and m.start() <= first.start() + 3]
    return min(found)[2] if found else None


def states_kind(kind: str, answer: str, question: str, lang: str) -> bool:
    """True when `answer` states a `kind` of thing that `question` does not already say.

    >>> states_kind("amount", "The 50mg limit would save lives.", "How many lives would a 50mg limit save?", "en")
    False
    >>> states_kind("name", "Er wurde von Anna Berg abgelöst.", "Wer hat ihn abgelöst?", "de")
    True
    """
    from rag.amounts import numbers
    if kind in ("amount", "time"):
        asked = {x for n in numbers(question, lang) for x in (n.value, n.bare)}
        if any(n.value not in asked and n.bare not in asked for n in numbers(answer, lang)):
            return True
        words = {w.lower() for w in new_words(answer, question, lang)}
        return bool(words & (_TIME_WORDS if kind == "time" else _AMOUNT_WORDS))
    new = set(new_words(answer, question, lang))
    return any(w[0].isupper() and w.lower() in new for w in _WORD.findall(answer))


CHECKS = {c.name: c for c in (Relevance, Names, Cited, Numbers, Adds, Asked)}


def get_checks(names: str, embedder: str = "", known: Callable[[str], bool] | None = None) -> list:
    """The checks named in a comma-separated list, in pipeline order; an unknown name lists the valid ones.

    `embedder` picks the relevance floor; `known` is the index's vocabulary lookup for the names check.
    """
    wanted = check_names(names)
    made = {"relevance": lambda: Relevance(_floor(embedder)), "names": lambda: Names(known)}
    return [made.get(n, CHECKS[n])() for n in CHECKS if n in wanted]


def _floor(embedder: str) -> float | None:
    from core.models.catalog import CATALOG
    spec = CATALOG.get(embedder)
    return spec.extra.get("relevance_floor") if spec else None
