"""Two settings side by side: each sample question asked under A, then B, so drift hits both alike.

    python -m eval.bench_ab --b evidence_gap_chars=0 [--a key=value ...] [--limit 20]

The order alternates per question and an unrelated prompt runs in between, so neither variant reuses the
other's prompt from llama.cpp's cache. Prints first-token and total p50/p95 for each, the B/A ratio of the
medians, prompt tokens and the correct count. The machine's speed drifts by a third between runs; ratios from
one run do not.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics

from core.settings import load_settings
from eval.metrics import keywords_correct, percentiles
from eval.report import save_json
from eval.sets import get_set
from rag.assistant import get_assistant
from rag.prompt import SYSTEM


def _changes(pairs: list[str]) -> dict:
    """{"evidence_gap_chars": "0"} from ["evidence_gap_chars=0"]; `load_settings` coerces the values."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {pair!r} (e.g. evidence_gap_chars=0)")
        out[key.strip()] = value.strip()
    return out


def _flush(assistant) -> None:
    """Evaluate an unrelated prompt, so the next question cannot reuse the other variant's cached prompt."""
    list(assistant.generator.stream([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "-"}], 1))


def main(argv=None) -> int:
    """Ask every question under settings A and B in turn and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--a", nargs="*", default=[], help="settings for A (default: the defaults)")
    ap.add_argument("--b", nargs="*", default=[], help="settings for B")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions")
    ap.add_argument("--out", default="eval/reports/bench_ab.json")
    args = ap.parse_args(argv)
    variants = {"A": load_settings(**_changes(args.a)), "B": load_settings(**_changes(args.b))}
    rows = get_set("sample-dev").rows[: args.limit or None]
    assistant = get_assistant(None, variants["A"])
    assistant.ask("Wer ist Alibaba?")  # warm-up: model, index, prompt cache
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    for i, row in enumerate(rows):
        for name in ("A", "B") if i % 2 == 0 else ("B", "A"):  # alternate who goes first
            _flush(assistant)
            assistant.configure(variants[name])
            a = assistant.ask(row["question"])
            ok = (
                a.abstained if not row["answerable"] else (not a.abstained and keywords_correct(a.text, row["answers"]))
            )
            runs[name].append(
                {
                    "id": row["id"],
                    "correct": ok,
                    **{k: a.timings.get(k, 0) for k in ("first_token_s", "total_s", "prompt_tokens")},
                }
            )
    summary = {
        name: {
            "first_token_s": percentiles([r["first_token_s"] for r in rs]),
            "total_s": percentiles([r["total_s"] for r in rs]),
            "prompt_tokens_mean": round(statistics.mean(r["prompt_tokens"] for r in rs), 1),
            "correct": sum(r["correct"] for r in rs),
            "questions": len(rs),
        }
        for name, rs in runs.items()
    }
    summary["B/A first token p50"] = round(
        summary["B"]["first_token_s"]["p50"] / summary["A"]["first_token_s"]["p50"], 3
    )
    summary["B/A total p50"] = round(summary["B"]["total_s"]["p50"] / summary["A"]["total_s"]["p50"], 3)
    summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    summary["settings"] = {"A": args.a, "B": args.b}
    print(json.dumps(summary, indent=2))
    save_json(args.out, {"summary": summary, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
