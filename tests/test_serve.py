"""`rag serve` keeps the models loaded; `rag ask` in another process answers through it, or loads them itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.errors import RagError
from eval.browser import free_port

pytestmark = pytest.mark.slow          # each test starts a server; one asks through it from another process


@pytest.fixture
def served(tiny, corpus):
    from index.build import build_index
    from rag.server import start
    settings = tiny.replace(serve_port=free_port(), checks="cited")
    build_index(corpus, settings.index_path, settings=settings, progress=False)
    server = start(settings, block=False)
    yield settings, server
    server.close()


def _cli(settings, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_HOME": settings.home, "RAG_MODELS_DIR": settings.models_dir, "RAG_OFFLINE": "1",
           "RAG_EMBEDDER": settings.embedder, "RAG_LLM": settings.llm, "RAG_CHECKS": settings.checks,
           "RAG_SERVE_PORT": str(settings.serve_port)}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_rag_ask_in_another_process_answers_through_the_running_server(served):
    settings, server = served
    done = _cli(settings, "ask", "Wer ist Joseph Tsai?", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert server.answered == 1 and answer["question"] == "Wer ist Joseph Tsai?"
    assert answer["text"] and answer["checks"]
    local = _cli(settings, "ask", "Wer ist Joseph Tsai?", "--json", "--local")      # loads the models itself
    assert local.returncode == 0 and server.answered == 1, local.stderr
    assert json.loads(local.stdout)["text"] == answer["text"]                       # the same answer either way


def test_a_server_for_another_index_or_model_is_not_used(served, tmp_path):
    from rag.client import find_server
    settings, _ = served
    assert find_server(settings) == f"http://127.0.0.1:{settings.serve_port}"
    assert find_server(settings, index_dir=tmp_path / "other") is None
    assert find_server(settings.replace(llm="qwen2.5-coder-0.5b")) is None
    assert find_server(settings.replace(serve_port=free_port())) is None          # nothing listens there


def test_a_taken_port_says_so_and_a_bad_question_never_reaches_the_server(served):
    from rag.server import AnswerServer
    settings, server = served
    with pytest.raises(RagError, match="port .* is taken"):
        AnswerServer(settings, None, "127.0.0.1", settings.serve_port)
    done = _cli(settings, "ask", "   ")
    assert done.returncode == 2 and "question is empty" in done.stderr and server.answered == 0


def test_the_server_listens_on_localhost_by_default_and_streams_the_answer(served):
    import inspect

    from rag.client import ask_remote
    from rag.server import start
    from rag.types import Answer
    settings, server = served
    assert inspect.signature(start).parameters["host"].default == "127.0.0.1"
    pieces = list(ask_remote(f"http://127.0.0.1:{settings.serve_port}", "Was plant Apple in China?",
                             token=server.guard.token))
    assert isinstance(pieces[-1], Answer) and all(isinstance(p, str) for p in pieces[:-1])
    answer = pieces[-1]
    assert answer.abstained != bool(answer.citations) and [v.check for v in answer.checks][:1] in (["cited"], ["model"])
    assert all(c.quote and c.quote in c.text for c in answer.citations)
