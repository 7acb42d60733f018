"""Real article files: each document's language, title, date and author; reader comments kept out; a mixed folder.

The HTML pages in eval/mixed are saved-news-page shapes (menus, cookie banners, related links, comment sections).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.build import build_index
from index.load import read_document
from index.snapshot import load
from rag.assistant import Assistant
from rag.retriever import Retriever
from tests.conftest import ScriptedGenerator

DATA = Path(__file__).resolve().parents[1] / "eval" / "mixed"


def test_saved_pages_give_title_date_author_language_and_only_the_article_text():
    de = read_document(DATA / "de_bahnstreik.html", DATA)
    assert (de.title, de.date, de.author, de.language) == (
        "Bahnstreik: Lokführer legen ab Montag die Arbeit nieder", "2025-03-12", "Anna Berg", "de")
    en = read_document(DATA / "en_chipmaker.html", DATA)
    assert (en.title, en.date, en.author, en.language) == ("Chipmaker posts record quarter", "2024-11-20",
                                                           "Jane Doe", "en")
    for doc, kept, dropped in [(de, "555 Euro", ["Startseite", "Cookies", "Mehr zum Thema", "10.000 Euro",
                                                 "Impressum", "Kommentare"]),
                               (en, "35.1 billion", ["Subscribe", "cookies", "newsletter", "Related", "10 trillion",
                                                     "Comments", "All rights reserved"])]:
        assert kept in doc.text and not [d for d in dropped if d in doc.text], doc.id


@pytest.fixture
def mixed(tmp_path, e5, e5_embedder):
    """The multilingual embedder: German questions must find English sentences."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("de_bahnstreik.html", "en_chipmaker.html"):
        shutil.copy(DATA / name, folder / name)
    (folder / "hafen.txt").write_text(
        "Hafen meldet Rückgang\n\nStand: 18.07.2024\n\nDer Hamburger Hafen schlug im ersten Halbjahr 3,8 Millionen "
        "Container um, 4,1 Prozent weniger als vor einem Jahr.\n\n2 Kommentare\n\nDas sind sicher 9 Millionen!\n",
        encoding="utf-8")
    (folder / "ports.txt").write_text(
        "Port of Rotterdam grows\n\nPublished: 2024-07-19\n\nRotterdam handled 6.7 million containers in the first "
        "half, up 2.9 percent.\n", encoding="utf-8")
    settings = e5.replace(checks="cited,numbers")
    build_index(folder, tmp_path / "ix", settings=settings, embedder=e5_embedder, progress=False)
    return Retriever(load(tmp_path / "ix", settings.embedder), e5_embedder, settings), folder


def test_a_mixed_folder_records_each_documents_language_and_the_main_one(mixed):
    r, _ = mixed
    docs = r.index.docs
    assert {i: d["language"] for i, d in docs.items()} == {"de_bahnstreik.html": "de", "en_chipmaker.html": "en",
                                                           "hafen.txt": "de", "ports.txt": "en"}
    assert docs["hafen.txt"]["date"] == "2024-07-18" and docs["ports.txt"]["date"] == "2024-07-19"
    assert "9 Millionen" not in docs["hafen.txt"]["text"]                     # the reader comment is not indexed
    assert r.language in ("de", "en") and r.index.manifest["corpus_language"] == r.language
    hit = next(h for h in r.search("chipmaker record revenue billion dollars", 5) if h.source == "en_chipmaker.html")
    assert hit.language == "en"


@pytest.mark.parametrize("question, reply, passes", [
    ("How much revenue did the chipmaker report?", "The chipmaker reported 35.1 billion dollars.", True),
    ("Wie viel Umsatz meldete der Chiphersteller?", "Der Chiphersteller meldete 35,1 Milliarden Dollar.", True),
    ("How much revenue did the chipmaker report?", "The chipmaker reported 35.1 trillion dollars.", False),
    ("Wie viel Umsatz meldete der Chiphersteller?", "Der Chiphersteller meldete 35,1 Billionen Dollar.", False),
])
def test_numbers_of_an_english_source_are_read_in_english_for_either_question(mixed, question, reply, passes):
    r, _ = mixed
    s = r.settings.replace(evidence_margin=1.0)
    probe = Assistant(r, ScriptedGenerator("NOT_IN_SOURCES"), s)
    probe.ask(question)
    user = probe.generator.seen[-1][-1]["content"]
    n = next(line.split("]")[0][1:] for line in user.splitlines() if "35.1 billion dollars" in line)
    assert "(= 35" not in user                                   # an English source is not glossed as German
    answer = Assistant(r, ScriptedGenerator(f"[{n}] {reply}"), s).ask(question)
    assert answer.abstained != passes, answer.checks
