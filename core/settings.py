"""One frozen `Settings`: defaults < TOML file < `RAG_*` environment < CLI flags.

Example:
    >>> s = Settings().replace(top_k=3)
    >>> s.top_k
    3
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = PACKAGE_ROOT / "index" / "sample_articles"


def _default_home() -> Path:
    # RAG_HOME arrives through load_settings as the `home` field; this is only the fallback
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "rag-news"


def _user(default, help: str):
    """A setting a user may need: documented first."""
    return field(default=default, metadata={"help": help, "advanced": False})


def _tuning(default, help: str):
    """A tuning knob: measured defaults; documented under advanced."""
    return field(default=default, metadata={"help": help, "advanced": True})


@dataclass(frozen=True)
class Settings:
    """Every setting of the product; the defaults are the measured best. `docs/configuration.md` lists them."""

    # where things are
    home: str = _user("", "folder for indexes and prepared models; empty: `$RAG_HOME` or `~/.local/share/rag-news`")
    corpus_dir: str = _user("", "the articles folder of the default index; empty: the bundled sample articles")
    index_dir: str = _user("", "the index folder; empty: `<home>/indexes/default`")
    models_dir: str = _user("", "the prepared-models cache; empty: `<home>/models`")
    # models
    embedder: str = _user("multilingual-e5-small", "embedding model, a catalogue name (`rag models list`)")
    embedder_path: str = _user("", "a local sentence-transformers folder for the embedder, tried first")
    llm: str = _user("qwen2.5-coder-1.5b", "answering model, a catalogue name (`rag models list`)")
    llm_path: str = _user("", "a local GGUF file for the LLM, tried first")
    offline: bool = _user(False, "never try the Hugging Face hub")
    generator: str = _user("llama.cpp", "`llama.cpp` (GGUF on the CPU), `transformers`, or `openai` (an "
                                        "OpenAI-compatible server: vLLM, Ollama, llama.cpp's server)")
    openai_base_url: str = _user("", "the server for `generator = \"openai\"`, e.g. `http://127.0.0.1:8000/v1`")
    openai_api_key: str = _user("", "its API key, if it needs one")
    # answers
    llm_context: int = _user(4096, "the LLM's context window in tokens")
    max_answer_tokens: int = _user(160, "the longest answer, in tokens")
    top_k: int = _user(5, "passages `rag search` and `retrieve` return")
    corpus_language: str = _user("", "the main language of the articles (BM25 stems in it); empty: the language "
                                     "most of the indexed text is in. Each article's own language is detected")
    checks: str = _user("relevance,names,cited,numbers,adds,asked", "the answer checks that run, in order "
                                                          "(docs/answering.md); empty: none")
    # where the index lives, and the server
    backend: str = _user("folder", "where the index lives: `folder` (FAISS and BM25 files in the index folder) or "
                                   "`postgres` (PostgreSQL with pgvector at `postgres_url`, shared by many processes "
                                   "and machines)")
    postgres_url: str = _user("", "the database for `backend = \"postgres\"`, "
                                  "`postgresql://user:password@host:5432/db`; `rag db start` runs a local one and "
                                  "prints its URL")
    serve_port: int = _user(7861, "port of `rag serve` on 127.0.0.1; `rag ask` uses a server running there")
    # tuning: what the model is shown
    answer_chunks: int = _tuning(8, "retrieved chunks whose sentences compete for the prompt")
    evidence_chars: int = _tuning(900, "characters of source sentences shown to the LLM")
    answer_sources: int = _tuning(4, "at most this many numbered sources in the prompt")
    evidence_margin: float = _tuning(0.06, "only sentences within this cosine of the best are shown")
    evidence_gap_chars: int = _tuning(90, "room beyond the budget for one sentence between two shown ones")
    evidence_window: int = _tuning(0, "each shown sentence brings this many following sentences of its chunk "
                                      "(more evidence shown, not more right answers: docs/answering.md)")
    evidence_word_bonus: float = _tuning(0.0, "added to a sentence's score per question word it shares, times the "
                                              "share of retrieved sentences without that word (rare words count)")
    evidence_kind_bonus: float = _tuning(0.0, "added to a sentence's score when it states the kind of thing the "
                                              "question asks for (an amount, a time, a name)")
    # tuning: the index
    embed_batch_size: int = _tuning(16, "texts embedded per batch")
    embed_bf16: bool = _tuning(True, "embed in bfloat16 where the CPU computes it natively (AVX512-BF16, AMX): "
                                     "about 2x faster, cosines within 1e-4 of float32; else float32")
    chunk_tokens: int = _tuning(300, "chunk size in embedder tokens")
    chunk_overlap: int = _tuning(30, "overlap between chunks in embedder tokens")
    sentence_vectors: bool = _tuning(True, "also embed each sentence: a chunk scores cos(chunk) + w max cos(sentence)")
    sentence_weight: float = _tuning(1.5, "w in the line above")
    # tuning: retrieval
    candidates: int = _tuning(50, "candidates per retriever before fusion")
    rrf_k: int = _tuning(10, "the reciprocal-rank-fusion constant")
    dense_weight: float = _tuning(1.0, "weight of the dense list in the fusion")
    bm25_weight: float = _tuning(0.2, "weight of BM25 for questions in the corpus language")
    cross_lingual_bm25_weight: float = _tuning(0.0, "weight of BM25 for questions in another language")
    language_shift: float = _tuning(1.0, "weight of the cross-lingual query shift (rag/langshift.py); 0: off")
    focus_weight: float = _tuning(0.5, "sentence score = (1-w) cos(q) + w cos(q without the corpus's common words)")
    focus_share: float = _tuning(0.3, "a word in at least this share of chunks is common")
    # tuning: vector search
    ann: str = _tuning("auto", "the folder backend's vector search: `flat` (exact), `fp16` (exhaustive over "
                               "half-precision copies), `hnsw` (approximate), or `auto` (fp16 up to "
                               "`hnsw_threshold` vectors)")
    hnsw_threshold: int = _tuning(1_000_000, "vectors above which `ann = \"auto\"` picks HNSW")
    postgres_ef_search: int = _tuning(100, "pgvector HNSW candidates per query (at least the rows asked for; max "
                                           "1000); recall@10 at 1M vectors: 0.64 at 100, 0.96 at 1000 "
                                           "(docs/postgres.md)")
    # tuning: cleaning
    boilerplate_min_docs: int = _tuning(3, "a passage repeated in this many documents is boilerplate")

    def __post_init__(self):
        _validate(self)

    def replace(self, **changes) -> "Settings":
        """Return a copy with some fields changed (validated)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)}; valid: {sorted(f.name for f in fields(self))}")
        return dataclasses.replace(self, **changes)

    @property
    def home_path(self) -> Path:
        """The base folder for indexes and prepared models."""
        return Path(self.home).expanduser() if self.home else _default_home()

    @property
    def corpus_path(self) -> Path:
        """The folder of articles to index."""
        return Path(self.corpus_dir).expanduser() if self.corpus_dir else SAMPLE_ARTICLES

    @property
    def index_path(self) -> Path:
        """The index folder."""
        return Path(self.index_dir).expanduser() if self.index_dir else self.home_path / "indexes" / "default"

    def index_at(self, index_dir: str | Path | None = None) -> Path:
        """`index_dir` when one is given, else the configured index folder."""
        return Path(index_dir).expanduser() if index_dir else self.index_path

    @property
    def models_path(self) -> Path:
        """The prepared-models cache."""
        return Path(self.models_dir).expanduser() if self.models_dir else self.home_path / "models"


