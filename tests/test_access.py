"""`rag serve` on a shared machine: nobody without the token gets in, no request can stall or flood it.

The server here is the real one (FastAPI on uvicorn, the real guard); only its answers come from a small
generator, so what is tested is the door, not the model (`test_serve.py` asks the real assistant through it).
"""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
import urllib.error
import urllib.request

import pytest

from core.settings import Settings
from eval.browser import free_port


class Paced:
    """Answers with `n` pieces, `pause` seconds apart; counts how many ran at once and how many were stopped."""

    def __init__(self, n=3, pause=0.0, gate: threading.Event | None = None):
        self.n, self.pause, self.gate = n, pause, gate
        self.running = self.most = self.closed = self.pieces = 0
        self.lock = threading.Lock()

    def __call__(self, question, history):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.gate:
                self.gate.wait(30)
            for i in range(self.n):
                time.sleep(self.pause)
                self.pieces += 1
                yield f"{question}-{i} "
        finally:
            with self.lock:
                self.running -= 1
                self.closed += 1


@pytest.fixture
def server(tmp_path):
    from rag.server import AnswerServer
    srv = AnswerServer(Settings(home=str(tmp_path / "home")), None, "127.0.0.1", free_port())
    srv.paced = Paced()
    srv.answer = lambda q, h: srv.paced(q, h)
    srv.listener.start_background()
    yield srv
    srv.close()


def _call(srv, path, body=None, headers=None, timeout=30):
    req = urllib.request.Request(f"http://127.0.0.1:{srv.listener.port}{path}", body, headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _token(srv) -> dict:
    return {"Authorization": f"Bearer {srv.guard.token}"}


def _raw(srv, head: bytes, body: bytes = b"", timeout=20) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.listener.port), timeout=timeout) as s:
        s.sendall(head + b"\r\n\r\n" + body)
        return s.recv(400)


def test_without_the_token_nothing_is_answered_and_health_tells_nothing(server, tmp_path):
    ask = json.dumps({"question": "q"}).encode()
    assert _call(server, "/ask", ask) [0] == 401
    assert _call(server, "/ask", ask, {"Authorization": "Bearer " + "x" * 43})[0] == 401
    assert json.loads(_call(server, "/health")[1]) == {"ok": True}           # no index path, no process id
    status, told = _call(server, "/health", headers=_token(server))
    assert status == 200 and json.loads(told)["index"].endswith("indexes/default")
    assert _call(server, "/ask", ask, _token(server)) == (200, '{"text": "q-0 "}\n{"text": "q-1 "}\n{"text": "q-2 "}\n')
    token_file = tmp_path / "home" / "access-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and token_file.read_text().strip() == server.guard.token


def test_dns_rebinding_and_other_web_pages_get_nothing(server):
    ask = json.dumps({"question": "q"}).encode()
    rebound = {**_token(server), "Host": f"attacker.example:{server.listener.port}"}
    assert _call(server, "/ask", ask, rebound)[0] == 421
    assert _call(server, "/health", headers={"Host": "attacker.example"})[0] == 421
    for origin in ("http://attacker.example", "null", f"http://127.0.0.1:{server.listener.port + 1}"):
        assert _call(server, "/ask", ask, {**_token(server), "Origin": origin})[0] == 403, origin
    same = {**_token(server), "Origin": f"http://127.0.0.1:{server.listener.port}"}
    assert _call(server, "/ask", ask, same)[0] == 200


def test_the_client_uses_a_server_only_with_this_homes_token(server, tmp_path):
    from rag.client import find_server
    mine = Settings(home=str(tmp_path / "home"), serve_port=server.listener.port)
    assert find_server(mine) == f"http://127.0.0.1:{server.listener.port}"
    other = Settings(home=str(tmp_path / "someone-else"), serve_port=server.listener.port)
    assert find_server(other) is None                                       # no token there: not used
    (tmp_path / "someone-else").mkdir()
    (tmp_path / "someone-else" / "access-token").write_text("y" * 43)
    (tmp_path / "someone-else" / "access-token").chmod(0o600)
    assert find_server(other) is None                                       # a wrong token: not used


