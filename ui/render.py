"""HTML for answers and sources: markers become clickable citations that open the passage, quote highlighted.

>>> from rag.types import Answer, Citation
>>> c = Citation(n=1, source="a.txt", text="Vorher. Siemens investiert 380 Mrd. Danach.", start=0, end=43,
...              quote="Siemens investiert 380 Mrd.", quote_start=8, quote_end=35, date="2025-02-24",
...              title="Siemens <KI>")
>>> html = answer_html(Answer(question="q", text="Siemens investiert 380 Mrd. [1].", citations=[c]))
>>> '<mark>Siemens investiert 380 Mrd.</mark>' in html and 'Siemens &lt;KI&gt;' in html
True
"""

from __future__ import annotations

import html
import re

from rag.types import Answer, Citation

_MARK = re.compile(r"\[(\d{1,3})\]")


def answer_html(answer: Answer) -> str:
    """The answer text with [n] as links, then one expandable citation per marker."""
    if answer.abstained:
        return f'<div class="abstained" data-testid="abstained">ⓘ {html.escape(answer.text)}</div>'
    text = _MARK.sub(lambda m: f'<a class="cite-ref" href="#cite-{m.group(1)}">[{m.group(1)}]</a>',
                     html.escape(answer.text))
    return f'<div class="answer">{text}</div>' + "".join(citation_html(c) for c in answer.citations)


def citation_html(c: Citation) -> str:
    """A closed <details>: its summary is the marker and document; opened, the passage with the quote marked."""
    a, b = c.quote_start - c.start, c.quote_end - c.start
    body = (html.escape(c.text[:a]) + f"<mark>{html.escape(c.text[a:b])}</mark>" + html.escape(c.text[b:]))
    meta = " · ".join(html.escape(x) for x in (c.title, c.date, c.source) if x)
    return (f'<details class="citation" id="cite-{c.n}"><summary>[{c.n}] {meta}</summary>'
            f'<blockquote>{body}</blockquote></details>')


def sources_html(answer: Answer | None) -> str:
    """The sources panel: every passage the model was shown, the cited ones first and highlighted."""
    if answer is None:
        return '<p class="muted">Sources of the current answer appear here.</p>'
    if answer.abstained:
        head = "<p><b>Not in the articles.</b> None of these passages answers the question:</p>"
    else:
        head = "".join(citation_html(c).replace("<details ", "<details open ") for c in answer.citations)
    checks = "".join(f'<li data-check="{html.escape(v.check)}">{"✓" if v.passed else "✗"} <b>{html.escape(v.check)}</b>'
                     f' {html.escape(v.reason)}</li>' for v in answer.checks)
    head += f'<details class="checks"><summary>Checks</summary><ul>{checks}</ul></details>' if checks else ""
    rest = "".join(f'<div class="passage"><small>{html.escape(p["title"] or p["source"])} '
                   f'{html.escape(p["date"])}</small><br>{html.escape(p["text"])}</div>' for p in answer.passages)
    return head + (f"<details><summary>All {len(answer.passages)} passages shown to the model</summary>{rest}</details>"
                   if answer.passages else "")
