"""Load on the chat app: N browser sessions (separate contexts, headless Chromium) ask at the same moment.

Serves the app with the default settings and models, opens N sessions, types one answerable question of
the sample QA set in each, clicks Ask in all of them, and waits for every answer. Prints correctness (the
QA set's keywords in the answer), errors and latency p50/p95 from the click.

    python -m eval.bench_ui [--sessions 8] [--out eval/reports/bench_ui.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.settings import load_settings
from eval.browser import ANSWER_JS, CHROMIUM, DONE, FLAGS, free_port
from eval.metrics import keywords_correct, percentiles
from eval.sets import get_set


def main(argv=None) -> int:
    """Run the sessions and print the figures."""
    from playwright.sync_api import sync_playwright

    from ui.app import serve
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--out", default="eval/reports/bench_ui.json")
    args = ap.parse_args(argv)
    rows = [r for r in get_set("sample-dev").rows if r["answerable"]][:args.sessions]
    port = free_port()
    app = serve(load_settings(), host="127.0.0.1", port=port, block=False)
    url = app.link
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        warm = browser.new_page()                       # loads models and index before the timed part
        warm.goto(url)
        warm.locator("#question textarea").fill("Wer ist Alibaba?")
        warm.locator("#ask").click()
        warm.wait_for_selector(DONE, timeout=600_000)
        pages = []
        for row in rows:
            pg = browser.new_context().new_page()
            pg.goto(url)
            pg.locator("#question textarea").fill(row["question"])
            pages.append(pg)
        t0 = time.perf_counter()
        for pg in pages:
            pg.locator("#ask").click()
        pending = dict(enumerate(pages))
        while pending:
            for i, pg in list(pending.items()):
                if pg.locator(DONE).count() or "⚠" in pg.locator("#chat").inner_text():
                    chat = pg.locator("#chat").inner_text()
                    answer = pg.evaluate(ANSWER_JS)
                    results.append({"id": rows[i]["id"], "seconds": round(time.perf_counter() - t0, 2),
                                    "error": "⚠" in chat, "correct": keywords_correct(answer, rows[i]["answers"]),
                                    "answer": answer.strip()[:300]})
                    del pending[i]
            time.sleep(1.0)
        browser_cpu = _cpu_seconds("chrom")
        browser.close()
    app.close()
    summary = {"sessions": args.sessions, "errors": sum(r["error"] for r in results),
               "browser_cpu_s": round(browser_cpu, 1), "server_cpu_s": round(_cpu_seconds(None), 1),
               "correct": sum(r["correct"] for r in results),
               "latency_s": percentiles([r["seconds"] for r in results])}
    print(json.dumps(summary, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"summary": summary, "results": results}, indent=2, ensure_ascii=False))
    return 0


def _cpu_seconds(name: str | None) -> float:
    """CPU seconds used so far by this process (None) or by all processes whose name contains `name`."""
    import psutil
    procs = [psutil.Process()] if name is None else [p for p in psutil.process_iter(["name"]) if name in p.info["name"]]
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


if __name__ == "__main__":
    raise SystemExit(main())
