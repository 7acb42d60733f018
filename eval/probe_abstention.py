"""Measure signals that might tell unanswerable questions apart, on dev sets, before any is built as a check.

Two probes, each printing, per threshold, the share of answerable and unanswerable dev questions it would stop:

- `names`: question names (`rag.checks.question_names`) unknown to the whole index, and missing from the
  articles shown to the model (retrieval only, no LLM).
- `verify`: the LLM's probability of "yes" to "Do the sources above state the answer to this question?", asked
  with the answer prompt's own prefix (cached by llama.cpp, so it costs a few prompt tokens); llama.cpp only.

    python -m eval.probe_abstention names sample-dev xquad-dev-de xquad-dev-en xquad-unanswerable-dev
    python -m eval.probe_abstention verify sample-dev xquad-unanswerable-dev xquad-dev-de:40 xquad-dev-en:40
"""

from __future__ import annotations

import argparse
import re

import numpy as np

from core.lang import detect
from core.words import word_start
from eval.sets import get_set
from rag.assistant import Assistant
from rag.checks import question_names
from rag.prompt import messages

VERIFY = "Do the sources above state the answer to this question? Reply yes or no."


def _evidence(name: str, limit: int, settings):
    """(row, retriever, shown passages, numbered evidence, hits) for each question of a set."""
    from eval.harness import index_documents
    from rag.retriever import get_retriever
    qaset = get_set(name)
    index = index_documents(qaset.documents, settings) if qaset.documents else None
    r, s = get_retriever(index, settings), settings
    for row in qaset.rows[:limit or None]:
        hits = r.search(row["question"], s.answer_chunks)
        shown, evidence = Assistant(r, None, s).evidence(row["question"])
        yield row, r, shown, evidence, hits


def _found(word: str, tokens: set[str]) -> bool:
    start = word_start(word)
    return any(t == word.lower() or t.startswith(start) for t in tokens)


def names(name: str, limit: int, settings) -> list[tuple[bool, int, int]]:
    """(answerable, names unknown to the index, names missing from the shown articles) per question."""
    out = []
    for row, r, shown, _, hits in _evidence(name, limit, settings):
        sources = {p.hit.source for p in shown}
        tokens = set(re.findall(r"[^\W_][\w-]*", " ".join(h.text + " " + (h.title or "") for h in hits
                                                          if h.source in sources).lower()))
        qn = question_names(row["question"])
        out.append((row["answerable"], sum(not r.known(w) for w in qn), sum(not _found(w, tokens) for w in qn)))
    return out


def verify(name: str, limit: int, settings, llm, ask: str = VERIFY) -> list[tuple[bool, float]]:
    """(answerable, p(yes)) per question: the yes/no question `ask` put with the answer prompt's prefix."""
    out = []
    for row, r, _, evidence, _ in _evidence(name, limit, settings):
        msgs = messages(row["question"], evidence, detect(row["question"], r.language))
        user = msgs[1]["content"]
        cut = user.rfind("\n", 0, len(user) - 1)                # replace the closing language instruction
        logits = _last_logits(llm, [msgs[0], {"role": "user", "content": user[:cut + 1] + ask}])
        yes, no = (_lse(logits[[_token(llm, w) for w in words]]) for words in (("yes", "Yes"), ("no", "No")))
        out.append((row["answerable"], float(1 / (1 + np.exp(no - yes)))))
    return out


def _token(llm, word: str) -> int:
    return llm.tokenize(word.encode(), add_bos=False, special=False)[0]


def _lse(x: np.ndarray) -> float:
    m = x.max()
    return float(m + np.log(np.exp(x - m).sum()))


def _last_logits(llm, msgs: list[dict]) -> np.ndarray:
    """The next-token logits after a ChatML prompt, reusing the longest cached prefix."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs) + "<|im_start|>assistant\n"
    tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
    have, p = list(llm.input_ids[:llm.n_tokens]), 0
    while p < min(len(have), len(tokens) - 1) and have[p] == tokens[p]:
        p += 1
    llm.n_tokens = p
    llm.eval(tokens[p:])
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()


def main(argv=None) -> int:
    """Print the stop shares of the chosen probe on the given sets (NAME or NAME:LIMIT)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("probe", choices=("names", "verify"))
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--ask", default=VERIFY, help=f"the yes/no question of the verify probe (default: {VERIFY!r})")
    args = ap.parse_args(argv)
    from core.settings import load_settings
    settings = load_settings()
    llm, everything = None, []
    if args.probe == "verify":
        from rag.generate import load_generator
        llm = load_generator(settings).llm
    for spec in args.sets:
        name, _, limit = spec.partition(":")
        if args.probe == "names":
            rows = names(name, int(limit or 0), settings)
            rules = {"index >= 2": lambda i, d: i >= 2, "index >= 1 and shown >= 2": lambda i, d: i >= 1 and d >= 2}
            for rule, stop in rules.items():
                print(f"{name:26} {rule:26} " + _shares([(a, stop(i, d)) for a, i, d in rows]))
        else:
            rows = verify(name, int(limit or 0), settings, llm, args.ask)
            for floor in (0.5, 0.55, 0.6):
                print(f"{name:26} p(yes) < {floor:<18} " + _shares([(a, p < floor) for a, p in rows]))
            everything += rows
    if everything:
        pos, neg = [p for a, p in everything if a], [p for a, p in everything if not a]
        auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / max(1, len(pos) * len(neg))
        print(f"p(yes) ranks answerable above unanswerable: AUC {auc:.3f} ({len(pos)} vs {len(neg)} questions)")
    return 0


def _shares(stops: list[tuple[bool, bool]]) -> str:
    ans = [s for a, s in stops if a]
    una = [s for a, s in stops if not a]
    return (f"stops answerable {sum(ans)}/{len(ans)}, unanswerable {sum(una)}/{len(una)}")


if __name__ == "__main__":
    raise SystemExit(main())
