"""Indexing throughput: the full `build_index` path against bare `SentenceTransformer.encode`.

Both embed exactly the same texts (every chunk and every sentence vector the index stores)
with the same model and batch size, in one run, alternating, best of N. Also prints the
bare cost of the chunks alone, so the price of sentence vectors is visible.

    python -m eval.bench_index [--corpus DIR] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from core.settings import load_settings
from eval.report import save_json
from index.build import build_index
from index.plan import passage_text
from index.snapshot import load
from rag.retriever import embedder_for


def main(argv=None) -> int:
    """Time both paths and print passages per second and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", help="folder of articles (default: XQuAD German paragraphs if found, else samples)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default="eval/reports/bench_index.json")
    args = ap.parse_args(argv)
    settings = load_settings()
    emb = embedder_for(settings)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(args.corpus) if args.corpus else _default_corpus(Path(tmp) / "corpus", settings)
        build_times, texts, n_chunks = [], None, 0
        bare_all, bare_chunks = [], []
        for r in range(args.repeat):
            out = Path(tmp) / f"index{r}"
            t0 = time.perf_counter()
            build_index(corpus, out, settings=settings, embedder=emb, progress=False)
            build_times.append(time.perf_counter() - t0)
            if texts is None:
                ix = load(out, settings.embedder)
                chunk_texts = [passage_text(c, ix.docs[c.doc_id]["title"]) for c in ix.chunks]
                sent_texts = [ix.docs[ix.chunks[row["chunk"]].doc_id]["text"][row["start"]:row["end"]]
                              for row in ix.sentences]
                texts, n_chunks = chunk_texts + sent_texts, len(chunk_texts)
            bare_all.append(_encode(emb, texts))
            bare_chunks.append(_encode(emb, texts[:n_chunks]))
    res = {"texts": len(texts), "chunks": n_chunks, "build_s": round(min(build_times), 2),
           "bare_encode_same_texts_s": round(min(bare_all), 2), "bare_encode_chunks_only_s": round(min(bare_chunks), 2)}
    res["ratio_build_vs_bare_same_texts"] = round(res["build_s"] / res["bare_encode_same_texts_s"], 3)
    res["ratio_build_vs_bare_chunks_only"] = round(res["build_s"] / res["bare_encode_chunks_only_s"], 3)
    res["build_texts_per_s"] = round(len(texts) / res["build_s"], 2)
    res["bare_texts_per_s"] = round(len(texts) / res["bare_encode_same_texts_s"], 2)
    print(json.dumps(res, indent=2))
    save_json(args.out, res)
    return 0


def _encode(emb, texts) -> float:
    t0 = time.perf_counter()
    emb.model.encode(texts, prompt=emb.prompts["passage"], batch_size=emb.batch_size, normalize_embeddings=True)
    return time.perf_counter() - t0


def _default_corpus(folder: Path, settings) -> Path:
    xquad = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "xquad"
    if not xquad.is_dir():
        return settings.corpus_path
    from eval.xquad_retrieval import load_xquad
    folder.mkdir(parents=True)
    for pid, text in list(load_xquad(xquad)[0].items())[:120]:
        (folder / pid).write_text(text, encoding="utf-8")
    return folder


if __name__ == "__main__":
    raise SystemExit(main())
