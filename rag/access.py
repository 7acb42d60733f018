"""Who may use the app and the server: a secret token, the Host header, and the Origin header.

Other users of the machine can reach any port on 127.0.0.1, and a web page in the user's own browser can send
requests to it (through DNS rebinding even read the answers). So every request needs the token, kept in a file
only its owner can read (`<home>/access-token`, mode 600); its Host must name this machine (or the address
the user bound); a browser's Origin must be that same place.

    guard = Guard(read_or_create_token(home), bound="127.0.0.1")
    app.add_middleware(GuardMiddleware, guard=guard)

A client sends the token as `Authorization: Bearer <token>`; a browser opens `http://host:port/?token=<token>`
once, gets it as an HttpOnly cookie and is sent on without it in the address bar.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from core.errors import RagError

TOKEN_FILE = "access-token"
COOKIE = "rag_news_token"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})
OPEN_PATHS = frozenset({"/health"})          # answer without a token, and then tell nothing about the machine


def token_path(home: Path) -> Path:
    """Where the token of this home lives."""
    return Path(home).expanduser() / TOKEN_FILE


def read_or_create_token(home: Path) -> tuple[str, bool]:
    """The token of `home` and whether it was made just now (created mode 600 before a byte is written)."""
    path = token_path(home)
    try:
        return _read(path), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:                      # another process made it first: use theirs
        return _read(path), False
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def read_token(home: Path) -> str | None:
    """The token of `home`, or None when no app or server has made one yet."""
    try:
        return _read(token_path(home))
    except FileNotFoundError:
        return None


def _read(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise RagError(f"{path} can be read by other users (mode {mode:o}); fix it with: chmod 600 {path}")
    token = path.read_text().strip()
    if len(token) < 16:
        raise RagError(f"{path} holds no usable token; delete it and start the app or server again")
    return token


def host_of(value: str) -> str:
    """The host part of a Host header or URL netloc, without port or IPv6 brackets.

    >>> host_of("[::1]:7860"), host_of("LOCALHOST:80"), host_of("example.org")
    ('::1', 'localhost', 'example.org')
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Whether a request may pass; when not, the status and the reason told to the caller."""

    ok: bool
    status: int = 200
    reason: str = ""
    set_cookie: bool = False


@dataclass(frozen=True, kw_only=True)
class Guard:
    """The checks every request passes: Host, Origin, then the token (header, cookie or `?token=`)."""

    token: str
    bound: str = "127.0.0.1"
    open_paths: frozenset = field(default=OPEN_PATHS)

    def allowed_host(self, host: str) -> bool:
        """A Host naming this machine, or the address the server was bound to; any host behind a wildcard bind."""
        host = host_of(host)
        return host in LOOPBACK or host == host_of(self.bound) or self.bound in WILDCARD

    def check(self, *, path: str, headers: dict[str, str], query: str) -> Verdict:
        """The verdict on one request (headers with lower-case names)."""
        host = headers.get("host", "")
        if not host or not self.allowed_host(host):
            return Verdict(ok=False, status=421, reason="unknown Host: open the address `rag` printed")
        origin = headers.get("origin")
        if origin and urlsplit(origin).netloc.lower() != host.strip().lower():     # "null" too
            return Verdict(ok=False, status=403, reason="requests from other web pages are refused")
        if path in self.open_paths:
            return Verdict(ok=True)
        if self.authorized(headers):
            return Verdict(ok=True)
        if self._matches(dict(parse_qsl(query)).get("token")):
            return Verdict(ok=True, set_cookie=True)
        return Verdict(ok=False, status=401, reason="this needs the access token: open the link `rag ui` printed, "
                       "or send `Authorization: Bearer <token>` (the token is in <home>/access-token)")

    def authorized(self, headers: dict[str, str]) -> bool:
        """Whether the request carries the token (bearer header or cookie)."""
        return self._matches(_bearer(headers.get("authorization", ""))) or self._matches(_cookie(headers))

    def _matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())


def _bearer(value: str) -> str | None:
    kind, _, token = value.partition(" ")
    return token.strip() if kind.lower() == "bearer" else None


def _cookie(headers: dict[str, str]) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:                     # a malformed cookie header is no token
        return None
    return jar[COOKIE].value if COOKIE in jar else None


class GuardMiddleware:
    """ASGI middleware refusing what `Guard` refuses (HTTP and websockets); `?token=` becomes a cookie."""

    def __init__(self, app, guard: Guard):
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = scope.get("query_string", b"").decode("latin-1")
        verdict = self.guard.check(path=scope.get("path", "/"), headers=headers, query=query)
        if not verdict.ok:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _refuse(send, verdict)
        if verdict.set_cookie and scope["type"] == "http" and scope.get("method") == "GET":
            rest = urlencode([(k, v) for k, v in parse_qsl(query) if k != "token"])
            return await _redirect(send, scope.get("path", "/") + (f"?{rest}" if rest else ""), self.guard.token)
        return await self.app(scope, receive, send)


async def _refuse(send, verdict: Verdict) -> None:
    body = json.dumps({"error": verdict.reason}).encode()
    await send({"type": "http.response.start", "status": verdict.status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send, location: str, token: str) -> None:
    cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b""})
