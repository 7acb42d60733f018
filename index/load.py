"""Read .txt, .md, .html and .pdf files into `Document`s whose `text` all offsets refer to."""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import InputError
from core.lang import detect
from index.clean import comments_start, extract_date, extract_title

SUFFIXES = {".txt": "text", ".md": "text", ".markdown": "text", ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_BYTES = 20 * 1024 * 1024     # ~10,000 articles' worth of text: more is a dump to split, not an article


@dataclass(frozen=True)
class Document:
    """One article: `text` is the extracted source text that chunk offsets point into."""

    id: str
    text: str
    title: str = ""
    date: str = ""
    sha256: str = ""
    language: str = ""                   # ISO 639-1, detected from the text (core.lang)
    author: str = ""


def check_folder(folder: str | Path) -> Path:
    """`folder` as a Path; `InputError` with the fix when it is not a folder."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder; pass a folder of .txt/.md/.html/.pdf articles")
    return root


def discover(folder: str | Path) -> list[Path]:
    """Supported files under `folder`, sorted, hidden files and folders skipped."""
    root = check_folder(folder)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def read_document(path: str | Path, root: str | Path, parsed: dict[str, Document] | None = None) -> Document:
    """Load one file; raise `InputError` (with the fix) when it cannot be used.

    `parsed` maps the sha256 of files read before to their documents: a file with the same bytes is not parsed
    again (a PDF or web page whose date changed but whose content did not).
    """
    path, root = Path(path), Path(root)
    if not path.resolve().is_relative_to(root.resolve()):
        raise InputError(f"{path.name}: a link to a file outside the folder ({path.resolve()}); it was skipped. "
                         "Copy the file into the folder to index it")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path.name}: unsupported type; use one of {', '.join(sorted(SUFFIXES))}")
    if (size := path.stat().st_size) > MAX_BYTES:        # checked before reading: a 5 GB file costs nothing
        raise InputError(f"{path.name}: {size >> 20} MB is over the {MAX_BYTES >> 20} MB limit for one article; "
                         "split it into one file per article")
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    doc_id = path.relative_to(root).as_posix()
    if parsed and sha in parsed:
        return replace(parsed[sha], id=doc_id)
    title = date = author = ""
    if kind == "text":
        text = _decode(raw, path.name)
        cut = comments_start(text)
        text = text[:cut].rstrip() if cut else text          # offsets into the file stay valid: a prefix
    elif kind == "html":
        title, date, author, text = _html(_decode(raw, path.name))
    else:
        text = _pdf(path)
    if not text.strip():
        raise InputError(f"{path.name}: no text in the file; it was skipped")
    return Document(
        id=doc_id, text=text, title=title or extract_title(text), date=date or extract_date(text),
        sha256=sha, language=detect(text), author=author,
    )


def _decode(raw: bytes, name: str) -> str:
    if b"\x00" in raw[:8192]:
        raise InputError(f"{name}: looks binary (NUL bytes), not text; convert it to .txt or .pdf first")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")   # the usual non-UTF-8 web/Windows text
    return text.replace("\r\n", "\n").replace("\r", "\n")


_DROP = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg", "template"]


def _html(markup: str) -> tuple[str, str, str, str]:
    """(title, date, author, main text) of a saved page: trafilatura drops menus, banners, teasers, comments."""
    import trafilatura
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = trafilatura.bare_extraction(markup, include_comments=False, with_metadata=True,
                                            favor_precision=True)
    data = found.as_dict() if hasattr(found, "as_dict") else (found or {})
    text = "\n\n".join(line.strip() for line in (data.get("text") or "").splitlines() if line.strip())
    if not text:                          # a page too small for trafilatura's heuristics: the plain reading
        title, text = _html_plain(markup)
        return title, "", "", text
    return data.get("title") or "", data.get("date") or "", data.get("author") or "", text


def _html_plain(markup: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_DROP):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = [re.sub(r"\s+", " ", b.get_text(" ", strip=True))
              for b in body.find_all(["h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre", "td"])
              if not b.find(["p", "li", "h1", "h2", "h3", "blockquote"])]
    text = "\n\n".join(b for b in blocks if b) or re.sub(r"\n\s*\n+", "\n\n", body.get_text("\n", strip=True))
    h1 = body.find("h1")
    return (h1.get_text(" ", strip=True) if h1 else title), text


def _pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise InputError(f"{path.name}: the PDF is encrypted; save an unprotected copy or convert it to text")
        pages = [p.extract_text() or "" for p in reader.pages]
    except DependencyError:         # reading it would need a decryption library: it is encrypted
        raise InputError(f"{path.name}: the PDF is encrypted; save an unprotected copy or convert it to text") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, NotImplementedError,
            RecursionError, ZeroDivisionError) as e:     # what malformed PDFs raise inside pypdf
        raise InputError(f"{path.name}: unreadable PDF ({type(e).__name__}: {e}); re-export it or convert it to "
                         "text") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise InputError(f"{path.name}: the PDF has no text layer (scanned?); run OCR on it first")
    return text
