"""Exact (flat) vs approximate (HNSW) FAISS search on synthetic 384-d normalised vectors
shaped like real ones (mean and covariance of the embedder's vectors for the sample sentences).

Prints build time, index memory, p50/p95 single-query latency and recall@10 against
exact search, for each size; `index.store` uses these to pick HNSW above a threshold.

    python -m eval.bench_ann --sizes 10000 100000 1000000 --bm25 --out eval/reports/bench_ann.json
    python -m eval.bench_ann --sizes 1000000 --ef 128 512 --postgres "$(rag db status)"   # + pgvector HNSW
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np

from eval.report import save_json
from index.store import HNSW_EF_SEARCH, make_store


def real_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance factor of real passage embeddings (the bundled articles' sentences)."""
    from core.sentences import split_sentences
    from core.settings import load_settings
    from index.embed import load_embedder
    settings = load_settings()
    texts = []
    for path in sorted(settings.corpus_path.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts += [text[a:b] for a, b in split_sentences(text) if len(text[a:b].split()) >= 3]
    vecs = load_embedder(settings).embed(texts)
    mean = vecs.mean(axis=0)
    u, sv, vt = np.linalg.svd(vecs - mean, full_matrices=False)
    return mean, (sv[:, None] * vt) / np.sqrt(len(vecs))


def synthetic(n: int, stats: tuple[np.ndarray, np.ndarray], seed: int = 0) -> np.ndarray:
    """Unit vectors drawn from a Gaussian with the mean and covariance of real embeddings.

    Isotropic noise in 384 dimensions would make all neighbours nearly equidistant, which real
    text embeddings are not; this keeps their spectrum (how the variance spreads over directions).
    """
    mean, factor = stats
    rng = np.random.default_rng(seed)
    x = mean + rng.normal(size=(n, factor.shape[0])).astype(np.float32) @ factor
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def bench(n: int, stats, queries: int = 300, k: int = 10, efs: tuple[int, ...] = (HNSW_EF_SEARCH,),
          postgres: dict | None = None) -> list[dict]:
    """Flat and HNSW figures for one collection size (HNSW at each efSearch in `efs`); pgvector's if asked."""
    both = synthetic(n + queries, stats)     # queries from the same distribution, held out of the index
    data, q = both[:n], both[n:]
    rows, exact = [], None
    postgres = dict(postgres) if postgres else None
    only_flat = bool(postgres and postgres.pop("skip_faiss_hnsw", False))
    for kind in ("flat",) if only_flat else ("flat", "hnsw"):
        t0 = time.perf_counter()
        store = make_store(kind, data.shape[1])
        store.add(data)
        build = time.perf_counter() - t0
        for ef in (efs if kind == "hnsw" else (None,)):
            if ef:
                store.index.hnsw.efSearch = ef
            lat, ids = _queries(store, q, k)
            exact = ids if kind == "flat" else exact
            recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, exact)]))
            rows.append(
                {
                    "n": n,
                    "index": kind,
                    "build_s": round(build, 2),
                    "memory_mb": round(_bytes(store) / 2**20, 1),
                    "p50_ms": round(float(np.percentile(lat, 50)), 3),
                    "p95_ms": round(float(np.percentile(lat, 95)), 3),
                    "recall@10": round(recall, 4),
                    "ef_search": ef,
                }
            )
            print(_fmt(rows[-1]), flush=True)
        del store
    if postgres:
        from eval.bench_pgvector import bench_pgvector
        rows += bench_pgvector(data, q, exact, k=k, fmt=_fmt, **postgres)
    return rows


