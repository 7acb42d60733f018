"""Settings layering and the `rag` command line."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigError
from core.settings import Settings, load_settings
from rag.cli import main


def test_layers_defaults_toml_env_flags(tmp_path):
    cfg = tmp_path / "rag.toml"
    cfg.write_text("[rag]\ntop_k = 7\nbm25_weight = 0.3\n")
    s = load_settings(cfg, env={"RAG_BM25_WEIGHT": "0.4", "RAG_OFFLINE": "yes"})
    assert (s.top_k, s.bm25_weight, s.offline) == (7, 0.4, True)
    assert load_settings(cfg, env={}, top_k=2).top_k == 2
    assert Settings().top_k == 5


def test_bad_settings_say_what_is_valid(tmp_path):
    with pytest.raises(ConfigError, match="expected int"):
        load_settings(env={"RAG_TOP_K": "many"})
    (tmp_path / "bad.toml").write_text("topk = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'topk'.*top_k"):
        load_settings(tmp_path / "bad.toml", env={})
    with pytest.raises(ConfigError, match="chunk_overlap"):
        Settings().replace(chunk_tokens=100, chunk_overlap=100)


def test_settings_are_validated_wherever_they_are_made():
    with pytest.raises(ConfigError, match="unknown backend 'x'; valid: folder, postgres"):
        Settings(backend="x")
    with pytest.raises(ConfigError, match="unknown ann 'ivf'; valid: auto, flat, fp16, hnsw"):
        Settings(ann="ivf")
    with pytest.raises(ConfigError, match="unknown check"):
        Settings(checks="cited,spelling")
    with pytest.raises(ConfigError, match="top_k"):
        Settings(top_k=0)
    for old in ({"RAG_STORE": "postgres"},):                 # the setting that was split: the message says into what
        with pytest.raises(ConfigError, match="backend = .*ann = "):
            load_settings(env=old)
    with pytest.raises(ConfigError, match="backend = .*ann = "):
        load_settings(store="hnsw", env={})


def test_cli_search_json_and_errors(tmp_path, models_dir, monkeypatch, capsys):
    monkeypatch.setenv("RAG_MODELS_DIR", models_dir)
    base = ["--home", str(tmp_path), "--offline", "--embedder", "all-minilm-l6-v2"]
    assert main(base + ["search", "Joseph Tsai Apple Alibaba", "-k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and {"source", "text", "start", "end", "score"} <= set(hits[0])
    assert main(base + ["search", "   "]) == 2
    assert "question is empty" in capsys.readouterr().err
    assert main(base + ["index", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(base + ["--embedder", "nope", "search", "x"]) == 2
    assert "valid: " in capsys.readouterr().err
    assert main(base + ["--set", "top_k=1", "search", "Joseph Tsai Apple Alibaba", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1                    # any setting from the command line
    assert main(base + ["--set", "top_k=3", "search", "Joseph Tsai Apple Alibaba", "--json", "--set", "top_k=2"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2                    # after the command too; the last wins
    assert main(base + ["--set", "topk=1", "search", "x"]) == 2
    assert "unknown setting 'topk'" in capsys.readouterr().err
    assert main(base + ["--set", "top_k", "search", "x"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_every_setting_has_help_and_a_group():
    from dataclasses import fields
    assert all(f.metadata.get("help") and "advanced" in f.metadata for f in fields(Settings))
    assert sum(not f.metadata["advanced"] for f in fields(Settings)) <= 20      # what a user needs stays short


def test_a_rag_toml_found_in_the_current_folder_cannot_send_data_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rag.toml").write_text('top_k = 7\npostgres_url = "postgresql://x:y@evil.example/db"\n'
                                       'backend = "postgres"\n')
    with pytest.raises(ConfigError, match="backend, postgres_url.*--config rag.toml"):
        load_settings(env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    trusted = load_settings("rag.toml", env={})                          # named explicitly: the user chose it
    assert trusted.backend == "postgres" and trusted.top_k == 7
    (tmp_path / "rag.toml").write_text("top_k = 7\n")                   # tuning only: read as before
    assert load_settings(env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}).top_k == 7
    (tmp_path / "rag.toml").unlink()
    user = tmp_path / "cfg" / "rag-news" / "rag.toml"
    user.parent.mkdir(parents=True)
    user.write_text('generator = "openai"\nopenai_base_url = "http://127.0.0.1:8000/v1"\n')
    assert load_settings(env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")}).generator == "openai"
