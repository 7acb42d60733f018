"""`rag eval`: run a QA set (or SQuAD files) through retrieve and ask, and write a report with plots.

    rag eval                                   # the held-out QA set over the bundled articles
    rag eval xquad-heldout-en --reference      # a named set (eval/sets.py), beside the fair reference
    rag eval my_set.jsonl --index DIR --out eval/reports/mine --compare eval/reports/qa
    rag eval --squad xquad.de.json xquad.en.json --corpus-from-contexts --retrieval-only
    rag eval --squad xquad.de.json --corpus-from-contexts --limit 200
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from core.errors import InputError
from core.settings import Settings
from eval.command import DEFAULT_SET
from eval.qaset import load_qaset, load_squad
from eval.report import compute_metrics, flat, write_report
from eval.runner import run, settings_key
from eval.sets import get_set


def main(args, settings: Settings) -> int:
    """Run the evaluation described by parsed `args` and print the headline figures."""
    t0 = time.perf_counter()
    rows, index_dir, name = _rows_and_index(args, settings)
    rows = rows[:args.limit] if args.limit else rows
    out = Path(args.out or f"eval/reports/{name}")
    from rag.assistant import get_assistant
    from rag.retriever import get_retriever
    if args.retrieval_only:
        assistant = _RetrievalOnly(get_retriever(index_dir, settings))
    elif args.evidence_only:
        from rag.assistant import Assistant
        assistant = Assistant(get_retriever(index_dir, settings), None, settings)
    else:
        assistant = get_assistant(index_dir, settings)
    speed = bare_speed(getattr(assistant, "generator", None))
    answers = not (args.retrieval_only or args.evidence_only)
    if answers:
        assistant.ask(rows[0]["question"])                  # warm-up: load, cache
    index = assistant.retriever.index
    reference = None
    if args.reference and answers:
        from eval.reference import Reference
        from rag.generate import load_generator
        reference = Reference(assistant.retriever, load_generator(settings), settings.max_answer_tokens)
        reference.answer(rows[0]["question"])                                          # warm-up
    mode = "evidence" if args.evidence_only else answers
    key = settings_key(settings, f"{index.manifest.get('snapshot', '')}:{mode}:"
                                 f"{f'reference/{args.reference_every}' if reference else ''}")
    results = run(rows, assistant, out, key, answers=answers, progress=not args.quiet,
                  reference=reference, reference_every=args.reference_every, evidence_only=args.evidence_only)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    metrics = compute_metrics(results, peak)
    metrics["seconds"] = round(time.perf_counter() - t0, 1)
    if speed:
        metrics["machine"] = speed
    metrics["run"] = _run_info(settings)
    write_report(results, out, metrics, Path(args.compare) if args.compare else None)
    for k, v in flat(metrics).items():
        print(f"{k:24} {v}")
    for group in ("machine", "headline", "evidence", "reference", "versus_reference", "ablation"):
        if group in metrics:
            print(f"{group:24} " + "  ".join(f"{k} {_short(v)}" for k, v in metrics[group].items()))
    for g, m in metrics.get("retrieval_by_group", {}).items():
        print(f"{g:24} " + "  ".join(f"{k} {v}" for k, v in m.items()))
    if "cost" in metrics:
        c = metrics["cost"]
        print(f"{'first token p50/p95 s':24} {c['first_token_s']['p50']:.2f} / {c['first_token_s']['p95']:.2f}")
        print(f"{'total p50/p95 s':24} {c['total_s']['p50']:.2f} / {c['total_s']['p95']:.2f}")
        print(f"{'peak RSS MB':24} {c['peak_rss_mb']}")
    print(f"report: {out}/summary.md ({metrics['seconds']} s)")
    return 0


def _run_info(settings: Settings) -> dict:
    """What produced a report: the command line, the date, the models and the code's commit."""
    import datetime
    import subprocess
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"command": " ".join(["rag", *sys.argv[1:]]), "date": datetime.date.today().isoformat(),
            "commit": commit, "llm": settings.llm, "embedder": settings.embedder}


