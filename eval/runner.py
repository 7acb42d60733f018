"""Run a QA set through `retrieve` and `ask`, caching each question's result so a stopped run resumes.

    results = run(rows, assistant, Path("eval/reports/qa"), answers=True)

Each result is one JSON line in `<out>/cache.jsonl`, keyed by the settings it was made with; a rerun
with the same settings skips the questions already there.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from eval.metrics import contains_answer, evidence_hit, exact_match, f1, keywords_correct, mrr, ndcg_at, recall_at
from rag.cite import strip_markers

CACHE = "cache.jsonl"


def settings_key(settings, extra: str = "") -> str:
    """A short fingerprint of the settings (and index) a result depends on."""
    return hashlib.sha256((repr(settings) + extra).encode()).hexdigest()[:12]


def cached(out: Path, key: str) -> dict[str, dict]:
    """Results already in the cache for this key, by question id."""
    path = out / CACHE
    if not path.is_file():
        return {}
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:            # a line cut short by a kill: that question runs again
            continue
        if row.get("key") == key:
            rows[row["id"]] = row
    return rows


def run(rows: list[dict], assistant, out: Path, key: str, answers: bool = True, progress: bool = True,
        reference=None, reference_every: int = 1, evidence_only: bool = False) -> list[dict]:
    """Results for `rows` (from the cache when there), appending new ones to the cache as they finish.

    `evidence_only` builds what the model would be shown and scores it (evidence recall) without asking the LLM.

    With a `reference` pipeline (`eval.reference.Reference`) each question is also answered by it, the two
    taking turns going first, and its result is kept under "reference" (every `reference_every`-th question of
    `rows` only, when that is more than 1: the reference reads four times the prompt).
    """
    with_reference = {r["id"] for i, r in enumerate(rows) if i % max(1, reference_every) == 0}
    turns = 0
    from tqdm import tqdm
    out.mkdir(parents=True, exist_ok=True)
    done = cached(out, key)
    todo = [r for r in rows if r["id"] not in done]
    later = {r["id"] for r in todo if answers and r.get("history")}    # follow-ups: searched as `ask` rewrote them
    ranked = _retrieve_all(assistant, [r for r in todo if r["id"] not in later])
    with (out / CACHE).open("a", encoding="utf-8") as cache:
        for row in tqdm(todo, desc="questions", unit="q", disable=not progress, initial=len(rows) - len(todo),
                        total=len(rows)):
            ref, compared = None, reference is not None and row["id"] in with_reference
            turns += compared
            if compared and turns % 2:              # the two take turns going first
                ref = _reference(row, reference)
            answer = _evidence(row, assistant) if evidence_only else _answer(row, assistant) if answers else {}
            if compared and ref is None:
                ref = _reference(row, reference)
            if ref is not None:
                answer["reference"] = ref
            if row["id"] in later:
                ranked[row["id"]] = [h.source for h in assistant.retriever.search(answer["standalone"], 10)]
            result = {"id": row["id"], "key": key, **_retrieval(row, ranked[row["id"]]), **answer}
            done[row["id"]] = result
            cache.write(json.dumps(result, ensure_ascii=False) + "\n")
            cache.flush()
    return [{**row, **done[row["id"]]} for row in rows]


def _retrieve_all(assistant, rows: list[dict], batch: int = 64) -> dict[str, list[str]]:
    """Top-10 source ids per question, embedded in batches (retrieval-only runs take minutes, not hours).

    A follow-up (a row with `history`) is searched as the assistant searches it: rewritten to stand alone
    (in retrieval-only runs; answered rows are searched with the rewrite `ask` made, not rewritten twice).
    """
    out = {}
    for i in range(0, len(rows), batch):
        part = rows[i:i + batch]
        questions = [assistant.standalone(r["question"], r["history"]) if r.get("history") else r["question"]
                     for r in part]
        for row, hits in zip(part, assistant.retriever.search_many(questions, 10)):
            out[row["id"]] = [h.source for h in hits]
    return out


def _retrieval(row: dict, ranked: list[str]) -> dict:
    gold = set(row["sources"])
    if not gold:
        return {"ranked": ranked}
    return {"ranked": ranked, **{f"recall@{k}": recall_at(ranked, gold, k) for k in range(1, 11)},
            "mrr@10": mrr(ranked, gold), "ndcg@10": ndcg_at(ranked, gold)}


class _Counted:
    """The assistant's generator, counting the calls made to it (answer, retry, checks, rewrite)."""

    def __init__(self, generator):
        self.generator, self.calls = generator, 0

    def __getattr__(self, name):
        return getattr(self.generator, name)

    def stream(self, *args, **kwargs):
        self.calls += 1
        return self.generator.stream(*args, **kwargs)


