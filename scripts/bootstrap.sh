#!/usr/bin/env bash
# Create .venv at the repo root and install from the lock (hashes checked). Idempotent:
# a second run with an unchanged lock does nothing.
#   bash scripts/bootstrap.sh          the product (requirements.txt)
#   bash scripts/bootstrap.sh --dev    the product and the dev tools (requirements-dev.txt)
set -euo pipefail
cd "$(dirname "$0")/.."

lock=requirements.txt
if [ "${1:-}" = "--dev" ]; then
  lock=requirements-dev.txt
fi
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "newsrag needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
# llama.cpp is compiled for the x86-64 features every machine here has (AVX2, FMA, F16C),
# not -march=native: a native build used AMX/AVX-512 kernels that crash (SIGSEGV) on some
# virtual machines. Built wheels are cached per set of flags, so a change of flags rebuilds.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/newsrag/pip-$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-12)}"
# .venv/.installed records the locks installed; the dev lock holds every pin of the runtime one.
record=.venv/.installed
runtime="requirements.txt $(sha256sum requirements.txt | cut -d' ' -f1)"
wanted="$lock $(sha256sum "$lock" | cut -d' ' -f1) $CMAKE_ARGS"
if ! grep -qxF "$wanted" "$record" 2>/dev/null; then
  echo "==> installing $lock (llama-cpp-python compiles: ~6 min the first time)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch first, from the pinned CPU wheel, so no package pulls a CUDA build.
  .venv/bin/python -m pip install --quiet torch==2.13.0
  .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
  if ! grep -qxF "llama $CMAKE_ARGS" "$record" 2>/dev/null; then  # a build with other flags is replaced
    grep -A1 -E '^llama-cpp-python==' "$lock" > .venv/llama-requirement.txt
    .venv/bin/python -m pip install --quiet --require-hashes --force-reinstall --no-deps -r .venv/llama-requirement.txt
  fi
  printf '%s\n' "$wanted" "$runtime $CMAKE_ARGS" "llama $CMAKE_ARGS" | sort -u > "$record"
fi
