"""`Assistant(retriever, generator, settings)`: grounded answers with checked citations.

    from rag import ask
    a = ask("Wie viel will der Konzern investieren?")
    a.text, a.citations, a.abstained
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

from core.lang import detect
from core.settings import Settings, load_settings
from rag.checks import Draft, Verdict, asked_kind, content_words, get_checks, states_kind
from rag.cite import citations_for, with_markers
from rag.generate import Generator, load_generator
from rag.prompt import ABSTAIN, Evidence, Passage, condense_messages, messages, numbered, passages
from rag.reply import Reply
from rag.retriever import Retriever, clean_question, get_retriever
from rag.types import Answer

HISTORY_TURNS, HISTORY_CHARS = 3, 1000     # what a follow-up needs; keeps the condense prompt in context


class Assistant:
    """Retrieve, prompt, generate, check, cite: one question at a time, one LLM call per answer.

    The model names the sentence it answers from before it answers ("[3] ..."), so its citation is known
    before any word is shown; the checks (`rag.checks`) then read the finished reply, and a failed one turns
    the answer into "the articles don't say", keeping its verdict.
    """

    def __init__(self, retriever: Retriever, generator: Generator, settings: Settings):
        self.retriever, self.generator = retriever, generator
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Use `settings` from the next question on (top-k, checks; the models stay loaded)."""
        self.settings = settings
        # looked up through self.retriever at call time: get_assistant swaps in a rebuilt index's retriever
        known = (lambda word: self.retriever.known(word)) if hasattr(self.retriever, "known") else None
        self.checks = get_checks(settings.checks, settings.embedder, known)

    def ask(self, question: str, history: list[tuple[str, str]] | None = None, gate: bool = True) -> Answer:
        """The full answer (see `ask_stream` for the same, streamed)."""
        *_, answer = self.ask_stream(question, history, gate)
        return answer

    def ask_stream(self, question: str, history: list[tuple[str, str]] | None = None,
                   gate: bool = True) -> Iterator[str | Answer]:
        """Yield answer text as it is generated, then the final `Answer` with citations and check verdicts.

        `gate=False` asks the model even when a "before" check failed (the answer is the same abstention; its
        draft shows what the model would have said: how the evaluation measures what each check buys).
        """
        t0 = time.perf_counter()
        question = clean_question(question)
        lang = detect(question, self.retriever.language)
        standalone = self.standalone(question, history)
        s = self.settings
        shown, evidence = self.evidence(standalone)
        draft = Draft(standalone, lang, evidence)
        timings = {"retrieve_s": time.perf_counter() - t0}
        verdicts = [c(draft) for c in self.checks if c.stage == "before"]
        if gate and not all(v.passed for v in verdicts):
            timings.update(first_token_s=time.perf_counter() - t0, total_s=time.perf_counter() - t0)
            yield self._abstain(question, standalone, lang, timings, "", shown, verdicts)
            return
        msgs = messages(standalone, evidence, lang)
        reply, first = Reply(), None
        for piece in self.generator.stream(msgs, s.max_answer_tokens):
            reply.tokens += 1
            visible = reply.feed(piece)
            if visible:
                first = first or time.perf_counter()
                yield visible
        if tail := reply.close():
            yield tail
        count = getattr(self.generator, "count_tokens", None)
        timings.update(first_token_s=(first or time.perf_counter()) - t0, answer_tokens=reply.tokens,
                       prompt_tokens=count(msgs[-1]["content"]) if count else 0)
        answer = self._finish(question, standalone, lang, reply, draft, shown, verdicts, timings)
        timings["total_s"] = time.perf_counter() - t0
        yield answer

    def evidence(self, question: str) -> tuple[list[Passage], list[Evidence]]:
        """What the model is shown for a standalone `question`: the passages and their numbered sentences.

        Retrieval included, no LLM call: the evaluation's evidence-only mode and the calibration scripts use it.
        """
        s = self.settings
        hits = self.retriever.search(question, s.answer_chunks)
        shown = passages(hits, s.evidence_chars, most=s.answer_sources, margin=s.evidence_margin,
                         gap_chars=s.evidence_gap_chars, window=s.evidence_window, boost=self._boost(question, hits))
        return shown, numbered(shown, lambda hit: hit.language or detect(hit.text, self.retriever.language))

    def _boost(self, question: str, hits):
        """A sentence's bonus for what the embedding misses (None: no bonus).

        The question's words count by how few of the retrieved sentences share them (the subject's name is in
        all of them; "coach" or "Preisgeld" in one); and a sentence that states the kind of thing asked for (an
        amount, a time, a name: `rag.checks.asked_kind`) gains `evidence_kind_bonus`.
        """
        s = self.settings
        if not (s.evidence_kind_bonus or s.evidence_word_bonus):        # the default: nothing to compute per question
            return None
        lang = detect(question, self.retriever.language)
        kind = asked_kind(question, lang) if s.evidence_kind_bonus else None
        rarity = _rarity(question, hits, lang) if s.evidence_word_bonus else {}
        if kind is None and not rarity:
            return None

        def boost(text: str, text_lang: str) -> float:
            low = text.lower()
            lexical = s.evidence_word_bonus * sum(w for start, w in rarity.items() if start in low)
            return lexical + (s.evidence_kind_bonus if kind and states_kind(kind, text, question, text_lang or lang)
                              else 0.0)
        return boost

    def _finish(self, question, standalone, lang, reply: Reply, draft: Draft, shown, verdicts, timings) -> Answer:
        """Run the after-checks on the complete reply; cite what passed, abstain on the first failure."""
        if reply.abstained or not reply.text:
            verdicts.append(Verdict("model", False, "the model found no sentence that answers the question"))
            return self._abstain(question, standalone, lang, timings, reply.raw, shown, verdicts)
        draft.cited, draft.text = list(reply.cited), reply.text
        for check in (c for c in self.checks if c.stage == "after"):      # all run: each verdict is kept
            verdict = check(draft)
            verdicts.append(verdict)
            draft.cited = list(verdict.cited) or draft.cited
        if not all(v.passed for v in verdicts):
            return self._abstain(question, standalone, lang, timings, reply.raw, shown, verdicts)
        by_n = {e.n: e for e in draft.sentences()}
        if not by_n:       # the cited check is off and the reply cites nothing shown
            return Answer(question=question, text=reply.text, citations=[], language=lang,
                          standalone_question=standalone, timings=timings, draft=reply.raw, passages=_shown(shown),
                          checks=verdicts)
        citations = citations_for([by_n[n] for n in dict.fromkeys(draft.cited) if n in by_n])
        return Answer(question=question, text=with_markers(reply.text, [c.n for c in citations]), citations=citations,
                      language=lang, standalone_question=standalone, timings=timings, draft=reply.raw,
                      passages=_shown(shown), checks=verdicts)

    @staticmethod
    def _abstain(question, standalone, lang, timings, raw, shown, verdicts) -> Answer:
        """"The articles don't say", in the question's language, with the verdicts that led to it."""
        return Answer(question=question, text=ABSTAIN[lang if lang in ABSTAIN else "en"], citations=[],
                      abstained=True, language=lang, standalone_question=standalone, timings=timings, draft=raw,
                      passages=_shown(shown), checks=verdicts)

    def standalone(self, question: str, history: list[tuple[str, str]] | None = None) -> str:
        """The question rewritten to be understood without `history` (the question itself when there is none)."""
        history = [(str(q)[:HISTORY_CHARS], str(a)[:HISTORY_CHARS]) for q, a in (history or [])[-HISTORY_TURNS:]]
        return self._condense(question, history) if history else question

    def _condense(self, question: str, history: list[tuple[str, str]]) -> str:
        rewritten = "".join(self.generator.stream(condense_messages(question, history), 60)).strip()
        line = rewritten.splitlines()[0].strip() if rewritten else ""
        # an answer or a statement instead of a question would be searched and answered as if asked
        return line if line.endswith("?") and "[" not in line else question


def _rarity(question: str, hits, lang: str) -> dict[str, float]:
    """The question's content words (their shared start) -> the share of the hits' sentences without them."""
    from core.words import word_start
    starts = {word_start(w) for w in content_words(question, lang) if len(w) >= 3}
    texts = [h.text[a - h.start:b - h.start].lower() for h in hits for a, b, _ in h.sentences]
    if not texts:
        return {}
    return {w: 1 - sum(w in t for t in texts) / len(texts) for w in starts}


def _shown(sources) -> list[dict]:
    """The passages the model was shown, for the sources panel and evaluation."""
    return [{"source": p.hit.source, "title": p.hit.title, "date": p.hit.date, "start": p.start, "end": p.end,
             "text": p.text} for p in sources]


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
