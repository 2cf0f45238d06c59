#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (CI calls it via .ci/run).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --dev
export GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False HF_HUB_OFFLINE=1
echo "==> lint"
.venv/bin/python -m ruff check app eval tests
.venv/bin/python -m ruff format --check app eval tests
echo "==> local model for the llm tests (assembled once, sha256-checked)"
.venv/bin/python -m app model fetch
echo "==> llama.cpp's own server for the batching test (built once from the pinned sources: ~9 min)"
bash scripts/build_llama_server.sh
echo "==> browser for the UI tests (Debian's chromium, installed once)"
bash scripts/install_browser.sh
echo "==> tests"
.venv/bin/python -m pytest "$@"
