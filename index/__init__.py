"""The write path: load, clean, chunk, embed, store; and the backends an index lives in.

This is the package's public API: the read path (`rag/`) and the app (`ui/`) import only these names
(and `index.postgres` for the database's own commands).

Example:
    from index import build_index
    report = build_index("my_articles", index_dir="my_index")
"""

from importlib import import_module

# Imported on first use, so `from index import get_backend` does not load the embedder's libraries.
_EXPORTS = {
    "build_index": "index.build", "BuildReport": "index.build", "read_corpus": "index.build",
    "Embedder": "index.embed", "load_embedder": "index.embed",
    "Backend": "index.backends", "BACKENDS": "index.backends", "get_backend": "index.backends",
    "IndexReader": "index.backends", "IndexWriter": "index.backends",
    "Document": "index.load", "read_document": "index.load",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'index' has no attribute {name!r}")
