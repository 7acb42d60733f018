"""Turn per-question results into a report folder: metrics.json, summary.md, per_question.csv, plots.

    metrics = write_report(results, Path("eval/reports/qa"), compare=Path("eval/reports/old"))
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from statistics import fmean

from eval.metrics import abstention, percentiles

HEADLINE = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "keyword_correct", "em", "f1", "contains_answer",
            "citations_with_evidence", "abstain_recall", "false_abstention"]


def save_json(path: str | Path, data) -> None:
    """Write `data` as indented JSON to `path`, creating its folder: every benchmark's output file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def compute_metrics(results: list[dict], peak_rss_mb: float = 0.0) -> dict:
    """All metric groups over a run's results (groups without data are left out)."""
    m: dict = {"questions": len(results)}
    with_gold = [r for r in results if "recall@1" in r]
    if with_gold:
        m["retrieval"] = {k: round(fmean(r[k] for r in with_gold), 4)
                          for k in [f"recall@{i}" for i in range(1, 11)] + ["mrr@10", "ndcg@10"]}
        m["retrieval"]["n"] = len(with_gold)
        groups = sorted({r["group"] for r in with_gold})
        if len(groups) > 1:                 # e.g. German and English questions reported apart
            m["retrieval_by_group"] = {g: {k: round(fmean(r[k] for r in with_gold if r["group"] == g), 4)
                                           for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")}
                                       | {"n": sum(r["group"] == g for r in with_gold)} for g in groups}
    shown = [r for r in results if r.get("evidence_hit") is not None]
    if shown:
        m["evidence"] = evidence_metrics(results)
    answered = [r for r in results if "answer" in r]
    if not answered:
        return m
    a: dict = {"n": len(answered)}
    if any("em" in r for r in answered):
        squad = [r for r in answered if "em" in r]
        a.update(em=round(fmean(r["em"] for r in squad), 4), f1=round(fmean(r["f1"] for r in squad), 4),
                 contains_answer=round(fmean(r.get("contains", 0.0) for r in squad), 4))
    keyed = [r for r in answered if "correct" in r]
    if keyed:
        a["keyword_correct"] = round(fmean(r["correct"] for r in keyed), 4)
    m["answers"] = a
    m["citations"] = {}
    cites = [c for r in answered for c in r["citations"]]
    with_ev = [c for r in answered if r["evidence"] for c in r["citations"]]
    m["citations"].update(citations=len(cites), answers_with_citation=round(
        fmean(bool(r["citations"]) for r in answered if not r["abstained"]) if any(not r["abstained"] for r in answered)
        else 0.0, 4), citations_in_gold_source=round(fmean(c["in_gold_source"] for c in cites), 4) if cites else 0.0)
    if with_ev:
        m["citations"]["citations_with_evidence"] = round(fmean(c["has_evidence"] for c in with_ev), 4)
    m["abstention"] = abstention(answered)
    m["cost"] = {"first_token_s": percentiles([r["first_token_s"] for r in answered]),
                 "total_s": percentiles([r["seconds"] for r in answered]),
                 "prompt_tokens": percentiles([r["prompt_tokens"] for r in answered]),
                 "answer_tokens": percentiles([r["answer_tokens"] for r in answered]),
                 "peak_rss_mb": round(peak_rss_mb)}
    m["headline"] = headline(answered)
    if any(r.get("checks") for r in answered):
        m["ablation"] = ablation(answered)
    refs = [r for r in answered if "reference" in r]
    if refs:
        m["reference"] = headline([{"answerable": r["answerable"], **r["reference"]} for r in refs])
        m["versus_reference"] = _versus(headline(refs), m["reference"])
    return m


def evidence_metrics(results: list[dict]) -> dict:
    """Does what the model is shown hold the answer: recall over answerable questions, size, and (when answered)
    how often the answer is right with and without the answer in view."""
    scored = [r for r in results if r.get("evidence_hit") is not None]
    out = {"recall": round(fmean(bool(r["evidence_hit"]) for r in scored), 4), "n": len(scored),
           "chars": percentiles([r["evidence_chars"] for r in results]),
           "sources_mean": round(fmean(r["evidence_sources"] for r in results), 2)}
    for name, hit in (("correct_when_shown", True), ("correct_when_not_shown", False)):
        rows = [r for r in scored if "answer" in r and bool(r["evidence_hit"]) == hit]
        if rows:
            out[name] = round(fmean(_right(r) for r in rows), 4)
            out[f"n_{'shown' if hit else 'not_shown'}"] = len(rows)
    return out


def headline(rows: list[dict]) -> dict:
    """The figures the targets are stated in, for one pipeline's rows (ours or the reference's).

    correct: the gold span (XQuAD) or the keywords (own sets) in a non-abstaining answer; cites_own_source: share of
    correct answers with a marker on their gold source; draft_replaced: share of answers whose streamed draft the
    final answer took back.
    """
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def ok(r):
        return bool(r["contains"]) if "contains" in r else bool(r.get("correct"))
    right = [r for r in answerable if ok(r)]
    out = {"n": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable)}
    if answerable:
        out.update(correct=round(fmean(ok(r) for r in answerable), 4),
                   false_abstention=round(fmean(bool(r["abstained"]) for r in answerable), 4),
                   cites_own_source=round(fmean(bool(r.get("cites_gold")) for r in right), 4) if right else 0.0)
    if unanswerable:
        out["abstain_unanswerable"] = round(fmean(bool(r["abstained"]) for r in unanswerable), 4)
    first, total = percentiles([r["first_token_s"] for r in rows]), percentiles([r["seconds"] for r in rows])
    out.update(first_token_s=first, total_s=total, total_over_first_p50=round(total["p50"] / first["p50"], 3)
               if first["p50"] else 0.0,
               llm_calls_mean=round(fmean(r.get("llm_calls", 1) for r in rows), 2) if rows else 0.0,
               draft_replaced=round(fmean(bool(r.get("draft_replaced")) for r in rows), 4) if rows else 0.0,
               retried=round(fmean(bool(r.get("retried")) for r in rows), 4) if rows else 0.0)
    return out


