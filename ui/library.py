"""The app's document library: the articles folder (never written to), its own uploads, and the index of both.

    lib = Library(settings)                  # the sample articles, uploads under <home>/ui/library/<index>/
    lib.add([Path("neu.txt")]); lib.remove("neu.txt"); lib.documents()

The articles folder may be the user's own (`rag ui --index DIR` reads it from the index): the app never
writes, overwrites or deletes a file there. Uploads go to the app's own folder; removing an upload deletes that
copy, removing one of the folder's articles only leaves it out of the index (kept in `removed.json`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path

from core.errors import InputError
from core.settings import SAMPLE_ARTICLES, Settings
from index import BuildReport, build_index, get_backend
from rag.retriever import has_index, open_index

ALLOWED = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_UPLOAD_MB = 20


def safe_name(name: str) -> str:
    """A file name that stays inside the corpus folder: no directories, no odd characters.

    >>> safe_name("../../etc/passwd.txt"), safe_name("Bericht über KI (2).PDF"), safe_name("..")
    ('passwd.txt', 'Bericht_uber_KI_2.pdf', '')
    """
    base = Path(name.replace("\\", "/")).name        # a Windows path arrives with backslashes
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_.")[:100]
    return f"{stem}.{ext.lower()}" if stem and ext else ""


class Library:
    """Documents the app indexes: add (upload), remove, list; every change updates the index incrementally."""

    def __init__(self, settings: Settings, index_dir: Path | None = None, corpus_dir: Path | None = None):
        self.settings = settings
        self.index_dir = Path(index_dir) if index_dir else settings.home_path / "ui" / "index"
        if corpus_dir is None and index_dir is not None and has_index(settings, self.index_dir):
            corpus_dir = open_index(self.index_dir, settings).manifest.get("corpus") or None
            if corpus_dir is None:
                raise InputError(f"the index at {index_dir} does not record its articles folder; pass --corpus FOLDER")
        legacy = settings.home_path / "ui" / "corpus"           # the app's own copy in earlier versions
        self.corpus_dir = Path(corpus_dir) if corpus_dir else legacy if legacy.is_dir() else SAMPLE_ARTICLES
        self.backend = get_backend(settings.backend)
        where = self.backend.location(self.index_dir, settings)
        self.own = settings.home_path / "ui" / "library" / hashlib.sha256(where.encode()).hexdigest()[:16]
        self.uploads = self.own / "uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        if not has_index(settings, self.index_dir):
            self.rebuild()

    @property
    def removed(self) -> frozenset[str]:
        """The articles folder's documents removed in the app (left out of the index, their files untouched)."""
        path = self.own / "removed.json"
        return frozenset(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else frozenset()

    def _set_removed(self, ids: frozenset[str]) -> None:
        tmp = self.own / "removed.json.tmp"
        tmp.write_text(json.dumps(sorted(ids)), encoding="utf-8")
        os.replace(tmp, self.own / "removed.json")

    def rebuild(self, progress: bool = True) -> BuildReport:
        """Bring the index in line with the articles folder and the uploads (only new or changed text is embedded)."""
        from rag.retriever import embedder_for
        return build_index(self.corpus_dir, self.index_dir, settings=self.settings,
                           embedder=embedder_for(self.settings), progress=progress, also=self.uploads,
                           exclude=self.removed)

    def add(self, files: list[Path], names: list[str] | None = None) -> BuildReport:
        """Copy uploaded files into the app's upload folder (checked type, size and name) and index them.

        A name the library already holds is refused: an upload never replaces another document.
        """
        names = names or [Path(f).name for f in files]
        held = {d["id"] for d in self.documents()} | {p.name for p in self.uploads.iterdir()}
        targets = []
        for f, name in zip(files, names):
            target = safe_name(name)
            if not target or not target.endswith(ALLOWED):
                raise InputError(f"{name!r}: only {', '.join(ALLOWED)} files can be added")
            if Path(f).stat().st_size > MAX_UPLOAD_MB * 2**20:
                raise InputError(f"{name!r} is over {MAX_UPLOAD_MB} MB; split it or index its folder with `rag index`")
            if target in held or target in targets or (self.corpus_dir / target).exists():
                raise InputError(f"{target!r} is already in the library; remove it first or rename the file")
            targets.append(target)
        for f, target in zip(files, targets):
            (self.uploads / target).write_bytes(Path(f).read_bytes())
            self._set_removed(self.removed - {target})
        report = self.rebuild()
        bad = [f"{n}: {why}" for n, why in report.skipped if n in set(targets)]
        if bad:
            raise InputError("could not index " + "; ".join(bad))
        return report

    def remove(self, doc_id: str) -> BuildReport:
        """Take a document out of the library and the index (an upload's copy is deleted; the user's file never)."""
        docs = {d["id"] for d in self.documents()}
        if doc_id not in docs:
            raise InputError(f"no document {doc_id!r} in the library")
        if len(docs) == 1:
            raise InputError("the last document cannot be removed; add another one first")
        upload = self.uploads / doc_id
        if safe_name(doc_id) == doc_id and upload.is_file():
            upload.unlink()
        else:
            self._set_removed(self.removed | {doc_id})
        return self.rebuild()

    def documents(self) -> list[dict]:
        """id, title, date and chunk count of each indexed document."""
        docs = open_index(self.index_dir, self.settings).manifest.get("documents", {})
        return [{"id": d, "title": m.get("title", ""), "date": m.get("date", ""), "chunks": m.get("chunks", 0)}
                for d, m in sorted(docs.items())]

    def status(self) -> dict:
        """What the app runs on: counts, models, where the index lives."""
        docs = self.documents()
        return {"documents": len(docs), "chunks": sum(d["chunks"] for d in docs), "embedder": self.settings.embedder,
                "llm": self.settings.llm, "generator": self.settings.generator, "index": self._where(),
                "corpus": str(self.corpus_dir)}

    def _where(self) -> str:
        return self.backend.shown(self.index_dir, self.settings)
