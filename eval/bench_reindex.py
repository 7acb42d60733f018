"""Re-indexing cost after one changed document in a 1,000-document folder, against the full build.

The folder holds 1,000 short news items made from the sample articles' sentences (each a title and
five sentences). Prints the seconds and the texts embedded for: the first build, an unchanged rerun,
one document edited, one added, one removed. Embedding work must follow the change, not the folder.

    python -m eval.bench_reindex [--docs 1000] [--out eval/reports/bench_reindex.json]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from core.sentences import split_sentences
from core.settings import load_settings
from eval.report import save_json
from index.build import build_index
from rag.retriever import embedder_for


def make_folder(folder: Path, n: int, settings) -> None:
    """`n` news items of five sample sentences each, every one with its own title."""
    sentences = []
    for p in sorted(settings.corpus_path.glob("*.txt")):
        text = p.read_text(encoding="utf-8")
        sentences += [text[a:b].strip() for a, b in split_sentences(text) if 40 <= b - a <= 300]
    rng = random.Random(0)
    folder.mkdir(parents=True)
    for i in range(n):
        body = " ".join(rng.sample(sentences, 5))
        (folder / f"item_{i:04d}.txt").write_text(f"Meldung {i}: Nachrichten aus der KI-Branche\n\n{body}\n",
                                                  encoding="utf-8")


def main(argv=None) -> int:
    """Build, then rebuild after each kind of change; print a table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--out", default="eval/reports/bench_reindex.json")
    args = ap.parse_args(argv)
    settings = load_settings()
    emb = embedder_for(settings)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        make_folder(corpus, args.docs, settings)
        steps = [("first build", lambda: None),
                 ("unchanged rerun", lambda: None),
                 ("one document edited", lambda: _edit(corpus / f"item_{args.docs // 2:04d}.txt")),
                 ("one document added", lambda: (corpus / "new.txt").write_text(
                     "Neue Meldung\n\nAlibaba eröffnet ein Rechenzentrum in Mexiko. Es soll 2026 fertig sein.\n",
                     encoding="utf-8")),
                 ("one document removed", lambda: (corpus / f"item_{args.docs // 3:04d}.txt").unlink())]
        for name, change in steps:
            change()
            t0 = time.perf_counter()
            r = build_index(corpus, index, settings=settings, embedder=emb, progress=False)
            rows.append({"step": name, "seconds": round(time.perf_counter() - t0, 2), "embedded": r.embedded,
                         "reused": r.reused, "documents": r.documents, "chunks": r.chunks})
            print(f"{name:22} {rows[-1]['seconds']:8.2f} s  embedded {r.embedded:6}  reused {r.reused:6}  "
                  f"documents {r.documents}", flush=True)
    full = rows[0]["seconds"]
    for r in rows:
        r["share_of_first_build"] = round(r["seconds"] / full, 4)
    save_json(args.out, rows)
    return 0


def _edit(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "Nachtrag: Die Zahlen wurden korrigiert.\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
