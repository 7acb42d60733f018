"""Map [n] markers to passages and check each cited claim against the passage it points at.

Support of a claim by a source sentence = cosine of their embeddings (the claim as a query),
set to 0 when the claim has a number the passage does not contain, a number that moves the other way
than in the sentence or a role the sentence does not give (`rag.facts`), or when fewer than half of
its names (capitalised words) occur in the passage. A marker whose passage does not support its
sentence is re-pointed to the passage that does, or dropped; an unmarked sentence that a passage
supports gets that marker. Markers are renumbered 1..m by first use.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

import numpy as np

from index.lexical import Analyzer
from index.sentences import split_sentences
from rag.facts import contradicts, wrong_role
from rag.lists import name_list, with_items
from rag.prompt import Passage
from rag.scope import without_scope
from rag.types import Citation

_MARK = re.compile(r"\s*\[(\d{1,3})\]")
_NUM = re.compile(r"\d+(?:[.,]\d+)*")
NAME_SHARE = 0.5     # at least half of a claim's names must appear in the cited passage
MARK_BONUS = 0.02    # support bonus for the passage the model itself cited
_TRAILING = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")
_BETWEEN = re.compile(r"(\[\d{1,3}\])\s*(?:,|and|und)\s*(?=\[\d)")
_POINTER = re.compile(r",?\s*\b(?:according to|as stated in|as (?:reported|said) in|citing|laut|gemäß)(?=\s*\[\d)", re.I)
_DATE = re.compile(r",?\s+(?:in|on|at|from|since|during|im|am|seit|ab|zum)\s+(?:[^\s,.;\[\]\d]+\s+){0,4}?"
                   r"(?:19|20)\d\d(?:-\d\d){0,2}\b", re.I)
_ECHO = re.compile(r",?\s*\bciting (?:the )?sources?(?: as)?(?= *(?:\[|and\b|[.!?]|$))(?: and)?", re.I)   # the instruction, echoed


def numbers(text: str) -> set[str]:
    """Numbers in a text, decimal commas read as points: "4,8 %" and "4.8%" give {"4.8"}.

    >>> sorted(numbers("380 Milliarden Yuan (52,4 Mrd. $), 2025"))
    ['2025', '380', '52.4']
    """
    return {m.replace(",", ".").rstrip(".") for m in _NUM.findall(text)}


_SCALE = {"de": {"mio": 6, "million": 6, "millionen": 6, "mrd": 9, "milliarde": 9, "milliarden": 9,
                 "billion": 12, "billionen": 12},
          "en": {"million": 6, "millions": 6, "billion": 9, "billions": 9, "trillion": 12, "trillions": 12, "bn": 9}}
_SCALED = re.compile(r"(\d+(?:[.,]\d+)?|\b(?:ein|eine|einer|einem|one|a)\b)\s*([A-Za-zäöü]+)", re.I)


def amounts(text: str, lang: str) -> set[tuple[str, int]]:
    """(number, power of ten) for numbers followed by a scale word, read in `lang`.

    >>> sorted(amounts("3 Milliarden Yuan und 420 Mio. Dollar", "de")), sorted(amounts("over a billion", "en"))
    ([('3', 9), ('420', 6)], [('1', 9)])
    """
    scales = _SCALE.get(lang, _SCALE["de"])
    return {("1" if num[0].isalpha() else num.replace(",", "."), scales[w.lower()])
            for num, w in _SCALED.findall(text) if w.lower() in scales}


def stated_numbers(text: str, lang: str) -> set[str]:
    """`numbers` plus the scaled amounts written out: "eine Million" also states "1" and "1.000.000".

    >>> sorted(stated_numbers("mehr als eine Million Bestellungen", "de"))
    ['1', '1.000.000', '1000000']
    """
    out = numbers(text)
    for num, power in amounts(text, lang):
        out.add(num)
        value = float(num) * 10 ** power
        if value.is_integer():      # "1,000,000 orders" for "eine Million Bestellungen"
            out |= {f"{int(value):,}".replace(",", "."), str(int(value))}
    return out


def names(text: str) -> set[str]:
    """Capitalised words after the first word, lower-cased and split at hyphens: what a claim depends on.

    >>> sorted(names("Der CEO von Tencent ist Joseph Tsai, sagt die Alibaba-Aktie."))
    ['aktie', 'alibaba', 'joseph', 'tencent', 'tsai']
    """
    words = re.findall(r"[^\W\d_][\w-]*", text)[1:]
    return {part.lower() for w in words if w[0].isupper() and not w.isupper()
            for part in w.split("-") if len(part) > 2}


def _names_found(claim_names: set[str], window: str) -> float:
    """Share of the claim's names that occur in the window (prefix match, so "Alibabas" finds "Alibaba").

    >>> _names_found({"alibaba", "tencent"}, "Alibabas Aktie verlor 4,8%")
    0.5
    """
    if not claim_names:
        return 1.0
    low = window.lower()
    return sum(1 for n in claim_names if n[:max(4, len(n) - 2)] in low) / len(claim_names)


def markers(text: str) -> list[int]:
    """The marker numbers in order: "a [2] b [1]" -> [2, 1]."""
    return [int(m) for m in _MARK.findall(text)]


def strip_markers(text: str) -> str:
    """Text without [n] markers."""
    return _MARK.sub("", text)


class SupportChecker:
    """Scores how well source sentences support answer sentences.

    `known(word)` says whether a word occurs in the indexed articles at all: a name the question and
    the claim share ("Tencent") that the articles know must then be in the cited passage's article
    (`article(source)` gives its text; without it, the passage), so an answer about one company cannot
    cite a passage about another. `verify(claim, sentence)` is an optional second opinion (the LLM
    asked yes/no) on the pairs the cheap checks accept.
    """

    def __init__(self, embedder, threshold: float, source_language: str = "de",
                 known: Callable[[str], bool] | None = None, verify: Callable[[str, str], bool] | None = None,
                 article: Callable[[str], str] | None = None):
        self.embedder, self.threshold, self.source_language = embedder, threshold, source_language
        self.known, self.verify = known or (lambda word: False), verify
        self.article = article or (lambda source: "")

    def subject_window(self, source: str, context: str) -> str:
        """Where the question's names must occur: the title and chunk `context`, then the whole article.

        "Das Budget ... auf der Apsara Conference" cites a chunk of the Apsara article that does not repeat the name.
        """
        return f"{context}\n{self.article(source)}"

    def matrix(self, claims: list[str], sources: list[str], source_windows: list[str],
               claim_language: str = "de", question: str = "", subject_windows: list[str] | None = None) -> np.ndarray:
        """support[i, j] of claim i by source sentence j (0 when a claim number is missing from window j).

        The names a claim shares with the question must occur in `subject_windows[j]` (default: the source window).
        """
        if not claims or not sources:
            return np.zeros((len(claims), len(sources)), dtype=np.float32)
        sim = self.embedder.embed(claims, kind="query") @ self.embedder.embed(sources, kind="passage").T
        asked, subject_windows = names(question), subject_windows or source_windows
        for i, claim in enumerate(claims):
            need, who, scaled = numbers(claim), names(claim), amounts(claim, claim_language)
            if claim_language != self.source_language:     # "New Year" is no name to look for in German text
                who = {w for w in who if len(w) > 3 and self.known(w)}
            subject = {w for w in who & asked if len(w) > 3 and self.known(w)}
            for j, window in enumerate(source_windows):
                if need - stated_numbers(window, self.source_language) or _names_found(who, window) < NAME_SHARE \
                        or _names_found(subject, subject_windows[j]) < 1.0 \
                        or scaled - amounts(window, self.source_language) \
                        or contradicts(claim, sources[j]) or wrong_role(claim, sources[j], window):
                    sim[i, j] = 0.0
        return sim


    def supports(self, claim: str, sentence: str, context: str, claim_language: str = "de",
                 question: str = "", shown: str = "", source: str = "") -> bool:
        """The whole check for one pair: gates and cosine on `sentence` within `context`, then `verify` on `shown`."""
        score = self.matrix([claim], [sentence], [context], claim_language, question,
                            [self.subject_window(source, context)])[0, 0]
        ok = score > 0 and score >= self.threshold          # 0: a gate failed, whatever the threshold
        return bool(ok and (self.verify is None or self.verify(claim, shown or sentence)))


def cite(answer: str, sources: list[Passage], checker: SupportChecker, language: str = "de",
         drop_unsupported: bool = True, question: str = "") -> tuple[str, list[Citation]]:
    """The answer with checked, renumbered markers, and the citations they map to.

    Sentences no source supports are dropped (`drop_unsupported`): nothing uncited reaches the reader; nor do
    sentences beside the answer that only restate the `question`.
    """
    answer = _BETWEEN.sub(r"\1 ", _ECHO.sub("", answer.replace("[n]", "")))     # "[1] and [3]" -> "[1] [3]"
    answer = drop_guessed_dates(_POINTER.sub("", without_scope(answer)), {p.n: p.text for p in sources})
    answer = _TRAILING.sub(lambda m: m.group(2) + m.group(1), answer)  # "Yuan. [1]" -> "Yuan [1]."
    spans = split_sentences(answer) or ([(0, len(answer))] if answer.strip() else [])
    claims = [answer[a:b] for a, b in spans]
    units = [(p, a, b) for p in sources for a, b in split_sentences(p.text, p.start)]
    context = {p.n: _context(p) for p in sources}          # per passage, not per sentence
    subject = {p.n: checker.subject_window(p.hit.source, context[p.n]) for p in sources}
    unit_text = [p.text[a - p.start:b - p.start] for p, a, b in units]
    unit_context, unit_subject = [context[p.n] for p, _, _ in units], [subject[p.n] for p, _, _ in units]

    def check(texts: list[str], marked: list[list[int]]) -> list[list[tuple[int, int, float]]]:
        """(passage n, unit j, support) chosen for each claim text; `marked[i]`: the passages text i cited."""
        support = checker.matrix(texts, unit_text, unit_context, language, question, unit_subject)
        return [[(n, j, float(row[j])) for n, j in _choose(m, row, units, checker.threshold, len(sources),
                                                            checker.verify, text)]
                for text, m, row in zip(texts, marked, support)]

    numbering: dict[int, int] = {}
    citations: list[Citation] = []

    def tag(n: int, j: int, score: float) -> str:
        """The marker for passage n, numbered by first use; its citation quotes unit j."""
        if n not in numbering:
            numbering[n] = len(numbering) + 1
            p, a, b = units[j]
            citations.append(Citation(numbering[n], p.hit.source, p.hit.text, p.hit.start, p.hit.end,
                                      unit_text[j], a, b, p.hit.date, p.hit.title, round(score, 4)))
        return f"[{numbering[n]}]"

    out = []
    # a sentence beside the answer that only restates the question ("Dies wurde angekündigt [1].") adds nothing
    said = [c for c in claims if not (question and len(claims) > 1 and restates(c, question, language))]
    plain, marked = [strip_markers(c) for c in said], [markers(c) for c in said]
    for claim, cited, chosen in zip(plain, marked, check(plain, marked)):
        if chosen:
            out.append(_with_tags(claim, [tag(*c) for c in chosen]))
        elif (part := _list_part(claim, cited, check, tag)) or not drop_unsupported:
            out.append(part or claim.strip())
    return " ".join(out).strip(), citations


def _list_part(claim: str, marked: list[int], check, tag) -> str:
    """The claim narrowed to the items of its name list that pass the check alone, each tagged; "" if none.

    "Alibaba's AI partners are Apple and Microsoft." -> "Alibaba's AI partners are Apple [1]."
    """
    found = name_list(claim)
    if not found:
        return ""
    chosen = check([with_items(claim, found, [item]) for item in found[2]], [marked] * len(found[2]))
    kept = [f"{item} {tag(*c[0])}" for item, c in zip(found[2], chosen) if c]
    return with_items(claim, found, kept) if kept else ""


def drop_guessed_dates(answer: str, shown: dict[int, str]) -> str:
    """The answer without date phrases whose year the sources a sentence cites do not state (the 1.5B model adds them).

    The fact stays and is checked; only the guessed "in the first quarter of 2025" goes. `shown` maps n to source text.

    >>> drop_guessed_dates("Revenue grew by 26% in the first quarter of 2025 [1].", {1: "Umsatzplus von 26 Prozent", 2: "2025"})
    'Revenue grew by 26% [1].'
    >>> drop_guessed_dates("Die Konferenz fand im September 2025 statt [1].", {1: "Apsara Conference 2025"})
    'Die Konferenz fand im September 2025 statt [1].'
    """
    out, last = [], 0
    for a, b in split_sentences(answer):
        cited = [shown[n] for n in markers(answer[a:b]) if n in shown] or list(shown.values())
        stated = set().union(*(numbers(text) for text in cited))
        out.append(answer[last:a] + _DATE.sub(lambda m: m.group(0) if numbers(m.group(0)) <= stated else "", answer[a:b]))
        last = b
    return "".join(out) + answer[last:]


def _choose(marked: list[int], row: np.ndarray, units, threshold: float, n_sources: int,
            verify=None, claim: str = "", checks: int = 2) -> list[tuple[int, int]]:
    """(passage n, unit j) supporting one claim: the best candidate that passes the checks, or none.

    Candidates are each passage's best sentence at or above `threshold`, ranked by support with a small
    bonus for the passage the model marked; `verify` (the LLM) confirms at most `checks` of them in turn,
    so a wrong marker is re-pointed to the passage that does say it.
    """
    best_per_passage: dict[int, int] = {}
    for j, (p, _, _) in enumerate(units):
        if p.n not in best_per_passage or row[j] > row[best_per_passage[p.n]]:
            best_per_passage[p.n] = j
    bonus = {n: MARK_BONUS for n in marked if 1 <= n <= n_sources}
    ranked = sorted(((row[j] + bonus.get(n, 0.0), n, j) for n, j in best_per_passage.items() if row[j] >= threshold),
                    reverse=True)
    for _, n, j in ranked[:checks if verify else 1]:
        if verify is None or verify(claim, _shown(units[j][0])):
            return [(n, j)]
    return []


def _context(p: Passage) -> str:
    """What a claim may draw on besides the shown sentences: the document title and the whole chunk
    (the sentence "Die Aktie verlor 4,8%" is about Alibaba because its article is)."""
    return context_text(p.hit.title, p.hit.text)


def _shown(p: Passage) -> str:
    return shown_text(p.hit.title, p.text)


def context_text(title: str, chunk: str) -> str:
    """The text the cheap checks search for a claim's numbers and names: title, then chunk."""
    return f"{title}\n{chunk}"


