"""The language of a question or an article: py3langid's classifier, restricted to the languages people ask in.

>>> detect("In welchem Jahr starb Tesla?"), detect("How much will the company invest?")
('de', 'en')
>>> detect("Qui est le nouveau patron de Siemens?"), detect("1234", default="de")
('fr', 'de')

Measured on eval/data/languages.tsv (short news sentences and questions; `python -m eval.bench_fields`).
"""

from __future__ import annotations

import os
import re
import threading

# German and English are fully supported (numbers, glosses, abstention text); the others are answered in their
# language by the model where it can. A short list: every language added is one more to confuse a short text with.
LANGUAGES = ("de", "en", "fr", "es", "it", "nl", "pt", "pl", "ru", "zh")
NAMES = {"de": "German", "en": "English", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
         "pt": "Portuguese", "pl": "Polish", "ru": "Russian", "zh": "Chinese"}
SAMPLE_CHARS = 2000            # an article's language is read from its beginning
_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_WORDS = 2                  # one word ("Ergebnis?") says little about a language: the default answers it
_LOCK = threading.Lock()
_IDENTIFIER = None


def _identifier():
    global _IDENTIFIER
    with _LOCK:
        if _IDENTIFIER is None:
            import py3langid.langid as pl
            ptc, pc, classes, nextmove, row, output = _load_model(os.path.join(os.path.dirname(pl.__file__),
                                                                               pl.MODEL_FILE))
            ident = pl.LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
            ident.set_languages(list(LANGUAGES))
            _IDENTIFIER = ident
    return _IDENTIFIER


def _load_model(path: str):
    """py3langid's model, decompressed in memory: its own loader writes a temporary file, which fails on a full
    disk or under a file-size limit while an index is being read. The decompressed arrays are kept in the user's
    cache (decompressing takes ~0.3 s, a third of adding an article to an index); a cache that cannot be written
    or read is skipped."""
    import io
    import lzma

    import numpy as np
    from py3langid.modelio import _to_array
    cache = _cache_file(path)
    try:
        data = np.load(cache, allow_pickle=False)
    except (OSError, ValueError):
        with lzma.open(path) as src:
            raw = src.read()
        _keep(cache, raw)
        data = np.load(io.BytesIO(raw), allow_pickle=False)
    with data:
        return (np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
                _to_array(data["nextmove"]), _to_array(data["nextmove_row"]), data["out_feat"].tolist())


def _cache_file(path: str) -> str:
    """Where the decompressed model is kept: named by the packaged file's size and time (a new version, a new
    name)."""
    st = os.stat(path)
    folder = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(folder, "rag-news", f"langid-{st.st_size}-{st.st_mtime_ns}.npz")


def _keep(cache: str, raw: bytes) -> None:
    """Write `raw` to `cache` atomically; any failure (read-only home, full disk) only means no cache."""
    tmp = f"{cache}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, cache)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def detect(text: str, default: str = "") -> str:
    """The ISO 639-1 code of `text`'s language (one of LANGUAGES); `default` for a text of fewer than two words.

    Chinese and Japanese are written without spaces, so for them one "word" is enough.
    """
    sample = text[:SAMPLE_CHARS]
    words = _WORD.findall(sample)
    if len(words) < MIN_WORDS and not any(len(w) > 3 and "\u3000" <= w[0] <= "\u9fff" for w in words):
        return default
    return _identifier().classify(sample)[0]
