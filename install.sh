#!/usr/bin/env bash
# Install rag-news into ./.venv and prepare the offline models. Safe to re-run.
#   bash install.sh            # product + tests
#   RAG_SKIP_MODELS=1 bash install.sh   # skip model preparation
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
# torch first, as the CPU build: a bare `torch` requirement would pull a multi-GB CUDA build.
if ! "$VPY" -c "import torch" 2>/dev/null; then
  "$VPY" -m pip install --quiet "torch==${RAG_TORCH_VERSION:-2.13.0}" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
fi
# llama-cpp-python compiles from source the first time (about 7 minutes on 2 cores); pip caches the wheel.
"$VPY" -m pip install --quiet -e ".[llm,hf,postgres,dev]"
# The browser tests drive Debian's Chromium (never a browser download by a test tool).
if [ ! -x /usr/bin/chromium ] && [ -z "${RAG_SKIP_BROWSER:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: the UI browser tests need Debian's chromium: sudo apt-get install chromium" >&2
  fi
fi
if [ -z "${RAG_SKIP_MODELS:-}" ]; then
  # default embedder and LLM, plus the tiny models the tests use
  .venv/bin/rag models prepare multilingual-e5-small qwen2.5-coder-1.5b smollm2-135m all-minilm-l6-v2
fi
echo "installed: activate with 'source .venv/bin/activate', then try: rag ask \"Wie viel will Alibaba in KI investieren?\""
