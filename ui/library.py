"""The app's document library: a corpus folder it may write to, and the index built from it.

    lib = Library(settings)                  # <home>/ui/corpus, seeded with the sample articles
    lib.add([Path("neu.txt")]); lib.remove("neu.txt"); lib.documents()
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

from index.build import BuildReport, build_index
from rag.errors import InputError
from rag.retriever import has_index, open_index
from rag.settings import SAMPLE_ARTICLES, Settings

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
        self.corpus_dir = Path(corpus_dir) if corpus_dir else settings.home_path / "ui" / "corpus"
        if not self.corpus_dir.exists():
            shutil.copytree(SAMPLE_ARTICLES, self.corpus_dir)      # a writable copy: uploads go next to them
        if not has_index(settings, self.index_dir):
            self.rebuild()

    def rebuild(self, progress: bool = True) -> BuildReport:
        """Bring the index in line with the corpus folder (only new or changed text is embedded)."""
        from rag.retriever import _embedder
        return build_index(self.corpus_dir, self.index_dir, settings=self.settings,
                           embedder=_embedder(self.settings), progress=progress)

    def add(self, files: list[Path], names: list[str] | None = None) -> BuildReport:
        """Copy uploaded files in (checked type and size, sanitised names) and index them."""
        names = names or [Path(f).name for f in files]
        for f, name in zip(files, names):
            target = safe_name(name)
            if not target or not target.endswith(ALLOWED):
                raise InputError(f"{name!r}: only {', '.join(ALLOWED)} files can be added")
            if Path(f).stat().st_size > MAX_UPLOAD_MB * 2**20:
                raise InputError(f"{name!r} is over {MAX_UPLOAD_MB} MB; split it or index its folder with `rag index`")
            shutil.copyfile(f, self.corpus_dir / target)
        report = self.rebuild()
        bad = [f"{n}: {why}" for n, why in report.skipped if n in {safe_name(x) for x in names}]
        if bad:
            raise InputError("could not index " + "; ".join(bad))
        return report

    def remove(self, doc_id: str) -> BuildReport:
        """Delete a document from the library and the index."""
        path = self.corpus_dir / safe_name(doc_id)
        if safe_name(doc_id) != doc_id or not path.is_file():
            raise InputError(f"no document {doc_id!r} in the library")
        if len([p for p in self.corpus_dir.iterdir() if p.is_file()]) == 1:
            raise InputError("the last document cannot be removed; add another one first")
        path.unlink()
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
        if self.settings.store == "postgres":
            from index.postgres import redact
            return redact(self.settings.postgres_url)
        return str(self.index_dir)
