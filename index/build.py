"""`build_index`: create or update an index; only new or changed text is embedded.

Example:
    report = build_index("articles/", index_dir="my-index")
    report.embedded, report.reused
    (3, 27)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from core.errors import InputError
from core.settings import Settings, load_settings
from index.backends import get_backend
from index.embed import Embedder, load_embedder
from index.load import Document, check_folder, discover, read_document
from index.plan import make_plan


@dataclass(kw_only=True)
class BuildReport:
    """What a build did."""

    index_dir: str
    snapshot: str = ""
    documents: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    written: bool = False
    seconds: float = 0.0
    stages: dict = field(default_factory=dict)     # seconds per stage: read, chunk, embed chunks/sentences, write
    corpus: str = ""                       # the folder it was built from (the UI adds uploads there)

    def summary(self) -> str:
        """One human line."""
        what = "wrote" if self.written else "unchanged,"
        return (f"{what} index {self.index_dir}: {self.documents} documents, {self.chunks} chunks "
                f"(+{len(self.added)} ~{len(self.changed)} -{len(self.removed)} documents; "
                f"embedded {self.embedded}, reused {self.reused}; skipped {len(self.skipped)}) "
                f"in {self.seconds:.1f}s")


def read_corpus(folder: Path, progress: bool = True, seen: dict[str, dict] | None = None
                ) -> tuple[list[Document], list[tuple[str, str]], dict[str, tuple[int, int]]]:
    """All usable documents of a folder, (file, reason) for the ones skipped, and (size, mtime) per document.

    `seen` is what the last build knew per document id (`size`, `mtime_ns`, `doc`): a file whose size and
    modification time are unchanged is not read again, one whose bytes are unchanged is not parsed again.
    """
    seen = seen or {}
    by_hash = {s["doc"].sha256: s["doc"] for s in seen.values()}
    docs, skipped, stats = [], [], {}
    root = folder.resolve()
    parents: dict[Path, bool] = {}

    def inside(path: Path) -> bool:        # a link never leads out of the folder; one resolve per sub-folder
        if path.is_symlink():
            return path.resolve().is_relative_to(root)
        if path.parent not in parents:
            parents[path.parent] = path.parent.resolve().is_relative_to(root)
        return parents[path.parent]

    for path in tqdm(discover(folder), desc="reading", unit="doc", disable=not progress):
        name = path.relative_to(folder).as_posix()
        try:
            st = path.stat()
            before = seen.get(name)
            if before and (before["size"], before["mtime_ns"]) == (st.st_size, st.st_mtime_ns) \
                    and inside(path):
                doc = before["doc"]
            else:
                doc = read_document(path, folder, by_hash)
            docs.append(doc)
            stats[doc.id] = (st.st_size, st.st_mtime_ns)
        except InputError as e:
            skipped.append((name, str(e)))
        except OSError as e:
            skipped.append((name, f"cannot read: {e.strerror}"))
        except Exception as e:      # one bad file is skipped with its reason, never an aborted build
            skipped.append((name, f"could not be read ({type(e).__name__}: {e})"))
    return docs, skipped, stats


def _seen(old) -> dict[str, dict]:
    """What the last build knew of each file: size, modification time and the document read from it."""
    documents = old.manifest.get("documents", {}) if old is not None else {}
    rows = getattr(old, "docs", None)
    if not isinstance(rows, dict):
        return {}
    return {i: {"size": m["size"], "mtime_ns": m["mtime_ns"],
                "doc": Document(id=i, text=rows[i]["text"], title=rows[i].get("title", ""),
                                date=rows[i].get("date", ""), sha256=rows[i].get("sha256", ""),
                                language=rows[i].get("language", ""), author=rows[i].get("author", ""))}
            for i, m in documents.items() if "mtime_ns" in m and i in rows and "text" in rows[i]}


def build_index(corpus_dir: str | Path | None = None, index_dir: str | Path | None = None, *,
                settings: Settings | None = None, embedder: Embedder | None = None,
                rebuild: bool = False, progress: bool = True, also: Path | None = None,
                exclude: frozenset[str] = frozenset()) -> BuildReport:
    """Create or update the index at `index_dir` from the articles in `corpus_dir`.

    `also` is a second folder (the app's uploads) whose articles join the index under their own names, and
    `exclude` names documents left out (removed in the app): neither touches a file of `corpus_dir`.
    """
    t0 = time.perf_counter()
    settings = settings or load_settings()
    corpus = Path(corpus_dir) if corpus_dir else settings.corpus_path
    out = settings.index_at(index_dir)
    check_folder(corpus)                           # a missing folder fails here, before the lock
    backend = get_backend(settings.backend)
    writer = backend.writer(out, settings)
    with writer.lock():
        old = None if rebuild else writer.previous()
        t_read = time.perf_counter()
        seen = _seen(old)
        docs, skipped, stats = read_corpus(corpus, progress, seen)
        if also is not None and also.is_dir() and any(also.iterdir()):
            taken = {d.id for d in docs}
            extra, extra_skipped, extra_stats = read_corpus(also, progress, seen)
            skipped += extra_skipped + [(d.id, "a document of that name is in the articles folder") for d in extra
                                        if d.id in taken]
            docs += [d for d in extra if d.id not in taken]
            stats = {**extra_stats, **stats}
        docs = [d for d in docs if d.id not in exclude]
        if not docs:
            why = "; ".join(f"{f}: {r}" for f, r in skipped[:5]) or "the folder has no .txt/.md/.html/.pdf files"
            raise InputError(f"nothing to index in {corpus}: {why}")
        report = BuildReport(index_dir=backend.shown(out, settings), documents=len(docs), skipped=skipped,
                             corpus=str(corpus.resolve()))
        report.stages["read"] = time.perf_counter() - t_read
        embedder = embedder or load_embedder(settings)
        t_plan = time.perf_counter()
        plan = make_plan(docs, old, settings, embedder, progress, stats)
        report.stages["chunk"] = time.perf_counter() - t_plan
        _diff(report, docs, old)
        report.chunks = len(plan.chunks)
        report.snapshot, report.written = writer.write(plan, old, embedder, report, progress, rebuild)
    report.seconds = time.perf_counter() - t0
    return report


def _diff(report: BuildReport, docs: list[Document], old) -> None:
    """Which documents the build adds, changes and removes, by content hash."""
    before = {k: v["sha256"] for k, v in old.manifest.get("documents", {}).items()} if old else {}
    now = {d.id: d.sha256 for d in docs}
    report.added = sorted(set(now) - set(before))
    report.removed = sorted(set(before) - set(now))
    report.changed = sorted(k for k in set(now) & set(before) if now[k] != before[k])