def shown_text(title: str, passage: str) -> str:
    """The text the LLM check reads: "title: passage" (the title names the subject)."""
    return f"{title}: {passage}" if title else passage


def _with_tags(claim: str, tags: list[str]) -> str:
    claim = claim.strip()
    if not tags:
        return claim
    end = len(claim.rstrip(".!?"))
    return claim[:end] + " " + "".join(tags) + claim[end:]


_FILLER = {"laut", "artikel", "artikeln", "quell", "quelle", "according", "articl", "article", "sourc", "source"}
_ANSWER_WORDS = {"ja", "nein", "yes", "no", "nicht", "not"}


@lru_cache(maxsize=4)
def _analyzer(lang: str) -> Analyzer:
    return Analyzer(lang)


def restates(answer: str, question: str, lang: str = "de") -> bool:
    """True when the answer adds no word to the question: "Welcher Chip ...?" -> "Alibaba soll ... sein [1]."

    >>> restates("Alibaba soll mit Nvidias H20 vergleichbar sein [1].", "Welcher Alibaba-Chip soll mit Nvidias H20 vergleichbar sein?")
    True
    >>> restates("Der Zhenwu 810E soll mit Nvidias H20 vergleichbar sein [1].", "Welcher Alibaba-Chip soll mit Nvidias H20 vergleichbar sein?")
    False
    """
    if _ANSWER_WORDS & set(re.findall(r"\w+", strip_markers(answer).lower())):
        return False
    analyze = _analyzer(lang if lang in ("de", "en") else "de")
    said = set(analyze(strip_markers(answer))) - _FILLER
    return bool(said) and said <= set(analyze(question))
