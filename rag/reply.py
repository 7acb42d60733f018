"""Read the model's reply as it streams: the leading sentence numbers, then the answer text to show.

The reply is "[3] answer ..." or "[2][5] answer ...", or the abstention token. The numbers are held back
(they become citations once checked); what follows is shown as it comes. A reply from a backend that does not
constrain its shape may put its markers inline ("answer [3]."): they are collected and hidden all the same.

>>> r = Reply()
>>> "".join(r.feed(p) for p in ["[", "3", "][", "5] Der Um", "satz stieg [5", "]."]), r.cited
('Der Umsatz stieg.', [3, 5])
>>> r = Reply()
>>> "".join(r.feed(p) for p in ["NOT_", "IN_SOURCES"]), r.abstained
('', True)
"""

from __future__ import annotations

import re

from rag.cite import markers, strip_markers
from rag.prompt import NOT_FOUND

_LEAD = re.compile(r"\s*((?:\[\d{1,3}\]\s*)+)")


class Reply:
    """Feed streamed pieces; get back the part to show. `cited`, `text`, `abstained` and `raw` hold the result."""

    def __init__(self):
        self.raw, self.text, self.cited, self.tokens = "", "", [], 0
        self.abstained = False
        self._lead_done, self._held = False, ""

    def feed(self, piece: str) -> str:
        """The text of `piece` that can be shown now ("" while markers or the abstention token may be forming)."""
        self.raw += piece
        if self.abstained:
            return ""
        held = self._held + piece
        if not self._lead_done:
            start = held.lstrip()
            if NOT_FOUND.startswith(start[:len(NOT_FOUND)]) and start:
                if start.startswith(NOT_FOUND):
                    self.abstained = not self.text.strip()
                    self._held = ""
                    return ""
                self._held = held
                return ""
            m = _LEAD.match(held)
            if m and m.end() == len(held) or (start.startswith("[") and "]" not in start[-4:] and len(start) < 5):
                self._held = held          # markers still forming: "[3", "[3][", "[3] "
                return ""
            if m:
                self.cited += [int(n) for n in re.findall(r"\d+", m.group(1))]
                held = held[m.end():]
            self._lead_done = True
        return self._body(held)

    def _body(self, held: str) -> str:
        """Inline markers collected and hidden; a "[" that may start one is held until it closes."""
        cut = held.rfind("[")
        if cut >= 0 and "]" not in held[cut:] and len(held) - cut < 5:
            cut = len(held[:cut].rstrip())          # the space before a marker goes with it
            ready, self._held = held[:cut], held[cut:]
        else:
            ready, self._held = held, ""
        self.cited += [n for n in markers(ready) if n not in self.cited]
        ready = strip_markers(ready).replace(NOT_FOUND, "")
        shown = ready if self.text else ready.lstrip()
        self.text += shown
        return shown

    def close(self) -> str:
        """Whatever is still held back at the end of the stream, as text to show."""
        held, self._held = self._held, ""
        if not self._lead_done:
            m = _LEAD.match(held)
            if m:
                self.cited += [int(n) for n in re.findall(r"\d+", m.group(1))]
                held = held[m.end():]
            if not held.strip() or NOT_FOUND.startswith(held.strip()):
                return ""
            self._lead_done = True
        shown = strip_markers(held).replace(NOT_FOUND, "")
        shown = shown if self.text else shown.lstrip()
        self.text += shown
        return shown
