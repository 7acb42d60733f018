"""`rag serve`: keep the models and the index loaded, and answer `rag ask` from the shell without reloading.

    rag serve                      # 127.0.0.1:7861 (`serve_port`), the default index
    rag ask "Wer leitet das Unternehmen?"     # uses the running server when it serves the same index and models

Endpoints (JSON, this machine only unless `--host` says otherwise):
    GET  /health  -> {"ok": true, "index": ..., "llm": ..., "embedder": ..., "pid": ...}
    POST /ask     {"question": "...", "history": [["q", "a"], ...]}
                  -> NDJSON lines: {"text": "..."} as the answer streams, then {"answer": <Answer.to_dict()>}
"""

from __future__ import annotations

import errno
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings

MAX_BODY = 1 << 20


def identity(settings: Settings, index_dir: str | Path | None) -> dict:
    """What a server answers from: a client uses it only when this matches its own settings."""
    if settings.store == "postgres":
        from index.postgres import redact
        where = "postgres:" + redact(settings.postgres_url)
    else:
        where = str((Path(index_dir).expanduser() if index_dir else settings.index_path).resolve())
    return {"index": where, "llm": settings.llm, "llm_path": settings.llm_path,
            "embedder": settings.embedder, "generator": settings.generator, "checks": settings.checks}


class _Handler(BaseHTTPRequestHandler):
    server: "AnswerServer"
    protocol_version = "HTTP/1.0"          # the body ends when the connection closes: simple streaming

    def log_message(self, fmt, *args):     # one quiet line per request, on stderr
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _json(self, status: int, data: dict) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/health":
            return self._json(404, {"error": "unknown path; use GET /health or POST /ask"})
        self._json(200, {"ok": True, "pid": os.getpid(), **self.server.identity})

    def do_POST(self):
        if self.path != "/ask":
            return self._json(404, {"error": "unknown path; use GET /health or POST /ask"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._json(413, {"error": f"request over {MAX_BODY} bytes"})
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
            question, history = req.get("question", ""), [tuple(t) for t in req.get("history") or []]
        except (ValueError, TypeError):
            return self._json(400, {"error": 'send JSON: {"question": "...", "history": [["q", "a"]]}'})
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        try:
            for piece in self.server.answer(question, history):
                line = {"text": piece} if isinstance(piece, str) else {"answer": piece.to_dict()}
                self.wfile.write((json.dumps(line, ensure_ascii=False) + "\n").encode())
                self.wfile.flush()
        except RagError as e:
            self.wfile.write((json.dumps({"error": str(e), "kind": type(e).__name__}) + "\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            pass                            # the client went away; the answer is dropped


class AnswerServer(ThreadingHTTPServer):
    """An HTTP server around `ask_stream` with the models loaded once (requests queue for the one LLM)."""

    daemon_threads = True

    def __init__(self, settings: Settings, index_dir: str | Path | None, host: str, port: int, verbose=False):
        self.settings, self.index_dir, self.verbose = settings, index_dir, verbose
        self.identity, self.answered = identity(settings, index_dir), 0
        try:
            super().__init__((host, port), _Handler)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise RagError(f"port {port} on {host} is taken (a `rag serve` already running? `rag ask` uses "
                               "it as it is); stop it, or pick another with --port / serve_port") from None
            raise

    def answer(self, question: str, history):
        """The streamed answer, from the cached assistant (a rebuilt index is picked up)."""
        from rag.assistant import ask_stream
        self.answered += 1
        return ask_stream(question, self.index_dir, history, self.settings)

    def warm(self) -> None:
        """Load the embedder, the index and the LLM now, not on the first question."""
        from rag.assistant import get_assistant
        get_assistant(self.index_dir, self.settings)


def start(settings: Settings, index_dir=None, host: str = "127.0.0.1", port: int | None = None,
          block: bool = True, verbose: bool = False, on_ready=None) -> AnswerServer:
    """Load the models and serve; with `block=False` serve from a background thread and return the server."""
    server = AnswerServer(settings, index_dir, host, port or settings.serve_port, verbose)
    server.warm()
    if on_ready:
        on_ready()
    if block:
        try:
            server.serve_forever()
        finally:
            server.server_close()
    else:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return server

