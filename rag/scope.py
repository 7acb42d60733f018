"""Questions that name the article to answer from: "... according to the article about the rail strike?".

Readers point at one article by its topic. Searching the whole collection for "share price over twelve
months" then finds another article's figure (one article's rise since January, not the named article's
twelve-month change), so the retriever answers such a question from the best-matching article alone
(`Retriever.search_many`).

>>> article_scope("How much did the share price change according to the article about the rail strike?")
('How much did the share price change?', 'the rail strike')
>>> article_scope("Wer ist laut dem Artikel über die Hafenbilanz der Chef?")
('Wer ist der Chef?', 'die Hafenbilanz')
>>> article_scope("Wie viel will der Konzern investieren?")
('Wie viel will der Konzern investieren?', None)
"""

from __future__ import annotations

import re

_EN = (
    r"(?:according to|as stated in|as reported in|in|from|per)\s+(?:the|this|that)\s+"
    r"(?:article|story|report|piece|text)"
    r"\s+(?:about|on|covering|regarding|concerning)\s+"
)
_DE = (
    r"(?:laut|gemäß|in|im|aus|nach)\s+(?:dem\s+|diesem\s+)?(?:Artikel|Bericht|Beitrag|Text)\s+"
    r"(?:über|zu|zur|zum|zu den|von|vom)\s+"
)
_SCOPE = re.compile(
    r",?\s*\b(?:"
    + _EN
    + "|"
    + _DE
    + r")(?P<topic>[^?!.,;:\[]{3,80}?)(?=\s*(?:[?!.,;:\[]|$|\s(?:der|die|das|den|dem)\s\w+\s*[?!.]?$))",
    re.I,
)


def article_scope(question: str) -> tuple[str, str | None]:
    """(the question without the article it names, that article's topic) or (question, None)."""
    m = _SCOPE.search(question)
    if not m:
        return question, None
    rest = (question[: m.start()] + question[m.end() :]).strip()
    rest = re.sub(r"\s+([?!.,;:])", r"\1", re.sub(r"\s{2,}", " ", rest))
    if len(re.findall(r"\w{3,}", rest)) < 2:  # "Was steht im Artikel über Bosch?": the topic is the question
        return question, m.group("topic").strip()
    return rest, m.group("topic").strip()
