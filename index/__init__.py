"""The write path: load, clean, chunk, embed, store.

Example:
    from index import build_index
    report = build_index("my_articles", index_dir="my_index")
"""

from index.build import BuildReport, build_index

__all__ = ["BuildReport", "build_index"]
