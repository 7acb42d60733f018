"""This assistant side by side with a reference RAG pipeline built the usual LangChain way.

The reference: `DirectoryLoader` + `RecursiveCharacterTextSplitter(1000, 200)` over the same articles,
`langchain_community` FAISS with the same embedder (multilingual-e5-small with its `query: `/`passage: `
prefixes), the top-4 whole chunks stuffed into the standard RAG prompt, and the same GGUF model through
llama-cpp-python (`ChatLlamaCpp`, greedy, same threads, batch and answer-length cap). Each pipeline runs in
its own worker process (so each has its own peak RSS); the driver asks every question of the QA set to
both, alternating which goes first, so the ratios come from one run on the same machine state.

    python -m eval.bench_reference [--qaset eval/qa_sample.jsonl] [--limit N] [--out eval/reports/bench_reference.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

from eval.harness import DEFAULT_SET
from eval.metrics import keywords_correct, percentiles
from eval.qaset import load_qaset
from eval.report import save_json

REFERENCE_PROMPT = (  # LangChain hub "rlm/rag-prompt", the usual stuffing prompt
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context to "
    "answer the question. If you don't know the answer, just say that you don't know. Use three sentences "
    "maximum and keep the answer concise.\nQuestion: {question} \nContext: {context} \nAnswer:")
DONT_KNOW = re.compile(r"don'?t know|do not know|weiß (ich )?nicht|nicht bekannt|keine (angaben|informationen?)|"
                       r"not (mentioned|provided|specified)|no information|nicht (erwähnt|angegeben)", re.I)


def _rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Ours:
    """The assistant as shipped (`ask()` with the default settings and index)."""

    def __init__(self):
        from rag.assistant import get_assistant
        from rag.settings import load_settings
        self.assistant = get_assistant(None, load_settings())

    def answer(self, question: str) -> dict:
        """Answer one question; first-token and total seconds."""
        t0, first = time.perf_counter(), None
        for piece in self.assistant.ask_stream(question):
            if isinstance(piece, str):
                first = first or time.perf_counter()
            else:
                answer = piece
        return {"text": answer.text, "abstained": answer.abstained, "first_token_s": (first or time.perf_counter()) - t0,
                "total_s": time.perf_counter() - t0, "citations": len(answer.citations)}


class Reference:
    """LangChain: community FAISS + same embedder, top-4 whole chunks, same GGUF via ChatLlamaCpp."""

    def __init__(self):
        from langchain_community.chat_models import ChatLlamaCpp
        from langchain_community.document_loaders import DirectoryLoader, TextLoader
        from langchain_community.embeddings import HuggingFaceBgeEmbeddings
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from rag.models.prepare import model_path
        from rag.settings import load_settings
        s = load_settings()
        docs = DirectoryLoader(str(s.corpus_path), glob="*.txt", loader_cls=TextLoader,
                               loader_kwargs={"encoding": "utf-8"}).load()
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        emb = HuggingFaceBgeEmbeddings(model_name=str(model_path(s.embedder, s)), query_instruction="query: ",
                                       embed_instruction="passage: ", encode_kwargs={"normalize_embeddings": True})
        self.retriever = FAISS.from_documents(chunks, emb).as_retriever(search_kwargs={"k": 4})
        threads = os.cpu_count() or 1
        self.llm = ChatLlamaCpp(model_path=str(model_path(s.llm, s)), n_ctx=s.llm_context, n_threads=threads,
                                n_batch=512, temperature=0.0, max_tokens=s.max_answer_tokens, verbose=False)

    def answer(self, question: str) -> dict:
        """Answer one question; first-token and total seconds."""
        t0, first, text = time.perf_counter(), None, ""
        context = "\n\n".join(d.page_content for d in self.retriever.invoke(question))
        for chunk in self.llm.stream([("human", REFERENCE_PROMPT.format(question=question, context=context))]):
            if chunk.content:
                first = first or time.perf_counter()
                text += chunk.content
        return {"text": text, "abstained": bool(DONT_KNOW.search(text)), "first_token_s": (first or time.perf_counter()) - t0,
                "total_s": time.perf_counter() - t0, "citations": 0}


def worker(kind: str) -> None:
    """Serve questions from stdin, one JSON line each, answering with one pipeline."""
    pipeline = {"ours": Ours, "reference": Reference}[kind]()
    pipeline.answer("Wer ist Alibaba?")                       # warm-up: both pipelines start with a warm cache
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        result = pipeline.answer(json.loads(line)["question"])
        print(json.dumps({**result, "rss_mb": _rss_mb()}), flush=True)


def _start(kind: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "eval.bench_reference", "--worker", kind], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline())["ready"], f"{kind} worker did not start"
    return proc


def _ask(proc: subprocess.Popen, question: str) -> dict:
    proc.stdin.write(json.dumps({"question": question}) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def summarize(rows: list[dict], results: list[dict]) -> dict:
    """Correctness, abstention and latency figures for one pipeline's results."""
    answerable = [(r, x) for r, x in zip(rows, results) if r["answerable"]]
    unanswerable = [x for r, x in zip(rows, results) if not r["answerable"]]
    return {"correct": sum(not x["abstained"] and keywords_correct(x["text"], r["answers"]) for r, x in answerable)
            / max(1, len(answerable)),
            "abstain_unanswerable": sum(x["abstained"] for x in unanswerable) / max(1, len(unanswerable)),
            "abstain_answerable": sum(x["abstained"] for _, x in answerable) / max(1, len(answerable)),
            "first_token_s": percentiles([x["first_token_s"] for x in results]),
            "total_s": percentiles([x["total_s"] for x in results]),
            "peak_rss_mb": max(x["rss_mb"] for x in results)}


