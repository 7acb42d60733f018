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
import weakref
from pathlib import Path
from typing import Callable, Iterator, Protocol

from core.errors import ConfigError, InputError, ModelError
from core.settings import Settings


class Generator(Protocol):
    """Streams the assistant's reply to a list of chat messages."""

    name: str

    def stream(self, messages: list[dict], max_tokens: int = 200, stop: list[str] | None = None) -> Iterator[str]: ...


_LIVE: "weakref.WeakSet[LlamaCppGenerator]" = weakref.WeakSet()


@atexit.register
def _close_live() -> None:
    for generator in list(_LIVE):
        generator.llm.close()


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
        _LIVE.add(self)     # closed before interpreter teardown, not in __del__ after it; a dropped one is freed

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def stream(self, messages: list[dict], max_tokens: int = 200, stop: list[str] | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated (greedy decoding: answers are reproducible)."""
        with self.lock:
            try:
                for chunk in self.llm.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0,
                                                             stop=stop, stream=True):
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as e:
                if "context window" not in str(e):
                    raise
                raise InputError(f"the question and its sources do not fit the model's context "
                                 f"({self.llm.n_ctx()} tokens): ask a shorter question or raise llm_context") from None


class TransformersGenerator:
    """A Hugging Face checkpoint (or a GGUF file, dequantised) run by transformers: GPU when there is one."""

    def __init__(self, name: str, source: str | Path, gguf_file: str | None = None):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise ModelError("the transformers backend needs torch and transformers; run `bash install.sh`") from None
        self.name, self.torch = name, torch
        # never run code or unpickle weights from a checkpoint: no remote code, safetensors only
        kw = {"trust_remote_code": False, **({"gguf_file": gguf_file} if gguf_file else {"use_safetensors": True})}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(source), **{k: v for k, v in kw.items()
                                                                            if k != "use_safetensors"})
            self.model = AutoModelForCausalLM.from_pretrained(str(source), **kw)
        except (OSError, ValueError, ImportError) as e:
            raise ModelError(f"transformers could not load {source} ({e}); check the model name or path") from None
        self.model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
        self.lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: list[dict], max_tokens: int = 200, stop: list[str] | None = None) -> Iterator[str]:
        """Yield text pieces as they are generated (greedy), from a generation thread."""
        from transformers import TextIteratorStreamer
        enc = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                 return_dict=True).to(self.model.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        with self.lock:
            worker = threading.Thread(target=self._generate, args=(enc, max_tokens, streamer), daemon=True)
            worker.start()
            text, sent = "", 0
            for piece in streamer:
                text += piece
                cut = min((text.find(s) for s in stop or () if s in text), default=-1)
                if text[sent:cut if cut >= 0 else None]:
                    yield text[sent:cut if cut >= 0 else None]
                sent = len(text)
                if cut >= 0:
                    break
            worker.join()

    def _generate(self, enc, max_tokens: int, streamer) -> None:
        with self.torch.no_grad():
            self.model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, streamer=streamer,
                                pad_token_id=self.tokenizer.eos_token_id)


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


def _llama_cpp(settings: Settings) -> LlamaCppGenerator:
    from core.models.prepare import model_path
    return LlamaCppGenerator(settings.llm, model_path(settings.llm, settings, "llm"), settings.llm_context)


def _openai(settings: Settings) -> OpenAIGenerator:
    return OpenAIGenerator(settings.llm, settings.openai_base_url, settings.openai_api_key)


GENERATORS: dict[str, Callable[[Settings], Generator]] = {}


def register_generator(name: str, factory: Callable[[Settings], Generator]) -> None:
    """Make `factory(settings)` the generator called `name` (how plugins and test fakes add backends)."""
    GENERATORS[name] = factory


def load_generator(settings: Settings) -> Generator:
    """The generator named by `settings.generator` (llama.cpp by default)."""
    factory = GENERATORS.get(settings.generator)
    if factory is None:
        raise ConfigError(f"unknown generator {settings.generator!r}; valid: {', '.join(GENERATORS)}")
    return factory(settings)


def _transformers(settings: Settings) -> TransformersGenerator:
    """Offline (or with a local file): the prepared GGUF, dequantised; online: the hub checkpoint."""
    from core.models.catalog import get_spec
    from core.models.prepare import is_prepared, model_path
    if settings.llm_path or settings.offline or is_prepared(settings.llm, settings):
        path = model_path(settings.llm, settings, "llm")
        return TransformersGenerator(settings.llm, path.parent, gguf_file=path.name)
    return TransformersGenerator(settings.llm, get_spec(settings.llm, "llm").hub_repo.removesuffix("-GGUF"))


for _name, _factory in (("llama.cpp", _llama_cpp), ("transformers", _transformers), ("openai", _openai)):
    register_generator(_name, _factory)
