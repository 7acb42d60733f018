"""The Gradio app in a real headless Chromium (Debian's), and its `ask` API through gradio_client.

The LLM is an "echo" generator registered through the real backend registry: it answers with the
first sentence of source [1], citing it, so what is tested is the app, the
retrieval, the citation mapping and the library, deterministically and in seconds.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from core.settings import SAMPLE_ARTICLES, Settings
from eval.browser import (  # one browser setup for the app's tests and its benchmark
    CHROMIUM,
    FLAGS,
    ask_in_app,
    free_port,
    open_app,
)
from rag.generate import register_generator

pytestmark = pytest.mark.slow          # a real browser against the running app


class Echo:
    """Replies "[1]" and the first sentence of source [1]; a follow-up is kept as it is."""

    name = "echo"

    def stream(self, messages, max_tokens=200, stop=None):
        user = messages[-1]["content"]
        if user.startswith("Not a question to answer"):
            yield user.rsplit("Follow-up:", 1)[1].strip().removesuffix("->").strip()
            return
        first = re.search(r"^\[1\] (.+)$", user, re.M)
        text = f"[1] {first.group(1)}" if first else "NOT_IN_SOURCES"
        for word in text.split(" "):
            yield word + " "


register_generator("echo", lambda settings: Echo())


@pytest.fixture(scope="module")
def app(tmp_path_factory, models_dir):
    from ui.app import serve
    home = tmp_path_factory.mktemp("uihome")
    settings = Settings(home=str(home), models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2",
                        generator="echo", llm="smollm2-135m", checks="cited,numbers")
    port = free_port()
    running = serve(settings, host="127.0.0.1", port=port, block=False)
    yield running
    running.close()


@pytest.fixture(scope="module")
def page(app):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: apt-get install chromium (install.sh does it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        open_app(pg, app.link)
        yield pg
        browser.close()


def _auth(app) -> dict:
    return {"Authorization": f"Bearer {app.token}"}


def _ask(page, question: str):
    ask_in_app(page, question)
    return page.locator("#chat .message.bot, #chat [data-testid='bot']").last


def test_browser_chat_citation_follow_up_upload_and_remove(page, tmp_path):
    from playwright.sync_api import expect
    _ask(page, "Wer ist Joseph Tsai und was wollte Apple?")
    citation = page.locator("#chat details.citation").first
    expect(citation).to_be_visible()
    expect(citation.locator("mark")).to_be_hidden()                  # closed until clicked
    citation.locator("summary").click()
    mark = citation.locator("mark")
    expect(mark).to_be_visible()
    assert mark.inner_text().strip() and "[1]" in page.locator("#chat").inner_text()
    expect(page.locator("#sources mark").first).to_be_visible()     # the sources panel shows it too

    _ask(page, "Und was sagte Krishnamoorthi dazu?")                 # follow-up in the same conversation
    assert page.locator("#chat details.citation").count() >= 2

    page.get_by_role("tab", name="Documents").click()
    doc = tmp_path / "zeta_roboter.txt"
    doc.write_text("Zeta baut Roboter\n\nDie Firma Zeta baut Lagerroboter in Graz. Sie beschäftigt 40 Leute.\n",
                   encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    expect(page.locator("#docs")).to_contain_text("zeta_roboter.txt", timeout=60_000)
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "Was baut die Firma Zeta in Graz?")
    expect(page.locator("#chat details.citation").last).to_contain_text("zeta_roboter.txt")

    page.get_by_role("tab", name="Documents").click()
    page.locator("#remove-choice input").click()
    page.get_by_role("option", name="zeta_roboter.txt").click()
    page.locator("#remove").click()
    expect(page.locator("#doc-message")).to_contain_text("Removed zeta_roboter.txt", timeout=60_000)
    expect(page.locator("#docs")).not_to_contain_text("zeta_roboter.txt")


def test_empty_question_gets_a_readable_message_not_a_trace(page):
    from playwright.sync_api import expect
    page.get_by_role("tab", name="Chat").click()
    page.locator("#question textarea").fill("   ")
    page.locator("#ask").click()
    expect(page.get_by_text("Type a question about the articles first.")).to_be_visible(timeout=10_000)
    assert "Traceback" not in page.content()


def test_gradio_client_calls_the_ask_endpoint(app):
    from gradio_client import Client
    client = Client(app.url, verbose=False, headers=_auth(app))
    result = client.predict("Wer ist Joseph Tsai?", api_name="/ask")
    assert result["citations"] and not result["abstained"]
    c = result["citations"][0]
    doc = (SAMPLE_ARTICLES / c["source"]).read_text(encoding="utf-8")
    assert doc[c["start"]:c["end"]] == c["quote"] and f"[{c['n']}]" in result["text"]


def test_uploads_and_removals_never_touch_the_users_folder(tmp_path, models_dir):
    from core.errors import InputError
    from ui.library import Library
    settings = Settings(home=str(tmp_path / "h"), models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2")
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_ARTICLES, corpus)

    def snapshot():
        return {p.relative_to(corpus).as_posix(): p.read_bytes() for p in sorted(corpus.rglob("*"))}
    before = snapshot()
    lib = Library(settings, tmp_path / "ix", corpus)
    evil = tmp_path / "evil.txt"
    evil.write_text("Ein Text über Alibaba.", encoding="utf-8")
    lib.add([evil], ["../../outside.txt"])
    assert (lib.uploads / "outside.txt").is_file() and not (tmp_path / "outside.txt").exists()
    with pytest.raises(InputError, match="only .txt"):
        lib.add([evil], ["script.sh"])
    with pytest.raises(InputError, match="no document"):
        lib.remove("../ix/CURRENT")
    users = sorted(before)[0]
    with pytest.raises(InputError, match="already in the library"):          # never overwritten
        lib.add([evil], [users])
    lib.remove(users)                                                         # the user's article: out of the index
    lib.remove("outside.txt")                                                 # the app's own upload: deleted
    ids = {d["id"] for d in lib.documents()}
    assert users not in ids and "outside.txt" not in ids and not (lib.uploads / "outside.txt").exists()
    with pytest.raises(InputError, match="already in the library"):          # the folder's name stays taken
        lib.add([evil], [users])
    lib.add([evil], ["neu.txt"])
    assert "neu.txt" in {d["id"] for d in lib.documents()} and len(lib.documents()) == len(before)
    assert snapshot() == before                                               # byte for byte, nothing added


def test_eight_browser_sessions_at_once_each_get_their_own_answer(page, app):
    """Eight separate browser sessions ask different questions at the same moment (the model queue serialises)."""
    from playwright.sync_api import expect
    questions = {"Wer ist Joseph Tsai?": "Tsai", "Was plant Apple mit Alibaba in China?": "Apple",
                 "Wie viel will Alibaba in KI investieren?": "Alibaba", "Was ist Qwen?": "Qwen",
                 "Welche Chips baut Alibaba?": "Alibaba", "Wer ist Eddie Wu?": "Wu",
                 "Was sagte Krishnamoorthi?": "Krishnamoorthi", "Wie reagierte die Alibaba-Aktie?": "Alibaba"}
    browser = page.context.browser                          # one playwright per module: reuse its browser
    contexts = [browser.new_context() for _ in questions]   # a context per session: no shared cookies or state
    pages = []
    for ctx, q in zip(contexts, questions):
        pg = ctx.new_page()
        open_app(pg, app.link)
        pg.locator("#question textarea").fill(q)
        pages.append(pg)
    for pg in pages:
        pg.locator("#ask").click()
    for pg, q in zip(pages, questions):
        expect(pg.locator("#chat details.citation, #chat .abstained").first).to_be_visible(timeout=120_000)
        chat = pg.locator("#chat").inner_text()
        assert q in chat and "Traceback" not in chat
        assert sum(other in chat for other in questions) == 1          # no other session's question leaked in
    for ctx in contexts:
        ctx.close()


def test_the_app_listens_on_localhost_and_serves_no_file_outside_its_folders(app, models_dir):
    import inspect
    import urllib.error
    import urllib.request

    from ui.app import serve
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert app.url.startswith("http://127.0.0.1:")
    secret = Path(models_dir) / "smollm2-135m" / "READY.json"
    for path in ["/etc/passwd", str(secret), "../../../../etc/passwd", f"{SAMPLE_ARTICLES}/../../core/settings.py",
                 str(Path(__file__))]:
        for prefix in ("/gradio_api/file=", "/file=", "/static/", "/gradio_api/static/"):
            url = app.url + prefix + urllib.request.quote(path)
            try:      # with the token: Gradio's own file rules are what is tested
                with urllib.request.urlopen(urllib.request.Request(url, headers=_auth(app)), timeout=10) as r:
                    body = r.read()
                    assert b"root:x:" not in body and b"sha256" not in body and b"def test_" not in body, url
            except urllib.error.HTTPError as e:
                assert e.code in (400, 403, 404, 405), (url, e.code)


def test_the_app_needs_its_token_and_its_own_host_name(app):
    import urllib.error
    import urllib.request

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    opener = urllib.request.build_opener(Stay)

    def status(url, headers=None):
        try:
            with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
                return r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers)
    assert status(app.url + "/")[0] == 401 and status(app.url + "/config")[0] == 401
    assert status(app.url + "/gradio_api/info")[0] == 401
    assert status(app.url + "/", {**_auth(app), "Host": "attacker.example"})[0] == 421
    code, headers = status(app.link)
    assert code == 303 and headers["location"] == "/" and "HttpOnly" in headers["set-cookie"]
    assert status(app.url + "/", {"Cookie": f"rag_news_token={app.token}"})[0] == 200


def test_article_markup_is_shown_as_text_and_loads_nothing(page, tmp_path, models_dir):
    """An article's Markdown image or link, quoted in an answer, neither loads a remote resource nor links out."""
    import http.server
    import threading

    from ui.app import serve
    hits = []

    class Tracker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    tracker = http.server.HTTPServer(("127.0.0.1", free_port()), Tracker)
    threading.Thread(target=tracker.serve_forever, daemon=True).start()
    spy = f"http://127.0.0.1:{tracker.server_port}"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zeta.txt").write_text(f"Zeta Bericht\n\nZeta baut Roboter ![logo]({spy}/pixel.png) und mehr "
                                   f"[hier klicken]({spy}/phish) <img src='{spy}/raw.png'> {spy}/auto in Graz.\n",
                                   encoding="utf-8")
    settings = Settings(home=str(tmp_path / "h"), models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2",
                        generator="echo", llm="smollm2-135m", checks="cited")
    port = free_port()
    app = serve(settings, tmp_path / "ix", docs, host="127.0.0.1", port=port, block=False)
    tab = page.context.browser.new_page()              # the module's browser: one Playwright per thread
    try:
        open_app(tab, app.link)
        ask_in_app(tab, "Was baut Zeta in Graz?")
        tab.locator("#chat details.citation summary").first.click()
        tab.wait_for_timeout(1500)
        chat = tab.locator("#chat")
        assert "hier klicken" in chat.inner_text()
        assert chat.locator(f"img[src^='{spy}']").count() == 0 and chat.locator(f"a[href^='{spy}']").count() == 0
    finally:
        tab.close()
        app.close()
        tracker.shutdown()
    assert hits == []
