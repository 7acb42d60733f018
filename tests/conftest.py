"""Shared fixtures: real tiny models from the prepared cache; one sample index per session for tests that only
read it, fresh index folders for tests that write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.settings import SAMPLE_ARTICLES, Settings, load_settings


class ScriptedGenerator:
    """A generator that replays fixed pieces: tests the assistant's logic, not the LLM's."""

    name = "scripted"

    def __init__(self, pieces):
        self.pieces, self.seen = pieces, []

    def stream(self, messages, max_tokens=200, stop=None):
        self.seen.append(messages)
        yield from self.pieces


@pytest.fixture(scope="session")
def models_dir() -> str:
    """The real prepared-models cache (install.sh fills it), shared by all tests."""
    env = {k: v for k, v in os.environ.items() if k in ("RAG_HOME", "RAG_MODELS_DIR")}
    return str(load_settings(env=env).models_path)


@pytest.fixture
def tiny(tmp_path, models_dir) -> Settings:
    """Settings with the tiny English embedder and a private home."""
    return Settings(home=str(tmp_path / "home"), models_dir=models_dir, offline=True,
                    embedder="all-minilm-l6-v2", llm="smollm2-135m")


@pytest.fixture
def e5(tmp_path, models_dir) -> Settings:
    """Settings with the default multilingual embedder and a private home."""
    return Settings(home=str(tmp_path / "home"), models_dir=models_dir, offline=True)


@pytest.fixture(scope="session")
def tiny_embedder(models_dir):
    """The tiny embedder, loaded once per session."""
    from index.embed import load_embedder
    return load_embedder(Settings(models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2"))


@pytest.fixture(scope="session")
def e5_embedder(models_dir):
    """The default embedder, loaded once per session."""
    from index.embed import load_embedder
    return load_embedder(Settings(models_dir=models_dir, offline=True))


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the bundled sample articles."""
    dst = tmp_path / "corpus"
    shutil.copytree(SAMPLE_ARTICLES, dst)
    return dst


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, models_dir, tiny_embedder) -> Path:
    """The bundled sample articles indexed once per session with the tiny embedder; tests only read it."""
    from index import build_index
    home = tmp_path_factory.mktemp("sample-home")
    settings = Settings(home=str(home), models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2")
    build_index(SAMPLE_ARTICLES, settings.index_path, settings=settings, embedder=tiny_embedder, progress=False)
    return settings.index_path


@pytest.fixture
def sample_retriever(sample_index, tiny, tiny_embedder):
    """A retriever over the session's sample index, with the test's `tiny` settings."""
    from index.snapshot import load
    from rag.retriever import Retriever
    return Retriever(load(sample_index, tiny.embedder), tiny_embedder, tiny)


@pytest.fixture
def built(sample_index, tiny, corpus) -> Path:
    """A private copy of the session's sample index at `tiny.index_path` (built from files like `corpus`'s)."""
    shutil.copytree(sample_index, tiny.index_path)
    return tiny.index_path
