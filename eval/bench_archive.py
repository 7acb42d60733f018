"""Indexing a real news archive: build time per stage against the bare encoder, memory, size, query latency.

    python -m eval.bench_archive [--sizes 300 1000 3103] [--news ../shared/corpora/news]

For each size, that many real articles (German and English interleaved, in a fixed order) are copied to a fresh
folder and indexed from nothing in a child process (its own peak memory). In the same run the embedder alone
(sentence-transformers `encode`, fp32, batch 32) embeds the same chunk texts: `ratio` is the build's time over
that, a figure that holds across machines. Then retrieval latency (no LLM) over 60 questions, and the time of
`rag index` after adding one article (the folder's median, 75th and 90th percentile size ones, one at a time),
from the command to the updated index.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEWS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "news"
QUESTIONS = Path(__file__).resolve().parent / "qa_news_dev.jsonl"
ADD_SIZES = (0.5, 0.75, 0.9)          # the articles added one at a time: median, 75th and 90th percentile of size


def articles(news: Path, n: int) -> list[Path]:
    """`n` articles, German and English interleaved in name order (every section of both)."""
    de, en = sorted((news / "de").glob("*.txt")), sorted((news / "en").glob("*.txt"))
    mixed, i = [], 0
    while len(mixed) < min(n, len(de) + len(en)):
        for side in (de, en):
            if i < len(side) and len(mixed) < n:
                mixed.append(side[i])
        i += 1
    return mixed


def build_one(folder: Path, index: Path) -> dict:
    """Index `folder` from nothing here (run in a child): stages, totals and this process's peak memory."""
    from core.settings import load_settings
    from index.build import build_index
    t0 = time.perf_counter()
    report = build_index(folder, index, settings=load_settings(), progress=True)
    return {"build_s": round(time.perf_counter() - t0, 1), "stages_s": {k: round(v, 1) for k, v in
                                                                       report.stages.items()},
            "documents": report.documents, "chunks": report.chunks, "embedded": report.embedded,
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def bare_encode(index: Path) -> dict:
    """The embedder alone on the index's chunk texts, fp32, batch 32: the yardstick."""
    from core.settings import load_settings
    from index.embed import load_embedder
    from index.plan import passage_text
    from index.snapshot import load
    settings = load_settings().replace(embed_bf16=False)         # the plain float32 path
    ix = load(index, settings.embedder)
    texts = [passage_text(c, ix.docs[c.doc_id]["title"]) for c in ix.chunks]
    emb = load_embedder(settings)
    emb.model.encode(texts[:32], prompt=emb.prompts["passage"], batch_size=32)       # warm
    t0 = time.perf_counter()
    emb.model.encode(texts, prompt=emb.prompts["passage"], batch_size=32, normalize_embeddings=True)
    return {"bare_encode_chunks_s": round(time.perf_counter() - t0, 1), "chunk_texts": len(texts)}


def latency(index: Path) -> dict:
    """Retrieval only: p50 and p95 over the news dev questions, after one warm-up query."""
    from core.settings import load_settings
    from rag.retriever import get_retriever
    settings = load_settings()
    retriever = get_retriever(index, settings)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    retriever.search(questions[0], 8)
    times = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q, 8)
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"query_p50_ms": round(1000 * statistics.median(times)),
            "query_p95_ms": round(1000 * times[int(0.95 * (len(times) - 1))])}


