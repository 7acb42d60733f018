"""Lists of names in a claim ("Apple und Microsoft"): when the whole claim fails its check, the items
that pass on their own are kept, each with its own citation ("Apple [1]"), and the rest is dropped.
"""

from __future__ import annotations

import re

_NAME = r"[A-ZÄÖÜ][\w-]*(?:\s+[A-ZÄÖÜ][\w-]*)?"       # one or two capitalised words: "Nvidia", "Eddie Wu"
_LIST = re.compile(rf"(?<![\w-])({_NAME})((?:,\s*{_NAME})*),?\s+(and|und|sowie|or|oder)\s+({_NAME})(?![\w-])")


def name_list(claim: str) -> tuple[int, int, list[str], str] | None:
    """(start, end, items, conjunction) of the first list of names in `claim`, or None.

    >>> name_list("Alibabas Partner sind Apple, Nvidia und SAP.")
    (22, 43, ['Apple', 'Nvidia', 'SAP'], 'und')
    >>> name_list("Alibaba investiert 380 Milliarden Yuan.") is None
    True
    """
    m = _LIST.search(claim)
    if not m:
        return None
    middle = [x.strip() for x in m.group(2).split(",") if x.strip()]
    return m.start(), m.end(), [m.group(1), *middle, m.group(4)], m.group(3)


def with_items(claim: str, found: tuple[int, int, list[str], str], items: list[str]) -> str:
    """`claim` with its list replaced by `items` (already tagged, e.g. "Apple [1]"), joined the claim's way.

    >>> c = "Die Partner sind Apple und Microsoft."
    >>> with_items(c, name_list(c), ["Apple [1]"])
    'Die Partner sind Apple [1].'
    """
    start, end, _, conj = found
    joined = items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conj} {items[-1]}"
    return claim[:start] + joined + claim[end:]
