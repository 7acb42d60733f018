"""Model catalogue and preparation: offline sources, idempotence, sha256, conversion."""

from __future__ import annotations

import dataclasses
import unicodedata

import numpy as np
import pytest

from core.errors import ConfigError, ModelError
from core.models import catalog
from core.models.e5q4 import dequantise_q4
from core.models.prepare import READY, model_path
from core.settings import Settings


def test_dequantise_q4_matches_the_format_in_e5c():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j & 0x0F) | (((15 - j) & 0x0F) << 4) for j in range(16))   # lo = j, hi = 15 - j
    values = dequantise_q4(scale + nibbles, 32)
    assert values[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert values[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_unknown_model_lists_valid_names():
    with pytest.raises(ConfigError, match="valid: .*multilingual-e5-small"):
        catalog.get_spec("no-such-model", "embedder")


def test_prepare_is_idempotent(models_dir):
    s = Settings(models_dir=models_dir, offline=True)
    first = model_path("smollm2-135m", s)
    stamp = (first.parent / READY).stat().st_mtime_ns
    assert model_path("smollm2-135m", s) == first
    assert (first.parent / READY).stat().st_mtime_ns == stamp
    assert first.read_bytes()[:4] == b"GGUF"


def test_wrong_sha256_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    good = catalog.CATALOG["smollm2-135m"]
    bad = dataclasses.replace(good, name="smollm2-corrupt", sha256="0" * 64)
    monkeypatch.setitem(catalog.CATALOG, bad.name, bad)       # registered like any catalogue entry
    s = Settings(models_dir=str(tmp_path), offline=True)
    with pytest.raises(ModelError, match="sha256"):
        model_path(bad.name, s)
    assert not (tmp_path / bad.name).exists()
    assert not list(tmp_path.glob(".tmp-*"))


def test_a_prepared_model_changed_on_disk_is_refused_before_loading(models_dir, tmp_path):
    import shutil
    src = model_path("smollm2-135m", Settings(models_dir=models_dir, offline=True)).parent
    shutil.copytree(src, tmp_path / src.name)
    s = Settings(models_dir=str(tmp_path), offline=True)
    assert model_path("smollm2-135m", s).read_bytes()[:4] == b"GGUF"       # intact copy: verified, loads
    gguf = tmp_path / src.name / "model.gguf"
    with open(gguf, "r+b") as fh:                                          # one byte flipped in the weights
        fh.seek(gguf.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="changed since they were prepared.*rag models prepare smollm2-135m"):
        model_path("smollm2-135m", s)


def test_explicit_path_wins_and_missing_path_says_what_to_set(tmp_path):
    s = Settings(models_dir=str(tmp_path), llm="smollm2-135m", llm_path=str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelError, match="RAG_LLM_PATH"):
        model_path("smollm2-135m", s)


def test_converted_e5_tokenizer_and_embeddings(e5_embedder):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(e5_embedder.path / "tokenizer.json"))
    assert tok.encode("Die Aktie verlor 4,8%").tokens == \
        ["<s>", "▁Die", "▁Ak", "tie", "▁ver", "lor", "▁4", ",", "8%", "</s>"]
    # normalisation: NFKC plus the control/space rules of the XLM-R map
    assert tok.normalizer.normalize_str("a\u00a0\u00a0b\x07") == "a b"
    assert unicodedata.normalize("NFKC", "ﬁ") == tok.normalizer.normalize_str("ﬁ")
    q = e5_embedder.embed(["Wie viel investiert Alibaba?"], kind="query")
    p = e5_embedder.embed(["Alibaba investiert 380 Milliarden Yuan in KI.", "Das Wetter ist heute sonnig."])
    sims = (p @ q.T).ravel()
    assert q.shape == (1, 384) and abs(np.linalg.norm(q) - 1) < 1e-4
    assert sims[0] > sims[1] + 0.1
