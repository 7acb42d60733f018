"""Local question answering over news articles: the read path and the public API.

Example:
    from rag import build_index, retrieve
    build_index("path/to/articles", index_dir="path/to/index")
    hits = retrieve("Wie viel will der Konzern investieren?", k=5)
    hits[0].source, hits[0].text, hits[0].start, hits[0].end, hits[0].score
"""

from importlib import import_module

# Imported on first use, so `import core.errors` from the write path stays light and acyclic.
_EXPORTS = {
    "build_index": "index", "BuildReport": "index",
    "retrieve": "rag.retriever", "Retriever": "rag.retriever", "get_retriever": "rag.retriever",
    "Settings": "core.settings", "load_settings": "core.settings",
    "Hit": "rag.types", "Citation": "rag.types", "Answer": "rag.types",
    "ask": "rag.assistant", "ask_stream": "rag.assistant", "Assistant": "rag.assistant",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