def bare_speed(generator) -> dict:
    """llama.cpp's own prompt-reading and generation speed on this machine now (timings only compare within one run).

    A fixed 400-token text is read from an empty cache, then 32 tokens are generated.
    """
    llm = getattr(generator, "llm", None)
    if llm is None:
        return {}
    text = " ".join(f"Satz {i}: Die Zahl {i} steht hier." for i in range(60))
    tokens = llm.tokenize(text.encode(), add_bos=True)[:400]
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = llm.create_completion(tokens, max_tokens=32, temperature=0.0)
    gen = time.perf_counter() - t0
    llm.reset()
    return {"prompt_tokens_per_s": round(len(tokens) / read, 1),
            "generated_tokens_per_s": round(out["usage"]["completion_tokens"] / gen, 1)}


def _short(v) -> str:
    """A metric on one line: 0.93, or p50/p95 and other small dicts as a/b."""
    if isinstance(v, dict):
        return "/".join(_short(x) for x in v.values())
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


class _RetrievalOnly:
    """Stands in for the assistant when only retrieval is measured (no LLM is loaded)."""

    def __init__(self, retriever):
        self.retriever = retriever


def _rows_and_index(args, settings: Settings) -> tuple[list[dict], Path | None, str]:
    if not args.squad:
        name = args.qaset or DEFAULT_SET
        if name.endswith(".jsonl") or Path(name).is_file():
            return load_qaset(name), Path(args.index_dir) if args.index_dir else None, Path(name).stem
        qaset = get_set(name)
        if qaset.folder is not None:
            return qaset.rows, _folder_index(qaset, args, settings), qaset.name
        if qaset.documents is None:
            return qaset.rows, Path(args.index_dir) if args.index_dir else None, qaset.name
        return qaset.rows, index_documents(qaset.documents, settings, args.index_dir, args.quiet), qaset.name
    if args.qaset:
        raise InputError("give either a QA set or --squad files, not both")
    contexts, rows = load_squad(args.squad, args.contexts)
    name = "+".join(Path(f).stem for f in args.squad)
    if not args.corpus_from_contexts:
        if not args.index_dir:
            raise InputError("--squad needs --corpus-from-contexts (index the paragraphs) or --index DIR "
                             "(an index whose document ids are the paragraph ids)")
        return rows, Path(args.index_dir), name
    return rows, index_documents(contexts, settings, args.index_dir, args.quiet), name


def _folder_index(qaset, args, settings: Settings) -> Path:
    """An index over the set's folder of article files, or the chosen `files` of it (incremental: fast once built).

    Chosen files are copied byte for byte into `<index>-documents` (same relative paths, so document ids are the
    same as when the whole folder is indexed); sets that share a collection share its index.
    """
    from index.build import build_index
    name = qaset.name if not qaset.files else f"{qaset.name.split('-')[0]}-{len(qaset.files)}"
    index_dir = Path(args.index_dir) if args.index_dir else settings.home_path / "indexes" / f"eval-{name}"
    folder = qaset.folder
    if qaset.files:
        folder = index_dir.parent / f"{index_dir.name}-documents"
        _mirror(qaset.folder, qaset.files, folder)
    build_index(folder, index_dir, settings=settings, progress=not args.quiet)
    return index_dir


def _mirror(root: Path, files: tuple[str, ...], target: Path) -> None:
    """Make `target` hold exactly `files` of `root`, byte for byte (only what differs is written)."""
    wanted = set(files)
    for old in [p for p in target.rglob("*") if p.is_file()] if target.is_dir() else []:
        if old.relative_to(target).as_posix() not in wanted:
            old.unlink()
    for rel in files:
        src, dst = root / rel, target / rel
        data = src.read_bytes()
        if not dst.is_file() or dst.read_bytes() != data:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)


def index_documents(documents: dict[str, str], settings: Settings, index_dir: str | Path | None = None,
                    quiet: bool = True) -> Path:
    """An index over `documents` (id -> text), one per distinct document set; incremental, so fast when built."""
    import hashlib

    from index import build_index
    digest = hashlib.sha256("\0".join(f"{k}\0{v}" for k, v in sorted(documents.items())).encode()).hexdigest()[:10]
    index_dir = Path(index_dir) if index_dir else settings.home_path / "indexes" / f"eval-{digest}"
    corpus = index_dir.parent / f"{index_dir.name}-documents"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.iterdir():
        if old.name not in documents:
            old.unlink()
    for pid, text in documents.items():
        f = corpus / pid
        if not f.is_file() or f.read_text(encoding="utf-8") != text:
            f.write_text(text, encoding="utf-8")
    build_index(corpus, index_dir, settings=settings, progress=not quiet)
    return index_dir
