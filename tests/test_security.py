"""Nothing executes or unpickles data from disk: the code never asks to, and a planted pickle is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from core.errors import IndexError_
from index.snapshot import load

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"\bimport pickle|\bpickle\.loads?\(|torch\.load\(|allow_pickle=True|trust_remote_code=True|"
                       r"\bjoblib\b|\bexec\(|(?<![.\w])eval\(|shell=True|yaml\.load\(|marshal\.loads")


def test_the_product_code_never_unpickles_or_executes_what_it_reads():
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
            for folder in ("rag", "index", "ui", "eval") for p in (REPO / folder).rglob("*.py")
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if FORBIDDEN.search(line)]
    assert not hits, hits


class _Boom:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_planted_in_the_index_is_refused_and_never_run(built, tiny, tmp_path):
    folder = tiny.index_path / "snapshots" / (tiny.index_path / "CURRENT").read_text().strip()
    marker = tmp_path / "code-ran"
    evil = np.empty(1, dtype=object)
    evil[0] = _Boom(marker)
    np.save(folder / "sentences.npy", evil, allow_pickle=True)        # the attacker's file, sizes made to match
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["sentences.npy"] = (folder / "sentences.npy").stat().st_size
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexError_, match="damaged.*rebuild"):
        load(tiny.index_path, tiny.embedder)
    assert not marker.exists()
