"""The write path end to end with real tiny models and real FAISS."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from core.errors import EmbedderMismatch, IndexError_, InputError
from core.settings import Settings
from index.build import build_index
from index.chunk import Chunker
from index.load import Document
from index.plan import passage_text
from index.snapshot import current_name, load
from index.store import STORES, make_store
from rag.retriever import Retriever, retrieve


def test_offsets_round_trip(built, corpus, tiny, tiny_embedder):
    ix = load(tiny.index_path, tiny.embedder)
    for c in ix.chunks:
        src = (corpus / c.doc_id).read_text(encoding="utf-8")
        assert src[c.start:c.end] == c.text == ix.docs[c.doc_id]["text"][c.start:c.end]
    for row in ix.sentences:
        c = ix.chunks[row["chunk"]]
        assert c.start <= row["start"] < row["end"] <= c.end
    for h in Retriever(ix, tiny_embedder, tiny).search("Alibaba invest cloud", 5):
        src = (corpus / h.source).read_text(encoding="utf-8")
        assert src[h.start:h.end] == h.text
        if h.sentence_start is not None:
            assert h.start <= h.sentence_start < h.sentence_end <= h.end
            assert src[h.sentence_start:h.sentence_end] in h.text


def test_chunks_respect_the_token_budget_and_keep_headings(tiny_embedder):
    text = "Apple-Deal unter Beobachtung\n" + " ".join(f"Satz Nummer {i} ist hier." for i in range(200))
    chunks = Chunker(tiny_embedder.count_tokens, 64, 8).split(Document("a.txt", text))
    assert len(chunks) > 5
    assert all(tiny_embedder.count_tokens(c.text) <= 64 for c in chunks)
    assert all(c.heading == "Apple-Deal unter Beobachtung" for c in chunks)
    assert all(text[c.start:c.end] == c.text for c in chunks)


def test_incremental_update_embeds_only_the_change(corpus, tiny, tiny_embedder, tmp_path):
    import faiss
    import numpy as np
    first = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert isinstance(load(tiny.index_path, tiny.embedder).sent_store.index, faiss.IndexScalarQuantizer)   # auto
    again = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert not again.written and again.embedded == 0 and again.snapshot == first.snapshot
    english = tiny.replace(corpus_language="en")        # same texts, another BM25 language: a new index, no embedding
    relexed = build_index(corpus, tiny.index_path, settings=english, embedder=tiny_embedder, progress=False)
    assert relexed.written and relexed.embedded == 0 and load(tiny.index_path, tiny.embedder).language == "en"
    approximate = build_index(corpus, tiny.index_path, settings=english.replace(ann="hnsw"), embedder=tiny_embedder,
                              progress=False)                            # another vector search: written again
    assert approximate.written and approximate.embedded == 0
    assert hasattr(load(tiny.index_path, tiny.embedder).store.index, "hnsw")
    first = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)

    doc = corpus / "001_a0bff3a9c4d1e743.txt"
    doc.write_text(doc.read_text(encoding="utf-8").replace("380 Milliarden Yuan", "390 Milliarden Yuan"),
                   encoding="utf-8")
    (corpus / "new.md").write_text("# Neu\n\nTencent baut ein Rechenzentrum in Frankfurt.", encoding="utf-8")
    changed = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert changed.changed == ["001_a0bff3a9c4d1e743.txt"] and changed.added == ["new.md"]
    assert 0 < changed.embedded <= 6          # the edited chunk, its sentence, and the new document
    assert changed.reused >= first.embedded - 3
    hits = Retriever(load(tiny.index_path, tiny.embedder), tiny_embedder, tiny).search("Tencent Frankfurt", 3)
    assert hits[0].source == "new.md"
    # what the update kept from the last build (sentence rows, vectors) is what a build from nothing makes
    build_index(corpus, tmp_path / "fresh", settings=tiny, embedder=tiny_embedder, progress=False)
    updated, fresh = load(tiny.index_path, tiny.embedder), load(tmp_path / "fresh", tiny.embedder)
    assert updated.sentences.tolist() == fresh.sentences.tolist() and len(fresh.sentences) > 50
    assert np.allclose(updated.sent_vectors, fresh.sent_vectors, atol=1e-5)
    assert np.allclose(updated.vectors, fresh.vectors, atol=1e-5)
    # and what it kept of the text (line shingles, fingerprints, BM25 stems) gives what the fresh build computed
    assert updated.chunks == fresh.chunks and updated.fingerprints == fresh.fingerprints != []
    kept, made = updated.shingled(), fresh.shingled()
    assert kept.counts == made.counts and kept.docs == made.docs and len(made.counts) == 6
    assert all(np.array_equal(a, b) for a, b in zip(kept.df, made.df))
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(updated.bm25.model.scores[part], fresh.bm25.model.scores[part])
    assert updated.bm25.model.vocab_dict == fresh.bm25.model.vocab_dict


def test_a_file_with_unchanged_size_and_time_is_not_read_again_and_a_touched_one_not_parsed_again(
        corpus, tiny, tiny_embedder):
    import os
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    target = sorted(corpus.glob("*.txt"))[0]
    st = target.stat()
    original = target.read_bytes()
    swapped = original.replace(b"Alibaba", b"Xilibaba", 1)[: len(original)]     # same size, other bytes
    swapped += original[len(swapped):]
    target.write_bytes(swapped[: len(original)])
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))                       # the same size and time
    same = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert same.changed == [] and same.embedded == 0 and not same.written   # trusted like make or rsync
    target.write_bytes(original)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))              # touched: read, hashed, same
    touched = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert touched.changed == [] and touched.embedded == 0
    target.write_bytes(swapped[: len(original)] + b"\nNeu.")                   # really changed: read again
    changed = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert changed.changed == [target.name] and changed.embedded > 0


def test_deleted_documents_are_dropped(corpus, tiny, tiny_embedder):
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    (corpus / "004_efe5a641e6ba587c.txt").unlink()
    report = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert report.removed == ["004_efe5a641e6ba587c.txt"]
    # 003 shared a "Hier weiterlesen" line with 004 only; now unique, that block is re-split (a few texts)
    assert report.embedded <= 3
    ix = load(tiny.index_path, tiny.embedder)
    assert all(c.doc_id != "004_efe5a641e6ba587c.txt" for c in ix.chunks)
    hits = Retriever(ix, tiny_embedder, tiny).search("Zhenwu 810E WeChat Qwen", 10)
    assert all(h.source != "004_efe5a641e6ba587c.txt" for h in hits)


def test_other_embedder_is_refused_with_the_fix(built, corpus, tiny, tiny_embedder):
    with pytest.raises(EmbedderMismatch, match=r"all-minilm-l6-v2.*--rebuild"):
        load(tiny.index_path, embedder="multilingual-e5-small")
    with pytest.raises(IndexError_, match="rebuild"):
        build_index(corpus, tiny.index_path, settings=tiny.replace(embedder="multilingual-e5-small"),
                    progress=False)


def test_damaged_index_names_the_fix(built, corpus, tiny, tiny_embedder):
    snap = tiny.index_path / "snapshots" / current_name(tiny.index_path)
    vec = next(snap.glob("parts/*/vectors.npy"))
    vec.write_bytes(vec.read_bytes()[:100])
    with pytest.raises(IndexError_, match="truncated.*rebuild"):
        load(tiny.index_path, tiny.embedder)
    (snap / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_, match="unreadable"):
        load(tiny.index_path, tiny.embedder)
    # a build over a damaged index starts fresh and works
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert load(tiny.index_path, tiny.embedder).chunks


def test_boilerplate_does_not_crowd_results(built, corpus, tiny, tiny_embedder):
    ix = load(tiny.index_path, tiny.embedder)
    promo = [c for c in ix.chunks if "Kaufen oder verkaufen?!" in c.text]
    assert len({c.doc_id for c in promo}) == 3 and all(c.boilerplate for c in promo)
    assert all("Kaufen oder verkaufen" not in c.text for c in ix.chunks if not c.boilerplate)
    hits = Retriever(ix, tiny_embedder, tiny).search("Alibaba-Aktie kaufen oder verkaufen? Analyse", 5)
    flags = [h.boilerplate for h in hits]
    assert sum(flags) <= 2 and flags == sorted(flags)       # at most one copy per group, after real content
    assert len({h.chunk_id for h in hits}) == len(hits)


def test_empty_or_unusable_folder_is_a_clear_error(tmp_path, tiny, tiny_embedder):
    (tmp_path / "docs").mkdir()
    with pytest.raises(InputError, match="no .txt/.md/.html/.pdf"):
        build_index(tmp_path / "docs", tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    (tmp_path / "docs" / "empty.txt").write_text("   ")
    (tmp_path / "docs" / "bin.txt").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InputError, match="empty.txt: no text.*|bin.txt: looks binary"):
        build_index(tmp_path / "docs", tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    with pytest.raises(InputError, match="not a folder"):
        build_index(tmp_path / "missing", tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)


@pytest.mark.parametrize("kind", sorted(STORES))
def test_store_round_trip(kind, tmp_path):
    import numpy as np
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(500, 32)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = make_store(kind, 32)
    store.add(vecs)
    store.save(tmp_path, "x")
    again = type(store).load(tmp_path, "x")
    assert len(again) == 500
    assert again.search(vecs[:20], 1)[1].ravel().tolist() == list(range(20))


def test_fp16_store_finds_what_exact_search_finds_and_an_older_exact_index_is_read_as_fp16(tmp_path):
    import numpy as np
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(3000, 64)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    exact, half = make_store("flat", 64), make_store("auto", 64, size=3000)
    exact.add(vecs)
    half.add(vecs)
    assert type(half.index).__name__ == "IndexScalarQuantizer"
    queries = vecs[:50] + 0.5 * rng.normal(size=(50, 64)).astype("float32")
    a, b = exact.search(queries, 10)[1], half.search(queries, 10)[1]
    assert np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b)]) >= 0.98
    converted = exact.as_fp16()
    assert type(converted.index).__name__ == "IndexScalarQuantizer" and len(converted) == 3000
    assert converted.search(queries, 10)[1].tolist() == b.tolist()
    approximate = make_store("hnsw", 64)
    assert approximate.as_fp16() is approximate          # only exact float32 stores are converted


def test_default_index_is_built_on_first_use(tiny, tiny_embedder):
    hits = retrieve("Joseph Tsai Apple", k=3, settings=tiny)
    assert current_name(tiny.index_path) and hits and hits[0].source.endswith(".txt")
    manifest = json.loads((tiny.index_path / "snapshots" / current_name(tiny.index_path) / "manifest.json").read_text())
    assert manifest["embedder"] == {"name": "all-minilm-l6-v2", "dim": 384}
    assert set(manifest["documents"]) == {f"{n}.txt" for n in (
        "000_43a512a9ad268717", "001_a0bff3a9c4d1e743", "002_518b30fc2f11fa18", "003_f183b677dbf21510",
        "004_efe5a641e6ba587c")}


@pytest.mark.slow
def test_english_question_finds_the_german_passage(corpus, e5, e5_embedder):
    build_index(corpus, e5.index_path, settings=e5, embedder=e5_embedder, progress=False)
    r = Retriever(load(e5.index_path, e5.embedder), e5_embedder, e5)
    top = r.search("How much does Alibaba plan to invest in cloud and AI infrastructure over three years?", 3)
    assert top[0].source == "001_a0bff3a9c4d1e743.txt" and "380 Milliarden Yuan" in top[0].text
    top = r.search("Which processor is said to match Nvidia's H20?", 3)
    assert "Zhenwu 810E" in top[0].text
    assert "Zhenwu 810E" in top[0].text[top[0].sentence_start - top[0].start:top[0].sentence_end - top[0].start]


@pytest.mark.slow
def test_a_small_update_embeds_with_the_quick_engine_and_never_loads_the_model(corpus, e5, e5_embedder):
    import numpy as np

    from index.embed import load_embedder
    build_index(corpus, e5.index_path, settings=e5, embedder=e5_embedder, progress=False)
    (corpus / "new.md").write_text("# Neu\n\nTencent baut ein Rechenzentrum in Frankfurt. Es soll 2027 öffnen "
                                   "und kostet eine Milliarde Euro.", encoding="utf-8")
    fresh = load_embedder(e5)                          # as in a new `rag index` process
    assert fresh.quick is not None
    added = build_index(corpus, e5.index_path, settings=e5, embedder=fresh, progress=False)
    assert added.added == ["new.md"] and 0 < added.embedded <= 3
    assert "model" not in fresh.__dict__               # torch and the full model were never loaded
    assert "_tokenizer" not in fresh.__dict__          # the new article was split by the quick engine's counts ...
    texts = [c.text for c in load(e5.index_path, e5.embedder).chunks] + ["", " x", "\n\nZeile", "Ünïcödé 北京"]
    assert [fresh.quick.count_tokens(t) for t in texts] == [e5_embedder.count_tokens(t) for t in texts]  # ... the same
    index = load(e5.index_path, e5.embedder)
    rows = [i for i, c in enumerate(index.chunks) if c.doc_id == "new.md"]
    full = e5_embedder.embed([passage_text(index.chunks[i], "Neu") for i in rows])
    assert np.all((index.vectors[rows] * full).sum(1) > 0.99)      # the same model's vectors, 4-bit engine
    top = Retriever(index, e5_embedder, e5).search("Where is Tencent building a data centre?", 3)
    assert top[0].source == "new.md"
    assert fresh.for_job(["Ein Satz."] * 10**4) is fresh   # a middle-sized job loads the full model
    assert fresh.for_job(["Ein Satz."] * 10**5) is fresh.fast   # a large one converts it for OpenVINO
    assert fresh.for_job(["Ein Satz mit \x00 darin."]) is fresh and fresh.for_job(["Ein Satz."]) is fresh.quick


@pytest.mark.slow
def test_a_large_job_runs_the_same_model_in_openvino(corpus, tiny, tiny_embedder, monkeypatch):
    import numpy as np

    import index.ovengine
    from index.embed import load_embedder
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    torch_built = load(tiny.index_path, tiny.embedder)
    monkeypatch.setattr(index.ovengine, "OPENVINO_CHARS", 1)      # every job is "large"
    fresh = load_embedder(tiny)
    other = replace(tiny, index_dir=str(tiny.index_path) + "-ov")
    build_index(corpus, other.index_path, settings=other, embedder=fresh, progress=False)
    assert "model" not in fresh.__dict__ and "model" in fresh.fast.__dict__     # only the OpenVINO engine ran
    ov_built = load(other.index_path, other.embedder)
    assert [c.text for c in ov_built.chunks] == [c.text for c in torch_built.chunks]
    assert np.all((ov_built.vectors * torch_built.vectors).sum(1) > 0.999)
    assert np.all((ov_built.sent_vectors * torch_built.sent_vectors).sum(1) > 0.999)
    assert type(fresh.fast.model[0].model).__name__ == "CompiledTransformer"


def _sentence_rank(hits, needle: str) -> int:
    """Rank of the first sentence containing `needle` among all sentences of `hits`, best score first."""
    pool = sorted(((s, h.text[a - h.start:b - h.start]) for h in hits for a, b, s in h.sentences), key=lambda t: -t[0])
    return next(i for i, (_, text) in enumerate(pool) if needle in text)


@pytest.mark.slow
def test_sentences_are_ranked_by_what_tells_them_apart(corpus, e5, e5_embedder):
    build_index(corpus, e5.index_path, settings=e5, embedder=e5_embedder, progress=False)
    index = load(e5.index_path, e5.embedder)
    # the reader comments under sample 002 are not indexed, so no answer can cite one as the article's fact
    assert not [c.text for c in index.chunks if "Gedanken zu" in c.text or "1,4 Mrd" in c.text]
    question = "How fast did Alibaba's cloud revenue grow?"
    focused = Retriever(index, e5_embedder, e5)
    assert "Alibaba" not in focused.focus(question) and "revenue grow" in focused.focus(question)
    plain = Retriever(index, e5_embedder, e5.replace(focus_weight=0.0))
    growth = "Umsatzplus von 26 Prozent"
    focused_rank = _sentence_rank(focused.search(question, 8), growth)
    plain_rank = _sentence_rank(plain.search(question, 8), growth)
    # the embedder alone ranks sentences saying "Alibaba invests ..." above the one that answers
    assert focused_rank <= 2 < 5 <= plain_rank


@pytest.mark.slow
def test_a_question_that_names_its_article_is_answered_from_that_article(corpus, e5, e5_embedder):
    build_index(corpus, e5.index_path, settings=e5, embedder=e5_embedder, progress=False)
    r = Retriever(load(e5.index_path, e5.embedder), e5_embedder, e5)
    question = "How much did Alibaba's share price change over twelve months?"
    everywhere = r.search(question, 8)
    scoped = r.search(question.rstrip("?") + " according to the article about the Qwen app?", 8)
    assert len({h.source for h in everywhere}) > 1
    assert {h.source for h in scoped} == {"004_efe5a641e6ba587c.txt"}
    assert _sentence_rank(scoped, "plus 40,58%") < _sentence_rank(everywhere, "plus 40,58%")
    scoped_ceo = r.search("Wer ist laut dem Artikel über die Apsara Conference der CEO?", 8)
    assert scoped_ceo[0].source == "003_f183b677dbf21510.txt"


def test_bfloat16_embeddings_where_the_cpu_has_it_stay_within_a_rounding_of_float32(models_dir):
    import torch

    from index.embed import load_embedder, native_bf16
    texts = ["Alibaba investiert 380 Milliarden Yuan in KI.", "The chipmaker raised its forecast for the year."]
    fast = load_embedder(Settings(models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2"))
    exact = load_embedder(Settings(models_dir=models_dir, offline=True, embedder="all-minilm-l6-v2",
                                   embed_bf16=False))
    dtype = next(fast.model.parameters()).dtype
    assert dtype == (torch.bfloat16 if native_bf16() else torch.float32)
    assert next(exact.model.parameters()).dtype == torch.float32
    a, b = fast.embed(texts), exact.embed(texts)
    assert a.dtype == np.float32 and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.999
