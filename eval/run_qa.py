"""Run a QA set (JSONL) through `ask` and print correctness, abstention, citation and latency figures.

QA rows: id, question, lang, answers (alternatives; each a list of keywords that must all occur),
sources (document ids holding the answer), answerable.

    python -m eval.run_qa [eval/qa_sample.jsonl] [--limit N] [--out eval/reports/qa.json]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import time
from pathlib import Path

from rag.assistant import get_assistant
from rag.settings import load_settings

DEFAULT_SET = Path(__file__).resolve().parent / "qa_sample.jsonl"


def normalise(text: str) -> str:
    """Lower case, decimal commas as points, single spaces: "4,8 %" and "4.8%" compare equal."""
    text = re.sub(r"(\d),(\d)", r"\1.\2", text.lower())
    return re.sub(r"\s+", " ", text.replace(" %", "%"))


def correct(answer_text: str, alternatives: list[list[str]]) -> bool:
    """True when every keyword of at least one alternative occurs in the answer.

    >>> correct("Sie fiel um 4.8 %.", [["4,8"]]), correct("380 Mrd.", [["380", "Milliarden"]])
    (True, False)
    """
    text = normalise(answer_text)
    return any(all(normalise(k) in text for k in alt) for alt in alternatives)


def main(argv=None) -> int:
    """Run the set and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("qaset", nargs="?", default=str(DEFAULT_SET))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", default="eval/reports/qa.json")
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in Path(args.qaset).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[:args.limit] if args.limit else rows
    assistant = get_assistant(None, load_settings())
    assistant.ask("Wer ist Alibaba?")                        # warm-up: model load and prompt cache
    results = []
    for r in rows:
        t0 = time.perf_counter()
        a = assistant.ask(r["question"])
        results.append({**r, "answer": a.text, "draft": a.draft, "abstained": a.abstained, "seconds": time.perf_counter() - t0,
                        "first_token_s": a.timings["first_token_s"], "correct": correct(a.text, r["answers"]),
                        "citations": [{"n": c.n, "source": c.source, "quote": c.quote,
                                       "has_evidence": any(e in c.text for e in r.get("evidence", []))}
                                      for c in a.citations]})
        print(f"{r['id']} {'OK ' if results[-1]['correct'] else ('ABS' if a.abstained else 'NO ')} "
              f"{a.timings['first_token_s']:.1f}s | {r['question'][:60]} -> {a.text[:100]}", flush=True)
    summary = _summary(results)
    print(json.dumps(summary, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"summary": summary, "results": results}, indent=2, ensure_ascii=False))
    return 0


def _summary(results: list[dict]) -> dict:
    ans = [r for r in results if r["answerable"]]
    una = [r for r in results if not r["answerable"]]
    cites = [(c, r) for r in ans for c in r["citations"]]
    return {
        "answerable": len(ans), "unanswerable": len(una),
        "correct_share": round(sum(r["correct"] and not r["abstained"] for r in ans) / max(1, len(ans)), 3),
        "abstained_on_unanswerable": round(sum(r["abstained"] for r in una) / max(1, len(una)), 3),
        "abstained_on_answerable": round(sum(r["abstained"] for r in ans) / max(1, len(ans)), 3),
        "citations_in_gold_source": round(sum(c["source"] in r["sources"] for c, r in cites) / max(1, len(cites)), 3),
        "citations_with_evidence": round(sum(c["has_evidence"] for c, _ in cites) / max(1, len(cites)), 3),
        "answers_with_citation": round(sum(bool(r["citations"]) for r in ans) / max(1, len(ans)), 3),
        "first_token_p50_s": round(statistics.median(r["first_token_s"] for r in results), 2),
        "total_p50_s": round(statistics.median(r["seconds"] for r in results), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


if __name__ == "__main__":
    raise SystemExit(main())
