"""Article fields measured on labelled examples: the language detector and the publication-date extractor.

    python -m eval.bench_fields

Sets in eval/data/: languages.tsv (short news sentences and questions), dates.tsv (the forms the extractor was
written against) and dates_heldout.tsv (written after it, not tuned on), sentences.jsonl and
sentences_heldout.jsonl (paragraphs of two sentences with abbreviations, ordinals, quotes and amounts: the
paragraph is the sentences joined by a space). Prints accuracy and every miss.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.lang import detect
from core.sentences import split_sentences
from index.clean import extract_date

DATA = Path(__file__).resolve().parent / "data"


def rows(name: str) -> list[tuple[str, str]]:
    """(label, text) pairs of a TSV set; "\\n" in a text is a line break."""
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t", 1)
            out.append((label, text.replace("\\n", "\n")))
    return out


def score(name: str, fn) -> dict:
    """Accuracy of `fn(text) == label` over a set, with the misses."""
    data = rows(name)
    misses = [{"text": t[:80], "want": want, "got": got} for want, t in data if (got := fn(t)) != want]
    return {"set": name, "n": len(data), "accuracy": round(1 - len(misses) / len(data), 4), "misses": misses}


def split_score(name: str) -> dict:
    """Paragraphs whose sentences `split_sentences` finds exactly."""
    data = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    misses = []
    for row in data:
        text = " ".join(row["sentences"])
        got = [text[a:b] for a, b in split_sentences(text)]
        if got != row["sentences"]:
            misses.append({"want": row["sentences"], "got": got})
    return {"set": name, "n": len(data), "accuracy": round(1 - len(misses) / len(data), 4), "misses": misses}


def main() -> int:
    """Print the figures as JSON."""
    results = [score("languages.tsv", lambda t: detect(t, "")), score("dates.tsv", extract_date),
               score("dates_heldout.tsv", extract_date), split_score("sentences.jsonl"),
               split_score("sentences_heldout.jsonl")]
    print(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