def main(argv=None) -> int:
    """Run both pipelines over the QA set and print the side-by-side table with ratios."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--qaset", default=str(DEFAULT_SET))
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", default="eval/reports/bench_reference.json")
    ap.add_argument("--worker", choices=["ours", "reference"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    from tqdm import tqdm
    rows = load_qaset(args.qaset)[:args.limit]
    procs = {k: _start(k) for k in ("ours", "reference")}
    results = {k: [] for k in procs}
    for i, row in enumerate(tqdm(rows, desc="questions", unit="q")):
        for kind in (("ours", "reference") if i % 2 == 0 else ("reference", "ours")):
            results[kind].append({"id": row["id"], **_ask(procs[kind], row["question"])})
    for p in procs.values():
        p.stdin.close()
        p.wait()
    summary = {k: summarize(rows, v) for k, v in results.items()}
    o, r = summary["ours"], summary["reference"]
    summary["ratios_reference_over_ours"] = {
        "first_token_p50": r["first_token_s"]["p50"] / o["first_token_s"]["p50"],
        "total_p50": r["total_s"]["p50"] / o["total_s"]["p50"], "peak_rss": r["peak_rss_mb"] / o["peak_rss_mb"]}
    print(_table(summary))
    save_json(args.out, {"summary": summary, "results": results})
    return 0


def _table(s: dict) -> str:
    lines = ["| pipeline | correct | abstains unanswerable | abstains answerable | first token p50 / p95 | "
             "total p50 / p95 | peak RSS |", "|---|---|---|---|---|---|---|"]
    for k in ("ours", "reference"):
        x = s[k]
        lines.append(f"| {k} | {x['correct']:.1%} | {x['abstain_unanswerable']:.1%} | {x['abstain_answerable']:.1%} | "
                     f"{x['first_token_s']['p50']:.2f} / {x['first_token_s']['p95']:.2f} s | "
                     f"{x['total_s']['p50']:.2f} / {x['total_s']['p95']:.2f} s | {x['peak_rss_mb'] / 1024:.2f} GB |")
    q = s["ratios_reference_over_ours"]
    lines.append(f"\nreference / ours: first token p50 {q['first_token_p50']:.2f}x, total p50 {q['total_p50']:.2f}x, "
                 f"peak RSS {q['peak_rss']:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
