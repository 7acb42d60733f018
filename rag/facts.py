"""Facts the cosine and the 1.5B model's yes/no both miss: which way a number moved, which role a person holds,
whether companies are partners.

The model reads "unter Druck ... nach unten, während ... plus 40,58%" and writes "decreased by 40.58%";
it reads "Gründer Jack Ma" and writes "Alibaba's CEO is Jack Ma". A claim whose number moves the other
way than in the cited sentence, or that gives a role the sentence does not, is not supported by it
(`rag.cite.SupportChecker`).

>>> moves("Die Aktie fiel um 6,22%, während sie über zwölf Monate mit plus 40,58% positiv bleibt.")
{'6.22': 'down', '40.58': 'up'}
>>> contradicts("Alibaba's share price decreased by 40.58% over twelve months.",
...             "In sieben Tagen ging es um 6,22% nach unten, während es über zwölf Monate plus 40,58% sind.")
True
>>> contradicts("The share rose 40.58%.", "über zwölf Monate plus 40,58%")
False
>>> wrong_role("Alibaba's CEO is Jack Ma.", "das Wiederauftauchen von Gründer Jack Ma", "")
True
>>> wrong_role("Alibabas Chef ist Eddie Wu.", "CEO Eddie Wu verkündete eine Aufstockung.", "")
False
>>> wrong_role("Alibaba's AI partners are Microsoft and Alphabet.", "in die gleiche Liga wie Microsoft und Alphabet", "Partner")
True
>>> wrong_role("Apple is Alibaba's AI partner.", "eine geplante KI-Partnerschaft mit Apple", "")
False
"""

from __future__ import annotations

import re

_UP = (r"plus|zugelegt|zulegen|legte\w* zu|gestiegen|stieg\w*|steigt|steigen|Anstieg\w*|wuchs|gewachsen|wächst|"
       r"Zuwachs\w*|Wachstum\w*|\w*plus|höher|kletter\w*|gewann|gewonnen|positiv|nach oben|"
       r"increas\w*|rose|rises?|risen|rising|grew|grow\w*|gain\w*|up|climb\w*|higher|jump\w*|soar\w*|surg\w*")
_DOWN = (r"minus|verlor\w*|verlier\w*|verloren|fiel|fallen|gefallen|fällt|sank|sinkt|gesunken|Rückgang\w*|"
         r"nach unten|eingebüßt|büßt\w*|Verlust\w*|schrumpf\w*|niedriger|negativ|\w*minus|brach\w* ein|Einbruch\w*|"
         r"decreas\w*|fell|falls?|falling|drop\w*|declin\w*|lost|los(?:e|es|ing)|down|lower|shr[aiu]nk\w*|"
         r"plung\w*|slump\w*|sli(?:d|de|des|ding)")
_WAYS = {"up": re.compile(r"\b(?:" + _UP + r")\b", re.I), "down": re.compile(r"\b(?:" + _DOWN + r")\b", re.I)}
# Clauses end at punctuation that is no decimal separator and at contrasting conjunctions.
_CLAUSE = re.compile(r"[;!?]|[,:](?!\d)|\.(?!\d)|\s(?:während|wohingegen|aber|doch|jedoch|while|whereas|but)\s", re.I)
_NUM = re.compile(r"\d+(?:[.,]\d+)*")


def moves(text: str) -> dict[str, str]:
    """{number: "up" or "down"} for numbers whose clause says one way only."""
    out: dict[str, str] = {}
    for clause in _CLAUSE.split(text):
        ways = [way for way, pattern in _WAYS.items() if pattern.search(clause)]
        if len(ways) == 1:
            for num in _NUM.findall(clause):
                out[num.replace(",", ".").rstrip(".")] = ways[0]
    return out


def contradicts(claim: str, source: str) -> bool:
    """True when a number moves one way in `claim` and the other way in `source`."""
    said, stated = moves(claim), moves(source)
    return any(num in stated and stated[num] != way for num, way in said.items())


# Role classes; a word may name more than one ("Verwaltungsratschef"), which only makes the check lenient.
_ROLES = {
    "ceo": re.compile(r"\bCEOs?\b|chief executive|\bboss\b|Vorstandsvorsitzend\w*|\b(?!Finanz)\w*chef(?:in|s)?\b", re.I),
    "founder": re.compile(r"\b\w*gründer\w*|\bfounder\w*|\bco-founder\w*|\bfounded\b|\bgründete\w*", re.I),
    "chair": re.compile(r"\bchair(?:man|woman|person)?\b|\w*vorsitzende\w*|Verwaltungsrat\w*|Aufsichtsrat\w*", re.I),
    "cfo": re.compile(r"\bCFO\b|chief financial|Finanzchef\w*|Finanzvorstand\w*", re.I),
    "president": re.compile(r"\bpresident\b|Präsident\w*", re.I),
}


# A relation between companies must be stated by the sentence itself: the chunk around "in die gleiche Liga wie
# OpenAI, Microsoft und Alphabet" speaks of Alibaba as a "Partner" of other firms.
_RELATION = re.compile(r"\w*partner\w*|\w*kooperation\w*|\w*zusammenarbeit\w*|\bcollaborat\w*|\bcooperat\w*|"
                       r"\balliance\w*|\w*allianz\w*", re.I)


def roles(text: str) -> set[str]:
    """The role classes a text names: {"ceo"} for "Konzernchef", {"founder"} for "Gründer"."""
    return {role for role, pattern in _ROLES.items() if pattern.search(text)}


def wrong_role(claim: str, sentence: str, context: str) -> bool:
    """True when `claim` gives a role that `sentence` does not (nor `context`, if the sentence names no role),
    or a partnership the sentence does not state."""
    if _RELATION.search(claim) and not _RELATION.search(sentence):
        return True
    need = roles(claim)
    if not need:
        return False
    have = roles(sentence) or roles(context)     # "Er sagte ...": the role was named in an earlier sentence
    return not need <= have