BACKENDS = ("folder", "postgres")           # index.backends registers each
ANN = ("auto", "flat", "fp16", "hnsw")
CHECK_NAMES = ("relevance", "names", "cited", "numbers", "adds", "asked")      # pipeline order (rag.checks)
RETIRED = {"store": "`store` is now two settings: backend = \"folder\" or \"postgres\", and ann = \"auto\", "
                  "\"flat\" or \"hnsw\" (e.g. RAG_BACKEND=postgres)"}
# settings that send articles or questions somewhere: a ./rag.toml found by chance may not set them
ROUTING = frozenset({"backend", "postgres_url", "generator", "openai_base_url", "openai_api_key", "llm_path",
                     "embedder_path", "models_dir", "home", "index_dir"})


def _validate(s: Settings) -> Settings:
    if s.chunk_tokens < 16 or not 0 <= s.chunk_overlap < s.chunk_tokens:
        raise ConfigError("chunk_tokens must be >= 16 and 0 <= chunk_overlap < chunk_tokens")
    if s.top_k < 1 or s.candidates < 1:
        raise ConfigError("top_k and candidates must be at least 1")
    if not 0 <= s.focus_weight <= 1 or not 0 < s.focus_share <= 1:
        raise ConfigError("focus_weight must be within 0..1 and focus_share within (0, 1]")
    if s.evidence_chars < 1 or s.evidence_gap_chars < 0 or s.evidence_window < 0:
        raise ConfigError("evidence_chars must be at least 1, evidence_gap_chars and evidence_window at least 0")
    check_names(s.checks)
    from core.lang import LANGUAGES
    if s.corpus_language and s.corpus_language not in LANGUAGES:
        raise ConfigError(f"corpus_language must be empty (detect) or one of {', '.join(LANGUAGES)}")
    if not 1 <= s.postgres_ef_search <= 1000:
        raise ConfigError("postgres_ef_search must be within 1..1000 (pgvector's limit)")
    if s.backend not in BACKENDS:
        raise ConfigError(f"unknown backend {s.backend!r}; valid: {', '.join(BACKENDS)}")
    if s.ann not in ANN:
        raise ConfigError(f"unknown ann {s.ann!r}; valid: {', '.join(ANN)}")
    return s


