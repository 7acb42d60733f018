"""Embedders: `embed(texts, kind)` -> L2-normalised float32 rows; backends picked by name.

Example:
    e = load_embedder(Settings(embedder="all-minilm-l6-v2"))
    e.embed(["Hallo Welt"], kind="query").shape
    (1, 384)
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from core.errors import ConfigError
from core.models.catalog import CATALOG, get_spec
from core.models.prepare import model_path
from core.settings import Settings


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    name: str
    dim: int

    def embed(self, texts: list[str], kind: str = "passage", progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder; prompts per query/passage."""

    def __init__(self, name: str, path: str | Path, query_prompt: str = "", passage_prompt: str = "",
                 batch_size: int = 16, bf16: bool = False):
        self.name, self.path = name, Path(path)
        self.prompts = {"query": query_prompt, "passage": passage_prompt}
        self.batch_size = batch_size
        self.bf16 = bf16 and native_bf16()

    @cached_property
    def model(self):
        """The loaded model (loaded on first use, so unchanged re-indexing never pays for it)."""
        from sentence_transformers import SentenceTransformer
        # safetensors only and no remote code: loading a model never unpickles or runs anything from disk
        kwargs = {"use_safetensors": True}
        if self.bf16:
            import torch
            kwargs["dtype"] = torch.bfloat16
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True, trust_remote_code=False,
                                   model_kwargs=kwargs)

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer
        file = self.path / "tokenizer.json"
        if not file.is_file():
            return None
        tok = Tokenizer.from_file(str(file))
        tok.no_padding()        # some tokenizer.json files pad to a fixed length: counts must be real
        tok.no_truncation()
        return tok

    @cached_property
    def dim(self) -> int:
        """Embedding dimension, read from the folder's config without loading weights."""
        import json
        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.is_file():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self.model.get_sentence_embedding_dimension())

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without special tokens (the chunk-size unit)."""
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return len(self.model.tokenizer.tokenize(text))

    def embed(self, texts: list[str], kind: str = "passage", progress: bool = False) -> np.ndarray:
        """Normalised embeddings, one row per text."""
        if kind not in self.prompts:
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self.model.encode(list(texts), prompt=self.prompts[kind], batch_size=self.batch_size,
                                normalize_embeddings=True, convert_to_tensor=True, show_progress_bar=progress)
        return _unit(out.float().numpy())          # bfloat16 rows are normalised again in float32


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (else bfloat16 is emulated and slower than float32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _unit(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12), dtype=np.float32)


BACKENDS = {"sentence-transformers": SentenceTransformerEmbedder}


def load_embedder(settings: Settings, backend: str = "sentence-transformers") -> Embedder:
    """The embedder named in the settings, prepared (offline first) on first use."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown embedder backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if settings.embedder_path and settings.embedder not in CATALOG:   # a user's own model folder
        return BACKENDS[backend](settings.embedder, model_path(settings.embedder, settings, "embedder"),
                                 batch_size=settings.embed_batch_size, bf16=settings.embed_bf16)
    spec = get_spec(settings.embedder, "embedder")
    return BACKENDS[backend](spec.name, model_path(spec.name, settings, "embedder"), spec.query_prompt,
                             spec.passage_prompt, settings.embed_batch_size, settings.embed_bf16)
