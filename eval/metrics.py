"""Retrieval metrics over ranked lists of source ids (a hit is any entry from a gold source).

>>> recall_at(["b", "a"], {"a"}, 1), recall_at(["b", "a"], {"a"}, 5), mrr(["b", "a"], {"a"})
(0.0, 1.0, 0.5)
"""

from __future__ import annotations

from statistics import fmean


def recall_at(ranked: list[str], gold: set[str], k: int) -> float:
    """1.0 if any of the first k entries is gold, else 0.0."""
    return float(any(r in gold for r in ranked[:k]))


def mrr(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """Reciprocal rank of the first gold entry within the first k, else 0."""
    return next((1.0 / n for n, r in enumerate(ranked[:k], 1) if r in gold), 0.0)


def summarize(runs: list[tuple[list[str], set[str]]]) -> dict[str, float]:
    """Mean recall@1/5/10 and MRR@10 over (ranked, gold) pairs."""
    return {
        "recall@1": fmean(recall_at(r, g, 1) for r, g in runs),
        "recall@5": fmean(recall_at(r, g, 5) for r, g in runs),
        "recall@10": fmean(recall_at(r, g, 10) for r, g in runs),
        "mrr@10": fmean(mrr(r, g, 10) for r, g in runs),
        "n": len(runs),
    }
