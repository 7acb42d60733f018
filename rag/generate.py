"""Generators stream answer tokens from chat messages; backends are picked by name.

    gen = load_generator(settings)                       # llama.cpp over the prepared GGUF
    for piece in gen.stream([{"role": "user", "content": "Hallo"}], max_tokens=20):
        print(piece, end="")
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import urllib.request
from pathlib import Path
from typing import Iterator, Protocol

from rag.errors import ConfigError, ModelError
from rag.settings import Settings


class Generator(Protocol):
    """Streams the assistant's reply to a list of chat messages."""

    name: str

    def stream(self, messages: list[dict], max_tokens: int = 200, stop: list[str] | None = None) -> Iterator[str]: ...


class LlamaCppGenerator:
    """A GGUF model run by llama-cpp-python; one request at a time (the model is not thread-safe)."""

    def __init__(self, name: str, path: str | Path, n_ctx: int = 4096, threads: int | None = None):
        from llama_cpp import Llama
        self.name = name
        if not Path(path).is_file():
            raise ModelError(f"LLM file {path} not found; run `rag models prepare {name}`")
        # llama.cpp keeps the KV cache of the previous prompt and reuses its longest common prefix,
        # so a fixed system prompt at the start is read once, not per question.
        threads = threads or os.cpu_count() or 1     # llama.cpp's default is half the cores: ~15% slower here
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
        self.lock = threading.Lock()
        atexit.register(self.llm.close)     # freed before interpreter teardown, not in __del__ after it

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def stream(self, messages: list[dict], max_tokens: int = 200, stop: list[str] | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated (greedy decoding: answers are reproducible)."""
        with self.lock:
            for chunk in self.llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0,
                                                         stop=stop, stream=True):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece



class OpenAIGenerator:
    """Any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server), streamed over HTTP."""

    def __init__(self, name: str, base_url: str, api_key: str = "", timeout: float = 120.0):
        if not base_url:
            raise ConfigError("the openai backend needs `openai_base_url` (e.g. http://127.0.0.1:8000/v1)")
        self.name, self.base_url, self.api_key, self.timeout = name, base_url.rstrip("/"), api_key, timeout

    def stream(self, messages: list[dict], max_tokens: int = 200, stop: list[str] | None = None) -> Iterator[str]:
        """Yield text pieces from the server's server-sent events."""
        body = {"model": self.name, "messages": messages, "max_tokens": max_tokens, "temperature": 0.0,
                "stream": True, **({"stop": stop} if stop else {})}
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                for raw in resp:
                    line = raw.decode("utf-8").strip()
                    if not line.startswith("data:") or line == "data: [DONE]":
                        continue
                    piece = json.loads(line[5:])["choices"][0].get("delta", {}).get("content")
                    if piece:
                        yield piece
        except OSError as e:
            raise ModelError(f"the LLM server at {self.base_url} did not answer ({e}); is it running?") from None


BACKENDS = ("llama.cpp", "openai")


def load_generator(settings: Settings) -> Generator:
    """The generator named by `settings.generator` (llama.cpp by default)."""
    if settings.generator == "llama.cpp":
        from rag.models.prepare import model_path
        return LlamaCppGenerator(settings.llm, model_path(settings.llm, settings, "llm"), settings.llm_context)
    if settings.generator == "openai":
        return OpenAIGenerator(settings.llm, settings.openai_base_url, settings.openai_api_key)
    raise ConfigError(f"unknown generator {settings.generator!r}; valid: {', '.join(BACKENDS)}")
