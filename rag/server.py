"""`rag serve`: keep the models and the index loaded, and answer `rag ask` from the shell without reloading.

    rag serve                      # 127.0.0.1:7861 (`serve_port`), the default index
    rag ask "Wer leitet das Unternehmen?"     # uses the running server when it serves the same index and models

A FastAPI app on uvicorn. Every request needs the access token of `<home>/access-token` (`rag.access`); `rag ask`
reads it from there. Endpoints (JSON):
    GET  /health  -> {"ok": true}; with the token also what it answers from: {"index": ..., "llm": ..., ...}
    POST /ask     {"question": "...", "history": [["q", "a"], ...]}
                  -> NDJSON lines: {"text": "..."} as the answer streams, then {"answer": <Answer.to_dict()>}
One question is answered at a time (one LLM, one embedder); up to `MAX_WAITING` wait, more get 503. A client that
goes away stops its answer at the next streamed piece.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import threading
import time
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from core.errors import RagError
from core.settings import Settings
from index import get_backend
from rag.access import Guard, GuardMiddleware, read_or_create_token

MAX_BODY = 1 << 20             # bytes of one request
BODY_TIMEOUT_S = 10            # to send that body: a client trickling bytes holds nothing for long
MAX_WAITING = 8                # questions queued behind the one being answered
MAX_CONNECTIONS = 32           # open connections; uvicorn answers 503 beyond
RETRY_AFTER_S = 2              # what a busy server tells a client to wait; `rag ask` then asks again
KEEP_ALIVE_S = 5
_END = object()


def identity(settings: Settings, index_dir: str | Path | None) -> dict:
    """What a server answers from: a client uses it only when this matches its own settings."""
    backend = get_backend(settings.backend)
    out = settings.index_at(index_dir)
    return {"index": f"{backend.name}:{backend.shown(out, settings)}", "llm": settings.llm,
            "llm_path": settings.llm_path, "embedder": settings.embedder, "generator": settings.generator,
            "checks": settings.checks}


class Listener:
    """An ASGI app on uvicorn, bound at once (a taken port fails here, with what to do), run here or in a thread."""

    def __init__(self, app, host: str, port: int, *, verbose: bool = False, lifespan: str = "off",
                 max_connections: int = MAX_CONNECTIONS):
        import uvicorn
        self.host, self.port = host, port
        self._socket = _bind(host, port)
        self._uvicorn = uvicorn.Server(uvicorn.Config(
            app, log_level="info" if verbose else "warning", access_log=verbose, timeout_keep_alive=KEEP_ALIVE_S,
            limit_concurrency=max_connections, lifespan=lifespan))
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until stopped (Ctrl-C, or `close()` from another thread)."""
        try:
            self._uvicorn.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start_background(self) -> None:
        """Serve from a daemon thread; return once it accepts connections."""
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._uvicorn.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._uvicorn.started:
            raise RagError(f"the server on {self.host}:{self.port} did not start; run it in the foreground to see why")

    def close(self, timeout: float = 10) -> None:
        """Stop serving and release the port."""
        self._uvicorn.should_exit = True
        if self._thread:
            self._thread.join(timeout)
        self._socket.close()


class AnswerServer:
    """`ask_stream` over HTTP with the models loaded once; `answered` and `dropped` count finished and left answers."""

    def __init__(self, settings: Settings, index_dir: str | Path | None, host: str, port: int, verbose=False):
        self.settings, self.index_dir = settings, index_dir
        self.identity, self.answered, self.dropped, self.waiting = identity(settings, index_dir), 0, 0, 0
        token, self.new_token = read_or_create_token(settings.home_path)
        self.guard = Guard(token=token, bound=host)
        self._turn = asyncio.Lock()                       # binds to the server's event loop on first use
        self.listener = Listener(self._app(), host, port, verbose=verbose)

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, max_body_size=MAX_BODY)
        app.add_middleware(GuardMiddleware, guard=self.guard)

        @app.get("/health")
        def health(request: Request):
            told = self.identity if self.guard.authorized(dict(request.headers)) else {}
            return {"ok": True, **told}

        @app.post("/ask")
        async def ask(request: Request):
            try:
                question, history = _parse(await _body(request))
            except _Refused as e:
                return JSONResponse({"error": e.message}, status_code=e.status)
            if self.waiting >= MAX_WAITING:
                return JSONResponse({"error": f"busy: {self.waiting} questions are waiting; ask again shortly"},
                                    status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
            return StreamingResponse(self._stream(question, history), media_type="application/x-ndjson")

        @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
        def unknown(rest: str):
            return JSONResponse({"error": "unknown path; use GET /health or POST /ask"}, status_code=404)

        return app

    async def _stream(self, question: str, history):
        self.waiting += 1
        done = False
        try:
            async with self._turn:
                self.waiting -= 1
                gen = await anyio.to_thread.run_sync(self.answer, question, history)
                try:
                    while (piece := await anyio.to_thread.run_sync(next, gen, _END)) is not _END:
                        line = {"text": piece} if isinstance(piece, str) else {"answer": piece.to_dict()}
                        yield json.dumps(line, ensure_ascii=False) + "\n"
                    done = True
                    self.answered += 1
                except Exception as e:              # a RagError says what to do; anything else at least its kind
                    done = True
                    yield json.dumps({"error": str(e), "kind": type(e).__name__}, ensure_ascii=False) + "\n"
                finally:
                    with anyio.CancelScope(shield=True):        # stops the LLM when the client has left
                        await anyio.to_thread.run_sync(gen.close)
        finally:
            if not done:
                self.dropped += 1

    def answer(self, question: str, history):
        """The streamed answer, from the cached assistant (a rebuilt index is picked up)."""
        from rag.assistant import ask_stream
        return ask_stream(question, self.index_dir, history, self.settings)

    def close(self) -> None:
        """Stop serving and release the port."""
        self.listener.close()

    def warm(self) -> None:
        """Load the embedder, the index and the LLM now, not on the first question."""
        from rag.assistant import get_assistant
        get_assistant(self.index_dir, self.settings)



class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


async def _body(request: Request) -> bytes:
    try:        # the size limit is FastAPI's own (`max_body_size`, a 413); the time limit is this
        return await asyncio.wait_for(request.body(), BODY_TIMEOUT_S)
    except TimeoutError:
        raise _Refused(408, f"the request body did not arrive within {BODY_TIMEOUT_S} s") from None


def _parse(body: bytes) -> tuple[str, list]:
    try:
        req = json.loads(body or b"{}")
        question = req.get("question", "")
        history = [tuple(str(x) for x in t) for t in req.get("history") or []]
        if not isinstance(question, str) or any(len(t) != 2 for t in history):
            raise TypeError
    except (ValueError, TypeError, AttributeError):
        raise _Refused(400, 'send JSON: {"question": "...", "history": [["q", "a"]]}') from None
    return question, history


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise RagError(f"port {port} on {host} is taken (a `rag serve` already running? `rag ask` uses "
                           "it as it is); stop it, or pick another with --port / serve_port") from None
        raise RagError(f"cannot listen on {host}:{port} ({e.strerror}); pick another --host or --port") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def start(settings: Settings, index_dir=None, host: str = "127.0.0.1", port: int | None = None,
          block: bool = True, verbose: bool = False, on_ready=None) -> AnswerServer:
    """Load the models and serve; with `block=False` serve from a background thread and return the server."""
    server = AnswerServer(settings, index_dir, host, port or settings.serve_port, verbose)
    server.warm()
    if on_ready:
        on_ready(server)
    if block:
        server.listener.run()
    else:
        server.listener.start_background()
    return server
