"""Load: N questions of the sample QA set asked at once from threads; latency p50/p95 and correctness.

    python -m eval.bench_load [--threads 16]

One model serves all threads (its lock admits one request at a time), so latency grows with the queue.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

from core.settings import load_settings
from eval.metrics import keywords_correct, percentiles
from eval.report import save_json
from eval.sets import get_set
from rag.assistant import get_assistant


def main(argv=None) -> int:
    """Ask the first N answerable questions concurrently and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--out", default="eval/reports/bench_load.json")
    args = ap.parse_args(argv)
    rows = [r for r in get_set("sample-dev").rows if r["answerable"]][:args.threads]
    assistant = get_assistant(None, load_settings())
    assistant.ask("Wer ist Alibaba?")                                   # warm-up
    base = {r["id"]: keywords_correct(assistant.ask(r["question"]).text, r["answers"]) for r in rows}
    t0 = time.perf_counter()

    def one(row):
        start = time.perf_counter()
        try:
            a = assistant.ask(row["question"])
            return {"id": row["id"], "seconds": time.perf_counter() - start, "error": "",
                    "correct": keywords_correct(a.text, row["answers"]) and not a.abstained}
        except Exception as e:                        # counted, not raised: a crash is a result here
            return {"id": row["id"], "seconds": time.perf_counter() - start, "error": repr(e), "correct": False}
    with ThreadPoolExecutor(args.threads) as pool:
        results = list(pool.map(one, rows))
    wall = time.perf_counter() - t0
    summary = {"threads": args.threads, "wall_s": round(wall, 1), "errors": sum(bool(r["error"]) for r in results),
               "correct": sum(r["correct"] for r in results), "correct_when_asked_alone": sum(base.values()),
               "latency_s": {k: round(v, 2) for k, v in percentiles([r["seconds"] for r in results]).items()}}
    print(json.dumps(summary, indent=2))
    save_json(args.out, {"summary": summary, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
