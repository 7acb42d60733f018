"""QA sets: the project's JSONL format and SQuAD-format files (XQuAD), loaded into one row shape.

JSONL, one object per line:
    {"id": "s01", "question": "...", "lang": "de", "answers": [["380", "Milliarden"]],
     "sources": ["001_a0bff3a9c4d1e743.txt"], "answerable": true, "evidence": ["380 Milliarden Yuan"]}
`history` (optional) is the conversation before a follow-up question: [["question", "answer"], ...].
`answers` holds alternatives; each alternative is a list of keywords that must all occur (a plain
string counts as a one-keyword alternative). `evidence` (optional) quotes the source text that
answers the question. SQuAD files give `answers` as gold spans and `sources` as the question's own
paragraph, whose id is "<article>_<paragraph>.txt".

Example:
    rows = load_qaset("eval/qa_sample_dev.jsonl")
    contexts, rows = load_squad(["xquad.de.json", "xquad.en.json"])
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import InputError
from core.lang import detect

REQUIRED = ("id", "question")


def load_qaset(path: str | Path) -> list[dict]:
    """Rows of a JSONL QA set, validated; a bad line names its number and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"QA set {path} not found; give a JSONL file (see the README, 'QA sets')")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n} is not valid JSON ({e.msg}); one JSON object per line") from None
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise InputError(f"{path}:{n} lacks {', '.join(missing)}; every row needs id and question")
        if not _valid_history(row.get("history", [])):
            raise InputError(f"{path}:{n} has a bad history; give it as [[\"question\", \"answer\"], ...]")
        rows.append(_normalise(row))
    if len({r["id"] for r in rows}) != len(rows):
        raise InputError(f"{path}: question ids repeat; each row needs its own id")
    return rows


def _valid_history(history) -> bool:
    """True for a list of [question, answer] string pairs (the conversation before a follow-up)."""
    return isinstance(history, list) and all(isinstance(t, (list, tuple)) and len(t) == 2
                                             and all(isinstance(x, str) for x in t) for t in history)


def _normalise(row: dict) -> dict:
    answers = [[a] if isinstance(a, str) else list(a) for a in row.get("answers", [])]
    return {"id": str(row["id"]), "question": row["question"], "lang": row.get("lang") or detect(row["question"]),
            "answers": answers, "sources": list(row.get("sources", [])), "evidence": list(row.get("evidence", [])),
            "answerable": bool(row.get("answerable", bool(answers))), "gold_spans": row.get("gold_spans", []),
            "group": row.get("group") or row.get("lang") or "all",
            "history": [tuple(t) for t in row.get("history", [])]}


def load_squad(files: list[str | Path], contexts_from: str | Path | None = None) -> tuple[dict[str, str], list[dict]]:
    """(paragraph id -> context, rows) from SQuAD-format files.

    Contexts come from `contexts_from` (default: the first file); questions of every file are matched
    to them by question id, so English XQuAD questions run against the German paragraphs.
    """
    files = [Path(f) for f in files]
    base = _read_squad(Path(contexts_from) if contexts_from else files[0])
    contexts, where = {}, {}
    for a, art in enumerate(base["data"]):
        for p, para in enumerate(art["paragraphs"]):
            pid = f"{a:02d}_{p:02d}.txt"
            contexts[pid] = para["context"]
            for qa in para["qas"]:
                where[qa["id"]] = pid
    rows = []
    for f in files:
        data = _read_squad(f)
        for art in data["data"]:
            for para in art["paragraphs"]:
                for qa in para["qas"]:
                    if qa["id"] not in where:
                        raise InputError(f"{f}: question {qa['id']} has no paragraph in the contexts file; "
                                         "pair files of the same dataset (e.g. xquad.en.json with xquad.de.json)")
                    spans = [a["text"] for a in qa.get("answers", [])]
                    rows.append(_normalise({"id": f"{f.stem}:{qa['id']}", "question": qa["question"],
                                            "answers": [[s] for s in spans], "gold_spans": spans,
                                            "sources": [where[qa["id"]]], "answerable": bool(spans),
                                            "group": f.stem}))
    return contexts, rows


def _read_squad(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"SQuAD file {path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not a SQuAD JSON file ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f"{path} is not in SQuAD format: expected {{\"data\": [{{\"paragraphs\": ...}}]}}")
    return data