def check_names(names: str) -> list[str]:
    """The check names of a comma-separated list; an unknown name lists the valid ones.

    >>> check_names("cited, numbers")
    ['cited', 'numbers']
    """
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in CHECK_NAMES]
    if unknown:
        raise ConfigError(f"unknown check(s) {unknown}; valid: {', '.join(CHECK_NAMES)} (comma-separated, or empty)")
    return wanted


def _coerce(name: str, typ, raw):
    if isinstance(raw, str):
        if typ in (bool, "bool"):
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ConfigError(f"{name}: expected true/false, got {raw!r}")
        try:
            return {"int": int, "float": float}.get(typ if isinstance(typ, str) else typ.__name__, str)(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected {typ}, got {raw!r}") from None
    return raw


def load_settings(config_file: str | Path | None = None, env: dict | None = None, **overrides) -> Settings:
    """Build settings from defaults, a TOML file, RAG_* variables and explicit overrides (None = not given)."""
    env = os.environ if env is None else env
    values: dict = {}
    path, trusted = config_file or env.get("RAG_CONFIG"), True
    if not path and Path("rag.toml").is_file():
        path, trusted = "rag.toml", False
    if not path and (user := _user_config(env)).is_file():
        path = user
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read config file {path}: {e}. Fix the file or unset RAG_CONFIG.") from None
        data = data.get("rag", data)
        routed = sorted(set(data) & ROUTING)
        if not trusted and routed:
            raise ConfigError(f"./rag.toml sets {', '.join(routed)}, which decide where articles and questions go; "
                              "a file found in the current folder may not. If you trust it, pass it with --config "
                              f"rag.toml (or RAG_CONFIG), or move it to {_user_config(env)}")
        values.update(data)
    types = {f.name: f.type for f in fields(Settings)}
    for name in RETIRED:                            # a retired name says what replaced it, wherever it is set
        if "RAG_" + name.upper() in env:
            raise ConfigError(RETIRED[name])
    for name in types:
        key = "RAG_" + name.upper()
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    values = {k: _coerce(k, types.get(k), v) for k, v in values.items() if k in types or _unknown(k)}
    return Settings().replace(**values)


def _user_config(env) -> Path:
    """The user's own config file: `$XDG_CONFIG_HOME/rag-news/rag.toml` (default `~/.config/...`)."""
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "rag-news" / "rag.toml"


def _unknown(name: str) -> bool:
    if name in RETIRED:
        raise ConfigError(RETIRED[name])
    raise ConfigError(f"unknown setting {name!r}; valid: {sorted(f.name for f in fields(Settings))}")
