"""Title, date and heading detection on raw article text (text itself is never altered)."""

from __future__ import annotations

import re

MONTHS = {m: i for i, m in enumerate(
    "januar februar märz april mai juni juli august september oktober november dezember".split(), 1)}
MONTHS.update({m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)})
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_PATTERNS = [
    (re.compile(rf"\b(\d{{1,2}})\.\s*({_MONTH_RE})\s+(\d{{4}})\b", re.I), "dmy"),
    (re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}}),\s*(\d{{4}})\b", re.I), "mdy"),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), "iso"),
    (re.compile(r"\bdate:?\s+(\d{4})-(\d{2})\b", re.I), "ym"),
]


def extract_date(text: str) -> str:
    """The article's date as ISO text (`2025-05-19` or `2025-02`), or "" if none is given.

    >>> extract_date("19. Mai 2025")
    '2025-05-19'
    >>> extract_date(" date 2025-02 Die Aktie ... (22. Februar 2025, 02:04 Uhr)")
    '2025-02-22'
    """
    found = []
    for pattern, kind in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            found.append((m.start(), _iso(m.groups(), kind)))
    found = [f for f in sorted(found) if f[1]]
    if not found:
        return ""
    first = found[0][1]
    # a year-month stamp is refined by a full date of the same month later in the text
    return next((d for _, d in found if len(first) == 7 and d.startswith(first + "-")), first)


def _iso(g: tuple, kind: str) -> str:
    if kind == "ym":
        return f"{g[0]}-{g[1]}" if 1 <= int(g[1]) <= 12 else ""
    if kind == "iso":
        y, m, d = g
    elif kind == "dmy":
        d, m, y = g[0], MONTHS[g[1].lower()], g[2]
    else:
        m, d, y = MONTHS[g[0].lower()], g[1], g[2]
    m, d = int(m), int(d)
    return f"{y}-{m:02d}-{d:02d}" if 1 <= m <= 12 and 1 <= d <= 31 else ""


_COMMENTS = re.compile(r"^\d+\s+(Gedanken|Kommentare?|Comments?|Antworten|Replies|Responses)\b", re.I)


def is_heading(line: str) -> bool:
    """A short line without sentence punctuation at its end: a heading or caption.

    >>> is_heading("Apple-Deal unter Beobachtung"), is_heading("Die Aktie verlor 4,8%.")
    (True, False)
    """
    s = line.strip()
    words = s.split()
    if _COMMENTS.match(s):      # "3 Gedanken zu ...": the reader comments start here
        return True
    return (2 <= len(words) <= 14 and len(s) <= 120 and s[0].isupper()
            and s[-1] not in ".,;:!“”\"')…" and not s.startswith(("-", "•", "*")))


def extract_title(text: str) -> str:
    r"""The longest heading-like line before the body starts, else the first sentence.

    >>> extract_title("Foto | Agentur\n\nAnna Muster\n\nAlarm in Washington: Apple unter Druck\n\nText.")
    'Alarm in Washington: Apple unter Druck'
    """
    candidates = []
    for line in text.strip().splitlines()[:12]:
        s = line.strip()
        if len(s) > 120:   # the body has started
            break
        if s and "|" not in s and extract_date(s) == "" and is_heading(s) and len(s.split()) >= 3:
            candidates.append(s)
    if candidates:
        return max(candidates, key=lambda c: len(c.split()))
    body = re.sub(r"^\s*date:?\s+\d{4}-\d{2}\s*", "", text.strip(), flags=re.I)
    first = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0]
    return first if len(first) <= 100 else first[:100].rsplit(" ", 1)[0] + " …"
