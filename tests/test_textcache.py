"""What a build keeps of text so the next one redoes only new text: stable shingles and reusable BM25 stems."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from index.dedup import line_repeats, line_shingles, pack, unpack, update
from index.lexical import Analyzer, BM25Index

TEXTS = ["Siemens investiert Milliarden in neue Werke in Sachsen und Bayern.\\nKurz.",
         "Bosch und Siemens bauen in China.\\nNeue Analyse vom 19. Mai liefert die Antwort auf alles",
         "Neue Analyse vom 29. September liefert die Antwort auf alles\\nDer Rest ist anders als sonst.",
         "Tencent eröffnet ein Rechenzentrum in Frankfurt am Main."]


def test_shingle_hashes_are_the_same_in_another_process():
    code = ("import sys; from index.dedup import line_shingles; "
            "sys.stdout.write(line_shingles(sys.argv[1]).hashes.tobytes().hex())")
    env = os.environ | {"PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, TEXTS[1]], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert np.frombuffer(bytes.fromhex(out), np.uint64).tolist() == line_shingles(TEXTS[1]).hashes.tolist() != []


def test_updated_repeat_counts_are_the_counts_of_the_texts():
    texts = {str(i): t.replace("\\n", "\n") for i, t in enumerate(TEXTS)}
    assert line_repeats(texts)["2"] == [2, 1]          # the promo line is in two documents, the rest in one
    kept, _ = update(texts)
    steps = [{k: v for k, v in texts.items() if k != "1"},                      # the promo's other copy goes
             texts | {"4": texts["2"], "5": "Neue Analyse vom 3. März liefert die Antwort auf alles"},   # two come
             {"0": texts["0"]}, texts]
    for step in steps:
        kept, counts = update(step, unpack(pack(kept)))
        assert counts == line_repeats(step)
        fresh, _ = update(step)
        assert kept.counts == fresh.counts and kept.docs == fresh.docs
        assert all(np.array_equal(a, b) for a, b in zip(kept.df, fresh.df))
    assert counts["2"] == [2, 1] and update(steps[1])[1]["2"] == [4, 2]       # "4" is a copy of "2"


def test_bm25_scores_are_bm25s_own_and_a_rebuild_from_kept_stems_equals_a_fresh_one():
    import bm25s
    texts = [t.replace("\\n", "\n") for t in TEXTS] + [""]
    stock = bm25s.BM25()
    stock.index([Analyzer("de")(t) or ["<empty>"] for t in texts], show_progress=False)
    ours = BM25Index.build(texts, "de")
    for word in ("siemens", "neu", "analys", "tencent"):
        assert np.array_equal(stock.get_scores([word]), ours.model.get_scores([word]))
    changed = texts[1:] + ["Siemens eröffnet ein Werk in Dresden."]
    updated, fresh = BM25Index.build(changed, "de", ours, texts), BM25Index.build(changed, "de")
    assert updated.model.vocab_dict == fresh.model.vocab_dict and "tencent" in fresh.model.vocab_dict
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(updated.model.scores[part], fresh.model.scores[part])
    assert updated.search("Siemens Dresden", 2)[1].tolist() == [4, 0]
