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

from index.sentences import split_sentences
from eval.metrics import contains_answer, exact_match, f1, keywords_correct, mrr, ndcg_at, recall_at
from rag.cite import context_text, markers, shown_text, strip_markers
from rag.parts import is_note

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


def run(rows: list[dict], assistant, out: Path, key: str, answers: bool = True, progress: bool = True) -> list[dict]:
    """Results for `rows` (from the cache when there), appending new ones to the cache as they finish."""
    from tqdm import tqdm
    out.mkdir(parents=True, exist_ok=True)
    done = cached(out, key)
    todo = [r for r in rows if r["id"] not in done]
    later = {r["id"] for r in todo if answers and r.get("history")}    # follow-ups: searched as `ask` rewrote them
    ranked = _retrieve_all(assistant, [r for r in todo if r["id"] not in later])
    with (out / CACHE).open("a", encoding="utf-8") as cache:
        for row in tqdm(todo, desc="questions", unit="q", disable=not progress, initial=len(rows) - len(todo),
                        total=len(rows)):
            answer = _answer(row, assistant) if answers else {}
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


def _answer(row: dict, assistant) -> dict:
    t0 = time.perf_counter()
    a = assistant.ask(row["question"], row.get("history"))
    seconds = time.perf_counter() - t0
    plain = strip_markers(a.text)
    result = {"answer": a.text, "draft": a.draft, "standalone": a.standalone_question, "abstained": a.abstained,
              "answer_language": a.language,
              "seconds": round(seconds, 3), "first_token_s": round(a.timings.get("first_token_s", seconds), 3),
              "prompt_tokens": a.timings.get("prompt_tokens", 0), "answer_tokens": a.timings.get("answer_tokens", 0),
              "citations": [{"n": c.n, "source": c.source, "quote": c.quote, "in_gold_source": c.source in row["sources"],
                             "has_evidence": any(e in c.text for e in row["evidence"])} for c in a.citations],
              "sentences": _judged_sentences(a, assistant)}
    if row["gold_spans"]:
        result.update(em=exact_match(plain, row["gold_spans"]), f1=f1(plain, row["gold_spans"]),
                      contains=contains_answer(plain, row["gold_spans"]))
    if row["answerable"] and row["answers"]:
        result["correct"] = (not a.abstained) and keywords_correct(plain, row["answers"])
    return result


def _judged_sentences(answer, assistant) -> list[list[bool]]:
    """For each answer sentence, whether each citation it carries supports it (the answering support check)."""
    if answer.abstained:
        return []
    by_n = {c.n: c for c in answer.citations}
    judged = []
    for a, b in split_sentences(answer.text) or []:
        sentence = answer.text[a:b]
        claim = strip_markers(sentence).strip()
        if is_note(claim):
            continue             # "the articles do not answer ...": an absence, not a claim to cite
        oks = []
        for n in markers(sentence):
            c = by_n.get(n)
            if c is None:
                oks.append(False)
                continue
            oks.append(assistant.checker.supports(claim, c.quote, context_text(c.title, c.text), answer.language,
                                                  answer.standalone_question, shown_text(c.title, c.quote), c.source))
        judged.append(oks)
    return judged
