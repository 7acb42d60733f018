"""`Assistant(retriever, generator, settings)`: grounded answers with checked citations.

    from rag import ask
    a = ask("Wie viel will Alibaba in KI investieren?")
    a.text, a.citations, a.abstained
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from rag.cite import SupportChecker, cite, markers, restates, strip_markers
from rag.generate import Generator, load_generator
from rag.lang import detect
from rag.parts import missing_note
from rag.prompt import ABSTAIN, NOT_FOUND, condense_messages, gloss_numbers, messages, passages, verify_messages
from rag.retriever import Retriever, clean_question, get_retriever
from rag.settings import Settings, load_settings
from rag.types import Answer

HISTORY_TURNS, HISTORY_CHARS = 3, 1000     # what a follow-up needs; keeps the condense prompt in context


class Assistant:
    """Retrieve, prompt, generate, cite: one question at a time."""

    def __init__(self, retriever: Retriever, generator: Generator, settings: Settings):
        self.retriever, self.generator = retriever, generator
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Use `settings` from the next question on (top-k, thresholds; the models stay loaded)."""
        self.settings = settings
        self.checker = SupportChecker(self.retriever.embedder, settings.support_threshold, settings.corpus_language,
                                      known=lambda word: self.retriever.index.bm25.known(word),
                                      verify=self._verify if settings.verify_citations else None,
                                      article=self._article_text)

    def ask(self, question: str, history: list[tuple[str, str]] | None = None) -> Answer:
        """The full answer (see `ask_stream` for the same, streamed)."""
        *_, answer = self.ask_stream(question, history)
        return answer

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None) -> Iterator[str | Answer]:
        """Yield answer text as it is generated, then the final `Answer` with citations."""
        t0 = time.perf_counter()
        question = clean_question(question)
        lang = detect(question, self.settings.corpus_language)
        standalone = self.standalone(question, history)
        s = self.settings
        hits = self.retriever.search(standalone, s.answer_chunks)
        sources = passages(hits, s.evidence_chars, most=s.answer_sources, margin=s.evidence_margin,
                           gap_chars=s.evidence_gap_chars)
        t_retrieved = time.perf_counter()
        raw, first = "", None
        msgs = messages(standalone, sources, lang)
        for piece in _hide_marker(_counted(self.generator.stream(msgs, s.max_answer_tokens), counter := [0]),
                                  len(sources)):
            first = first or time.perf_counter()
            raw += piece
            yield piece
        count = getattr(self.generator, "count_tokens", None)
        timings = {"retrieve_s": t_retrieved - t0, "first_token_s": (first or time.perf_counter()) - t0,
                   "answer_tokens": counter[0], "prompt_tokens": count(msgs[-1]["content"]) if count else 0}
        answer = self._finish(question, standalone, raw, sources, lang, timings)
        if self._unsupported(answer, raw, standalone):
            if len(sources) > 1 and s.retry_on_unsupported:
                answer = self._retry(question, standalone, raw, sources, lang, timings)
            elif not answer.abstained:
                answer = self._abstain(answer, raw, sources)      # an echo of the question answers nothing
        timings["total_s"] = time.perf_counter() - t0
        yield answer

    def _retry(self, question, standalone, raw, sources, lang, timings) -> Answer:
        """Ask again without the source the draft misread: the 1.5B model mixes up facts across sources.

        When the draft cited the best source (or none), that source is shown alone; when it cited others,
        those are left out ("2 %" copied from a sentence about another share drop).
        """
        cited = {n for n in markers(raw) if 1 <= n <= len(sources)}
        keep = sources[:1] if not cited or 1 in cited else [p for p in sources if p.n not in cited]
        best = [replace(p, n=i) for i, p in enumerate(keep, 1)]
        draft = "".join(self.generator.stream(messages(standalone, best, lang), self.settings.max_answer_tokens))
        timings["retried"] = True
        answer = self._finish(question, standalone, draft, best, lang, timings)
        if self._unsupported(answer, draft, standalone) or answer.abstained:
            return self._abstain(answer, raw, sources)      # the first draft and every source shown
        return replace(answer, draft=raw + "\n[retry] " + draft, passages=self._shown(sources))

    @staticmethod
    def _unsupported(answer: Answer, raw: str, standalone: str) -> bool:
        """True when the check removed the whole draft, or what is left only restates the question."""
        if answer.abstained:        # an empty draft is the model's NOT_IN_SOURCES, hidden while streaming
            return NOT_FOUND not in raw and bool(strip_markers(raw).strip())
        return restates(answer.text, standalone, answer.language)

    def _abstain(self, answer: Answer, raw: str, sources) -> Answer:
        """The abstention in `answer`'s language, keeping `raw` as the draft and `sources` as shown."""
        return _abstention(answer.question, answer.standalone_question, answer.language, answer.timings, raw,
                           self._shown(sources))

    @staticmethod
    def _shown(sources) -> list[dict]:
        return [{"source": p.hit.source, "title": p.hit.title, "date": p.hit.date, "start": p.start, "end": p.end,
                 "text": p.text} for p in sources]

    def _finish(self, question, standalone, raw, sources, lang, timings) -> Answer:
        shown = self._shown(sources)
        if NOT_FOUND in raw or not strip_markers(raw).strip():
            return _abstention(question, standalone, lang, timings, raw, shown)
        text, citations = cite(raw, sources, self.checker, lang, question=standalone)
        if not citations and self.settings.require_citation:     # nothing in it is backed by a source
            return _abstention(question, standalone, lang, timings, raw, shown)
        text = " ".join(filter(None, [text, missing_note(standalone, text, lang)]))     # "..., und seit wann?"
        return Answer(question, text, citations, False, lang, standalone, timings, raw, shown)

    def _article_text(self, source: str) -> str:
        """The full text of the indexed document `source` ("" if the index does not have it)."""
        return self.retriever.index.docs.get(source, {}).get("text", "")

    def _verify(self, claim: str, source: str) -> bool:
        """The LLM's yes/no on whether `source` states `claim` (greedy, two tokens)."""
        if detect(claim, self.settings.corpus_language) == "en":
            source = gloss_numbers(source)       # "80 Milliarden (= 80 billion)": the 1.5B model misreads the scale
        reply = "".join(self.generator.stream(verify_messages(claim, source), 2)).strip().lower()
        return reply.startswith(("yes", "ja"))

    def standalone(self, question: str, history: list[tuple[str, str]] | None = None) -> str:
        """The question rewritten to be understood without `history` (the question itself when there is none)."""
        history = [(str(q)[:HISTORY_CHARS], str(a)[:HISTORY_CHARS]) for q, a in (history or [])[-HISTORY_TURNS:]]
        return self._condense(question, history) if history else question

    def _condense(self, question: str, history: list[tuple[str, str]]) -> str:
        rewritten = "".join(self.generator.stream(condense_messages(question, history), 60)).strip()
        line = rewritten.splitlines()[0].strip() if rewritten else ""
        # an answer or a statement instead of a question would be searched and answered as if asked
        return line if line.endswith("?") and not markers(line) else question


