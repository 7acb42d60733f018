"""Markdown tables from `rag eval` report folders: ours beside the fair reference, and the checks' ablation.

    python -m eval.table eval/reports/sample-heldout eval/reports/xquad-heldout-de
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _pct(x) -> str:
    return "–" if x is None else f"{round(100 * x + 1e-9, 1):.1f} %"


def _row(name: str, h: dict) -> str:
    return (f"| {name} | {h['n']} | {_pct(h.get('correct'))} | {_pct(h.get('false_abstention'))} | "
            f"{_pct(h.get('abstain_unanswerable'))} | {_pct(h.get('cites_own_source'))} | "
            f"{h['first_token_s']['p50']:.2f} / {h['total_s']['p50']:.2f} s | {h['total_over_first_p50']:.2f} | "
            f"{h['llm_calls_mean']:.2f} | {_pct(h.get('draft_replaced'))} |")


def _paired(name: str, ref: dict, diff: dict) -> str:
    """Ours on the reference's questions only: the reference's figures plus the differences of the same run."""
    def at(k):
        return None if k not in diff else ref[k] + diff[k]
    return (f"| {name}, ours on the reference's {ref['n']} | {ref['n']} | {_pct(at('correct'))} | "
            f"{_pct(at('false_abstention'))} | {_pct(at('abstain_unanswerable'))} | | "
            f"×{diff['first_token_s_p50_ratio']:.2f} / ×{diff['total_s_p50_ratio']:.2f} of the reference | | | |")


def headline_table(reports: list[Path]) -> str:
    """One row for ours and one for the reference per report, with the machine's bare llama.cpp speed."""
    lines = ["| set, pipeline | questions | correct | false abstention | abstains (unanswerable) | correct citing own "
             "source | first token / total p50 | total / first | LLM calls | drafts taken back |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    speeds = []
    for path in reports:
        m = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        lines.append(_row(f"{path.name}, ours", m["headline"]))
        if "reference" in m:
            lines.append(_row(f"{path.name}, reference", m["reference"]))
            lines.append(_paired(path.name, m["reference"], m["versus_reference"]))
        if "machine" in m:
            speeds.append(f"{path.name}: {m['machine']['prompt_tokens_per_s']} prompt tokens/s, "
                          f"{m['machine']['generated_tokens_per_s']} generated tokens/s")
    return "\n".join(lines + ([""] + ["bare llama.cpp speed during each run: " + "; ".join(speeds)] if speeds else []))


def ablation_table(reports: list[Path]) -> str:
    """Per check and report: right answers it alone stopped (cost) and wrong ones it alone stopped (gain)."""
    data = {p.name: json.loads((p / "metrics.json").read_text(encoding="utf-8")).get("ablation", {}) for p in reports}
    checks = sorted({c for a in data.values() for c in a if c != "all checks off"})
    lines = ["| check | " + " | ".join(f"{n}: right lost / wrong stopped" for n in data) + " |",
             "|---|" + "---|" * len(data)]
    for c in checks:
        cells = [f"{a[c]['correct_lost']} / {a[c]['wrong_stopped']}" if c in a else "–" for a in data.values()]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    off = [a.get("all checks off", {}) for a in data.values()]
    lines.append("| all checks off: correct, abstains (unanswerable) | " + " | ".join(
        f"{_pct(o.get('correct'))}, {_pct(o.get('abstain_unanswerable'))}" for o in off) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Print both tables for the given report folders."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("reports", nargs="+")
    args = ap.parse_args(argv)
    reports = [Path(r) for r in args.reports]
    print(headline_table(reports) + "\n\n" + ablation_table(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
