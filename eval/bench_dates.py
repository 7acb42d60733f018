"""How reading an article scales with the dates in it: a planted file of thousands of dates must not stall a build.

    python -m eval.bench_dates [--sizes 2000 4000 8000 16000]

Writes one text file per size (a title, then that many dates on one line, German and English forms mixed), and
times what a build does with it before embedding: read and clean (`read_document`: title, date, comments) and
chunk. Prints seconds per size and, for reading and for both, the growth from the smallest size divided by the
growth in dates (1.0 = linear; above 1 and rising = worse than linear).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

FORMS = ("{d}.{m}.2024", "2024-{m:02d}-{d:02d}", "{d}. März 2023", "March {d}, 2022", "{d}/{m}/2021")


def planted(n: int) -> str:
    """A title line and `n` dates of mixed forms on one line."""
    dates = (FORMS[i % len(FORMS)].format(d=i % 28 + 1, m=i % 12 + 1) for i in range(n))
    return "Termine\n\n" + " ".join(dates) + "\n"


def time_one(path: Path, settings) -> dict:
    """Seconds to read and clean the file, and to chunk it."""
    from index.chunk import Chunker
    from index.embed import load_embedder
    from index.load import read_document
    chunker = Chunker(load_embedder(settings).count_tokens, settings.chunk_tokens, settings.chunk_overlap)
    t0 = time.perf_counter()
    doc = read_document(path, path.parent)
    t1 = time.perf_counter()
    chunks = chunker.split(doc)
    t2 = time.perf_counter()
    return {"read_clean_s": round(t1 - t0, 3), "chunk_s": round(t2 - t1, 3), "chunks": len(chunks)}


def main(argv=None) -> int:
    """Time each size and print the scaling."""
    from core.settings import load_settings
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000, 16000])
    args = ap.parse_args(argv)
    settings = load_settings()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.txt"
        warm.write_text(planted(50), encoding="utf-8")
        time_one(warm, settings)                  # imports, the tokenizer: not part of any size
        for n in args.sizes:
            path = Path(tmp) / f"dates_{n}.txt"
            path.write_text(planted(n), encoding="utf-8")
            rows.append({"dates": n, **time_one(path, settings)})
    base = rows[0]
    for r in rows:
        scale = r["dates"] / base["dates"]
        r["read_growth_over_linear"] = round(r["read_clean_s"] / max(base["read_clean_s"], 1e-9) / scale, 2)
        total, first = r["read_clean_s"] + r["chunk_s"], base["read_clean_s"] + base["chunk_s"]
        r["total_growth_over_linear"] = round(total / max(first, 1e-9) / scale, 2)
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
