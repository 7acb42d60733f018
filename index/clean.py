"""Title, date and heading detection on raw article text (text itself is never altered)."""

from __future__ import annotations

import bisect
import re

_MONTH_NAMES = {
    1: "januar january jan jän", 2: "februar february feb", 3: "märz maerz march mär mrz mar", 4: "april apr",
    5: "mai may", 6: "juni june jun", 7: "juli july jul", 8: "august aug", 9: "september sept sep",
    10: "oktober october okt oct", 11: "november nov", 12: "dezember december dez dec"}
MONTHS = {name: m for m, names in _MONTH_NAMES.items() for name in names.split()}
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATES = [   # (pattern, order of its groups)
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:T[\d:.+\-Z]*)?"), "ymd"),
    (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\b"), "dmy"),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), "dmy"),
    (re.compile(rf"\b(\d{{1,2}})\.?\s*({_MON})\.?\s+(\d{{4}})\b", re.I), "dMy"),
    (re.compile(rf"\b({_MON})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), "Mdy"),
    (re.compile(r"\bdate:?\s+(\d{4})-(\d{2})\b(?!-)", re.I), "ym"),
]
# a date right after one of these names the publication: "Stand: 12.03.2025", "Published on March 12th, 2025"
_CUE = re.compile(r"(stand|veröffentlicht|aktualisiert|erschienen|datum|artikel vom|published|updated|posted|"
                  r"date)\b[^\n]{0,25}$", re.I)
_AFTER_OK = re.compile(r"\s*($|[–—\-|·,(/]|\d{1,2}[:.]\d{2}|at\b|um\b|Uhr\b)")
HEAD_LINES = 6


def _dates(text: str):
    """(start, end, iso) of every date mentioned, in text order; a date inside an earlier pattern's date is skipped.

    Linear in the number of dates: only dates starting within the longest date's length before a match can hold
    it (a file of 16,000 dates must not stall a build).
    """
    found: dict[int, tuple[int, str]] = {}
    starts: list[int] = []
    longest = 0
    for pattern, order in _DATES:
        for m in pattern.finditer(text):
            iso = _iso(m.groups(), order)
            if not iso:
                continue
            near = starts[bisect.bisect_left(starts, m.start() - longest):bisect.bisect_right(starts, m.start())]
            if not any(found[a][0] > m.start() for a in near):
                bisect.insort(starts, m.start())
                found[m.start()] = (m.end(), iso)
                longest = max(longest, m.end() - m.start())
    return [(a, found[a][0], found[a][1]) for a in starts]


def _cued(text: str, a: int) -> bool:
    """The date at `a` follows a cue on its line, or is a "date 2025-02" stamp itself."""
    return bool(_CUE.search(text[max(0, a - 40):a])) or text[a:a + 4].lower() == "date"


def _dateline(line: str, a: int, b: int) -> bool:
    """A date that stands as a date line or byline, not inside a sentence ("Am 3. Oktober 1990 wurde ...")."""
    if a > 300:             # four words or fewer before a date line; a long line's later dates are in sentences
        return False
    before = line[:a].split()
    long_lower = [w for w in before if w[:1].islower() and len(w) > 3]
    return len(before) <= 4 and not long_lower and _AFTER_OK.match(line[b:]) is not None


def extract_date(text: str) -> str:
    r"""The article's publication date as ISO text (`2025-05-19` or `2025-02`), or "" if it gives none.

    A date after a cue ("Stand:", "Published") wins; else the first date line or byline among the first lines;
    dates inside sentences are what the article is about, not when it appeared.

    >>> extract_date("19. Mai 2025")
    '2025-05-19'
    >>> extract_date("Stand: 01.12.2025\n\nAm 3. Oktober 1990 wurde Deutschland wiedervereinigt.")
    '2025-12-01'
    >>> extract_date("Am 3. Oktober 1990 wurde Deutschland wiedervereinigt.")
    ''
    """
    dates = _dates(text)
    if not dates:
        return ""
    cued = [(a, iso) for a, b, iso in dates if _cued(text, a)]
    if cued:
        first = cued[0][1]
        # a year-month stamp is refined by a full date of the same month later in the text
        return next((iso for _, _, iso in dates if len(first) == 7 and iso.startswith(first + "-")), first)
    lines, offset = [], 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            lines.append((offset, line.rstrip("\n")))
        offset += len(line)
        if len(lines) == HEAD_LINES:
            break
    for start, line in lines:
        for a, b, iso in dates:
            if start <= a < start + len(line) and _dateline(line, a - start, b - start):
                return iso
    return ""


def _iso(g: tuple, order: str) -> str:
    if order == "ym":
        return f"{g[0]}-{g[1]}" if 1 <= int(g[1]) <= 12 else ""
    if order == "ymd":
        y, m, d = g
    elif order == "dmy":
        d, m, y = g
    elif order == "dMy":
        d, m, y = g[0], MONTHS[g[1].lower()], g[2]
    else:
        m, d, y = MONTHS[g[0].lower()], g[1], g[2]
    y, m, d = (int(y) + 2000 if len(str(y)) == 2 else int(y)), int(m), int(d)
    return f"{y}-{m:02d}-{d:02d}" if 1 <= m <= 12 and 1 <= d <= 31 and 1800 <= y <= 2100 else ""


_COMMENTS = re.compile(r"^\d+\s+(Gedanken|Kommentare?|Comments?|Antworten|Replies|Responses|Leserbriefe?|"
                       r"thoughts? on)\b", re.I)
_COMMENT_HEADINGS = re.compile(
    r"^(Kommentare|Leserkommentare|Leserbriefe|Leserstimmen|Comments|Reader comments|Readers' comments|"
    r"Schreibe einen Kommentar|Kommentar schreiben|Kommentar verfassen|Diskutieren Sie mit|Leave a (comment|reply)|"
    r"Join the (conversation|discussion)|Add a comment)\s*(\(\d+\))?\s*:?$", re.I)


def comments_start(text: str) -> int | None:
    r"""Where a reader-comment section starts ("3 Gedanken zu ...", "Kommentare (12)", "Leserbriefe"), or None.

    Comments are readers' opinions, not the article's facts: the loader keeps them out of the index.

    >>> comments_start("Titel\n\nDer Text.\n\n2 Kommentare\n\nSo ein Unsinn!")
    18
    >>> comments_start("Kommentar: Warum die Bahn streikt\n\nDer Text.") is None
    True
    """
    offset = 0
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s and (_COMMENTS.match(s) or _COMMENT_HEADINGS.match(s)):
            return offset
        offset += len(line)
    return None


def is_heading(line: str) -> bool:
    """A short line without sentence punctuation at its end: a heading or caption.

    >>> is_heading("Bosch-Deal unter Beobachtung"), is_heading("Die Aktie verlor 3,1%.")
    (True, False)
    """
    s = line.strip()
    words = s.split()
    if _COMMENTS.match(s):      # "3 Gedanken zu ...": the reader comments start here
        return True
    return (2 <= len(words) <= 14 and len(s) <= 120 and s[0].isupper()
            and s[-1] not in ".,;:!“”\"')…" and not s.startswith(("-", "•", "*")))


def extract_title(text: str) -> str:
    r"""A Markdown "# " heading; else the first heading-like line of four words or more before the body (a
    shorter one is often a byline), else the longest; else the first sentence.

    >>> extract_title("Foto | Agentur\n\nAnna Muster\n\nStreik in Hamburg: Hafen unter Druck\n\nText.")
    'Streik in Hamburg: Hafen unter Druck'
    >>> extract_title("# Solarausbau erreicht Rekord\n\nDer Text.")
    'Solarausbau erreicht Rekord'
    """
    candidates = []
    for line in text.strip().splitlines()[:12]:
        s = line.strip()
        if (m := re.match(r"#{1,3}\s+(\S.*)", s)) and not candidates:
            return m.group(1).strip()
        if len(s) > 120:   # the body has started
            break
        if s and "|" not in s and extract_date(s) == "" and is_heading(s) and len(s.split()) >= 3:
            candidates.append(s)
    if candidates:
        return next((c for c in candidates if len(c.split()) >= 4), max(candidates, key=lambda c: len(c.split())))
    body = re.sub(r"^\s*date:?\s+\d{4}-\d{2}\s*", "", text.strip(), flags=re.I)
    first = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0]
    return first if len(first) <= 100 else first[:100].rsplit(" ", 1)[0] + " …"