def _right(scores: dict) -> bool:
    return bool(scores["contains"]) if "contains" in scores else bool(scores.get("correct"))


def ablation(rows: list[dict]) -> dict:
    """What each check costs and buys: the answers it alone stopped, split into right ones and wrong ones.

    A check "alone" stopped an answer when every other check and the model itself let it through; switching that
    check off would have shown the model's reply. Right = the reply holds the gold answer of an answerable
    question; wrong = any other reply (including every reply to an unanswerable question).
    """
    names = sorted({v["check"] for r in rows for v in r.get("checks", []) if v["check"] != "model"})
    out = {}
    for name in names:
        lost = stopped = 0
        for r in rows:
            if [v["check"] for v in r.get("checks", []) if not v["passed"]] != [name] or not r.get("reply"):
                continue
            right = r["answerable"] and _right(r["reply_scores"])
            lost, stopped = lost + right, stopped + (not right)
        out[name] = {"correct_lost": lost, "wrong_stopped": stopped}
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out["all checks off"] = {
        "correct": round(fmean(bool(r.get("reply")) and _right(r["reply_scores"]) for r in answerable), 4)
        if answerable else None,
        "abstain_unanswerable": round(fmean(not r.get("reply") for r in unanswerable), 4) if unanswerable else None}
    return out


def _versus(ours: dict, ref: dict) -> dict:
    """Ours against the reference in the same run: differences in points, time ratios."""
    out = {k: round(ours[k] - ref[k], 4) for k in ("correct", "false_abstention", "abstain_unanswerable")
           if k in ours and k in ref}
    for k in ("first_token_s", "total_s"):
        if ref[k]["p50"]:
            out[f"{k}_p50_ratio"] = round(ours[k]["p50"] / ref[k]["p50"], 3)
    return out


def flat(metrics: dict) -> dict[str, float]:
    """Headline numbers of a metrics dict by name (for tables and the comparison chart)."""
    out = {}
    for group in ("retrieval", "answers", "citations", "abstention"):
        for k, v in metrics.get(group, {}).items():
            if k in HEADLINE:
                out[k] = v
    return out


