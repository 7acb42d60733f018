"""Calibrate the citation support check on labelled (claim, source sentence, supported) pairs.

Prints, for each cosine threshold, the accuracy of `rag.cite.SupportChecker` (cosine + number, amount
and name gates) on eval/support_pairs.jsonl, alone and followed by the LLM's yes/no (`--verify`,
what `verify_citations=true` does), and the best threshold.

    python -m eval.calibrate_support [--verify]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rag.cite import SupportChecker
from rag.lang import detect
from rag.settings import load_settings

PAIRS = Path(__file__).resolve().parent / "support_pairs.jsonl"


def main(argv=None) -> int:
    """Score all pairs and print accuracy per threshold."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--verify", action="store_true", help="also ask the configured LLM (slow: ~1 s per pair)")
    args = ap.parse_args(argv)
    from rag.assistant import get_assistant
    assistant = get_assistant(None, load_settings())
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    checker = SupportChecker(assistant.retriever.embedder, 0.0, known=assistant.checker.known)
    scores = np.array([checker.matrix([r["claim"]], [r["source"]], [r["source"]], detect(r["claim"], "de"),
                                      r.get("question", ""))[0, 0] for r in rows])
    labels = np.array([r["supported"] for r in rows])
    llm = np.array([assistant._verify(r["claim"], r["source"]) for r in rows]) if args.verify else np.ones(len(rows), bool)
    results = {}
    for t in np.arange(0.70, 0.95, 0.01):
        pred = (scores >= t) & llm
        results[round(float(t), 2)] = (float(np.mean(pred == labels)), int(np.sum(pred & ~labels)), int(np.sum(~pred & labels)))
    for t, (acc, fp, fn) in results.items():
        print(f"threshold {t:.2f}: accuracy {acc:.3f}  (false support {fp}, missed {fn})")
    best = max(results.items(), key=lambda kv: (kv[1][0], -kv[1][1]))
    print(f"best threshold {best[0]:.2f} with accuracy {best[1][0]:.3f} on {len(rows)} pairs"
          f"{' (cheap checks + LLM yes/no)' if args.verify else ' (cheap checks only)'}")
    for r, s, v in sorted(zip(rows, scores, llm), key=lambda x: -x[1]):
        print(f"{s:.3f} {'llm-yes' if v else 'llm-no '} {'+' if r['supported'] else '-'} {r['claim'][:70]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