def test_bodies_that_lie_about_or_exceed_their_size_or_trickle_are_refused(server, monkeypatch):
    import rag.server
    auth = f"Authorization: Bearer {server.guard.token}".encode()
    negative = _raw(server, b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"\r\nContent-Length: -5")
    assert negative.startswith(b"HTTP/1.1 400")
    chunk = b"100000\r\n" + b"x" * 0x100000 + b"\r\n"
    huge = _raw(server, b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"\r\nTransfer-Encoding: chunked",
                chunk * 3)
    assert huge.startswith(b"HTTP/1.1 413")
    assert _call(server, "/ask", b"[1, 2]", _token(server))[0] == 400
    monkeypatch.setattr(rag.server, "BODY_TIMEOUT_S", 1)
    t0 = time.monotonic()
    slow = _raw(server, b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + b"\r\nContent-Length: 50", b"{")
    assert slow.startswith(b"HTTP/1.1 408") and time.monotonic() - t0 < 5
    assert server.paced.closed == 0                                           # none of them reached an answer


def test_parallel_questions_are_answered_one_at_a_time_and_a_full_queue_says_busy(server):
    from rag.server import MAX_WAITING
    gate = threading.Event()
    server.paced = Paced(n=1, gate=gate)
    results = []

    def ask(i):
        results.append(_call(server, "/ask", json.dumps({"question": f"q{i}"}).encode(), _token(server), 60))
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(MAX_WAITING + 1)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while server.waiting < MAX_WAITING and time.monotonic() < deadline:
        time.sleep(0.05)
    status, body = _call(server, "/ask", b'{"question": "one too many"}', _token(server))
    assert status == 503 and "busy" in body
    gate.set()
    for t in threads:
        t.join(60)
    assert sorted(s for s, _ in results) == [200] * (MAX_WAITING + 1) and server.paced.most == 1
    assert server.answered == MAX_WAITING + 1


def test_an_answer_stops_when_its_client_goes_away(server):
    server.paced = Paced(n=400, pause=0.02)
    body = b'{"question": "q"}'
    with socket.create_connection(("127.0.0.1", server.listener.port), timeout=20) as s:
        s.sendall(b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + server.guard.token.encode()
                  + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        got = b""
        while b'"text"' not in got:                       # it is answering
            got += s.recv(4096)
    deadline = time.monotonic() + 10
    while server.paced.closed == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.paced.closed == 1 and server.paced.pieces < 100 and server.dropped == 1
    assert server.answered == 0


def test_listening_beyond_this_machine_still_needs_the_token():
    from rag.access import Guard
    guard = Guard(token="t" * 43, bound="0.0.0.0")
    lan = {"host": "192.168.1.20:7860"}
    assert guard.check(path="/", headers=lan, query="").status == 401
    assert guard.check(path="/", headers={**lan, "authorization": "Bearer " + "t" * 43}, query="").ok
    assert guard.check(path="/", headers=lan, query="token=" + "t" * 43).set_cookie
    named = Guard(token="t" * 43, bound="192.168.1.20")
    assert named.check(path="/", headers={"host": "rebound.example", "cookie": "rag_news_token=" + "t" * 43},
                       query="").status == 421


def test_a_client_turned_away_by_a_full_queue_waits_its_turn_and_is_answered(server):
    from rag.client import ask_remote
    from rag.server import MAX_WAITING
    gate = threading.Event()
    server.paced = Paced(n=1, gate=gate)
    url = f"http://127.0.0.1:{server.listener.port}"
    answers, errors = [], []

    def ask(i):
        try:
            answers.append("".join(p for p in ask_remote(url, f"q{i}", token=server.guard.token)
                                   if isinstance(p, str)))
        except Exception as e:          # noqa: BLE001 - any failure is what the test counts
            errors.append(e)
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(MAX_WAITING + 4)]
    for t in threads:
        t.start()
    time.sleep(3)                       # the queue is full and the last ones have been told to come back
    gate.set()
    for t in threads:
        t.join(120)
    assert not errors and sorted(answers) == sorted(f"q{i}-0 " for i in range(MAX_WAITING + 4))
