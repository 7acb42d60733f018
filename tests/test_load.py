"""Reading documents: formats, encodings, titles and dates, and clear errors for bad files."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.settings import SAMPLE_ARTICLES
from index.load import discover, read_document


def make_pdf(text: str | None) -> bytes:
    """A minimal one-page PDF; `None` gives a page without any text."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_sample_articles_titles_and_dates():
    docs = {d.id: d for d in (read_document(p, SAMPLE_ARTICLES) for p in discover(SAMPLE_ARTICLES))}
    assert docs["002_518b30fc2f11fa18.txt"].date == "2025-05-19"
    assert docs["002_518b30fc2f11fa18.txt"].title.startswith("Alarm in Washington")
    assert docs["001_a0bff3a9c4d1e743.txt"].date == "2025-02-22"      # "date 2025-02" refined by "22. Februar 2025"
    assert docs["003_f183b677dbf21510.txt"].title == "Alibaba Aktie: KI-Offensive eskaliert!"
    files = {i: (SAMPLE_ARTICLES / i).read_text(encoding="utf-8") for i in docs}
    assert all(files[i].startswith(d.text) for i, d in docs.items())          # offsets into the file hold
    cut = docs["002_518b30fc2f11fa18.txt"]                                    # its reader comments are left out
    assert "3 Gedanken zu" in files[cut.id] and "Gedanken zu" not in cut.text and "1,4 Mrd" not in cut.text
    assert cut.text.endswith("Absatzmärkte werden.")
    assert all(d.text == files[i] for i, d in docs.items() if i != cut.id)
    assert {d.language for d in docs.values()} == {"de"}


def test_html_keeps_main_text_only(tmp_path):
    (tmp_path / "a.html").write_text(
        "<html><head><title>Seite</title><script>alert('x')</script><style>p{}</style></head><body>"
        "<nav>Menü Startseite</nav><article><h1>Qwen an der Spitze</h1><p>Qwen führt den App Store an.</p>"
        "<p>Alibaba zahlt 3 Milliarden Yuan.</p></article><footer>Impressum</footer></body></html>",
        encoding="utf-8")
    doc = read_document(tmp_path / "a.html", tmp_path)
    assert doc.title == "Qwen an der Spitze"
    assert "Qwen führt den App Store an." in doc.text and "3 Milliarden Yuan" in doc.text
    assert not any(bad in doc.text for bad in ("alert", "Menü", "Impressum", "p{}"))


def test_pdf_text_and_pdf_without_text(tmp_path):
    (tmp_path / "a.pdf").write_bytes(make_pdf("Alibaba investiert in KI."))
    assert "Alibaba investiert in KI." in read_document(tmp_path / "a.pdf", tmp_path).text
    (tmp_path / "scan.pdf").write_bytes(make_pdf(None))
    with pytest.raises(InputError, match="no text layer.*OCR"):
        read_document(tmp_path / "scan.pdf", tmp_path)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(InputError, match="broken.pdf"):
        read_document(tmp_path / "broken.pdf", tmp_path)


def test_encodings_binary_and_empty_files(tmp_path):
    (tmp_path / "win.txt").write_bytes("Größe: 4,8 % – Börse\r\nZeile zwei".encode("cp1252"))
    doc = read_document(tmp_path / "win.txt", tmp_path)
    assert doc.text == "Größe: 4,8 % – Börse\nZeile zwei"
    (tmp_path / "bin.txt").write_bytes(b"\x89PNG\x00\x00\x00")
    with pytest.raises(InputError, match="binary"):
        read_document(tmp_path / "bin.txt", tmp_path)
    (tmp_path / "empty.md").write_text("\n \n")
    with pytest.raises(InputError, match="no text"):
        read_document(tmp_path / "empty.md", tmp_path)


def test_ids_are_relative_paths_and_hidden_files_are_skipped(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("Text b")
    (tmp_path / ".hidden.txt").write_text("secret")
    (tmp_path / "notes.docx").write_text("unsupported")
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)] == ["sub/b.md"]
    assert read_document(tmp_path / "sub" / "b.md", tmp_path).id == "sub/b.md"
