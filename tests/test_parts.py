"""An index update links the vector parts it keeps and writes only new rows; what it holds is a fresh build's."""

from __future__ import annotations

import os

import numpy as np

from index import parts
from index.build import build_index
from index.snapshot import load
from rag.retriever import Retriever


def _by_content(ix) -> tuple[dict, dict]:
    """Chunk vectors by chunk id and sentence vectors by (chunk id, start, end): row order is internal."""
    chunks = {c.id: ix.vectors[[i]][0] for i, c in enumerate(ix.chunks)}
    sents = {(ix.chunks[r["chunk"]].id, int(r["start"]), int(r["end"])): ix.sent_vectors[[j]][0]
             for j, r in enumerate(ix.sentences)}
    return chunks, sents


def test_an_added_article_links_the_old_vectors_and_the_index_equals_a_fresh_build(corpus, tiny, tiny_embedder,
                                                                                  tmp_path):
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    before = load(tiny.index_path, tiny.embedder)
    (base,) = before.manifest["parts"]
    inode = os.stat(before.folder / base["sent_vectors"]).st_ino
    # sorts before every other file, yet its rows go after the kept part
    (corpus / "000_neu.md").write_text("# Neu\n\nTencent baut ein Rechenzentrum in Frankfurt. Es kostet viel Geld "
                                       "und soll im Jahr 2027 fertig sein.", encoding="utf-8")
    added = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    after = load(tiny.index_path, tiny.embedder)
    kept, new = after.manifest["parts"]
    assert os.stat(after.folder / kept["sent_vectors"]).st_ino == inode             # linked, not written again
    assert (kept["chunks"], kept["sentences"]) == (base["chunks"], base["sentences"])
    assert added.embedded == new["chunks"] + new["sentences"] == 3
    assert all(c.doc_id == "000_neu.md" for c in after.chunks[kept["chunks"]:])

    build_index(corpus, tmp_path / "fresh", settings=tiny, embedder=tiny_embedder, progress=False)
    fresh = load(tmp_path / "fresh", tiny.embedder)
    (got_c, got_s), (want_c, want_s) = _by_content(after), _by_content(fresh)
    assert got_c.keys() == want_c.keys() and got_s.keys() == want_s.keys() and len(want_s) > 50
    # the same vectors up to bfloat16 batch effects (a fresh build batches every text with other neighbours)
    for got, want in ((got_c, want_c), (got_s, want_s)):
        assert all(float(got[k] @ want[k]) > 0.999 for k in want)
    for question in ("Tencent Frankfurt Rechenzentrum", "Alibaba Cloud Investitionen", "Qwen Modell"):
        hits = [Retriever(ix, tiny_embedder, tiny).search(question, 5) for ix in (after, fresh)]
        assert [(h.source, h.start) for h in hits[0]] == [(h.source, h.start) for h in hits[1]]


def test_parts_are_merged_before_they_pile_up_and_a_removed_article_rewrites_its_part(corpus, tiny, tiny_embedder,
                                                                                      monkeypatch):
    monkeypatch.setattr(parts, "MAX_PARTS", 3)
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    counts = []
    news = ["Siemens eröffnet ein neues Werk in Dresden.", "Bosch kauft einen Zulieferer aus Ulm.",
            "Tesla baut eine zweite Fabrik bei Berlin.", "BASF senkt die Prognose für das laufende Jahr.",
            "Lufthansa streicht im Winter viele Flüge nach Asien."]
    for n, text in enumerate(news):
        (corpus / f"neu-{n}.md").write_text(f"# Meldung\n\n{text} Mehr folgt.", encoding="utf-8")
        build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
        counts.append(len(load(tiny.index_path, tiny.embedder).manifest["parts"]))
    assert counts == [2, 3, 2, 3, 2]            # a third kept part is merged into the new one with the rest
    (corpus / "neu-4.md").unlink()
    report = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    ix = load(tiny.index_path, tiny.embedder)
    assert report.embedded == 0 and len(ix.manifest["parts"]) == 2      # the first kept, the one it was in rewritten
    assert sum(p["chunks"] for p in ix.manifest["parts"]) == len(ix.chunks) == len(ix.store)
    assert all(c.doc_id != "neu-4.md" for c in ix.chunks)


def test_an_index_in_the_earlier_layout_is_read_and_its_first_update_writes_the_new_one(corpus, tiny, tiny_embedder,
                                                                                       tmp_path):
    import json
    import shutil

    from index.store import make_store
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    ix = load(tiny.index_path, tiny.embedder)
    folder, (part,) = ix.folder, ix.manifest["parts"]
    for kind, name in (("vectors", "dense"), ("sent_vectors", "sentences")):   # one file each, saved stores
        shutil.move(folder / part[kind], folder / f"{kind}.npy")
        store = make_store("flat", ix.manifest["embedder"]["dim"])
        store.add(np.load(folder / f"{kind}.npy"))
        store.save(folder, name)
    shutil.rmtree(folder / "parts")
    for kept in ("lines.npz", "bm25/tokens.npy", "bm25/token_ends.npy"):
        (folder / kept).unlink()
    rows = [json.loads(line) for line in (folder / "chunks.jsonl").read_text().splitlines()]
    (folder / "chunks.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "fingerprint"}) + "\n"
                                                 for r in rows))
    manifest = {k: v for k, v in ix.manifest.items() if k not in ("parts", "files")} | {"ann": "auto"}
    (folder / "manifest.json").write_text(json.dumps(manifest))

    old = load(tiny.index_path, tiny.embedder)
    assert old.shingled() is None and old.fingerprints == [] and old.bm25.tokens is None
    assert type(old.store.index).__name__ == "IndexScalarQuantizer"        # an exact file written for auto: fp16
    hits = Retriever(old, tiny_embedder, tiny).search("Alibaba Cloud Investitionen", 5)
    (corpus / "neu.md").write_text("# Neu\n\nTencent baut ein Rechenzentrum in Frankfurt.", encoding="utf-8")
    report = build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    assert report.embedded == 1                                             # the new chunk and nothing else
    new = load(tiny.index_path, tiny.embedder)
    assert len(new.manifest["parts"]) == 2 and new.shingled() is not None and new.fingerprints
    assert not list(new.folder.glob("*.faiss")) and not (new.folder / "vectors.npy").exists()
    assert [(h.source, h.start) for h in Retriever(new, tiny_embedder, tiny).search("Alibaba Cloud Investitionen", 5)
            ] == [(h.source, h.start) for h in hits]
