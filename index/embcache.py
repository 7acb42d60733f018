"""Vectors a build has embedded but not yet written, kept so a killed or interrupted build resumes where it was.

Each embedded batch is written at once as its own small file (written to a temporary name, then renamed: a
kill never leaves half a file). The next build reads them back by text hash and embeds only the rest; a build
that writes its index deletes them.

    cache = EmbeddingCache(index_dir / ".embedding-cache", "multilingual-e5-small")
    known = cache.load()                 # {hash: vector}
    cache.add(hashes, vectors)           # after every batch
    cache.clear()                        # once the index is written
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np


class EmbeddingCache:
    """Per-embedder folder of `part-N.npz` files, each the hashes and vectors of one embedded batch."""

    def __init__(self, folder: Path, embedder: str):
        self.folder = Path(folder) / hashlib.sha1(embedder.encode()).hexdigest()[:12]
        self._next = 0

    def load(self) -> dict[str, np.ndarray]:
        """Every cached vector by its text hash (an unreadable part is ignored: its texts are embedded again)."""
        known: dict[str, np.ndarray] = {}
        for part in sorted(self.folder.glob("part-*.npz")) if self.folder.is_dir() else []:
            try:
                with np.load(part, allow_pickle=False) as z:
                    known.update(zip((h.decode() for h in z["hashes"]), z["vectors"].astype(np.float32)))
            except (OSError, ValueError, KeyError):
                continue
            self._next = max(self._next, int(part.stem.split("-")[1]) + 1)
        return known

    def add(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Keep one embedded batch."""
        if not hashes:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = self.folder / f"part-{self._next:06d}.npz"
        tmp = name.with_suffix(".tmp.npz")
        np.savez(tmp, hashes=np.array([h.encode() for h in hashes]), vectors=np.asarray(vectors, np.float32))
        os.replace(tmp, name)
        self._next += 1

    def clear(self) -> None:
        """Forget everything (the vectors are in the written index now)."""
        shutil.rmtree(self.folder.parent, ignore_errors=True)
