"""Local question answering over news articles: the read path and the public API.

Example:
    >>> from rag import build_index, retrieve
    >>> build_index("path/to/articles", index_dir="path/to/index")        # doctest: +SKIP
    >>> hits = retrieve("Wie viel will Alibaba investieren?", k=5)          # doctest: +SKIP
    >>> hits[0].source, hits[0].text, hits[0].start, hits[0].end, hits[0].score   # doctest: +SKIP
"""

from index.build import build_index
from rag.retrieve import Retriever, retrieve
from rag.settings import Settings, load_settings
from rag.types import Hit

__all__ = ["Hit", "Retriever", "Settings", "build_index", "load_settings", "retrieve"]
