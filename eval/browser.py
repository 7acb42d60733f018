"""Driving the app in a real browser (Debian's Chromium through Playwright), and a free local port: shared by the
app's tests, its benchmark (`eval/bench_ui.py`), the red team and the screenshots."""

from __future__ import annotations

import socket

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DONE = "#chat details.citation, #chat .abstained"
ANSWER_JS = """() => {            // the last bot message's text, each citation reduced to its [n]
  const m = [...document.querySelectorAll('#chat .message.bot, #chat [data-testid="bot"]')].pop();
  if (!m) return '';
  const c = m.cloneNode(true);
  c.querySelectorAll('details').forEach(d => d.remove());     // the quoted passages hold the keywords too
  return c.textContent;
}"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_app(page, url: str, settle_ms: int = 1000) -> None:
    """Load the app and wait until its Ask button is there and its scripts are bound."""
    page.goto(url, wait_until="load", timeout=120_000)
    page.locator("#ask").wait_for(timeout=120_000)
    page.wait_for_timeout(settle_ms)


def ask_in_app(page, question: str, timeout_ms: int = 60_000) -> None:
    """Type `question`, click Ask and wait for one more answer (a citation or an abstention) in the chat."""
    before = page.locator(DONE).count()    # counted before the click: a fast answer must not raise the bar
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(f"n => document.querySelectorAll({DONE!r}).length > n", arg=before, timeout=timeout_ms)