def _queries(store, q: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    """Latency in ms of each single-vector query, and the ids found."""
    lat, ids = [], np.zeros((len(q), k), dtype=np.int64)
    for i in range(len(q)):
        t = time.perf_counter()
        ids[i] = store.search(q[i : i + 1], k)[1][0]
        lat.append((time.perf_counter() - t) * 1000)
    return lat, ids


def synthetic_texts(n: int, seed: int = 0, words: int = 60) -> list[str]:
    """Documents of Zipf-distributed words from the sample articles' vocabulary (as in real text)."""
    from core.settings import load_settings

    vocab = sorted(
        {
            w.lower()
            for p in load_settings().corpus_path.glob("*.txt")
            for w in re.findall(r"\w{3,}", p.read_text(encoding="utf-8"))
        }
    )
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.1, size=(n, words)), len(vocab)) - 1
    order = rng.permutation(len(vocab))  # which word is frequent is arbitrary
    return [" ".join(vocab[order[r]] for r in row) for row in ranks]


def bench_bm25(n: int, queries: int = 300, k: int = 10) -> dict:
    """BM25 build time, memory and single-query latency over n synthetic documents."""
    from index.lexical import BM25Index

    texts = synthetic_texts(n + queries)
    docs, qs = texts[:n], [" ".join(t.split()[:6]) for t in texts[n:]]
    t0 = time.perf_counter()
    index = BM25Index.build(docs, "de")
    build = time.perf_counter() - t0
    lat = []
    for q in qs:
        t = time.perf_counter()
        index.search(q, k)
        lat.append((time.perf_counter() - t) * 1000)
    scores = index.model.scores
    mem = sum(v.nbytes for v in scores.values() if hasattr(v, "nbytes"))
    row = {
        "n": n,
        "index": "bm25",
        "build_s": round(build, 2),
        "memory_mb": round(mem / 2**20, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p95_ms": round(float(np.percentile(lat, 95)), 3),
        "recall@10": None,
        "ef_search": None,
    }
    print(_fmt(row), flush=True)
    return row


def _bytes(store) -> int:
    import faiss

    return int(faiss.serialize_index(store.index).nbytes)


def _fmt(r: dict) -> str:
    return (
        f"{r['n']:>9} {r['index']:5} ef {r['ef_search'] or '-':>4} build {r['build_s']:8.2f}s  "
        f"mem {r['memory_mb']:8.1f} MB  "
        f"p50 {r['p50_ms']:8.3f} ms  p95 {r['p95_ms']:8.3f} ms  recall@10 "
        + ("exact" if r["recall@10"] is None else f"{r['recall@10']:.4f}")
    )


def main(argv=None) -> int:
    """Run the benchmark for the given sizes."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--ef", type=int, nargs="+", default=[HNSW_EF_SEARCH], help="HNSW efSearch values to measure")
    ap.add_argument("--bm25", action="store_true", help="also BM25 over synthetic text of each size")
    ap.add_argument("--postgres", metavar="URL", help="also pgvector HNSW in this database (`rag db start`)")
    ap.add_argument("--pg-m", type=int, default=16, help="pgvector HNSW m")
    ap.add_argument("--pg-ef-construction", type=int, default=64, help="pgvector HNSW ef_construction")
    ap.add_argument("--pg-ef", type=int, nargs="+", default=[40, 100, 200, 400], help="pgvector ef_search values")
    ap.add_argument("--pg-type", choices=["vector", "halfvec"], default="vector", help="pgvector column type")
    ap.add_argument("--skip-faiss-hnsw", action="store_true", help="with --postgres: FAISS flat (exact) only")
    ap.add_argument("--out", default="eval/reports/bench_ann.json")
    args = ap.parse_args(argv)
    postgres = dict(url=args.postgres, m=args.pg_m, ef_construction=args.pg_ef_construction, efs=tuple(args.pg_ef),
                    kind=args.pg_type, skip_faiss_hnsw=args.skip_faiss_hnsw) if args.postgres else None
    stats = real_statistics()
    rows = []
    for n in args.sizes:
        rows += bench(n, stats, efs=tuple(args.ef), postgres=postgres)
        if args.bm25:
            rows.append(bench_bm25(n))
        save_json(args.out, rows)  # partial results survive a long run
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