def _abstention(question: str, standalone: str, lang: str, timings: dict, raw: str, shown: list[dict]) -> Answer:
    """"The articles don't say", in the question's language."""
    return Answer(question, ABSTAIN[lang if lang in ABSTAIN else "de"], [], True, lang, standalone, timings, raw, shown)


def _counted(pieces: Iterator[str], counter: list[int]) -> Iterator[str]:
    """Pass pieces through, counting them (llama.cpp streams one token per piece)."""
    for piece in pieces:
        counter[0] += 1
        yield piece


def _hide_marker(pieces: Iterator[str], n_sources: int) -> Iterator[str]:
    """Stream text, holding back the abstention token and markers that point at no source."""
    held = ""
    for piece in pieces:
        held += piece
        start = held.lstrip()
        if len(start) < len(NOT_FOUND) and NOT_FOUND.startswith(start):
            continue                      # could still become the abstention token
        if NOT_FOUND in held:
            return
        cut = held.rfind("[")
        if cut >= 0 and "]" not in held[cut:] and len(held) - cut < 5:
            ready, held = held[:cut], held[cut:]          # a marker may be half-way through
        else:
            ready, held = held, ""
        yield _drop_bad_markers(ready, n_sources)
    if held and NOT_FOUND not in held:
        yield _drop_bad_markers(held, n_sources)


def _drop_bad_markers(text: str, n_sources: int) -> str:
    text = text.replace("[n]", "")            # the prompt's placeholder, echoed by small models
    bad = [n for n in markers(text) if not 1 <= n <= n_sources]
    for n in bad:
        text = text.replace(f"[{n}]", "")
    return text


_ASSISTANTS: dict[tuple, Assistant] = {}
_LOADING = threading.Lock()


def get_assistant(index_dir: str | Path | None = None, settings: Settings | None = None) -> Assistant:
    """A cached assistant over `index_dir` (None: the bundled articles) with the configured LLM."""
    settings = settings or load_settings()
    retriever = get_retriever(index_dir, settings)
    key = (settings.generator, settings.llm, settings.llm_path, str(settings.models_path))
    with _LOADING:                         # 16 first calls at once load the LLM once
        if key not in _ASSISTANTS:
            _ASSISTANTS.clear()
            _ASSISTANTS[key] = Assistant(retriever, load_generator(settings), settings)
        assistant = _ASSISTANTS[key]
        assistant.retriever = retriever        # the index may have been rebuilt since
        if assistant.settings != settings:     # e.g. the UI's top-k slider
            assistant.configure(settings)
    return assistant


def ask(question: str, index_dir: str | Path | None = None, history: list[tuple[str, str]] | None = None,
        settings: Settings | None = None) -> Answer:
    """Answer `question` from the articles, with citations; see `Answer`."""
    clean_question(question)                  # a bad question fails before any model or index is loaded
    return get_assistant(index_dir, settings).ask(question, history)


def ask_stream(question: str, index_dir: str | Path | None = None, history: list[tuple[str, str]] | None = None,
               settings: Settings | None = None) -> Iterator[str | Answer]:
    """Yield the answer text as it is generated, then the final `Answer`."""
    clean_question(question)
    return get_assistant(index_dir, settings).ask_stream(question, history)
