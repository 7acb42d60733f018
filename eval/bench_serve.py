"""Cold and warm `rag ask` from the shell, beside the same question asked inside a warm Python process.

    python -m eval.bench_serve [--question "..."] [--warmup "..."]

Each of the three asks the warm-up question first, so none reuses the timed question's prompt from llama.cpp's
cache: (1) in-process: load the assistant, warm up, time `ask`; (2) cold: `rag ask --local` as a new process,
wall time including every load; (3) warm: `rag serve` running, `rag ask` as a new process, wall time.
Prints the times, the warm/in-process ratio and the machine's bare llama.cpp speed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

from core.settings import load_settings

QUESTION = "Wie viel will Alibaba in KI investieren?"
WARMUP = "Was plant Apple in China?"


def _rag(*args, env=None) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"rag {' '.join(args)} failed: {done.stderr[-500:]}")
    return time.perf_counter() - t0


def _in_process(question: str, warmup: str) -> tuple[float, dict]:
    from eval.harness import bare_speed
    from rag.assistant import get_assistant
    assistant = get_assistant()
    assistant.ask(warmup)
    t0 = time.perf_counter()
    assistant.ask(question)
    return time.perf_counter() - t0, bare_speed(assistant.generator)


def _wait(port: int, proc, limit_s: float = 600) -> None:
    t_end = time.time() + limit_s
    while time.time() < t_end:
        if proc.poll() is not None:
            raise SystemExit("rag serve exited: " + proc.stderr.read()[-500:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("rag serve did not come up")


def main(argv=None) -> int:
    """Measure and print the three times."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--question", default=QUESTION)
    p.add_argument("--warmup", default=WARMUP)
    args = p.parse_args(argv)
    settings = load_settings()
    _rag("ask", args.warmup, "--local")                       # the index exists and files are in the page cache
    in_process, speed = _in_process(args.question, args.warmup)
    cold = _rag("ask", args.question, "--local")
    env = {**os.environ}
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait(settings.serve_port, server)
        _rag("ask", args.warmup, env=env)
        warm = _rag("ask", args.question, env=env)
    finally:
        server.terminate()
        server.wait(timeout=60)
    out = {"in_process_s": round(in_process, 2), "cold_rag_ask_s": round(cold, 2), "warm_rag_ask_s": round(warm, 2),
           "warm_over_in_process": round(warm / in_process, 3), "cold_over_warm": round(cold / warm, 2),
           "machine": speed, "question": args.question}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
