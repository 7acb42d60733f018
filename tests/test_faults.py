"""Faults while writing an index: a full disk and a read-only folder give a clear error, the old index stays.

Both run the real `rag index` command in a child process against a real kernel error: the child's file
size limit (RLIMIT_FSIZE, the same OSError path as ENOSPC) and a folder the child may not write to (as
root, the child first gives up the capabilities that let root ignore file permissions).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from index.build import build_index
from index.snapshot import load
from rag.retriever import Retriever

REPO = Path(__file__).resolve().parents[1]


def _rag_index(corpus: Path, index: Path, models: str, home: Path, preexec=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), RAG_MODELS_DIR=models, RAG_HOME=str(home), RAG_OFFLINE="1",
               RAG_EMBEDDER="all-minilm-l6-v2", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "rag.cli", "index", str(corpus), "--index", str(index)],
                          env=env, capture_output=True, text=True, preexec_fn=preexec, timeout=600)


def _grow(corpus: Path, copies: int = 4) -> None:
    for n in range(copies):
        for p in sorted(corpus.glob("0*.txt")):
            (corpus / f"copy{n}_{p.name}").write_text(p.read_text(encoding="utf-8") + f"\nKopie {n}.", encoding="utf-8")


def _still_good(tiny, embedder, name: str) -> None:
    ix = load(tiny.index_path, tiny.embedder)
    assert ix.name == name and Retriever(ix, embedder, tiny).search("Alibaba KI Investitionen", 3)
    assert not list((tiny.index_path / "snapshots").glob(".tmp-*"))       # the partial snapshot is gone


@pytest.mark.slow
def test_disk_full_is_a_clear_error_and_the_old_index_stays(corpus, tiny, tiny_embedder, models_dir, tmp_path):
    name = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False).snapshot
    _grow(corpus)
    limit = 256 * 1024          # the old index's files are smaller; the new vectors.npy is not

    def full_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    run = _rag_index(corpus, tiny.index_path, models_dir, tmp_path / "h", full_disk)
    assert run.returncode == 2, run.stderr
    assert "could not write the index" in run.stderr and "MB free there" in run.stderr
    assert "previous index is unchanged" in run.stderr and "Traceback" not in run.stderr
    _still_good(tiny, tiny_embedder, name)
    again = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert again.written and load(tiny.index_path, tiny.embedder).name == again.snapshot    # next build completes


@pytest.mark.slow
def test_read_only_index_folder_is_a_clear_error_and_the_old_index_stays(corpus, tiny, tiny_embedder, models_dir,
                                                                         tmp_path):
    name = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False).snapshot
    _grow(corpus, 1)
    tree = [tiny.index_path, *tiny.index_path.rglob("*")]
    for p in tree:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    try:
        run = _rag_index(corpus, tiny.index_path, models_dir, tmp_path / "h", _without_root_override)
    finally:
        for p in tree:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    assert run.returncode == 2, run.stderr
    assert f"cannot write to {tiny.index_path}" in run.stderr and "Permission denied" in run.stderr
    assert "Traceback" not in run.stderr
    _still_good(tiny, tiny_embedder, name)


def _without_root_override() -> None:
    """In the child: drop root's power to ignore file permissions, so read-only means read-only."""
    if os.geteuid() != 0:
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):                  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:          # PR_CAPBSET_DROP: gone from the program exec'd next
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
