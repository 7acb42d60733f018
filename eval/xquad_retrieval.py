"""Retrieval on XQuAD: index the 240 German paragraphs, ask German and English questions.

Prints dense-only, BM25-only and hybrid figures side by side and writes JSON.

    python -m eval.xquad_retrieval --xquad-dir ../shared/benchmarks/xquad
    python -m eval.xquad_retrieval --sweep      # also try fusion weights and rrf_k
    python -m eval.xquad_retrieval --set backend=postgres postgres_url="$(rag db status)"   # the postgres store
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from core.settings import load_settings
from eval.metrics import summarize
from eval.report import save_json
from index.build import build_index
from index.postgres import redact
from rag.langshift import shift_queries
from rag.retriever import Retriever, embedder_for, fuse, open_index

MODES = {"dense-plain": {"bm25_weight": 0.0, "cross_lingual_bm25_weight": 0.0, "sentence_weight": 0.0,
                        "language_shift": 0.0},
         "dense": {"bm25_weight": 0.0, "cross_lingual_bm25_weight": 0.0},
         "bm25": {"dense_weight": 0.0, "cross_lingual_bm25_weight": 1.0}, "hybrid": {}}


def load_xquad(folder: Path) -> tuple[dict[str, str], dict[str, list[tuple[str, str]]]]:
    """(paragraph id -> German context, lang -> [(question, paragraph id)]) from the parallel files."""
    de = json.loads((folder / "xquad.de.json").read_text(encoding="utf-8"))
    en = json.loads((folder / "xquad.en.json").read_text(encoding="utf-8"))
    en_q = {qa["id"]: qa["question"] for art in en["data"] for p in art["paragraphs"] for qa in p["qas"]}
    contexts, questions = {}, {"de": [], "en": []}
    for a, art in enumerate(de["data"]):
        for p, para in enumerate(art["paragraphs"]):
            pid = f"{a:02d}_{p:02d}.txt"
            contexts[pid] = para["context"]
            for qa in para["qas"]:
                questions["de"].append((qa["question"], pid))
                questions["en"].append((en_q[qa["id"]], pid))
    return contexts, questions


def main(argv=None) -> int:
    """Build the XQuAD index and print the retrieval table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--xquad-dir", default=str(Path(__file__).resolve().parents[2] / "shared/benchmarks/xquad"))
    ap.add_argument("--out", default="eval/reports/xquad_retrieval.json")
    ap.add_argument("--sweep", action="store_true", help="also sweep fusion weights / rrf_k")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions per language")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="setting overrides")
    args = ap.parse_args(argv)
    overrides = dict(kv.split("=", 1) for kv in args.set)
    settings = load_settings(**overrides)
    contexts, questions = load_xquad(Path(args.xquad_dir))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for pid, text in contexts.items():
            (corpus / pid).write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        report = build_index(corpus, Path(tmp) / "index", settings=settings, embedder=embedder_for(settings))
        print(report.summary())
        index = open_index(Path(tmp) / "index", settings)
        shown = {k: redact(v) if k.endswith("_url") else v for k, v in overrides.items()}
        results = {"settings": shown, "index_seconds": round(time.perf_counter() - t0, 1),
                   "chunks": report.chunks, "modes": {}}
        for mode, changes in MODES.items():
            r = Retriever(index, embedder_for(settings), settings.replace(**changes))
            for lang, qs in questions.items():
                qs = qs[:args.limit] if args.limit else qs
                t = time.perf_counter()
                hits = r.search_many([q for q, _ in qs], k=10)
                ms = (time.perf_counter() - t) * 1000 / max(len(qs), 1)
                m = summarize([([h.source for h in hs], {pid}) for hs, (_, pid) in zip(hits, qs)])
                results["modes"][f"{mode}/{lang}"] = {k: round(v, 4) for k, v in m.items()} | {"ms": round(ms, 1)}
        if args.sweep:
            results["sweep"] = _sweep(index, settings, questions, args.limit)
    _print(results)
    save_json(args.out, results)
    return 0


def _sweep(index, settings, questions, limit) -> dict:
    """Fusion settings tried on cached candidate lists (embeddings computed once per language)."""
    out = {}
    for lang, qs in questions.items():
        qs = qs[:limit] if limit else qs
        embedder = embedder_for(settings)
        qv = shift_queries(embedder.embed([q for q, _ in qs], kind="query"), [lang] * len(qs),
                           settings.corpus_language, embedder, settings.language_shift)
        bm25 = [index.lexical(q, settings.candidates) for q, _ in qs]
        for sw in (1.0, 1.5):
            r = Retriever(index, embedder_for(settings), settings.replace(sentence_weight=sw))
            dense = r._dense(qv)
            for w in (0.0, 0.1, 0.2, 0.3):
                for rrf_k in (10, 30, 60):
                    runs = []
                    for d, b, v, (_, pid) in zip(dense, bm25, qv, qs):
                        fused, ranks = fuse([d, b], [1.0, w], rrf_k)
                        runs.append(([h.source for h in r._hits(fused, ranks, 10, v)], {pid}))
                    m = summarize(runs)
                    out[f"{lang} sent={sw} bm25={w} k={rrf_k}"] = {k: round(v, 4) for k, v in m.items()}
    return out


def _print(results: dict) -> None:
    print(f"{'mode/lang':28} {'R@1':>7} {'R@5':>7} {'R@10':>7} {'MRR@10':>7} {'ms/q':>7}")
    for name, m in list(results["modes"].items()) + list(results.get("sweep", {}).items()):
        print(f"{name:28} {m['recall@1']:7.3f} {m['recall@5']:7.3f} {m['recall@10']:7.3f} {m['mrr@10']:7.3f} "
              f"{m.get('ms', float('nan')):7.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
