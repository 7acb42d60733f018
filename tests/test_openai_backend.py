"""The `openai` generator against a real OpenAI-compatible server (llama-cpp-python's) on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from core.errors import ModelError
from core.models.prepare import model_path
from core.settings import Settings
from eval.browser import free_port
from rag.generate import OpenAIGenerator, load_generator


@pytest.fixture(scope="module")
def server(models_dir):
    gguf = model_path("smollm2-135m", Settings(models_dir=models_dir, offline=True))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "1024", "--model_alias", "smollm2-135m"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 90 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_openai_backend_streams_from_a_real_server(server):
    gen = load_generator(Settings(generator="openai", llm="smollm2-135m", openai_base_url=server))
    pieces = list(gen.stream([{"role": "user", "content": "Say hello."}], max_tokens=12))
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_unreachable_server_is_a_clear_error():
    gen = OpenAIGenerator("x", f"http://127.0.0.1:{free_port()}/v1", timeout=5)
    with pytest.raises(ModelError, match="did not answer.*running"):
        list(gen.stream([{"role": "user", "content": "hi"}]))
