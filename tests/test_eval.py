"""Evaluation harness: metrics on hand-computed examples, SQuAD loading, resuming, reports with plots."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError
from eval.metrics import (
    abstention,
    citation_scores,
    exact_match,
    f1,
    keywords_correct,
    ndcg_at,
    normalize_answer,
    percentiles,
)
from eval.qaset import load_qaset, load_squad
from eval.report import compute_metrics, write_report
from eval.runner import CACHE, cached, run, settings_key
from rag.assistant import Assistant


def test_german_aware_normalisation_for_em_f1_and_keywords():
    assert normalize_answer("Um 4,8 % gefallen") == normalize_answer("um 4.8% gefallen!") == "um 4.8% gefallen"
    assert normalize_answer("52,4 Prozent") == "52.4%" and normalize_answer("1.000 Bestellungen") == "1000 bestellungen"
    assert exact_match("Die Müller-Stiftung", ["Mueller-Stiftung"]) == 1.0      # umlaut folding, article dropped
    assert exact_match("Straße", ["Strasse"]) == 1.0 and exact_match("4,8 %", ["4.9 %"]) == 0.0
    assert keywords_correct("Die Aktie fiel um 4,8 %", [["4.8%"]]) and not keywords_correct("48 %", [["4,8"]])


def test_f1_and_em_by_hand():
    # pred "380 milliarden yuan investiert" vs gold "380 milliarden yuan": common 3, P 3/4, R 1 -> F1 6/7
    assert f1("380 Milliarden Yuan investiert.", ["380 Milliarden Yuan"]) == pytest.approx(6 / 7)
    assert f1("Eddie Wu", ["Joseph Tsai", "Eddie Wu"]) == 1.0 and f1("nichts", ["Eddie Wu"]) == 0.0
    assert exact_match("the Olympic Broadcasting Services", ["Olympic Broadcasting Services"]) == 1.0


def test_ranking_metrics_by_hand():
    # gold at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    assert ndcg_at(["x", "a", "y", "b"], {"a", "b"}) == pytest.approx((0.63093 + 0.43068) / (1 + 0.63093), abs=1e-4)
    assert ndcg_at(["a", "a", "x"], {"a"}) == 1.0 and ndcg_at(["x"], {"a"}) == 0.0


def test_citation_abstention_and_cost_metrics_by_hand():
    assert citation_scores([("s1", [True]), ("s2", [False, True]), ("s3", [])]) == {
        "citation_recall": 0.6667, "citation_precision": 0.6667}
    rows = [{"answerable": False, "abstained": True}, {"answerable": False, "abstained": False},
            {"answerable": True, "abstained": False}, {"answerable": True, "abstained": True}]
    assert abstention(rows) == {"abstain_precision": 0.5, "abstain_recall": 0.5, "false_abstention": 0.5}
    assert percentiles([3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 3.0}


def _squad(path, questions):
    data = {"data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": [
        {"id": qid, "question": q, "answers": [{"text": a, "answer_start": 0}]} for qid, q, a in qas]}
        for ctx, qas in questions]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_squad_files_pair_english_questions_with_german_contexts(tmp_path):
    de = _squad(
        tmp_path / "x.de.json",
        [
            ("Alibaba investiert 380 Milliarden Yuan.", [("q1", "Wie viel?", "380 Milliarden Yuan")]),
            ("Apple kooperiert mit Alibaba.", [("q2", "Mit wem?", "Alibaba")]),
        ],
    )
    en = _squad(
        tmp_path / "x.en.json",
        [
            ("Alibaba invests 380 billion yuan.", [("q1", "How much?", "380 billion yuan")]),
            ("Apple works with Alibaba.", [("q2", "With whom?", "Alibaba")]),
        ],
    )
    contexts, rows = load_squad([de, en])
    assert contexts == {
        "00_00.txt": "Alibaba investiert 380 Milliarden Yuan.",
        "00_01.txt": "Apple kooperiert mit Alibaba.",
    }
    by_id = {r["id"]: r for r in rows}
    assert by_id["x.en:q1"]["sources"] == ["00_00.txt"] and by_id["x.en:q1"]["gold_spans"] == ["380 billion yuan"]
    assert by_id["x.de:q2"]["group"] == "x.de" and by_id["x.en:q2"]["question"] == "With whom?"
    other = _squad(tmp_path / "y.json", [("c", [("zz", "?", "a")])])
    with pytest.raises(InputError, match="no paragraph"):
        load_squad([other], contexts_from=de)
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="SQuAD format"):
        load_squad([tmp_path / "bad.json"])


def test_qaset_errors_name_the_line(tmp_path):
    f = tmp_path / "set.jsonl"
    f.write_text('{"id": "a", "question": "Wer?"}\n{"question": "ohne id"}\n')
    with pytest.raises(InputError, match=r"set.jsonl:2 lacks id"):
        load_qaset(f)


def test_a_bad_history_names_the_line_and_the_shape(tmp_path):
    f = tmp_path / "set.jsonl"
    f.write_text('{"id": "a", "question": "Und dann?", "history": [["nur eine Frage"]]}\n')
    with pytest.raises(InputError, match=r'set.jsonl:1 has a bad history; give it as \[\["question", "answer"\]'):
        load_qaset(f)


class Condensing:
    """A generator that rewrites every follow-up to `standalone` and abstains on the answer."""

    name = "condensing"

    def __init__(self, standalone):
        self.standalone, self.condensed = standalone, []

    def stream(self, messages, max_tokens=200, stop=None):
        if messages[-1]["content"].startswith("Not a question to answer"):
            self.condensed.append(messages[-1]["content"])
            yield self.standalone
        else:
            yield "NOT_IN_SOURCES"


def test_a_follow_up_row_is_searched_and_answered_as_its_standalone_rewrite(tmp_path, tiny, sample_retriever):
    retriever = sample_retriever
    f = tmp_path / "followup.jsonl"
    f.write_text(
        json.dumps(
            {
                "id": "f1",
                "question": "And what did it cost?",
                "answerable": False,
                "history": [["Which platform restricted Qwen links?", "WeChat [1]."]],
            }
        )
        + "\n"
    )
    rewrite = "How much did Alibaba budget for the Qwen app's New Year campaign?"
    gen = Condensing(rewrite)
    [result] = run(load_qaset(f), Assistant(retriever, gen, tiny), tmp_path / "out", settings_key(tiny), progress=False)
    assert result["standalone"] == rewrite and "Which platform restricted Qwen links?" in gen.condensed[0]
    assert result["ranked"] == [h.source for h in retriever.search(rewrite, 10)]
    assert result["ranked"] != [h.source for h in retriever.search("And what did it cost?", 10)]


class Counting:
    """A generator that answers with a fixed sentence and stops the run after `fail_after` questions."""

    name = "counting"

    def __init__(self, text, fail_after=None):
        self.text, self.fail_after, self.asked = text, fail_after, 0

    def stream(self, messages, max_tokens=200, stop=None):
        if messages[-1]["content"].startswith("Fact check"):
            yield "yes"
            return
        self.asked += 1
        if self.fail_after is not None and self.asked > self.fail_after:
            raise KeyboardInterrupt  # what Ctrl-C does mid-run
        yield self.text


def test_an_interrupted_run_resumes_where_it_stopped_and_reports_with_plots(tmp_path, tiny, sample_retriever):
    retriever = sample_retriever
    rows = [r for r in load_qaset("eval/qa_sample_dev.jsonl")][:5]
    out, key = tmp_path / "report", settings_key(tiny)
    with pytest.raises(KeyboardInterrupt):
        run(rows, Assistant(retriever, Counting("NOT_IN_SOURCES", fail_after=3), tiny), out, key, progress=False)
    assert len(cached(out, key)) == 3
    (out / CACHE).open("a").write('{"id": "s04", "key": "')  # a line cut short by a kill
    gen = Counting("NOT_IN_SOURCES")
    results = run(rows, Assistant(retriever, gen, tiny), out, key, progress=False)
    assert gen.asked == 2 and [r["id"] for r in results] == [r["id"] for r in rows]
    assert all(r["abstained"] for r in results) and "recall@1" in results[0]
    metrics = compute_metrics(results, 100.0)
    assert metrics["abstention"]["false_abstention"] == 1.0 and metrics["answers"]["keyword_correct"] == 0.0
    write_report(results, out, metrics)
    write_report(results, tmp_path / "second", metrics, compare=out)
    for name in ("metrics.json", "summary.md", "per_question.csv", "recall_at_k.png", "latency.png"):
        assert (out / name).stat().st_size > 0
    assert (tmp_path / "second" / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert "Worst questions" in (out / "summary.md").read_text()


def test_xquad_splits_are_fixed_disjoint_and_large_enough():
    from eval.sets import get_set, is_dev

    assert is_dev(0) and is_dev(199) and is_dev(200) and not is_dev(201) and is_dev(204)
    dev, held = get_set("xquad-dev-de"), get_set("xquad-heldout-de")

    def ids(s):
        return {r["id"].split(":", 1)[1] for r in s.rows}

    assert not ids(dev) & ids(held) and len(held.rows) >= 100 and ids(held) == ids(get_set("xquad-heldout-en"))
    una = get_set("xquad-unanswerable-heldout")
    assert len(una.rows) >= 60 and not any(r["answerable"] for r in una.rows)
    assert not {r["sources"][0] for r in held.rows} - set(held.documents)  # answerable: paragraph indexed
    left_out = {pid[:2] for pid in dev.documents} - {pid[:2] for pid in una.documents}
    assert left_out == {"02", "04", "06", "12", "24", "36"}
    with pytest.raises(InputError, match="valid: sample-dev"):
        get_set("sample")


def test_the_ablation_counts_what_a_check_alone_stopped_as_right_or_wrong():
    from eval.report import ablation

    rows = [  # numbers alone stopped a right reply; relevance alone stopped a reply to an unanswerable question
        {
            "answerable": True,
            "reply": "4,8 %",
            "reply_scores": {"correct": True},
            "checks": [{"check": "cited", "passed": True}, {"check": "numbers", "passed": False}],
        },
        {
            "answerable": False,
            "reply": "Tim Cook",
            "reply_scores": {},
            "checks": [{"check": "relevance", "passed": False}, {"check": "numbers", "passed": True}],
        },
        {
            "answerable": True,
            "reply": "9 %",
            "reply_scores": {"correct": False},  # stopped by two: counted by none
            "checks": [{"check": "relevance", "passed": False}, {"check": "numbers", "passed": False}],
        },
    ]
    table = ablation(rows)
    assert table["numbers"] == {"correct_lost": 1, "wrong_stopped": 0}
    assert table["relevance"] == {"correct_lost": 0, "wrong_stopped": 1}
    assert table["all checks off"] == {"correct": 0.5, "abstain_unanswerable": 0.0}


def test_a_streamed_draft_counts_as_replaced_only_when_its_words_change():
    from eval.runner import replaced

    assert not replaced("Eddie Wu ist CEO.", "Eddie Wu ist CEO [1].") and not replaced("", "Dazu steht nichts.")
    assert replaced("Eddie Wu ist CEO.", "Dazu steht in den Artikeln nichts.")


def test_news_sets_ask_about_disjoint_articles_of_their_collection_and_quote_them():
    from eval.sets import get_set

    dev, held, everything = get_set("news-dev"), get_set("news-heldout"), get_set("news-heldout-all")
    assert len(held.files) == 300 and dev.files == held.files and everything.files == ()
    assert len(held.rows) >= 100 and len(dev.rows) >= 60 and everything.rows == held.rows

    def articles(s):
        return {src for r in s.rows for src in r["sources"]}

    assert not articles(dev) & articles(held) and articles(dev) | articles(held) <= set(held.files)
    for qaset in (dev, held):
        unanswerable = [r for r in qaset.rows if not r["answerable"]]
        assert len(unanswerable) >= 0.15 * len(qaset.rows)
        assert {r["group"] for r in qaset.rows} >= {"de>de", "en>en", "de>en", "en>de"}
        for r in qaset.rows:
            for src in r["sources"]:
                text = " ".join((qaset.folder / src).read_bytes().decode("utf-8", "replace").split())
                assert all(" ".join(e.split()) in text for e in r["evidence"]), r["id"]


def test_evidence_only_scores_what_the_model_would_be_shown_without_asking_it(tmp_path, tiny, sample_retriever):
    retriever = sample_retriever
    assistant = Assistant(retriever, None, tiny)           # no generator: asking the model would fail
    question = "Joseph Tsai Alibaba"
    shown, _ = assistant.evidence(question)
    quote = " ".join(shown[0].text.split()[:6])
    rows = [{"id": "in", "question": question, "answers": [["x"]], "sources": [shown[0].hit.source],
             "evidence": [quote], "answerable": True, "gold_spans": [], "group": "de", "history": []},
            {"id": "out", "question": question, "answers": [["x"]], "sources": [shown[0].hit.source],
             "evidence": ["a sentence no article holds"], "answerable": True, "gold_spans": [], "group": "de",
             "history": []},
            {"id": "none", "question": question, "answers": [], "sources": [], "evidence": [], "answerable": False,
             "gold_spans": [], "group": "de", "history": []}]
    results = run(rows, assistant, tmp_path / "ev", settings_key(tiny, "ev"), answers=False, progress=False,
                  evidence_only=True)
    assert [r["evidence_hit"] for r in results] == [True, False, None]
    assert results[0]["evidence_chars"] == sum(len(p.text) for p in shown) and "answer" not in results[0]
    metrics = compute_metrics(results)
    assert metrics["evidence"]["recall"] == 0.5 and metrics["evidence"]["n"] == 2 and "answers" not in metrics