def _answer(row: dict, assistant) -> dict:
    t0 = time.perf_counter()
    counted = assistant.generator = _Counted(assistant.generator)
    shown = ""
    try:
        for piece in assistant.ask_stream(row["question"], row.get("history")):
            if isinstance(piece, str):
                shown += piece
            else:
                a = piece
    finally:
        assistant.generator = counted.generator
    seconds = time.perf_counter() - t0
    plain = strip_markers(a.text)
    result = {
        "answer": a.text,
        "draft": a.draft,
        "standalone": a.standalone_question,
        "abstained": a.abstained,
        "answer_language": a.language,
        "streamed": shown,
        "llm_calls": counted.calls,
        "draft_replaced": replaced(shown, a.text),
        "retried": bool(a.timings.get("retried")),
        "cites_gold": any(c.source in row["sources"] for c in a.citations),
        "checks": [c.to_dict() for c in getattr(a, "checks", [])],
        "seconds": round(seconds, 3),
        "first_token_s": round(a.timings.get("first_token_s", seconds), 3),
        "prompt_tokens": a.timings.get("prompt_tokens", 0),
        "answer_tokens": a.timings.get("answer_tokens", 0),
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "quote": c.quote,
                "in_gold_source": c.source in row["sources"],
                "has_evidence": any(e in c.quote for e in row["evidence"]),
            }
            for c in a.citations
        ],
    }
    result.update(_scores(row, plain, a.abstained), **_shown_scores(row, a.passages))
    result["reply"] = reply_text(a.draft)
    before = {c.name for c in getattr(assistant, "checks", []) if c.stage == "before"}
    if a.abstained and any(not v.passed and v.check in before for v in a.checks):
        probe = assistant.ask(row["question"], row.get("history"), gate=False)  # what the model would say
        result.update(reply=reply_text(probe.draft), checks=[v.to_dict() for v in probe.checks])
    result["reply_scores"] = _scores(row, result["reply"], not result["reply"])
    return result


def _evidence(row: dict, assistant) -> dict:
    """What the model would be shown for `row`'s question (follow-ups as asked), scored without the LLM."""
    t0 = time.perf_counter()
    shown, _ = assistant.evidence(row["question"])
    passages = [{"source": p.hit.source, "text": p.text} for p in shown]
    return {**_shown_scores(row, passages), "evidence_s": round(time.perf_counter() - t0, 4),
            "shown": [p["source"] for p in passages]}


def _shown_scores(row: dict, passages: list[dict]) -> dict:
    """Evidence recall and size of the passages shown to the model."""
    return {"evidence_hit": evidence_hit(row, passages), "evidence_chars": sum(len(p["text"]) for p in passages),
            "evidence_sources": len({p["source"] for p in passages})}


def reply_text(raw: str) -> str:
    """The model's answer text without markers or the abstention token ("" when it abstained).

    >>> reply_text("[3][5] Der Umsatz stieg."), reply_text("NOT_IN_SOURCES")
    ('Der Umsatz stieg.', '')
    """
    return " ".join(strip_markers(raw).replace("NOT_IN_SOURCES", "").split())


def _scores(row: dict, plain: str, abstained: bool) -> dict:
    """EM/F1/containment against gold spans, and keyword correctness (an abstention is never correct)."""
    out = {}
    if row["gold_spans"]:
        out.update(
            em=exact_match(plain, row["gold_spans"]),
            f1=f1(plain, row["gold_spans"]),
            contains=0.0 if abstained else contains_answer(plain, row["gold_spans"]),
        )
    if row["answerable"] and row["answers"]:
        out["correct"] = (not abstained) and keywords_correct(plain, row["answers"])
    return out


def _reference(row: dict, reference) -> dict:
    """The reference pipeline's answer to `row`, scored like ours."""
    r = reference.answer(row["question"])
    r["cites_gold"] = any(s in row["sources"] for s in r["cited_sources"])
    return {**r, **_scores(row, strip_markers(r["answer"]), r["abstained"])}


def replaced(streamed: str, final: str) -> bool:
    """True when the reader saw a draft that the final answer takes back (markers and spacing aside).

    >>> replaced("Es sind 3 Milliarden [2].", "Es sind 3 Milliarden [1]."), replaced("Eddie Wu [1].", "Nichts.")
    (False, True)
    """

    def norm(text: str) -> str:
        return " ".join(strip_markers(text).split())

    return bool(norm(streamed)) and norm(streamed) != norm(final)
