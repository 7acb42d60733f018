"""The `rag` command: index, search, ask, serve, ui, eval, models.

    rag index [FOLDER] [--index DIR] [--rebuild]
    rag search "question" [-k 5] [--json] [--index DIR]
    rag ask "question" [--json] [--explain] [--index DIR] [--local]
    rag serve [--index DIR] [--port 7861]
    rag ui [--index DIR] [--host 127.0.0.1] [--port 7860]
    rag eval [QASET] [--index DIR] [--out DIR] [--limit N] [--compare OLD_REPORT] [--squad FILE ...]
    rag models list | rag models prepare [NAME ...]
    rag db start [--port 55432] | stop | status | migrate
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import re
import shutil
import sys

from core.errors import RagError
from core.settings import Settings, load_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Ask questions about your news articles, locally.")
    p.add_argument("--config", help="TOML settings file (default: $RAG_CONFIG or ./rag.toml)")
    p.add_argument("--offline", action="store_true", default=None, help="never try the Hugging Face hub")
    p.add_argument("--embedder", help="embedding model name (see `rag models list`)")
    p.add_argument("--home", help="folder for indexes and prepared models (default $RAG_HOME)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                   help="any setting (docs/configuration.md), e.g. --set top_k=8; repeatable")
    sub = p.add_subparsers(dest="command", required=True)
    after = argparse.ArgumentParser(add_help=False)        # `rag ask "..." --set k=v` works as well as before it
    after.add_argument("--set", dest="overrides_after", action="append", default=[], metavar="NAME=VALUE",
                       help="any setting, as above; repeatable")
    command = functools.partial(sub.add_parser, parents=[after])

    ix = command("index", help="create or update an index from a folder of articles")
    ix.add_argument("folder", nargs="?", help="articles folder (default: the bundled sample articles)")
    ix.add_argument("--index", dest="index_dir", help="index folder (default: <home>/indexes/default)")
    ix.add_argument("--rebuild", action="store_true", help="re-embed everything, e.g. after changing embedder")

    se = command("search", help="show the passages that best match a question")
    se.add_argument("question")
    se.add_argument("-k", type=int, default=None, help="number of passages (default 5)")
    se.add_argument("--json", action="store_true", help="print JSON")
    se.add_argument("--index", dest="index_dir", help="index folder (default: index of the bundled articles)")

    ak = command("ask", help="answer a question from the articles, with citations")
    ak.add_argument("question")
    ak.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ak.add_argument("--explain", action="store_true", help="also print each check's verdict and the sentences shown")
    ak.add_argument("--index", dest="index_dir", help="index folder (default: index of the bundled articles)")
    ak.add_argument("--llm", help="LLM name (see `rag models list`)")
    ak.add_argument("--local", action="store_true", help="load the models here even when `rag serve` is running")

    sv = command("serve", help="keep the models loaded so `rag ask` answers without reloading")
    sv.add_argument("--index", dest="index_dir", help="index folder (default: index of the bundled articles)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=None, help="port (default: the serve_port setting, 7861)")
    sv.add_argument("--llm", help="LLM name (see `rag models list`)")

    for plugin in plugins().values():          # `rag ui`, `rag eval` and any installed command
        plugin.add_arguments(command(plugin.NAME, help=plugin.HELP))

    mo = command("models", help="list or prepare models")
    msub = mo.add_subparsers(dest="models_command", required=True)
    msub.add_parser("list", help="the model catalogue and what is prepared")
    mp = msub.add_parser("prepare", help="prepare models now (default: the configured embedder and LLM)")
    mp.add_argument("names", nargs="*")

    db = command("db", help="the local PostgreSQL for backend = \"postgres\"; migrate any database's schema")
    dsub = db.add_subparsers(dest="db_command", required=True)
    ds = dsub.add_parser("start", help="start the local server (data under <home>/postgres); prints its URL")
    ds.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default 55432)")
    ds.add_argument("--shared-buffers", default="256MB", help="PostgreSQL's page cache; make it hold the vector "
                                                              "indexes (default 256MB)")
    dsub.add_parser("stop", help="stop the local server")
    dsub.add_parser("status", help="print the local server's URL, or say it is stopped")
    dsub.add_parser("migrate", help="bring the schema at postgres_url to this version (the index is kept)")
    return p


PLUGIN_GROUP = "rag_news.commands"


@functools.cache
def plugins() -> dict:
    """Commands registered by installed packages under the `rag_news.commands` entry point: modules with NAME, HELP,
    `add_arguments(parser)` and `run(args, settings)` (`eval/command.py` is one)."""
    from importlib.metadata import entry_points
    return {ep.name: ep.load() for ep in entry_points(group=PLUGIN_GROUP)}


def _overrides(pairs: list[str]) -> dict[str, str]:
    """`--set name=value` pairs as a dict (values are coerced like `RAG_*` variables)."""
    out = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise RagError(f"--set expects NAME=VALUE, got {pair!r} (e.g. --set top_k=8)")
        out[name.strip()] = value
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    args = _parser().parse_args(argv)
    try:
        flags = _overrides(args.overrides + getattr(args, "overrides_after", []))
        flags.update({k: v for k, v in dict(offline=args.offline, embedder=args.embedder, home=args.home,
                                            index_dir=getattr(args, "index_dir", None),
                                            llm=getattr(args, "llm", None)).items() if v is not None})
        settings = load_settings(args.config, **flags)
        run = {"index": _index, "search": _search, "ask": _ask, "serve": _serve, "models": _models,
               "db": _db}.get(args.command) or plugins()[args.command].run
        return run(args, settings)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        note = "; the last complete index is still in place" if args.command == "index" else ""
        print(f"interrupted{note}", file=sys.stderr)
        return 130


def _index(args, settings: Settings) -> int:
    from index import build_index
    report = build_index(args.folder or settings.corpus_path, settings.index_path, settings=settings,
                         rebuild=args.rebuild)
    for name, why in report.skipped:
        print(printable(f"skipped {name}: {why}"), file=sys.stderr)
    print(report.summary())
    return 0


def _search(args, settings: Settings) -> int:
    from rag.retriever import retrieve
    hits = retrieve(args.question, k=args.k or settings.top_k, index_dir=args.index_dir, settings=settings)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no matching passages")
    for n, h in enumerate(hits, 1):
        meta = ", ".join(x for x in (h.date, f"chars {h.start}-{h.end}") if x)
        print(printable(f"[{n}] {h.source} ({meta}) score {h.score:.4f}"))
        if h.heading:
            print(printable(f"    § {h.heading}"))
        if h.sentence_start is not None:
            best = " ".join(h.text[h.sentence_start - h.start:h.sentence_end - h.start].split())
            print(printable(f"    » {best}"))
        text = " ".join(h.text.split())
        print(printable("    " + (text[:300] + " …" if len(text) > 300 else text)))
    return 0


def _pieces(args, settings: Settings):
    """The streamed answer: from a running `rag serve` with the same index and models, else loaded here."""
    from rag.retriever import clean_question
    clean_question(args.question)               # a bad question fails here, before any server or model
    from rag.access import read_token
    from rag.client import ask_remote, find_server
    token = None if args.local else read_token(settings.home_path)
    url = find_server(settings, args.index_dir, token=token) if token else None
    if url:
        return ask_remote(url, args.question, token=token)
    from rag.assistant import ask_stream
    return ask_stream(args.question, index_dir=args.index_dir, settings=settings)


def _ask(args, settings: Settings) -> int:
    answer, draft = None, ""
    live = sys.stdout.isatty() and not args.json     # a pipe or file gets the checked answer only, once
    for piece in _pieces(args, settings):
        if isinstance(piece, str):
            piece = printable(piece)
            draft += piece
            if live:
                print(piece, end="", flush=True)
        else:
            answer = piece
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    text = printable(answer.text)
    print(redraw(draft, text, shutil.get_terminal_size().columns) if live else text)
    for c in answer.citations:
        print(printable(f"[{c.n}] {c.source}" + (f" ({c.date})" if c.date else "")
                        + f", chars {c.quote_start}-{c.quote_end}"))
        print(printable(f"    „{' '.join(c.quote.split())}“"))
    if args.explain:
        print(printable(explain(answer)))
    return 0


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    r"""Text for the terminal: control characters removed, so an article's escape sequences cannot reach it.

    >>> printable("Kurs \x1b[2J\x1b]0;owned\x07steigt\n")
    'Kurs [2J]0;ownedsteigt\n'
    """
    return _CONTROL.sub("", text)


def explain(answer) -> str:
    """The checks' verdicts, in the order they ran, and the model's raw reply: why the answer is what it is."""
    lines = ["", "checks:"]
    for v in answer.checks:
        lines.append(f"  {'pass' if v.passed else 'FAIL'}  {v.check:10} {v.reason}")
    lines.append(f"model reply: {' '.join(answer.draft.split()) or '(none: no LLM call)'}")
    return "\n".join(lines)


def redraw(draft: str, final: str, columns: int) -> str:
    """What to print after a streamed `draft` so the terminal shows `final` in its place, once.

    The citation check may rewrite the draft; it is erased over all the rows it wrapped to, not only the last.

    >>> redraw("Gut [1].", "Gut [1].", 80)
    ''
    >>> redraw("x" * 100, "Neu [1].", 40)     # 100 characters took 3 rows: up 2, clear, print
    '\\r\\x1b[2F\\x1b[JNeu [1].'
    """
    if " ".join(draft.split()) == " ".join(final.split()):
        return ""
    rows = sum(max(1, math.ceil(len(line) / max(columns, 1))) for line in draft.split("\n"))
    return "\r" + (f"\033[{rows - 1}F" if rows > 1 else "") + "\033[J" + final


def _serve(args, settings: Settings) -> int:
    from rag.access import token_path
    from rag.server import start
    port = args.port or settings.serve_port
    print(f"loading the models; then answering on http://{args.host}:{port} (Ctrl-C stops it)", flush=True)

    def ready(server):
        where = token_path(settings.home_path)
        print(f"ready; requests need the access token in {where}" + (" (made now)" if server.new_token else ""),
              flush=True)
    start(settings, args.index_dir, args.host, port, on_ready=ready)
    return 0


def _models(args, settings: Settings) -> int:
    from core.models.catalog import CATALOG
    from core.models.prepare import is_prepared, model_path
    if args.models_command == "list":
        for spec in CATALOG.values():
            mark = "prepared" if is_prepared(spec.name, settings) else ("pypi+hub" if spec.pypi else "hub only")
            default = " (default)" if spec.name in (settings.embedder, settings.llm) else ""
            print(f"{spec.kind:8} {spec.name:24} {mark:9} {spec.hub_repo}{default}  {spec.notes}")
        print(f"prepared models live in {settings.models_path}")
        return 0
    for name in args.names or [settings.embedder, settings.llm]:
        print(f"{name}: {model_path(name, settings)}")
    return 0


def _db(args, settings: Settings) -> int:
    from index.postgres import server
    home = settings.home_path
    if args.db_command == "start":
        url = server.start(home, args.port or server.DEFAULT_PORT, args.shared_buffers)
        print(url)
        print(f"use it with: export RAG_BACKEND=postgres RAG_POSTGRES_URL='{url}'", file=sys.stderr)
    elif args.db_command == "stop":
        print("stopped" if server.stop(home) else "not running")
    elif args.db_command == "status":
        url = server.status(home)
        print(url or f"not running (start it with `rag db start`; data in {server.folder(home)})")
        return 0 if url else 1
    else:
        from index.postgres import connect, migrate, redact
        with connect(settings.postgres_url) as conn:
            before, after = migrate(conn)
        print(f"{redact(settings.postgres_url)}: schema {before} -> {after}" if before != after
              else f"{redact(settings.postgres_url)}: schema {after}, up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