def write_report(results: list[dict], out: Path, metrics: dict, compare: Path | None = None) -> dict:
    """Write metrics.json, summary.md, per_question.csv and the PNG plots into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    _csv(results, out / "per_question.csv")
    old = _load_metrics(compare) if compare else None        # read once, for the plots and the tables
    plots = _plots(results, metrics, out, old)
    (out / "summary.md").write_text(_markdown(results, metrics, plots, old), encoding="utf-8")
    return metrics


def _load_metrics(path: Path) -> dict:
    path = Path(path)
    return json.loads((path / "metrics.json" if path.is_dir() else path).read_text(encoding="utf-8"))


def _csv(results: list[dict], path: Path) -> None:
    cols = ["id", "lang", "answerable", "question", "standalone", "answer", "abstained", "correct", "em", "f1",
            "recall@1", "recall@5", "mrr@10", "first_token_s", "seconds", "prompt_tokens", "answer_tokens",
            "cited_sources"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in results:
            w.writerow({**r, "cited_sources": " ".join(c["source"] for c in r.get("citations", []))})


def _plots(results: list[dict], metrics: dict, out: Path, old: dict | None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    if "retrieval" in metrics:
        ks = list(range(1, 11))
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(ks, [metrics["retrieval"][f"recall@{k}"] for k in ks], marker="o", label="this run")
        if old and "retrieval" in old:
            ax.plot(ks, [old["retrieval"].get(f"recall@{k}", 0) for k in ks], marker="x", ls="--", label="compared")
        ax.set(xlabel="k", ylabel="recall@k", title="Retrieval: gold source in the top k", ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend()
        made.append(_save(fig, out / "recall_at_k.png"))
    answered = [r for r in results if "seconds" in r]
    if answered:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.hist(
            [[r["first_token_s"] for r in answered], [r["seconds"] for r in answered]],
            bins=15,
            label=["first token", "total"],
        )
        ax.set(xlabel="seconds", ylabel="questions", title="Latency per question")
        ax.legend()
        made.append(_save(fig, out / "latency.png"))
    if old:
        new_f, old_f = flat(metrics), flat(old)
        names = [k for k in HEADLINE if k in new_f and k in old_f]
        if names:
            fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(names)), 3.5))
            xs = range(len(names))
            ax.bar([x - 0.2 for x in xs], [old_f[k] for k in names], 0.4, label="compared (old)")
            ax.bar([x + 0.2 for x in xs], [new_f[k] for k in names], 0.4, label="this run")
            ax.set_xticks(list(xs), names, rotation=35, ha="right")
            ax.set(ylim=(0, 1.05), title="Run comparison")
            ax.legend()
            made.append(_save(fig, out / "compare.png"))
    return made


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path.name


def _markdown(results: list[dict], metrics: dict, plots: list[str], compared: dict | None) -> str:
    lines = [f"# Evaluation report ({metrics['questions']} questions)", ""]
    old = flat(compared) if compared else {}
    for group in (
        "headline",
        "evidence",
        "reference",
        "versus_reference",
        "ablation",
        "retrieval",
        "retrieval_by_group",
        "answers",
        "citations",
        "abstention",
        "cost",
    ):
        if group not in metrics:
            continue
        lines += [
            f"## {group.capitalize()}",
            "",
            "| metric | value |" + (" compared |" if old else ""),
            "|---|---|" + ("---|" if old else ""),
        ]
        for k, v in metrics[group].items():
            shown = ", ".join(f"{a} {b}" for a, b in v.items()) if isinstance(v, dict) else v
            lines.append(f"| {k} | {shown} |" + (f" {old.get(k, '')} |" if old else ""))
        lines.append("")
    lines += [f"![{p}]({p})" for p in plots] + [""]
    worst = sorted((r for r in results if "answer" in r), key=_badness, reverse=True)[:10]
    if worst:
        lines += ["## Worst questions", ""]
        for r in worst:
            lines.append(f"- **{r['id']}** {r['question']}  \n  answer: {r['answer']}  ")
            for c in r["citations"]:
                lines.append(f'  [{c["n"]}] {c["source"]}: "{c["quote"][:160]}"  ')
    return "\n".join(lines) + "\n"


def _badness(r: dict) -> float:
    """Higher for worse: wrong or falsely abstained answers first, then low F1, then slow."""
    wrong = (r["answerable"] and not r.get("correct", r.get("f1", 1) > 0.5)) or (
        not r["answerable"] and not r["abstained"]
    )
    return 10 * wrong + (1 - r.get("f1", 1)) + r["seconds"] / 100
