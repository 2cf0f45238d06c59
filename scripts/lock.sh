#!/usr/bin/env bash
# Regenerate the locks from pyproject.toml: requirements.txt (runtime) and
# requirements-dev.txt (dev tools, constrained to the runtime pins), both with hashes.
# Existing pins are kept unless pyproject.toml asks otherwise (--upgrade-package X to move one).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
  --no-emit-find-links -o requirements.txt pyproject.toml "$@"
.venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
  --no-emit-find-links --extra dev -c requirements.txt -o requirements-dev.txt pyproject.toml "$@"
