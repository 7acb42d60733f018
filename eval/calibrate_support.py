"""Calibrate the citation support check on labelled (claim, source sentence, supported) pairs.

Prints, for each threshold, the accuracy of `rag.cite.SupportChecker` (cosine + number, amount and
name gates) on eval/support_pairs.jsonl, and the best threshold.

    python -m eval.calibrate_support
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.cite import SupportChecker
from rag.lang import detect
from rag.retriever import _embedder
from rag.settings import load_settings

PAIRS = Path(__file__).resolve().parent / "support_pairs.jsonl"


def main(argv=None) -> int:
    """Score all pairs and print accuracy per threshold."""
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    checker = SupportChecker(_embedder(load_settings()), 0.0)
    scores = np.array([checker.matrix([r["claim"]], [r["source"]], [r["source"]], detect(r["claim"], "de"))[0, 0]
                       for r in rows])
    labels = np.array([r["supported"] for r in rows])
    best = max((float(np.mean((scores >= t) == labels)), t) for t in np.arange(0.70, 0.96, 0.01))
    for t in np.arange(0.70, 0.96, 0.02):
        acc = np.mean((scores >= t) == labels)
        print(f"threshold {t:.2f}: accuracy {acc:.3f}  (false support {np.sum((scores >= t) & ~labels)}, "
              f"missed {np.sum((scores < t) & labels)})")
    print(f"best threshold {best[1]:.2f} with accuracy {best[0]:.3f} on {len(rows)} pairs")
    for r, s in sorted(zip(rows, scores), key=lambda x: -x[1]):
        print(f"{s:.3f} {'+' if r['supported'] else '-'} {r['claim'][:70]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
