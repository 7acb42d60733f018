"""`rag ui`: a Gradio chat over the articles: streamed answers, clickable citations, a document library.

    from ui.app import serve
    running = serve(settings, block=False)     # FastAPI + uvicorn on 127.0.0.1:7860, behind the access token
    print(running.link)                        # opens it once in a browser; running.close() stops it
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.errors import RagError
from core.settings import Settings
from rag.server import Listener
from ui.library import ALLOWED, MAX_UPLOAD_MB, Library
from ui.render import answer_html, sources_html

STREAM_EVERY = 0.25          # seconds between streamed updates of the answer
MAX_CONNECTIONS = 64         # a browser tab keeps a few open (page, queue stream, uploads)
CSS = """
.cite-ref { color: #1d4ed8; font-weight: 600; text-decoration: none; }
details.citation { border-left: 3px solid #93c5fd; margin: .4em 0; padding-left: .5em; }
details.citation summary { cursor: pointer; color: #1d4ed8; }
mark { background: #fde68a; padding: 0 .1em; }
.abstained { background: #fffbeb; color: #92400e; padding: .5em .7em; border-radius: 6px; }
.passage { margin: .4em 0; font-size: .9em; }
"""


def build_app(library: Library, settings: Settings) -> gr.Blocks:
    """The app's layout and events (no network binding happens here)."""
    from core.models.catalog import CATALOG
    from core.models.prepare import is_prepared
    llms = [n for n, s in CATALOG.items() if s.kind == "llm" and is_prepared(n, settings)] or [settings.llm]
    app = gr.Blocks(title="rag-news: ask the articles")
    with app:
        history = gr.State([])
        gr.Markdown("## Ask the articles\nAnswers come only from the indexed articles, with sources you can open.")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    # articles are text: no Markdown, so a quoted image or link loads and links nothing
                    chat = gr.Chatbot(elem_id="chat", height=480, label="Conversation", render_markdown=False)
                    question = gr.Textbox(elem_id="question", show_label=False, lines=1,
                                          placeholder="Frage auf Deutsch oder English question …")
                    with gr.Row():
                        ask_btn = gr.Button("Ask", variant="primary", elem_id="ask")
                        new_btn = gr.Button("New conversation", elem_id="new")
                with gr.Column(scale=2):
                    sources = gr.HTML(sources_html(None), elem_id="sources", label="Sources")
        with gr.Tab("Documents"):
            upload = gr.File(file_count="multiple", file_types=list(ALLOWED), elem_id="upload",
                             label=f"Add documents ({', '.join(ALLOWED)}; up to {MAX_UPLOAD_MB} MB each)")
            doc_msg = gr.Markdown(elem_id="doc-message")
            docs = gr.Dataframe(headers=["id", "title", "date", "chunks"], interactive=False, elem_id="docs")
            with gr.Row():
                remove_choice = gr.Dropdown(label="Remove a document", elem_id="remove-choice")
                remove_btn = gr.Button("Remove", variant="stop", elem_id="remove")
        with gr.Tab("Settings & status"):
            status = gr.Markdown(elem_id="status")
            top_k = gr.Slider(2, 16, value=settings.answer_chunks, step=1, label="Chunks searched per question")
            llm = gr.Dropdown(llms, value=settings.llm, label="LLM (prepared models)")

        def respond(q, messages, past, k, llm_name):
            q = (q or "").strip()
            if not q:
                raise gr.Error("Type a question about the articles first.")
            messages = (messages or []) + [{"role": "user", "content": q}, {"role": "assistant", "content": "…"}]
            yield messages, gr.update(), past, ""
            try:
                from rag.assistant import get_assistant
                assistant = get_assistant(library.index_dir, settings.replace(answer_chunks=int(k), llm=llm_name))
                text, answer = "", None
                shown_at = 0.0
                for piece in assistant.ask_stream(q, [tuple(x) for x in past] or None):
                    if isinstance(piece, str):
                        text += piece
                        if time.monotonic() - shown_at > STREAM_EVERY:     # not per token: each update re-renders
                            shown_at = time.monotonic()
                            messages[-1] = {"role": "assistant", "content": html.escape(text)}
                            yield messages, gr.update(), past, ""
                    else:
                        answer = piece
            except RagError as e:
                messages[-1] = {"role": "assistant", "content": f"⚠ {html.escape(str(e))}"}
                yield messages, gr.update(), past, ""
                return
            except Exception as e:        # never a stack trace in the page; the log has it
                messages[-1] = {"role": "assistant", "content": f"⚠ Something went wrong ({type(e).__name__}): "
                                f"{html.escape(str(e))}"}
                yield messages, gr.update(), past, ""
                return
            messages[-1] = {"role": "assistant", "content": answer_html(answer)}
            yield messages, sources_html(answer), past + [[q, answer.text]], ""

        def refresh():
            rows = library.documents()
            s = library.status()
            table = [[d["id"], d["title"], d["date"], d["chunks"]] for d in rows]
            info = "\n".join(f"- **{k}**: `{v}`" for k, v in s.items())
            return table, gr.update(choices=[d["id"] for d in rows], value=None), info

        def add(files, progress=gr.Progress(track_tqdm=True)):
            if not files:
                return ("", *refresh())
            paths = [Path(f if isinstance(f, str) else f.name) for f in files]
            try:
                report = library.add(paths, [p.name for p in paths])
                msg = f"Added {', '.join(p.name for p in paths)}: {report.summary()}"
            except RagError as e:
                msg = f"⚠ {e}"
            return (msg, *refresh())

        def remove(doc_id):
            if not doc_id:
                return ("Choose a document to remove.", *refresh())
            try:
                library.remove(doc_id)
                msg = f"Removed {doc_id}."
            except RagError as e:
                msg = f"⚠ {e}"
            return (msg, *refresh())

        outs = [chat, sources, history, question]
        ask_args = dict(fn=respond, inputs=[question, chat, history, top_k, llm], outputs=outs,
                        concurrency_limit=1, concurrency_id="llm", api_visibility="private",
                        show_progress="minimal")     # the full overlay's animation costs the browser a core per tab
        ask_btn.click(**ask_args)
        question.submit(**ask_args)
        new_btn.click(lambda: ([], sources_html(None), [], ""), outputs=outs, api_visibility="private")
        upload.upload(add, [upload], [doc_msg, docs, remove_choice, status], api_visibility="private")
        remove_btn.click(remove, [remove_choice], [doc_msg, docs, remove_choice, status], api_visibility="private")
        app.load(refresh, outputs=[docs, remove_choice, status], api_visibility="private")

        def api_ask(question: str) -> dict:
            """Answer one question: text, abstained, citations (document id, quoted sentence, offsets)."""
            from rag.assistant import get_assistant
            try:
                a = get_assistant(library.index_dir, settings).ask(question)
            except RagError as e:
                raise gr.Error(str(e)) from None
            return {"text": a.text, "abstained": a.abstained, "language": a.language,
                    "citations": [{"n": c.n, "source": c.source, "quote": c.quote, "start": c.quote_start,
                                   "end": c.quote_end, "title": c.title, "date": c.date} for c in a.citations]}

        gr.api(api_ask, api_name="ask", concurrency_limit=1, concurrency_id="llm")
    return app


def app_url(host: str, port: int) -> str:
    """The address to open for an app bound to `host` (a wildcard bind is opened on this machine).

    >>> app_url("0.0.0.0", 7860), app_url("::1", 7860)
    ('http://127.0.0.1:7860', 'http://[::1]:7860')
    """
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}"


@dataclass(frozen=True, kw_only=True)
class RunningApp:
    """A served app: `link` opens it in a browser (it carries the access token once); `close()` stops it."""

    url: str
    link: str
    token: str
    new_token: bool
    listener: Listener

    def close(self) -> None:
        """Stop serving and release the port."""
        self.listener.close()


def serve(settings: Settings, index_dir: Path | None = None, corpus_dir: Path | None = None,
          host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> RunningApp:
    """Build the library and app and serve it behind the access token (localhost unless `host` says otherwise)."""
    from fastapi import FastAPI

    from rag.access import Guard, GuardMiddleware, read_or_create_token
    library = Library(settings, index_dir, corpus_dir)
    blocks = build_app(library, settings)
    blocks.queue(default_concurrency_limit=4)
    token, new = read_or_create_token(settings.home_path)
    web = gr.mount_gradio_app(FastAPI(docs_url=None, redoc_url=None, openapi_url=None), blocks, path="/",
                              server_name=host, server_port=port, max_file_size=f"{MAX_UPLOAD_MB}mb", css=CSS,
                              show_error=False)
    web.add_middleware(GuardMiddleware, guard=Guard(token=token, bound=host))
    listener = Listener(web, host, port, lifespan="on", max_connections=MAX_CONNECTIONS)
    url = app_url(host, port)
    running = RunningApp(url=url, link=f"{url}/?token={token}", token=token, new_token=new, listener=listener)
    if block:
        listener.run()
    else:
        listener.start_background()
    return running
