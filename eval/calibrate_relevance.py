"""Measure the relevance check's floor: the best shown sentence's score for answerable and unanswerable questions.

Retrieval only (no LLM), on dev sets: the project's dev questions, XQuAD dev (German, English) and the XQuAD
unanswerable dev part. Prints, for each floor, the share of answerable questions it would wrongly stop and the
share of unanswerable ones it stops, and draws both distributions.

    python -m eval.calibrate_relevance [--sets sample-dev xquad-dev-de ...] [--out eval/reports/relevance]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.report import save_json
from eval.sets import get_set

DEV = ["sample-dev", "xquad-dev-de", "xquad-dev-en", "xquad-unanswerable-dev"]


def best_scores(name: str, settings) -> list[tuple[bool, float]]:
    """(answerable, best evidence score) per question of the named set."""

    from eval.harness import index_documents
    from rag.assistant import Assistant
    from rag.retriever import get_retriever
    qaset = get_set(name)
    index_dir = index_documents(qaset.documents, settings) if qaset.documents else None
    retriever = get_retriever(index_dir, settings)
    assistant = Assistant(retriever, None, settings)           # the product's own evidence step, no LLM
    return [(row["answerable"], max((e.score for e in assistant.evidence(row["question"])[1]), default=0.0))
            for row in qaset.rows]


def table(scores: list[tuple[bool, float]], floors) -> list[dict]:
    """For each floor: answerable questions stopped, unanswerable questions stopped (shares)."""
    ans = [x for a, x in scores if a]
    una = [x for a, x in scores if not a]
    return [{"floor": f, "answerable_stopped": round(sum(x < f for x in ans) / max(1, len(ans)), 4),
             "unanswerable_stopped": round(sum(x < f for x in una) / max(1, len(una)), 4)} for f in floors]


def main(argv=None) -> int:
    """Print the floor table over the given sets and save it with a histogram."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", nargs="+", default=DEV)
    ap.add_argument("--out", default="eval/reports/relevance")
    args = ap.parse_args(argv)
    from core.settings import load_settings
    settings = load_settings()
    scores = {name: best_scores(name, settings) for name in args.sets}
    every = [x for v in scores.values() for x in v]
    floors = [round(0.70 + 0.01 * i, 2) for i in range(21)]
    rows = table(every, floors)
    print("floor  answerable stopped  unanswerable stopped")
    for r in rows:
        print(f"{r['floor']:.2f}   {r['answerable_stopped']:>8.1%}           {r['unanswerable_stopped']:>8.1%}")
    out = Path(args.out)
    save_json(out / "relevance.json", {"sets": args.sets, "floors": rows,
                                       "per_set": {n: table(v, floors) for n, v in scores.items()}})
    _plot(every, out / "relevance.png")
    print(f"saved {out}/relevance.json and relevance.png")
    return 0


def _plot(scores, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.hist([[x for a, x in scores if a], [x for a, x in scores if not a]], bins=30,
            label=["answerable", "unanswerable"], density=True)
    ax.set(xlabel="best shown sentence score", ylabel="density", title="Relevance of the evidence (dev sets)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
