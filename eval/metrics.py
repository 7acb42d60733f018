"""Evaluation metrics: retrieval, answers (SQuAD EM/F1, keywords), citations (ALCE), abstention, cost.

Retrieval works on ranked lists of source ids (a hit is any entry from a gold source):

>>> recall_at(["b", "a"], {"a"}, 1), recall_at(["b", "a"], {"a"}, 5), mrr(["b", "a"], {"a"})
(0.0, 1.0, 0.5)

Answer normalisation (German-aware, applied to both sides before EM/F1 and keyword matching):
lower case; Unicode NFKC; ä/ö/ü/ß folded to ae/oe/ue/ss (so "Aepfel" matches "Äpfel"); decimal
commas between digits read as points and thousands separators dropped ("4,8 %" == "4.8%",
"1.000" == "1000" only when followed by three digits); "%" and "prozent"/"percent" unified;
punctuation removed; German and English articles removed (der die das ein eine ... a an the).
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections import Counter
from statistics import fmean

_ARTICLES = {"der", "die", "das", "den", "dem", "des", "ein", "eine", "einer", "eines", "einem", "einen",
             "a", "an", "the"}
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def recall_at(ranked: list[str], gold: set[str], k: int) -> float:
    """1.0 if any of the first k entries is gold, else 0.0."""
    return float(any(r in gold for r in ranked[:k]))


def mrr(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """Reciprocal rank of the first gold entry within the first k, else 0."""
    return next((1.0 / n for n, r in enumerate(ranked[:k], 1) if r in gold), 0.0)


def ndcg_at(ranked: list[str], gold: set[str], k: int = 10) -> float:
    """nDCG@k with binary gains; repeated sources count once (the first time).

    >>> round(ndcg_at(["x", "a", "b"], {"a", "b"}, 10), 4)
    0.6934
    """
    seen, dcg = set(), 0.0
    for n, r in enumerate(ranked[:k], 1):
        if r in gold and r not in seen:
            seen.add(r)
            dcg += 1.0 / math.log2(n + 1)
    ideal = sum(1.0 / math.log2(n + 1) for n in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


def summarize(runs: list[tuple[list[str], set[str]]]) -> dict[str, float]:
    """Mean recall@1/5/10, MRR@10 and nDCG@10 over (ranked, gold) pairs."""
    return {
        "recall@1": fmean(recall_at(r, g, 1) for r, g in runs),
        "recall@5": fmean(recall_at(r, g, 5) for r, g in runs),
        "recall@10": fmean(recall_at(r, g, 10) for r, g in runs),
        "mrr@10": fmean(mrr(r, g, 10) for r, g in runs),
        "ndcg@10": fmean(ndcg_at(r, g, 10) for r, g in runs),
        "n": len(runs),
    }


def normalize_answer(text: str) -> str:
    """The German-aware normal form used by EM, F1 and keywords (see the module docstring).

    >>> normalize_answer("Um 4,8 % gefallen!"), normalize_answer("Die Äpfel"), normalize_answer("1.000 Stück")
    ('um 4.8% gefallen', 'aepfel', '1000 stueck')
    """
    t = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    t = re.sub(r"(?<=\d)[.,](?=\d{3}\b)", "", t)            # thousands separators: 1.000 / 1,000
    t = re.sub(r"(?<=\d),(?=\d)", ".", t)                     # decimal comma
    t = re.sub(r"\s*(%|prozent\b|percent\b)", "%", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)|[^\w\s.%]", " ", t)      # punctuation, keeping decimal points
    return " ".join(w for w in t.split() if w not in _ARTICLES)


def exact_match(prediction: str, answers: list[str]) -> float:
    """SQuAD exact match against any gold answer, after normalisation."""
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(a) for a in answers))


def f1(prediction: str, answers: list[str]) -> float:
    """SQuAD token F1, best over the gold answers.

    >>> round(f1("Alibaba investiert 380 Milliarden Yuan", ["380 Milliarden Yuan"]), 3)
    0.75
    """
    def one(pred: list[str], gold: list[str]) -> float:
        common = sum((Counter(pred) & Counter(gold)).values())
        if not pred or not gold or not common:
            return float(pred == gold)
        p, r = common / len(pred), common / len(gold)
        return 2 * p * r / (p + r)
    pred = normalize_answer(prediction).split()
    return max((one(pred, normalize_answer(a).split()) for a in answers), default=0.0)


def contains_answer(prediction: str, answers: list[str]) -> float:
    """1.0 when a normalised gold answer occurs inside the normalised prediction (sentence answers vs spans).

    >>> contains_answer("Die Aktie fiel um 4,8 % [1].", ["4,8 %"]), contains_answer("Nein.", ["4,8 %"])
    (1.0, 0.0)
    """
    p = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(a)} " in p for a in answers if normalize_answer(a)))


def keywords_correct(answer: str, alternatives: list[list[str]]) -> bool:
    """True when every keyword of at least one alternative occurs in the normalised answer.

    >>> keywords_correct("Sie fiel um 4.8 %.", [["4,8"]]), keywords_correct("380 Mrd.", [["380", "Milliarden"]])
    (True, False)
    """
    text = normalize_answer(answer)
    return any(all(normalize_answer(k) in text for k in alt) for alt in alternatives)


def evidence_hit(row: dict, shown: list[dict]) -> bool | None:
    """True when the passages shown to the model hold the answer (None for a question without one).

    The answer is held when a gold `evidence` quote, else a gold span, stands inside a shown passage of a gold
    source (white space aside); rows with neither count when all keywords of one alternative are in the shown text.

    >>> row = {"answerable": True, "evidence": ["rose 5%"], "gold_spans": [], "sources": ["a.txt"], "answers": []}
    >>> evidence_hit(row, [{"source": "a.txt", "text": "Sales  rose 5% in May."}]), evidence_hit(row, [])
    (True, False)
    """
    if not row["answerable"]:
        return None
    quotes = row.get("evidence") or row.get("gold_spans") or []
    if quotes:
        gold = set(row["sources"])
        texts = [" ".join(p["text"].split()) for p in shown if not gold or p["source"] in gold]
        return any(" ".join(q.split()) in t for q in quotes for t in texts)
    return bool(row["answers"]) and keywords_correct(" ".join(p["text"] for p in shown), row["answers"])


def abstention(rows: list[dict]) -> dict[str, float]:
    """Precision/recall of abstaining on unanswerable questions, and false abstentions on answerable ones.

    >>> abstention([{"answerable": False, "abstained": True}, {"answerable": True, "abstained": True},
    ...             {"answerable": True, "abstained": False}])
    {'abstain_precision': 0.5, 'abstain_recall': 1.0, 'false_abstention': 0.5}
    """
    abst = [r for r in rows if r["abstained"]]
    una = [r for r in rows if not r["answerable"]]
    ans = [r for r in rows if r["answerable"]]
    return {"abstain_precision": _share(sum(not r["answerable"] for r in abst), len(abst)),
            "abstain_recall": _share(sum(r["abstained"] for r in una), len(una)),
            "false_abstention": _share(sum(r["abstained"] for r in ans), len(ans))}


def citation_scores(sentences: list[tuple[str, list[bool]]]) -> dict[str, float]:
    """ALCE citation recall and precision from (answer sentence, [does citation c support it]) pairs.

    Recall: share of sentences with at least one citation, one of which supports them. Precision:
    share of citations that support their sentence.

    >>> citation_scores([("a", [True, False]), ("b", []), ("c", [True])])
    {'citation_recall': 0.6667, 'citation_precision': 0.6667}
    """
    cites = [ok for _, oks in sentences for ok in oks]
    return {"citation_recall": _share(sum(any(oks) for _, oks in sentences), len(sentences)),
            "citation_precision": _share(sum(cites), len(cites))}


def percentiles(values: list[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) of a list of numbers.

    >>> percentiles([1, 2, 3, 4, 100])
    {'p50': 3, 'p95': 100}
    """
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    s = sorted(values)
    return {"p50": round(statistics.median(s), 4), "p95": s[min(len(s) - 1, math.ceil(0.95 * len(s)) - 1)]}


def _share(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0
