"""Many questions at once: 16 threads through `ask` share one model safely and all get answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.settings import Settings
from rag import assistant as assistant_module
from rag.assistant import ask


@pytest.mark.slow
def test_sixteen_concurrent_asks_load_the_model_once_and_all_answer(tmp_path, models_dir, corpus):
    settings = Settings(home=str(tmp_path / "home"), models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2",
                        llm="smollm2-135m", corpus_dir=str(corpus), max_answer_tokens=24)
    loads = []
    real = assistant_module.load_generator
    assistant_module.load_generator = lambda s: loads.append(s.llm) or real(s)
    try:
        questions = [f"Wer ist Joseph Tsai? ({i})" if i % 2 else f"Who is Eddie Wu? ({i})" for i in range(16)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda q: ask(q, settings=settings), questions))
    finally:
        assistant_module.load_generator = real
    assert loads == ["smollm2-135m"]                      # one model for all threads
    assert len(answers) == 16 and all(a.text for a in answers)
    for a in answers:
        assert a.abstained != bool(a.citations)
        assert all(c.quote in c.text and f"[{c.n}]" in a.text for c in a.citations)


def test_switching_the_llm_frees_the_last_one_and_a_new_top_k_keeps_the_loaded_index(tiny, corpus):
    """The app's LLM menu and top-k slider: memory stays one model and one index, nothing is reloaded."""
    import gc
    import weakref

    from core.models.prepare import model_path
    from index.build import build_index
    from rag.assistant import get_assistant
    from rag.retriever import get_retriever
    build_index(corpus, tiny.index_path, settings=tiny, progress=False)
    first = get_retriever(tiny.index_path, tiny)
    wider = get_retriever(tiny.index_path, tiny.replace(answer_chunks=3))
    assert wider.index is first.index and wider.settings.answer_chunks == 3       # the slider: no reload
    assert get_retriever(tiny.index_path, tiny) is first
    old = weakref.ref(get_assistant(tiny.index_path, tiny).generator)
    same_file = tiny.replace(llm_path=str(model_path(tiny.llm, tiny, "llm")))     # another model entry
    new = get_assistant(tiny.index_path, same_file).generator
    gc.collect()
    assert old() is None and new is not None                                      # the first one is gone
