"""`rag ui` as a command of the `rag` CLI, registered through the `rag_news.commands` entry point."""

from __future__ import annotations

from pathlib import Path

NAME = "ui"
HELP = "start the chat app in the browser (Gradio)"


def add_arguments(p) -> None:
    """The `rag ui` options."""
    p.add_argument("--index", dest="index_dir", help="index folder (default: <home>/ui/index)")
    p.add_argument("--corpus", help="articles folder uploads go to (default: the one the index was built from)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860)


def run(args, settings) -> int:
    """Start the app and print its link, which carries the access token."""
    from rag.access import read_or_create_token, token_path
    from ui.app import app_url, serve
    token, new = read_or_create_token(settings.home_path)
    print(f"rag-news UI: open {app_url(args.host, args.port)}/?token={token} (Ctrl-C stops it)\n"
          f"  the link carries the access token{' made now' if new else ''}; it is kept in "
          f"{token_path(settings.home_path)}: share it with no one you would not give your articles to")
    serve(settings, Path(args.index_dir) if args.index_dir else None, Path(args.corpus) if args.corpus else None,
          args.host, args.port)
    return 0
