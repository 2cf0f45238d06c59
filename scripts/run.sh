#!/usr/bin/env bash
# The one command that runs newsrag on a fresh machine: installs into .venv, builds
# the index from corpus/ if it is missing or stale, then serves on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False HF_HUB_OFFLINE=1
if [ "${NEWSRAG_LLM_BACKEND:-llamacpp}" = "llamacpp" ] && [ -z "${NEWSRAG_LLM_MODEL_PATH:-}" ]; then
  echo "==> local model (assembled once into ~/.cache/newsrag/models, sha256-checked)"
  .venv/bin/python -m app model fetch
fi
echo "==> indexing corpus/ (incremental: unchanged articles are skipped)"
.venv/bin/python -m app ingest
exec .venv/bin/python -m app serve --host "${NEWSRAG_HOST:-127.0.0.1}" --port "${NEWSRAG_PORT:-7860}" "$@"
