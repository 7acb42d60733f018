"""The fair reference: the same retriever and LLM, the top-4 chunks and a plain prompt, no checks.

It answers every question of a run beside the assistant (`rag eval --reference`), so the two are compared on
the same machine state and reported as ratios. It gets its own generator instance (the same model file), so
neither pipeline's prompt cache is spoiled by the other's prompts.

    ref = Reference(retriever, load_generator(settings), max_tokens=160)
    ref.answer("Wie viel will Alibaba investieren?")   # {"text": ..., "abstained": ..., "first_token_s": ...}
"""

from __future__ import annotations

import re
import time

from rag.cite import markers

NOT_FOUND = "NOT_IN_SOURCES"
PLAIN_PROMPT = ("Answer the question using only the numbered sources. Answer in the language of the question, "
                "in one to three sentences, and cite the sources you use as [n]. If the sources do not contain "
                f"the answer, reply only: {NOT_FOUND}")
CHUNKS = 4
# Said instead of the token: counted as an abstention too, so the reference is not charged for its wording
_DONT_KNOW = re.compile(r"NOT_IN_SOURCES|do(?:es)? not (?:contain|say|mention)|don't (?:know|say)|"
                        r"(?:keine|nicht) (?:angaben|informationen?|enthalten|erwähnt)|steht (?:dort |darin )?nicht",
                        re.I)


class Reference:
    """Top-4 chunks of `retriever`, whole, under the plain prompt, streamed by `generator`."""

    def __init__(self, retriever, generator, max_tokens: int = 160):
        self.retriever, self.generator, self.max_tokens = retriever, generator, max_tokens

    def messages(self, question: str, hits) -> list[dict]:
        """The plain prompt: instructions, the numbered chunks, the question."""
        sources = "\n\n".join(f"[{n}] {h.title}\n{h.text}" if h.title else f"[{n}] {h.text}"
                              for n, h in enumerate(hits, 1))
        return [{"role": "system", "content": PLAIN_PROMPT},
                {"role": "user", "content": f"Sources:\n{sources}\n\nQuestion: {question}"}]

    def answer(self, question: str) -> dict:
        """One answer with its timings and the sources its markers point at."""
        t0 = time.perf_counter()
        hits = self.retriever.search(question, CHUNKS)
        text, first = "", None
        for piece in self.generator.stream(self.messages(question, hits), self.max_tokens):
            first = first or time.perf_counter()
            text += piece
        cited = [hits[n - 1].source for n in markers(text) if 1 <= n <= len(hits)]
        return {"answer": text.strip(), "abstained": bool(_DONT_KNOW.search(text)) or not text.strip(),
                "first_token_s": round((first or time.perf_counter()) - t0, 3),
                "seconds": round(time.perf_counter() - t0, 3), "llm_calls": 1, "cited_sources": cited}
