"""The README's pictures: the app with the default models answering a German and an English question.

    python docs/screenshots.py [--out docs] [--home DIR]

Starts the app (default embedder and LLM, the bundled articles), asks each question in a headless Chromium,
opens the first citation of the answer and saves `ui-de.png` and `ui-en.png`. An answer that abstains is
saved as it is: the pictures show what the product does, not a chosen success.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import load_settings  # noqa: E402

QUESTIONS = {"ui-de.png": "Wie viel will Alibaba in den nächsten drei Jahren in KI investieren?",
             "ui-en.png": "What did Apple want from Alibaba in China?"}


def main(argv=None) -> int:
    """Take the pictures and print where they went."""
    from playwright.sync_api import sync_playwright

    from eval.browser import CHROMIUM, FLAGS, ask_in_app, free_port, open_app
    from ui.app import serve
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs"))
    p.add_argument("--home", default="", help="a home folder for the app's library (default: a fresh temporary one)")
    args = p.parse_args(argv)
    home = args.home or tempfile.mkdtemp(prefix="rag-shots-")
    base = load_settings()
    settings = base.replace(home=home, models_dir=str(base.models_path))
    port = free_port()
    app = serve(settings, host="127.0.0.1", port=port, block=False)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for name, question in QUESTIONS.items():
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                open_app(page, app.link, settle_ms=2000)
                ask_in_app(page, question, timeout_ms=300_000)
                page.wait_for_timeout(500)               # the last streamed update is drawn
                citation = page.locator("#chat details.citation summary")
                if citation.count():
                    citation.first.click()
                    page.wait_for_timeout(300)
                path = Path(args.out) / name
                page.screenshot(path=str(path))
                print(f"{path}: {question}")
                page.close()
            browser.close()
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
