"""A build killed with SIGKILL at any moment leaves the last good index loadable."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.build import build_index
from index.snapshot import load
from rag.retriever import Retriever

BUILD = """
import sys
from index.build import build_index
from core.settings import Settings
s = Settings(home=sys.argv[3], models_dir=sys.argv[4], offline=True, embedder="all-minilm-l6-v2")
build_index(sys.argv[1], sys.argv[2], settings=s, progress=False)
print("done", flush=True)
"""


def _grow(corpus: Path, round_: int) -> None:
    """Change every document a little, so each build re-embeds and rewrites everything."""
    for p in sorted(corpus.glob("*.txt")):
        p.write_text(p.read_text(encoding="utf-8") + f"\nNachtrag {round_}: Alibaba meldet neue Zahlen.\n",
                     encoding="utf-8")


@pytest.mark.slow
def test_sigkill_during_builds_never_breaks_the_index(corpus, tiny, tiny_embedder, tmp_path):
    for n in range(6):                                   # a bigger corpus: builds take a few seconds
        for p in list(corpus.glob("0*.txt"))[:5]:
            (corpus / f"copy{n}_{p.name}").write_text(p.read_text(encoding="utf-8") + f"\nKopie {n}.",
                                                      encoding="utf-8")
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    cmd = [sys.executable, "-c", BUILD, str(corpus), str(tiny.index_path), str(tmp_path / "h"), tiny.models_dir]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    t0 = time.perf_counter()
    _grow(corpus, 0)
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    full = time.perf_counter() - t0
    rng = random.Random(7)
    for round_ in range(1, 13):                          # 12 kills at random moments
        _grow(corpus, round_)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, full))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ix = load(tiny.index_path, tiny.embedder)        # always loads: old snapshot or a complete new one
        assert len(ix.chunks) == len(ix.store) > 0
        assert Retriever(ix, tiny_embedder, tiny).search("Alibaba Apple KI", 3)
    report = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert report.written and load(tiny.index_path, tiny.embedder).name == report.snapshot
    assert not list((tiny.index_path / "snapshots").glob(".tmp-*"))     # leftovers cleaned
    assert len(list((tiny.index_path / "snapshots").iterdir())) == 1


NEWS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "news"


@pytest.mark.slow
def test_a_killed_build_resumes_and_embeds_again_almost_nothing_it_had_embedded(tiny, tmp_path):
    """Killed mid-embedding, the next build reuses every batch the first one finished (real news articles)."""
    import shutil

    import numpy as np

    from index.embcache import EmbeddingCache
    from index.folder import CACHE_DIR
    files = sorted(NEWS.rglob("*.txt"))[:80]
    assert len(files) == 80, f"the real news articles are missing from {NEWS}"
    corpus = tmp_path / "news"
    corpus.mkdir()
    for p in files:
        shutil.copy(p, corpus / f"{p.parent.name}_{p.name}")
    index = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-c", BUILD, str(corpus), str(index), tiny.home, tiny.models_dir],
                            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = EmbeddingCache(index / CACHE_DIR, tiny.embedder)
    deadline = time.monotonic() + 300
    while len(list(cache.folder.glob("part-*.npz"))) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    had = set(cache.load())                      # what the killed build had finished embedding
    assert len(had) >= 500, len(had)
    report = build_index(corpus, index, settings=tiny, progress=False)
    ix = load(index, tiny.embedder)
    every = set(ix.embed_hashes) | {h.hex() for h in ix.sentences["hash"]}
    again = report.embedded - len(every - had)   # embedded now although the killed build had it
    assert again <= 0.05 * len(had), (again, len(had))
    assert not cache.folder.exists()             # written into the index, the kept batches are gone
    assert np.isfinite(ix.vectors).all() and len(every) > len(had)
