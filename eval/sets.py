"""Named QA sets for `rag eval NAME`: the project's own questions and XQuAD on fixed dev / held-out splits.

    rag eval sample-heldout          # written before the answering code it measures; never tuned on
    rag eval xquad-heldout-de        # outside text: German questions over all 240 German paragraphs
    rag eval xquad-unanswerable-heldout   # questions of articles left out of the index: must abstain
    rag eval mixed                   # German and English articles as .txt, .md, .html and .pdf files
    rag eval news-heldout            # real news: 300 German and English articles, questions written first

Splits are fixed by rule, not by looking at results:
- XQuAD dev = the first 200 questions of `xquad.de.json` and every 4th after them (the ones used while the
  answering was built), with their English counterparts; held-out = all the others. The reported held-out sets
  are every 7th held-out question (106 German, and the same 106 in English).
- The unanswerable variant indexes the paragraphs without six whole articles and asks those articles' questions:
  dev = the left-out articles whose questions lie in the dev range (articles 2, 4, 6), held-out = articles 12, 24
  and 36 (every 12th). Its index never holds the answer, so the right reply is the abstention.

- Real news (`news-*`): a collection of 300 articles of `corpora/news` (every 8th German file and every 12th
  English file, in name order: all categories, neighbouring subjects in both languages). Dev questions ask about
  every 5th article of the collection from the 2nd on, held-out questions about the others; `news-heldout-all`
  asks the held-out questions with all 3,103 articles indexed.

XQuAD files are looked for in `$RAG_XQUAD_DIR`, then in `../shared/benchmarks/xquad` beside the checkout; the
news articles in `$RAG_NEWS_DIR`, then in `../shared/corpora/news`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from eval.qaset import load_qaset, load_squad

HERE = Path(__file__).resolve().parent
DEV_HEAD, DEV_EVERY, HELDOUT_EVERY = 200, 4, 7
LEFT_OUT = {"dev": (2, 4, 6), "heldout": (12, 24, 36)}
NEWS_EVERY = {"de": 8, "en": 12}


@dataclass(frozen=True)
class QASet:
    """Rows to ask, and the documents the index must hold (None: the bundled articles)."""

    name: str
    rows: list[dict]
    documents: dict[str, str] | None = None
    folder: Path | None = None          # a folder of article files to index instead (any format)
    files: tuple[str, ...] = ()         # with `folder`: only these files of it (paths relative to it)


def xquad_dir() -> Path:
    """The folder with xquad.de.json and xquad.en.json."""
    for d in (os.environ.get("RAG_XQUAD_DIR"), HERE.parent.parent / "shared" / "benchmarks" / "xquad"):
        if d and (Path(d) / "xquad.de.json").is_file():
            return Path(d)
    raise InputError("XQuAD files not found: set RAG_XQUAD_DIR to the folder holding xquad.de.json and xquad.en.json")


def is_dev(position: int) -> bool:
    """True for the XQuAD questions (by position in xquad.de.json) that the project has looked at."""
    return position < DEV_HEAD or (position - DEV_HEAD) % DEV_EVERY == 0


def _xquad(lang: str) -> tuple[dict[str, str], list[dict]]:
    d = xquad_dir()
    contexts, rows = load_squad([d / f"xquad.{lang}.json"], d / "xquad.de.json")
    return contexts, rows


def _positions() -> dict[str, int]:
    """Question id (without the file prefix) -> position in xquad.de.json."""
    _, rows = _xquad("de")
    return {r["id"].split(":", 1)[1]: i for i, r in enumerate(rows)}


def xquad_split(lang: str, part: str) -> QASet:
    """XQuAD answering, `part` "dev" or "heldout", questions in `lang` over the German paragraphs."""
    contexts, rows = _xquad(lang)
    pos = _positions()
    chosen = []
    heldout_seen = 0
    for r in sorted(rows, key=lambda r: pos[r["id"].split(":", 1)[1]]):
        p = pos[r["id"].split(":", 1)[1]]
        if part == "dev" and is_dev(p):
            chosen.append(r)
        elif part == "heldout" and not is_dev(p):
            if heldout_seen % HELDOUT_EVERY == 0:
                chosen.append(r)
            heldout_seen += 1
    return QASet(f"xquad-{part}-{lang}", chosen, contexts)


def xquad_unanswerable(part: str, lang: str = "de") -> QASet:
    """Questions of the articles left out of the index (`part` dev or heldout); all must abstain."""
    contexts, rows = _xquad(lang)
    out_articles = {f"{a:02d}" for group in LEFT_OUT.values() for a in group}
    asked = {f"{a:02d}" for a in LEFT_OUT[part]}
    kept = {pid: text for pid, text in contexts.items() if pid[:2] not in out_articles}
    chosen = [{**r, "answerable": False, "answers": [], "gold_spans": [], "sources": [],
               "group": f"unanswerable-{lang}"} for r in rows if r["sources"][0][:2] in asked]
    suffix = "" if lang == "de" else f"-{lang}"
    return QASet(f"xquad-unanswerable-{part}{suffix}", chosen, kept)


def news_dir() -> Path:
    """The folder of real news articles (`de/`, `en/`), for evaluation only."""
    for d in (os.environ.get("RAG_NEWS_DIR"), HERE.parent.parent / "shared" / "corpora" / "news"):
        if d and (Path(d) / "de").is_dir() and (Path(d) / "en").is_dir():
            return Path(d)
    raise InputError("the real-news articles were not found: set RAG_NEWS_DIR to the folder holding de/ and en/")


def news_collection(root: Path) -> tuple[str, ...]:
    """The 300 articles of the news sets: every 8th German and every 12th English file, in name order."""
    de = sorted(p.name for p in (root / "de").glob("*.txt"))[::NEWS_EVERY["de"]]
    en = sorted(p.name for p in (root / "en").glob("*.txt"))[::NEWS_EVERY["en"]]
    return tuple([f"de/{n}" for n in de] + [f"en/{n}" for n in en])


def _news(part: str, everything: bool = False) -> QASet:
    root = news_dir()
    rows = load_qaset(HERE / f"qa_news_{part}.jsonl")
    return QASet(f"news-{part}{'-all' if everything else ''}", rows, folder=root,
                 files=() if everything else news_collection(root))


def _sample(part: str) -> QASet:
    return QASet(f"sample-{part}", load_qaset(HERE / f"qa_sample_{part}.jsonl"))


SETS = {
    "sample-dev": lambda: _sample("dev"),
    "sample-heldout": lambda: _sample("heldout"),
    "followup": lambda: QASet("followup", load_qaset(HERE / "qa_followup.jsonl")),
    "mixed": lambda: QASet("mixed", load_qaset(HERE / "qa_mixed.jsonl"), folder=HERE / "mixed"),
    "news-dev": lambda: _news("dev"),
    "news-heldout": lambda: _news("heldout"),
    "news-heldout-all": lambda: _news("heldout", everything=True),
    "xquad-dev-de": lambda: xquad_split("de", "dev"),
    "xquad-dev-en": lambda: xquad_split("en", "dev"),
    "xquad-heldout-de": lambda: xquad_split("de", "heldout"),
    "xquad-heldout-en": lambda: xquad_split("en", "heldout"),
    "xquad-unanswerable-dev": lambda: xquad_unanswerable("dev"),
    "xquad-unanswerable-heldout": lambda: xquad_unanswerable("heldout"),
    "xquad-unanswerable-heldout-en": lambda: xquad_unanswerable("heldout", "en"),
}


def get_set(name: str) -> QASet:
    """The QA set called `name`; an unknown name lists the valid ones."""
    if name not in SETS:
        raise InputError(f"unknown QA set {name!r}; valid: {', '.join(SETS)} (or give a JSONL file)")
    return SETS[name]()