def add_one(folder: Path, index: Path, share: float = 0.5) -> dict:
    """Seconds of `rag index FOLDER --index INDEX` after one new article, from the command to the index.

    The article is the folder's one at `share` of the sizes (0.5: the median, a typical article at every size):
    it is taken out and the folder indexed without it first (untimed), then it comes back under a new name.
    """
    def index_folder() -> None:
        subprocess.run([sys.executable, "-m", "rag.cli", "index", str(folder), "--index", str(index)], check=True,
                       capture_output=True, text=True)
    files = sorted((p for p in folder.iterdir() if p.name != "added-article.txt"), key=lambda p: (p.stat().st_size,
                                                                                                  p.name))
    article = Path(shutil.move(files[int(len(files) * share)], folder.parent / "held-out-article.txt"))
    (folder / "added-article.txt").unlink(missing_ok=True)
    index_folder()
    shutil.copy(article, folder / "added-article.txt")
    t0 = time.perf_counter()
    index_folder()
    return {"seconds": round(time.perf_counter() - t0, 2), "bytes": article.stat().st_size}


def _child(what: str, *args) -> dict:
    done = subprocess.run([sys.executable, "-m", "eval.bench_archive", "--child", what, *map(str, args)],
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _size(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def main(argv=None) -> int:
    """Run every size and print one JSON line each; the figures also go to --out."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000, 3103])
    ap.add_argument("--news", type=Path, default=NEWS)
    ap.add_argument("--out", default="eval/reports/bench_archive.json")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--plot", metavar="JSON", help="only draw the figure of an earlier run's --out file")
    args = ap.parse_args(argv)
    if args.plot:
        rows = json.loads(Path(args.plot).read_text())["rows"]
        print(plot(rows, Path(args.plot).with_suffix(".png")))
        return 0
    if args.child:
        what, *rest = args.child
        result = {"build": lambda: build_one(Path(rest[0]), Path(rest[1])), "bare": lambda: bare_encode(Path(rest[0])),
                  "latency": lambda: latency(Path(rest[0]))}[what]()
        print(json.dumps(result))
        return 0
    if not args.news.is_dir():
        raise SystemExit(f"no articles at {args.news}; pass --news DIR (a folder with de/ and en/)")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-archive-") as tmp:
        for n in args.sizes:
            folder, index = Path(tmp) / f"news{n}", Path(tmp) / f"index{n}"
            folder.mkdir()
            for p in articles(args.news, n):
                shutil.copy(p, folder / f"{p.parent.name}_{p.name}")
            row = {"articles": n, **_child("build", folder, index), **_child("bare", index)}
            row["ratio_build_over_bare"] = round(row["build_s"] / row["bare_encode_chunks_s"], 2)
            row["index_mb"] = _size(index)
            row.update(_child("latency", index))
            added = {f"p{round(q * 100)}": add_one(folder, index, q) for q in ADD_SIZES}
            row["add_one_article_s"], row["add_article_by_size"] = added["p50"]["seconds"], added
            rows.append(row)
            print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(plot(rows, Path(args.out).with_suffix(".png")))
    return 0


def plot(rows: list[dict], out: Path) -> Path:
    """Build time against the bare encode, query latency and the time to add one article, per archive size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    n = [r["articles"] for r in rows]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8))
    a.plot(n, [r["build_s"] / 60 for r in rows], "o-", label="build (index from nothing)")
    a.plot(n, [r["bare_encode_chunks_s"] / 60 for r in rows], "s--", label="bare fp32 encode of the chunks")
    a.set(title="Indexing", xlabel="articles", ylabel="minutes")
    a.legend(fontsize=8)
    b.plot(n, [r["query_p50_ms"] for r in rows], "o-", label="p50")
    b.plot(n, [r["query_p95_ms"] for r in rows], "s--", label="p95")
    b.set(title="Search (retrieval only)", xlabel="articles", ylabel="ms", ylim=(0, None))
    b.legend(fontsize=8)
    for q, style in (("p50", "o-"), ("p90", "s--")):
        added = [(x, r["add_article_by_size"][q]["seconds"]) for x, r in zip(n, rows) if "add_article_by_size" in r]
        c.plot([x for x, _ in added], [y for _, y in added], style, label=f"{q} article size")
    c.legend(fontsize=8)
    c.set(title="`rag index` after adding one article", xlabel="articles", ylabel="seconds", ylim=(0, None))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
