"""Ask a running `rag serve` instead of loading the models in this process.

    url = find_server(settings, index_dir=None)     # None when no matching server runs
    for piece in ask_remote(url, "Wer leitet das Unternehmen?"):
        ...                                         # str pieces as they stream, then the Answer
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Iterator

from core.errors import RagError
from core.settings import Settings
from rag.types import Answer

PROBE_TIMEOUT_S = 0.5          # a server on this machine answers /health in milliseconds
BUSY_WAIT_S = 300              # how long `rag ask` waits in line when the server's queue is full


def find_server(settings: Settings, index_dir=None, host: str = "127.0.0.1", token: str | None = None) -> str | None:
    """The URL of a server on `serve_port` that answers from the same index with the same models, or None
    (`token`: the home's access token, read here when not given)."""
    from rag.access import read_token
    from rag.server import identity
    url = f"http://{host}:{settings.serve_port}"
    if not (token := token or read_token(settings.home_path)):
        return None
    try:
        req = urllib.request.Request(url + "/health", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=PROBE_TIMEOUT_S) as r:
            health = json.loads(r.read())
    except (OSError, ValueError):
        return None
    wanted = identity(settings, index_dir)
    return url if health.get("ok") and all(health.get(k) == v for k, v in wanted.items()) else None


def ask_remote(url: str, question: str, history=None, token: str = "") -> Iterator[str | Answer]:
    """Yield the server's answer text as it streams, then the final `Answer` (`token`: see `rag.access`)."""
    body = json.dumps({"question": question, "history": history or []}).encode()
    req = urllib.request.Request(url + "/ask", body, {"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {token}"})
    try:
        with _open_when_free(req) as r:
            for line in r:
                msg = json.loads(line)
                if "error" in msg:
                    raise RagError(msg["error"])
                yield msg["text"] if "text" in msg else Answer.from_dict(msg["answer"])
    except urllib.error.HTTPError as e:
        if e.code == 503:
            raise RagError(f"the server at {url} is busy: still too many questions waiting after {BUSY_WAIT_S} s; "
                           "ask again later, or run without it: rag ask --local") from None
        raise RagError(f"the server at {url} refused the question ({e.code}: {_reason(e)}); "
                       "run without it: rag ask --local") from None
    except urllib.error.URLError as e:
        raise RagError(f"the server at {url} stopped answering ({e.reason}); run without it: rag ask --local") from None


def _open_when_free(req):
    """The response; while the server says it is busy (503), wait as it asks, for at most `BUSY_WAIT_S`."""
    deadline = time.monotonic() + BUSY_WAIT_S
    while True:
        try:
            return urllib.request.urlopen(req, timeout=600)
        except urllib.error.HTTPError as e:
            wait = float(e.headers.get("Retry-After") or 5) if e.code == 503 else None
            if wait is None or time.monotonic() + wait > deadline:
                raise
            e.close()
            time.sleep(wait)


def _reason(e) -> str:
    try:
        return json.loads(e.read()).get("error", e.reason)
    except (ValueError, OSError, AttributeError):
        return str(e.reason)
